/**
 * @file The CLI's results file: checked before the run (not the input itself, a writable place) and written
 * atomically (a temporary file beside it, then a rename), so neither the experiment nor earlier results are lost.
 */
import { access, constants, mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** An `--out` path that cannot or must not be written; the message says why and what to do. */
export class OutputFileError extends Error {
  override readonly name = 'OutputFileError';
}

/** The real path of `path`, or of its nearest existing ancestor with the rest appended (for a file not yet made). */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realPathOf(parent), basename(path));
  }
}

/** Says why writing failed in words, from the error code. */
function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENOTDIR':
      return 'part of the path is a file, not a folder';
    default:
      return (error as Error).message;
  }
}

/**
 * Checks, before any work, that `outFile` is not the experiment file (compared by real path and inode, so links
 * and `..` do not hide it), is not a folder, and that its folder can be created and written. `flag` and
 * `example` name the option and a good file name in the messages (`--out`, `--report`).
 * @throws OutputFileError naming the path and the reason.
 */
export async function checkOutputFile(
  outFile: string,
  experimentFile: string,
  flag = '--out',
  example = 'results.json',
): Promise<void> {
  const [out, input] = await Promise.all([realPathOf(outFile), realPathOf(experimentFile)]);
  const [outInfo, inputInfo] = await Promise.all([
    stat(outFile).catch(() => undefined),
    stat(experimentFile).catch(() => undefined),
  ]);
  // A hard link has its own real path: the same device and inode say it is the same file.
  const sameInode = outInfo && inputInfo && outInfo.dev === inputInfo.dev && outInfo.ino === inputInfo.ino;
  if (out === input || sameInode) {
    throw new OutputFileError(
      `${flag} ${outFile} is the experiment file itself; writing there would overwrite the experiment. ` +
        `Give another file name, e.g. ${example}.`,
    );
  }
  const existing = outInfo;
  if (existing?.isDirectory()) {
    throw new OutputFileError(
      `${flag} ${outFile} is a folder; give the path of a file inside it, e.g. ${example}.`,
    );
  }
  if (existing && !existing.isFile()) {
    throw new OutputFileError(
      `${flag} ${outFile} is not a regular file (a device or pipe); give a file path, e.g. ${example}.`,
    );
  }
  const folder = dirname(outFile);
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, constants.W_OK);
    if (existing) await access(outFile, constants.W_OK);
  } catch (error) {
    throw new OutputFileError(
      `cannot write ${flag === '--out' ? 'results' : 'the report'} to ${outFile}: ${reasonOf(error)}. Choose another ${flag} path.`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Writes `text` to `outFile` atomically: a temporary file in the same folder, flushed, then renamed over the
 * target (`what` names the content in messages). On failure the temporary file is removed and any earlier file at `outFile` is left as it was.
 * @throws OutputFileError naming the path and the reason.
 */
export async function writeOutputFile(outFile: string, text: string, what = 'results'): Promise<void> {
  const temporary = join(dirname(outFile), `.${basename(outFile)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, outFile);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new OutputFileError(`cannot write ${what} to ${outFile}: ${reasonOf(error)}.`, { cause: error });
  }
}
