/**
 * @file Where a model's files live on disk: `models/<id>/<path>` (hub layout) once verified, and
 * `models/<id>/.download/<path>.part` while downloading. Also reads what is there, for `--list`.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogModel } from '../../lib/core/models/catalog.ts';
import type { StoredFile, StoredFileLookup } from '../../lib/core/models/status.ts';
import { fileSize } from './verify.ts';

/** Folder (inside a model folder) holding the `.part` files of unfinished downloads. */
export const DOWNLOAD_DIR = '.download';
export const PART_SUFFIX = '.part';

/** Absolute folder of a model: `<modelsDir>/<id>` for hub models, `<projectRoot>/<path>` for fixtures. */
export function modelFolder(model: CatalogModel, modelsDir: string, projectRoot: string): string {
  return model.origin === 'fixture' ? join(projectRoot, model.path) : join(modelsDir, model.id);
}

/** Where `path` of the model in `folder` is downloaded to before verification. */
export function partPathFor(folder: string, path: string): string {
  return join(folder, DOWNLOAD_DIR, `${path}${PART_SUFFIX}`);
}

async function storedFile(folder: string, path: string): Promise<StoredFile> {
  const complete = await fileSize(join(folder, path));
  if (complete !== undefined) return { state: 'complete', bytes: complete };
  const partial = await fileSize(partPathFor(folder, path));
  return partial === undefined ? { state: 'absent' } : { state: 'partial', bytes: partial };
}

/** Looks at every file the catalog lists for the model and returns a lookup for the status logic. */
export async function readStoredFiles(model: CatalogModel, folder: string): Promise<StoredFileLookup> {
  const paths = [...model.files, ...Object.values(model.dtypes).flat()].map((file) => file.path);
  const entries = await Promise.all(
    paths.map(async (path) => [path, await storedFile(folder, path)] as const),
  );
  const stored = new Map(entries);
  return (path) => stored.get(path) ?? { state: 'absent' };
}

/** Removes `dir` and the empty folders below it, keeping anything that still holds a file (e.g. a `.part`). */
export async function removeEmptyFolders(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) await removeEmptyFolders(join(dir, entry.name));
  }
  await rmdir(dir).catch(() => undefined);
}
