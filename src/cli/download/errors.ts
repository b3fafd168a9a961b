/**
 * @file Errors of the model download. Each message says what failed, where, and what to do; the CLI prints it as is.
 */

/**
 * The hub (or a host it redirected to) could not be reached at all: DNS failure, refused connection, connect
 * timeout, TLS failure. Nothing else will work either, so the whole command stops.
 */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
  /** The address that could not be reached, e.g. `https://huggingface.co`. */
  readonly address: string;

  constructor(address: string, reason: string) {
    super(
      `Could not reach ${address} (${reason}). Check your network connection, or set HF_ENDPOINT to a ` +
        'reachable Hugging Face hub mirror.',
    );
    this.address = address;
  }
}

/** The hub answered with an error status for a request that retrying will not fix (e.g. 404, 401). */
export class HubResponseError extends Error {
  override readonly name = 'HubResponseError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * A transfer broke off (connection reset, fewer bytes than announced, stalled, 5xx). Retried a few times; the
 * partial file is kept so the next attempt or the next run resumes it.
 */
export class TransferError extends Error {
  override readonly name = 'TransferError';
}

/** A downloaded file whose size or hash differs from the hub's metadata. The partial file has been deleted. */
export class ChecksumError extends Error {
  override readonly name = 'ChecksumError';
  readonly file: string;

  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}

/** Not enough free disk space for the files still to download. */
export class DiskSpaceError extends Error {
  override readonly name = 'DiskSpaceError';
}

/** File-system error codes, in words. */
const FILE_SYSTEM_ERRORS: ReadonlyMap<string, string> = new Map([
  ['ENOSPC', 'the disk is full'],
  ['EDQUOT', 'the disk quota is used up'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'the operation is not permitted'],
  ['EROFS', 'the file system is read-only'],
  ['EISDIR', 'a folder is in the way of a file'],
  ['ENOTDIR', 'a file is in the way of a folder'],
  ['EEXIST', 'something else already exists there'],
  ['ENOENT', 'a folder on the way does not exist'],
  ['EMFILE', 'too many files are open'],
  ['ENAMETOOLONG', 'the path is too long'],
  ['EIO', 'the disk reported an input/output error'],
]);

/**
 * A Node file-system error as a sentence (`could not write models/x: the disk is full (ENOSPC)`), or undefined
 * when `error` is not one. Node's own message (`ENOSPC: no space left on device, write`) names neither the file
 * nor what to do.
 */
export function describeFileSystemError(error: unknown): string | undefined {
  const { code, path, syscall } = (error ?? {}) as { code?: unknown; path?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return undefined;
  const words = FILE_SYSTEM_ERRORS.get(code);
  if (words === undefined) return undefined;
  const action = syscall === 'open' || syscall === 'read' || syscall === 'stat' ? 'open' : 'write';
  const where = typeof path === 'string' ? ` ${path}` : '';
  return `could not ${action}${where}: ${words} (${code})`;
}
