/**
 * @file The data worker: reads uploaded dataset files off the main thread, so a 20 MB CSV never freezes the
 * page. It checks the size before reading a byte, then decodes, parses and guesses the columns with the core
 * (core/dataset/read.ts); a file that cannot be used comes back as an `error` reply whose message says why
 * and what to do.
 */
import { checkFileSize } from '../core/dataset/limits.ts';
import { formatFromFileName } from '../core/dataset/parse.ts';
import { readDatasetFile } from '../core/dataset/read.ts';
import type { DataWorkerMethods } from './protocol.ts';
import { serveRpc, throwIfCancelled, type Handlers } from './rpc.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

const handlers: Handlers<DataWorkerMethods> = {
  async 'read-file'(request, { signal }) {
    const started = performance.now();
    // Both checks need no content: an unsupported or oversized file is refused before it is read.
    formatFromFileName(request.name);
    checkFileSize(request.file.size, request.name);
    const bytes = new Uint8Array(await request.file.arrayBuffer());
    throwIfCancelled(signal);
    const file = readDatasetFile(bytes, request.name);
    return { reply: { type: 'file-read', file, ms: performance.now() - started } };
  },
};

serveRpc<DataWorkerMethods>(scope, handlers);
