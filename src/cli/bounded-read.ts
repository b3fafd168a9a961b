/**
 * @file Reading a file the user named without trusting it: only a regular file (a device such as /dev/zero or a
 * FIFO is refused before a byte is read), its size checked before reading, and never more than the limit read
 * even if it grows meanwhile.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** A path that names something other than a regular file (device, FIFO, socket, folder). */
export class NotRegularFileError extends Error {
  override readonly name = 'NotRegularFileError';
  /** `'folder'` or `'device'` (character or block device, FIFO, socket). */
  readonly kind: 'folder' | 'device';

  constructor(path: string, kind: 'folder' | 'device') {
    super(
      kind === 'folder'
        ? `${path} is a folder, not a file`
        : `${path} is not a regular file (a device, pipe or socket)`,
    );
    this.kind = kind;
  }
}

/**
 * Reads `path` whole if it is a regular file no larger than `maxBytes`.
 * @param checkSize called with the size before reading, and again with a larger count if the file grew while
 *   being read; it throws to refuse (e.g. the core's `checkFileSize`).
 * @throws NotRegularFileError for folders and devices; the file system's own error (with `code`) otherwise.
 */
export async function readBoundedFile(
  path: string,
  maxBytes: number,
  checkSize: (size: number) => void,
): Promise<Uint8Array> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new NotRegularFileError(path, 'folder');
    if (!info.isFile()) throw new NotRegularFileError(path, 'device');
    checkSize(info.size);
    // One byte more than allowed tells a file that grew after the size check from one that did not.
    const buffer = new Uint8Array(Math.min(info.size, maxBytes) + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) checkSize(filled);
    return buffer.subarray(0, Math.min(filled, maxBytes));
  } finally {
    await handle.close();
  }
}
