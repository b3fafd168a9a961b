/**
 * @file Checks a file on disk against what the hub says it should be: size, then SHA-256 (LFS files) or the git
 * blob SHA-1 (small files kept in git), whichever the hub's metadata gives.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RemoteFile } from './hub-api.ts';

/**
 * `hashed` says whether a hash was compared: a listing that gives no hash for a file allows a size check only,
 * which must never be reported as "verified".
 */
export type Verification =
  { ok: true; hashed: boolean } | { ok: false; what: string; expected: string; actual: string };

async function hashFile(path: string, hash: Hash): Promise<string> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** SHA-256 of a file's content, hex. */
export function sha256OfFile(path: string): Promise<string> {
  return hashFile(path, createHash('sha256'));
}

/** Git's object id for a file: SHA-1 of `blob <size>\0` followed by the content, hex. */
export function gitBlobSha1OfFile(path: string, size: number): Promise<string> {
  return hashFile(path, createHash('sha1').update(`blob ${size}\0`));
}

/** Size in bytes of a file, or undefined when there is none. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/** Compares the file at `path` with the hub's metadata for it. */
export async function verifyFile(path: string, expected: RemoteFile): Promise<Verification> {
  const size = await fileSize(path);
  if (size !== expected.size) {
    return { ok: false, what: 'size', expected: `${expected.size} bytes`, actual: `${size ?? 0} bytes` };
  }
  if (expected.sha256) {
    const actual = await sha256OfFile(path);
    return actual === expected.sha256
      ? { ok: true, hashed: true }
      : { ok: false, what: 'SHA-256', expected: expected.sha256, actual };
  }
  if (expected.gitBlobSha1) {
    const actual = await gitBlobSha1OfFile(path, size);
    return actual === expected.gitBlobSha1
      ? { ok: true, hashed: true }
      : { ok: false, what: 'git blob SHA-1', expected: expected.gitBlobSha1, actual };
  }
  return { ok: true, hashed: false };
}
