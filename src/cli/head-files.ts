/**
 * @file Head files on disk for the CLI: the SHA-256 of the model file a head's features came from, the backbone
 * a head file records, and writing one file per head into a folder (safe names, atomic writes).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { headFileName, serializeHeadFile, type HeadFile } from '../lib/core/heads/head-file.ts';
import { ONNX_FILE_BY_DTYPE } from '../lib/core/models/files.ts';
import type { Dtype } from '../lib/core/ports.ts';
import { writeOutputFile } from './output-file.ts';

/** SHA-256 (hex) of the ONNX file a model folder loads for `dtype`. */
export async function modelFileHash(folder: string, dtype: Dtype): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(join(folder, ONNX_FILE_BY_DTYPE[dtype])))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * How a head file names its model: the reference as the experiment wrote it when it is an id (found under
 * `models/` or the fixtures), the absolute folder when it was a path (a relative path would mean nothing next to
 * the head file).
 */
export function backboneModelName(reference: string, folder: string, projectRoot: string): string {
  const asId = [
    resolve(projectRoot, 'models', reference),
    resolve(projectRoot, 'tests/fixtures/models', reference.replace(/^fixtures\//, '')),
  ];
  return asId.includes(folder) ? reference : folder;
}

/** A `--save-heads` folder that cannot be used; the message says why. */
export class HeadFolderError extends Error {
  override readonly name = 'HeadFolderError';
}

/** Creates the folder if needed and checks it can be written, before any work. */
export async function checkHeadFolder(folder: string): Promise<void> {
  const existing = await stat(folder).catch(() => undefined);
  if (existing && !existing.isDirectory()) {
    throw new HeadFolderError(`--save-heads ${folder} is a file; give a folder (it is created if missing).`);
  }
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, constants.W_OK);
  } catch (error) {
    throw new HeadFolderError(`cannot write head files to ${folder}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Writes each head file to `folder` as `<safe head name>.head.json` (atomically; a second head whose name maps
 * to the same file name gets `-2`, `-3`…).
 * @returns the paths written, in order.
 */
export async function writeHeadFiles(folder: string, files: readonly HeadFile[]): Promise<string[]> {
  const used = new Set<string>();
  const written: string[] = [];
  for (const file of files) {
    const base = headFileName(file.name);
    let name = base;
    for (let copy = 2; used.has(name); copy++) name = base.replace(/\.head\.json$/, `-${copy}.head.json`);
    used.add(name);
    const path = join(folder, name);
    await writeOutputFile(path, serializeHeadFile(file));
    written.push(path);
  }
  return written;
}
