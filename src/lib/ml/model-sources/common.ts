/**
 * @file What every model source shares: joining paths and URLs, the hint a missing-file message ends with, and
 * reading a model file over HTTP with progress, refusing an HTML page or a short body.
 */
import { requiredModelFiles } from '../../core/models/files.ts';
import type { Dtype } from '../../core/ports.ts';
import { ModelFileError, ModelFileMissingError } from '../model-errors.ts';

/** Reports the bytes of one file as they arrive. */
export type ByteReport = (loaded: number, total: number) => void;

/** `base` and `path` joined with exactly one `/` between them. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** What a folder needs and what to do, ending every missing-file message. */
export function missingFileHint(location: string, dtype: Dtype): string {
  return (
    `A model folder needs ${requiredModelFiles(dtype).join(', ')} (hub layout) for dtype "${dtype}". ` +
    `Download or copy the model's files into ${location}, or pick a dtype whose ONNX file is present.`
  );
}

/**
 * When the missing `file` is an ONNX file and the folder holds others (`present`, paths inside the folder), a
 * sentence naming them, so the user sees which precision to pick instead; otherwise ''.
 */
export function otherOnnxFiles(
  file: string,
  present: Iterable<string>,
  lead = 'The onnx/ folder holds',
): string {
  if (!file.startsWith('onnx/')) return '';
  const onnxFiles = [...present].filter((path) => path.endsWith('.onnx'));
  return onnxFiles.length > 0 ? ` ${lead}: ${onnxFiles.join(', ')}.` : '';
}

/** An answer that is not the file: an error status, or the HTML page a dev server gives for a missing file. */
export function notAFile(response: Response): string | undefined {
  const contentType = response.headers.get('content-type') ?? '';
  if (response.ok && !contentType.includes('text/html')) return undefined;
  return `HTTP ${response.status}${contentType ? `, ${contentType}` : ''}`;
}

/**
 * Downloads a model file (or reads `fromResponse`, e.g. from the browser cache), reporting bytes as they arrive,
 * and refuses an HTML page or a short body. `onSize` hears the declared size before the body is read.
 */
export async function fetchModelBytes(
  url: string,
  onBytes: ByteReport,
  onSize?: (bytes: number) => void,
  fromResponse?: Response,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = fromResponse ?? (await fetch(url));
  } catch (error) {
    throw new Error(`Could not request model file ${url}: ${String(error)}`, { cause: error });
  }
  const problem = notAFile(response);
  if (problem !== undefined) {
    throw new ModelFileMissingError(url, `Model file missing: ${url} (${problem}).`);
  }
  const declared = Number(response.headers.get('content-length')) || 0;
  if (declared > 0) onSize?.(declared);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  // Preallocate from content-length; a compressed transfer can deliver more, so the buffer may still grow.
  let buffer = new Uint8Array(declared > 0 ? declared : 1 << 20);
  let loaded = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw new ModelFileError(
        url,
        `Model file ${url} stopped arriving after ${loaded}${declared > 0 ? ` of ${declared}` : ''} bytes ` +
          `(${String(error)}). Load again; if it keeps failing, copy or download the file again.`,
        { cause: error },
      );
    }
    const { done, value } = chunk;
    if (done) break;
    if (loaded + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + value.length));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.length;
    onBytes(loaded, Math.max(declared, loaded));
  }
  if (loaded < declared) {
    throw new ModelFileError(
      url,
      `Model file ${url} is truncated: received ${loaded} of ${declared} bytes. Reload to try again, or copy ` +
        'the file again if it is truncated on disk.',
    );
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}
