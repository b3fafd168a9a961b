/** @file Whether `dist/` is older than the sources it is built from, so `npm run workshop` can skip the build. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Files and folders a production build is made from, relative to the project root. */
export const BUILD_INPUTS = [
  'src',
  'public',
  'index.html',
  'vite.config.ts',
  'package.json',
  'package-lock.json',
];

/** Newest modification time (ms) of a file, or of any file below a folder; 0 when missing. */
export async function newestMtime(target: string): Promise<number> {
  const info = await stat(target).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(target, { withFileTypes: true });
  const times = await Promise.all(entries.map((entry) => newestMtime(path.join(target, entry.name))));
  return Math.max(info.mtimeMs, ...times);
}

/** True when `dist/index.html` is missing or older than any build input. */
export async function buildIsStale(root: string): Promise<boolean> {
  const built = await newestMtime(path.join(root, 'dist', 'index.html'));
  if (built === 0) return true;
  const inputs = await Promise.all(BUILD_INPUTS.map((input) => newestMtime(path.join(root, input))));
  return Math.max(...inputs) > built;
}
