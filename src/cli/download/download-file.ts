/**
 * @file Downloads one file into place safely: into a `.part` file first (resumed with a Range request after an
 * interruption), retried a bounded number of times when the transfer breaks off, checked against the hub's size and
 * hash, and only then renamed to its final name. A partial or corrupt file never sits under the final name.
 */
import { ftruncateSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChecksumError, HubResponseError, TransferError } from './errors.ts';
import { headerValue, openGet } from './http.ts';
import { hubRequestOptions, type HubConnection, type RemoteFile } from './hub-api.ts';
import type { Reporter } from './progress.ts';
import { fileSize, verifyFile } from './verify.ts';

export interface FileDownload {
  /** Where the hub serves the file (it may redirect). */
  url: URL;
  /** How messages name the file, e.g. `Xenova/all-MiniLM-L6-v2/onnx/model.onnx`. */
  label: string;
  expected: RemoteFile;
  finalPath: string;
  /** Where the bytes collect until verified. */
  partPath: string;
}

export interface RetryPolicy {
  /** Attempts per file in one run, the first included. */
  attempts: number;
  /** Wait before retry n is n × this. */
  delayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, delayMs: 1000 };

export interface TransferContext {
  hub: HubConnection;
  reporter: Reporter;
  retry: RetryPolicy;
}

/**
 * What became of one file. The `-size-only` outcomes are files whose listing gave no hash: only their size could
 * be checked, so they are never called verified.
 */
export type FileOutcome =
  'downloaded' | 'already-verified' | 'downloaded-size-only' | 'already-present-size-only';

/** File-system errors that retrying a transfer cannot fix. */
const LOCAL_WRITE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR']);

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The outcome when the file under its final name already matches the hub's size (and hash, if listed). */
async function alreadyInPlace(download: FileDownload): Promise<FileOutcome | undefined> {
  if ((await fileSize(download.finalPath)) !== download.expected.size) return undefined;
  const result = await verifyFile(download.finalPath, download.expected);
  if (!result.ok) return undefined;
  return result.hashed ? 'already-verified' : 'already-present-size-only';
}

/** A body longer than the listing says: stop, keep nothing (the part is emptied), and say why. */
function oversizeError(download: FileDownload, sent: string): ChecksumError {
  return new ChecksumError(
    download.label,
    `${download.label}: the server ${sent}, more than the ${download.expected.size} bytes its listing gives; ` +
      'the transfer was stopped and the download deleted. The server (HF_ENDPOINT) is not serving the file its ' +
      'metadata describes.',
  );
}

/** Bytes of a usable `.part`; a part longer than the file cannot be right and is removed. */
async function usablePartSize(download: FileDownload): Promise<number> {
  const size = (await fileSize(download.partPath)) ?? 0;
  if (size <= download.expected.size) return size;
  await rm(download.partPath, { force: true });
  return 0;
}

/** Start offset of a Content-Range header (`bytes 100-199/200`), or undefined. */
function contentRangeStart(response: IncomingMessage): number | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(headerValue(response.headers, 'content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Where in the file the response body starts: 0 for a 200 (the server ignored the range: start over), the part's
 * size for a matching 206. Anything else throws: retryable statuses as {@link TransferError}; a range the server
 * could not honour empties the part first, so the retry starts over.
 */
function bodyStartOffset(
  response: IncomingMessage,
  partFd: number,
  partSize: number,
  download: FileDownload,
): number {
  const status = response.statusCode ?? 0;
  const start =
    status === 200 ? 0 : status === 206 && contentRangeStart(response) === partSize ? partSize : -1;
  if (start >= 0) {
    const announced = Number(headerValue(response.headers, 'content-length') ?? 0);
    if (announced > download.expected.size - start) {
      response.destroy();
      ftruncateSync(partFd, 0);
      throw oversizeError(download, `announced ${start + announced} bytes`);
    }
    return start;
  }
  response.resume();
  if (status === 206 || status === 416) {
    ftruncateSync(partFd, 0);
    throw new TransferError(
      `the server could not resume at byte ${partSize} (HTTP ${status}); starting over`,
    );
  }
  if (status >= 500 || status === 429) throw new TransferError(`the server answered HTTP ${status}`);
  throw new HubResponseError(
    status,
    `${download.label}: ${download.url.href} answered HTTP ${status}. Check that the file exists at this revision.`,
  );
}

/**
 * Appends the body to the part file (opened for appending, emptied first when the body starts at 0); throws
 * TransferError when it ends early. Must be called without awaiting anything after the response arrived, and writes
 * each chunk synchronously as it arrives: a response that breaks off discards what it still buffers, and every byte
 * received must be on disk for the next attempt to resume from.
 */
async function writeBody(
  response: IncomingMessage,
  partFd: number,
  start: number,
  download: FileDownload,
  reporter: Reporter,
) {
  let received = start;
  if (start === 0) ftruncateSync(partFd, 0);
  const progress = reporter.file(download.label, download.expected.size, start);
  response.on('data', (chunk: Buffer) => {
    if (received + chunk.length > download.expected.size) {
      // Only what the listing allows ever reaches the disk; an endless body stops here.
      response.destroy(oversizeError(download, `sent more than ${download.expected.size} bytes`));
      return;
    }
    try {
      writeSync(partFd, chunk);
    } catch (error) {
      response.destroy(error as Error);
      return;
    }
    received += chunk.length;
    progress.update(received);
  });
  try {
    await finished(response);
    if (received < download.expected.size) throw new Error('the server closed the response early');
  } catch (error) {
    progress.stop();
    if (error instanceof ChecksumError) ftruncateSync(partFd, 0);
    if (isAbort(error) || error instanceof ChecksumError || LOCAL_WRITE_ERRORS.has(errorCode(error) ?? '')) {
      throw error;
    }
    throw new TransferError(
      `the connection broke off after ${received} of ${download.expected.size} bytes (${messageOf(error)})`,
    );
  }
  progress.done('verifying');
}

/** One attempt: request the rest of the file (or all of it) and append it to the part file. */
async function transferOnce(download: FileDownload, context: TransferContext): Promise<void> {
  const partSize = await usablePartSize(download);
  if (partSize === download.expected.size) return;
  const range: Record<string, string> = partSize > 0 ? { range: `bytes=${partSize}-` } : {};
  // Opened before the request: between the response and the 'data' listener there must be no I/O wait.
  const part = await open(download.partPath, 'a');
  try {
    const { response } = await openGet(download.url, hubRequestOptions(context.hub, range));
    const start = bodyStartOffset(response, part.fd, partSize, download);
    await writeBody(response, part.fd, start, download, context.reporter);
  } finally {
    await part.close();
    // An attempt that received nothing leaves no empty part behind (it would show as a partial download).
    if ((await fileSize(download.partPath)) === 0) await rm(download.partPath, { force: true });
  }
}

/** Transfers into the part file, retrying broken transfers with a growing pause; the part is kept on failure. */
async function transferWithRetries(download: FileDownload, context: TransferContext): Promise<void> {
  const { attempts, delayMs } = context.retry;
  for (let attempt = 1; ; attempt++) {
    try {
      await transferOnce(download, context);
      return;
    } catch (error) {
      if (!(error instanceof TransferError)) throw error;
      if (attempt >= attempts) {
        throw new TransferError(
          `${download.label}: download failed after ${attempts} attempts: ${error.message}. The partial ` +
            `download is kept in ${download.partPath}; run the same command again to resume.`,
        );
      }
      context.reporter.info(
        `  ${download.label}: ${error.message}; retrying (attempt ${attempt + 1} of ${attempts})`,
      );
      await sleep(delayMs * attempt, undefined, { signal: context.hub.signal });
    }
  }
}

/** Deletes the part file unless it matches the hub's size and hash; says whether a hash was compared. */
async function verifyPart(download: FileDownload): Promise<boolean> {
  const result = await verifyFile(download.partPath, download.expected);
  if (result.ok) return result.hashed;
  await rm(download.partPath, { force: true });
  throw new ChecksumError(
    download.label,
    `${download.label}: ${result.what} mismatch: expected ${result.expected}, got ${result.actual}. The download ` +
      'was deleted and nothing was placed under the final name. Run the command again; if it keeps failing, the ' +
      'server (HF_ENDPOINT) is serving a different file than its metadata describes.',
  );
}

/** Renames the verified part to its final name (same folder tree, so the rename is atomic). */
async function placeFile(download: FileDownload): Promise<void> {
  await mkdir(dirname(download.finalPath), { recursive: true });
  await rename(download.partPath, download.finalPath);
}

/**
 * Makes `finalPath` hold exactly the file the hub describes: skips a file already verified, otherwise downloads
 * (resuming a `.part` if one exists), verifies, and renames into place. Throws {@link ChecksumError},
 * {@link TransferError} (after the retries; the part is kept), {@link HubResponseError} or `UnreachableError`.
 */
export async function downloadVerifiedFile(
  download: FileDownload,
  context: TransferContext,
): Promise<FileOutcome> {
  const present = await alreadyInPlace(download);
  if (present) return present;
  await mkdir(dirname(download.partPath), { recursive: true });
  // An empty file needs no transfer (and a zero-byte part is never kept between attempts).
  if (download.expected.size === 0) await writeFile(download.partPath, '');
  else await transferWithRetries(download, context);
  const hashed = await verifyPart(download);
  await placeFile(download);
  return hashed ? 'downloaded' : 'downloaded-size-only';
}
