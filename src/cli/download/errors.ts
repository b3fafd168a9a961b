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
