/**
 * @file The in-memory model trick: model bytes prepared in memory (the ONNX graph with an output per layer) are
 * handed to transformers.js through its custom-cache hook, under a file name that exists nowhere else, so it
 * builds the session from them as if it had read a file. Nothing is written to disk, and the bytes are held only
 * while their model loads.
 *
 * transformers.js consults `env.customCache` before reading any file (hub.js `loadResourceFile`), in Node and in
 * the browser alike. While an in-memory model is being served, this module's cache answers the in-memory names
 * and passes every other request on to the cache transformers.js would have used.
 */
import { ONNX_FILE_BY_DTYPE } from '../core/models/files.ts';
import type { Dtype } from '../core/ports.ts';

/** A file cache as transformers.js consults it (its `CacheInterface`). */
export interface ModelFileCache {
  match(request: string): Promise<unknown>;
  put(
    request: string,
    response: Response,
    progress?: (data: { progress: number; loaded: number; total: number }) => void,
  ): Promise<void>;
}

/** The fields of transformers.js' `env` that decide which cache it reads files through. */
export interface CacheHost {
  useCustomCache: boolean;
  customCache: ModelFileCache | null;
  readonly useBrowserCache: boolean;
  readonly cacheKey: string;
}

/** Bytes served under one in-memory file name, until `release` is called. */
export interface InMemoryModel {
  /** The name to pass transformers.js as `model_file_name`. */
  stem: string;
  /** Stops serving the bytes (and, with the last one, gives the host back its own cache). */
  release(): void;
}

/** Start of every in-memory model file name; no hub export uses it. */
const IN_MEMORY_STEM = 'model.hidden-states-';

/**
 * Serves in-memory model files to one {@link CacheHost} (transformers.js' `env`). Entries live only while their
 * model loads.
 */
export class InMemoryModels {
  readonly #host: CacheHost;
  /** Model bytes by the file name transformers.js will ask for, e.g. `model.hidden-states-3_quantized.onnx`. */
  readonly #files = new Map<string, Uint8Array>();
  /** The cache settings in force before this cache was installed; restored when it is removed. */
  #displaced: { useCustomCache: boolean; customCache: ModelFileCache | null } | undefined;
  #loads = 0;
  readonly #cache: ModelFileCache = {
    match: async (request) => {
      const bytes = this.#files.get(request.slice(request.lastIndexOf('/') + 1));
      if (bytes) return inMemoryResponse(bytes);
      return (await this.#displacedStore())?.match(request);
    },
    put: async (request, response, progress) => {
      await (await this.#displacedStore())?.put(request, response, progress);
    },
  };

  constructor(host: CacheHost) {
    this.#host = host;
  }

  /** Number of in-memory files being served now. */
  get size(): number {
    return this.#files.size;
  }

  /**
   * Makes transformers.js read `bytes` when it asks for `onnx/<stem><dtype suffix>.onnx`, until `release` is
   * called.
   */
  serve(bytes: Uint8Array, dtype: Dtype): InMemoryModel {
    const stem = `${IN_MEMORY_STEM}${++this.#loads}`;
    const fileName = ONNX_FILE_BY_DTYPE[dtype].replace(/^onnx\/model/, stem);
    const host = this.#host;
    if (this.#files.size === 0) {
      this.#displaced = { useCustomCache: host.useCustomCache, customCache: host.customCache };
      host.customCache = this.#cache;
      host.useCustomCache = true;
    }
    this.#files.set(fileName, bytes);
    return {
      stem,
      release: () => {
        if (!this.#files.delete(fileName) || this.#files.size > 0 || !this.#displaced) return;
        // Someone else may have installed a cache meanwhile; theirs stays.
        if (host.customCache === this.#cache) {
          host.useCustomCache = this.#displaced.useCustomCache;
          host.customCache = this.#displaced.customCache;
        }
        this.#displaced = undefined;
      },
    };
  }

  /** Where requests for files other than in-memory models go: the cache transformers.js would have used. */
  async #displacedStore(): Promise<ModelFileCache | undefined> {
    const displaced = this.#displaced;
    if (displaced?.useCustomCache && displaced.customCache) return displaced.customCache;
    if (this.#host.useBrowserCache && typeof caches !== 'undefined') {
      // Same fallback as transformers.js: a page that may not open the Cache API (e.g. some iframes) loads uncached.
      return caches.open(this.#host.cacheKey).catch(() => undefined);
    }
    return undefined;
  }
}

/**
 * A Response over model bytes whose `arrayBuffer()` returns the bytes' own buffer when they fill it. Reading a plain
 * Response's body copies the whole model once more (in Node through a stream: ~0.4 s and +100 MB for 100 MB).
 * transformers.js reads it with `arrayBuffer()` when given no progress callback; the session copies it anyway.
 */
function inMemoryResponse(bytes: Uint8Array): Response {
  // Model bytes never live in a SharedArrayBuffer (files and downloads are read into plain ones).
  const body = bytes as Uint8Array<ArrayBuffer>;
  const response = new Response(body, {
    headers: { 'content-length': String(body.byteLength), 'content-type': 'application/octet-stream' },
  });
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) {
    Object.defineProperty(response, 'arrayBuffer', { value: () => Promise.resolve(body.buffer) });
  }
  return response;
}
