/**
 * @file The transformers.js adapter: loads a frozen encoder (tokenizer + ONNX model) and turns texts into pooled
 * feature vectors. This is the only module that imports `@huggingface/transformers`.
 *
 * Node loads from an absolute folder with onnxruntime-node (device 'cpu'). The browser runs onnxruntime-web (device
 * 'wasm' or 'webgpu') with the WASM files self-hosted (never a CDN) and loads from the app's models/ URLs, from the
 * Hugging Face hub (the browser cache first; the network only when the source allows downloads; downloads are
 * cached so the next load is offline), or from a folder the user picked (read in the browser, never uploaded).
 * File problems (missing, truncated, corrupt, a tokenizer from another model) throw a {@link ModelFileError}
 * naming the file and what to do.
 *
 * Any hidden layer: the adapter reads the ONNX file itself, adds a graph output `hidden_states.N` for every layer
 * (onnx-graph/), and hands transformers.js those bytes in memory through its custom-cache hook, so one session
 * returns every layer next to `last_hidden_state`. Nothing is written to disk.
 */
import {
  AutoConfig,
  AutoModel,
  AutoTokenizer,
  env,
  type PretrainedConfig,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type ProgressInfo,
  type Tensor,
} from '@huggingface/transformers';
import { resolveLayer } from '../core/experiment/layers.ts';
import type { Pooling } from '../core/experiment/types.ts';
import type { Device, Dtype, EmbedOptions, Encoder, LoadProgress, ModelSource } from '../core/ports.ts';
import { applyReferenceUnigram } from './reference-tokenizer.ts';
import {
  addHiddenStateOutputs,
  findLayerOutputs,
  hiddenStateOutputName,
  OnnxFormatError,
} from './onnx-graph/index.ts';

export interface LoadEncoderOptions {
  device: Device;
  dtype: Dtype;
  onProgress?(progress: LoadProgress): void;
  /**
   * Told the ONNX weights file's size before its bytes are read (when the size is known up front); throw to refuse
   * the load, e.g. a file too large for this device's memory.
   */
  onWeightsSize?(file: string, bytes: number): void;
  /** Browser: URLs of onnxruntime-web's `ort-wasm-simd-threaded.asyncify.{wasm,mjs}`, served by the app. */
  wasmPaths?: { wasm: string; mjs: string };
  /** Browser WASM threads; must be set before the first session is created. */
  numThreads?: number;
}

/** Texts per forward pass when the caller does not say. */
export const DEFAULT_EMBED_BATCH_SIZE = 32;

/** Used when neither the tokenizer nor the config states a usable limit. */
const FALLBACK_MAX_TOKENS = 512;

const ONNX_FILE_BY_DTYPE: Record<Dtype, string> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
};

const POOLINGS: readonly Pooling[] = ['mean', 'cls', 'last'];

/** The model ids transformers.js resolves under `env.localModelPath` (its REPO_ID_REGEX). */
const HUB_ID = /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/;

/** Files a folder must hold for `dtype`, relative to the model folder. */
export function requiredModelFiles(dtype: Dtype): string[] {
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX_FILE_BY_DTYPE[dtype]];
}

/**
 * A problem with a model's files (missing, truncated, corrupt, files from different models): loading elsewhere or
 * on another device would not help. `path` is the file's full path or URL.
 */
export class ModelFileError extends Error {
  override readonly name: string = 'ModelFileError';
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/** A required model file that is absent; `path` is the full path or URL that was checked. */
export class ModelFileMissingError extends ModelFileError {
  override readonly name: string = 'ModelFileMissingError';
}

/** The model as messages name it: its folder, URL, hub id or picked folder. */
function describeSource(source: ModelSource): string {
  switch (source.kind) {
    case 'folder':
      return source.path;
    case 'served':
      return joinUrl(source.baseUrl, source.id);
    case 'hub':
      return `${source.id} (Hugging Face hub)`;
    case 'files':
      return `the picked folder "${source.name}"`;
  }
}

/** Where one file of the model lives, as messages name it. */
function fileLocation(source: ModelSource, file: string): string {
  switch (source.kind) {
    case 'folder':
      return joinUrl(source.path, file);
    case 'served':
      return joinUrl(joinUrl(source.baseUrl, source.id), file);
    case 'hub':
      return hubFileUrl(source.id, source.revision, file);
    case 'files':
      return `${source.name}/${file}`;
  }
}

/** The id a loaded model reports. */
function modelIdOf(source: ModelSource): string {
  switch (source.kind) {
    case 'folder':
      return source.path;
    case 'files':
      return source.name;
    default:
      return source.id;
  }
}

/** transformers.js' own `pathJoin`, so hub URLs match the keys it caches files under. */
function hubPathJoin(...parts: string[]): string {
  return parts
    .map((part, index) => {
      let trimmed = index > 0 ? part.replace(/^\//, '') : part;
      if (index !== parts.length - 1) trimmed = trimmed.replace(/\/$/, '');
      return trimmed;
    })
    .join('/');
}

/**
 * The URL transformers.js downloads a hub file from, which is also the key it (and this adapter) stores the file
 * under in the browser cache.
 */
export function hubFileUrl(id: string, revision: string, file: string): string {
  const path = env.remotePathTemplate
    .replaceAll('{model}', id)
    .replaceAll('{revision}', encodeURIComponent(revision));
  return hubPathJoin(env.remoteHost, path, file);
}

/** The browser cache hub downloads go to, or undefined where there is none (Node, blocked storage). */
async function hubCache(): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined;
  return caches.open(env.cacheKey).catch(() => undefined);
}

/** One hub file to look up in the browser cache. */
export interface HubFile {
  id: string;
  revision: string;
  /** Path inside the model folder, e.g. 'onnx/model_quantized.onnx'. */
  path: string;
}

/** The hub files among `files` that are in the browser cache (so they load offline), with their stored size. */
export async function cachedHubFiles(files: readonly HubFile[]): Promise<(HubFile & { bytes: number })[]> {
  const cache = await hubCache();
  if (!cache) return [];
  const found: (HubFile & { bytes: number })[] = [];
  for (const file of files) {
    const response = await cache.match(hubFileUrl(file.id, file.revision, file.path));
    if (!response) continue;
    const declared = Number(response.headers.get('content-length'));
    found.push({ ...file, bytes: declared > 0 ? declared : (await response.blob()).size });
  }
  return found;
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function missingFileHint(location: string, dtype: Dtype): string {
  return (
    `A model folder needs ${requiredModelFiles(dtype).join(', ')} (hub layout) for dtype "${dtype}". ` +
    `Download or copy the model's files into ${location}, or pick a dtype whose ONNX file is present.`
  );
}

type NodeFs = typeof import('node:fs/promises');

/** node:fs/promises without a static import, so the browser bundle never references it. */
function nodeFs(): NodeFs {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises') as NodeFs | undefined;
  if (!fs) throw new Error('Loading a model from a folder needs Node.js 20.16 or newer.');
  return fs;
}

/** Node only: stats each required file so a missing one is named before transformers.js gives a vaguer error. */
async function checkFolderFiles(folder: string, dtype: Dtype): Promise<void> {
  const fs = nodeFs();
  const folderStat = await fs.stat(folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) {
    throw new ModelFileMissingError(
      folder,
      `Model folder not found: ${folder}. ${missingFileHint(folder, dtype)}`,
    );
  }
  for (const file of requiredModelFiles(dtype)) {
    const path = joinUrl(folder, file);
    const stat = await fs.stat(path).catch(() => undefined);
    if (!stat?.isFile()) {
      const present = await fs.readdir(joinUrl(folder, 'onnx')).catch(() => [] as string[]);
      const onnxFiles = present.filter((name) => name.endsWith('.onnx'));
      const alternatives =
        file.startsWith('onnx/') && onnxFiles.length > 0
          ? ` The onnx/ folder holds: ${onnxFiles.join(', ')}.`
          : '';
      throw new ModelFileMissingError(
        path,
        `Model file missing: ${path}.${alternatives} ${missingFileHint(folder, dtype)}`,
      );
    }
  }
}

/**
 * Browser: asks the server for each required file. A dev server answers a missing file with index.html, which
 * onnxruntime would report as "protobuf parsing failed", so an HTML answer counts as missing.
 */
async function checkServedFiles(baseUrl: string, id: string, dtype: Dtype): Promise<void> {
  const folderUrl = joinUrl(baseUrl, id);
  for (const file of requiredModelFiles(dtype)) {
    const url = joinUrl(folderUrl, file);
    let response: Response;
    try {
      response = await fetch(url, { method: 'HEAD', cache: 'no-store' });
    } catch (error) {
      throw new Error(`Could not request model file ${url}: ${String(error)}`, { cause: error });
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!response.ok || contentType.includes('text/html')) {
      throw new ModelFileMissingError(
        url,
        `Model file missing: ${url} (HTTP ${response.status}${contentType ? `, ${contentType}` : ''}). ` +
          missingFileHint(`models/${id}/`, dtype),
      );
    }
  }
}

/**
 * Browser, hub model: every required file must be in the browser cache, or, when downloads are allowed, on the hub
 * (asked with HEAD, so a wrong id or a missing precision is named before anything is downloaded). With downloads
 * off nothing leaves the machine.
 */
async function checkHubFiles(source: Extract<ModelSource, { kind: 'hub' }>, dtype: Dtype): Promise<void> {
  const cache = await hubCache();
  for (const file of requiredModelFiles(dtype)) {
    const url = hubFileUrl(source.id, source.revision, file);
    if (cache && (await cache.match(url))) continue;
    if (source.allowDownload) {
      let response: Response;
      try {
        response = await fetch(url, { method: 'HEAD' });
      } catch (error) {
        throw new Error(
          `Could not reach the Hugging Face hub for ${url} (${String(error)}). Check the connection, or run ` +
            `\`npm run models -- ${source.id}\` on a machine that can and load the model from models/.`,
          { cause: error },
        );
      }
      if (response.ok) continue;
      throw new ModelFileMissingError(
        url,
        `Model file missing on the hub: ${url} (HTTP ${response.status}). Check the model id and revision, or ` +
          `choose a precision the model offers.`,
      );
    }
    throw new ModelFileMissingError(
      url,
      `${file} of ${source.id} (${dtype}) is not in this browser's cache, and model downloads are off, so it ` +
        'was not fetched. Allow model downloads from the Hugging Face hub, or run ' +
        `\`npm run models -- ${source.id}\` and load the model from models/.`,
    );
  }
}

/** Browser, picked folder: every required file must be among the picked files. */
function checkPickedFiles(source: Extract<ModelSource, { kind: 'files' }>, dtype: Dtype): void {
  const paths = new Set(source.files.map((file) => file.path));
  for (const file of requiredModelFiles(dtype)) {
    if (paths.has(file)) continue;
    const onnxFiles = [...paths].filter((path) => path.startsWith('onnx/') && path.endsWith('.onnx'));
    const alternatives =
      file.startsWith('onnx/') && onnxFiles.length > 0
        ? ` Its onnx/ folder holds: ${onnxFiles.join(', ')}.`
        : '';
    throw new ModelFileMissingError(
      `${source.name}/${file}`,
      `Model file missing: ${source.name}/${file} is not in the picked folder.${alternatives} ` +
        missingFileHint(`the folder "${source.name}"`, dtype),
    );
  }
}

/** The picked file at `path` (inside the model folder), if any. */
function pickedFile(source: Extract<ModelSource, { kind: 'files' }>, path: string): Blob | undefined {
  return source.files.find((file) => file.path === path)?.data;
}

/** Browser: downloads a served file, reporting bytes as they arrive, and refuses an HTML page or a short body. */
async function fetchModelBytes(
  url: string,
  onBytes: (loaded: number, total: number) => void,
  onSize?: (bytes: number) => void,
  fromResponse?: Response,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = fromResponse ?? (await fetch(url));
  } catch (error) {
    throw new Error(`Could not request model file ${url}: ${String(error)}`, { cause: error });
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!response.ok || contentType.includes('text/html')) {
    throw new ModelFileMissingError(
      url,
      `Model file missing: ${url} (HTTP ${response.status}${contentType ? `, ${contentType}` : ''}).`,
    );
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

/**
 * Reads a model file (e.g. 'onnx/model.onnx') into memory, reporting progress under that name: from the folder in
 * Node; in the browser from the app's server, from the browser cache or the hub (a download is cached), or from
 * the picked folder. `onSize` hears the size before the bytes are read, when it is known.
 */
async function readModelFile(
  source: ModelSource,
  file: string,
  onProgress: ((progress: LoadProgress) => void) | undefined,
  onSize?: (bytes: number) => void,
): Promise<Uint8Array> {
  onProgress?.({ file, loaded: 0, total: 0, status: 'initiate' });
  onProgress?.({ file, loaded: 0, total: 0, status: 'download' });
  const onBytes = (loaded: number, total: number) =>
    onProgress?.({ file, loaded, total, status: 'progress' });
  let bytes: Uint8Array;
  switch (source.kind) {
    case 'folder': {
      const path = joinUrl(source.path, file);
      if (onSize) onSize((await nodeFs().stat(path)).size);
      const contents = await nodeFs().readFile(path);
      bytes = new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
      break;
    }
    case 'served':
      bytes = await fetchModelBytes(fileLocation(source, file), onBytes, onSize);
      break;
    case 'hub':
      bytes = await readHubFile(source, file, onBytes, onSize);
      break;
    case 'files': {
      const data = pickedFile(source, file);
      if (!data) throw new ModelFileMissingError(fileLocation(source, file), `Model file missing: ${file}.`);
      onSize?.(data.size);
      bytes = new Uint8Array(await data.arrayBuffer());
      break;
    }
  }
  onProgress?.({ file, loaded: bytes.length, total: bytes.length, status: 'progress' });
  onProgress?.({ file, loaded: bytes.length, total: bytes.length, status: 'done' });
  return bytes;
}

/**
 * A hub file from the browser cache, or (when the source allows downloads) from the hub, stored in the cache under
 * the same key transformers.js uses, so the next load is offline.
 */
async function readHubFile(
  source: Extract<ModelSource, { kind: 'hub' }>,
  file: string,
  onBytes: (loaded: number, total: number) => void,
  onSize?: (bytes: number) => void,
): Promise<Uint8Array> {
  const url = hubFileUrl(source.id, source.revision, file);
  const cache = await hubCache();
  const cached = await cache?.match(url);
  if (cached) return fetchModelBytes(url, onBytes, onSize, cached);
  if (!source.allowDownload) {
    throw new ModelFileMissingError(
      url,
      `${file} of ${source.id} is not in this browser's cache, and model downloads are off. Allow downloads, or ` +
        `run \`npm run models -- ${source.id}\` and load the model from models/.`,
    );
  }
  const bytes = await fetchModelBytes(url, onBytes, onSize);
  // Model bytes never live in a SharedArrayBuffer (downloads are read into plain ones).
  const body = bytes as Uint8Array<ArrayBuffer>;
  await cache
    ?.put(
      url,
      new Response(body, {
        headers: { 'content-length': String(body.byteLength), 'content-type': 'application/octet-stream' },
      }),
    )
    // A full quota only costs the offline copy; this load goes on from memory.
    .catch(() => undefined);
  return bytes;
}

type ModelFileCache = NonNullable<typeof env.customCache>;

/**
 * Model bytes prepared in memory, by the file name transformers.js will ask for (a name that exists nowhere else,
 * e.g. `model.hidden-states-3_quantized.onnx`). Entries live only while their model loads.
 */
const inMemoryModels = new Map<string, Uint8Array>();
/** Start of every in-memory model file name; no hub export uses it. */
const IN_MEMORY_STEM = 'model.hidden-states-';
/** The cache settings in force before {@link inMemoryModelCache} was installed; restored when it is removed. */
let displacedCache: { useCustomCache: boolean; customCache: ModelFileCache | null } | undefined;
let inMemoryLoads = 0;

/** Where requests for files other than in-memory models go: the cache transformers.js would have used. */
async function displacedCacheStore(): Promise<ModelFileCache | undefined> {
  if (displacedCache?.useCustomCache && displacedCache.customCache) return displacedCache.customCache;
  if (env.useBrowserCache && typeof caches !== 'undefined') {
    // Same fallback as transformers.js: a page that may not open the Cache API (e.g. some iframes) loads uncached.
    return caches.open(env.cacheKey).catch(() => undefined);
  }
  return undefined;
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

/**
 * transformers.js consults `env.customCache` before reading any file (hub.js `loadResourceFile`), in Node and in
 * the browser alike; answering the in-memory file name there makes it build the session from our bytes.
 */
const inMemoryModelCache: ModelFileCache = {
  async match(request) {
    const bytes = inMemoryModels.get(request.slice(request.lastIndexOf('/') + 1));
    if (bytes) return inMemoryResponse(bytes);
    return (await displacedCacheStore())?.match(request);
  },
  async put(request, response, progress) {
    await (await displacedCacheStore())?.put(request, response, progress);
  },
};

/**
 * Makes transformers.js read `bytes` when it asks for `onnx/<stem><dtype suffix>.onnx`, until the returned
 * function is called. Returns the stem to pass as `model_file_name`.
 */
function serveModelFromMemory(bytes: Uint8Array, dtype: Dtype): { stem: string; release(): void } {
  const stem = `${IN_MEMORY_STEM}${++inMemoryLoads}`;
  const fileName = ONNX_FILE_BY_DTYPE[dtype].replace(/^onnx\/model/, stem);
  if (inMemoryModels.size === 0) {
    displacedCache = { useCustomCache: env.useCustomCache, customCache: env.customCache };
    env.customCache = inMemoryModelCache;
    env.useCustomCache = true;
  }
  inMemoryModels.set(fileName, bytes);
  return {
    stem,
    release() {
      if (!inMemoryModels.delete(fileName) || inMemoryModels.size > 0 || !displacedCache) return;
      // Someone else may have installed a cache meanwhile; theirs stays.
      if (env.customCache === inMemoryModelCache) {
        env.useCustomCache = displacedCache.useCustomCache;
        env.customCache = displacedCache.customCache;
      }
      displacedCache = undefined;
    },
  };
}

/** Which hidden layers a loaded model can return. */
interface LayerAccess {
  /** Transformer layers: hidden states run 0 (embeddings output) to numLayers (last layer). */
  numLayers: number;
  /** Set when only the last layer can be read, saying why (e.g. an export without layer scopes). */
  unavailable?: string;
}

const LAYER_COUNT_KEYS = ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'];

/**
 * Adds a `hidden_states.N` output for every layer 0..numLayers to the model bytes. The layer count found in the
 * graph must agree with config.json. A graph whose layers cannot be found still loads, with only its last layer
 * readable; bytes that are not an ONNX model fail here with a message naming the file.
 */
function exposeHiddenStates(
  bytes: Uint8Array,
  configLayers: number | undefined,
  location: string,
): { bytes: Uint8Array; layers: LayerAccess } {
  let found: ReturnType<typeof findLayerOutputs>;
  try {
    found = findLayerOutputs(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof OnnxFormatError) {
      throw new ModelFileError(
        location,
        `${location} is not a usable ONNX model: ${reason} Download or copy it again.`,
        { cause: error },
      );
    }
    return { bytes, layers: { numLayers: configLayers ?? 0, unavailable: reason } };
  }
  if (configLayers !== undefined && configLayers !== found.numLayers) {
    throw new ModelFileError(
      location,
      `config.json says the model has ${configLayers} layers, but ${location} has ${found.numLayers} ` +
        `(scopes ${found.stackScope}0/ to ${found.stackScope}${found.numLayers - 1}/): the two files come from ` +
        'different models. Copy config.json and the ONNX file from the same export.',
    );
  }
  const all = Array.from({ length: found.numLayers + 1 }, (_, layer) => layer);
  return { bytes: addHiddenStateOutputs(bytes, all), layers: { numLayers: found.numLayers } };
}

/** True when config.json asks transformers.js to load the weights from separate `.onnx_data` files. */
function usesExternalData(config: Record<string, unknown>): boolean {
  const jsConfig = config['transformers.js_config'] as { use_external_data_format?: unknown } | undefined;
  const external = jsConfig?.use_external_data_format;
  if (typeof external === 'object' && external !== null) return Object.values(external).some(Boolean);
  return Boolean(external);
}

/**
 * Returns a transformers.js progress callback reporting the port's {@link LoadProgress}. 'done' carries the file's
 * last known size (transformers.js sends none); aggregate events are dropped.
 */
function progressReporter(onProgress: (progress: LoadProgress) => void): (info: ProgressInfo) => void {
  const sizes = new Map<string, number>();
  return (info) => {
    switch (info.status) {
      case 'initiate':
      case 'download':
        onProgress({ file: info.file, loaded: 0, total: sizes.get(info.file) ?? 0, status: info.status });
        return;
      case 'progress':
        sizes.set(info.file, info.total);
        onProgress({ file: info.file, loaded: info.loaded, total: info.total, status: 'progress' });
        return;
      case 'done': {
        const size = sizes.get(info.file) ?? 0;
        onProgress({ file: info.file, loaded: size, total: size, status: 'done' });
        return;
      }
      default:
        return;
    }
  };
}

function positiveFinite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function configNumber(config: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) {
    const value = positiveFinite(config[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Pools one text's token vectors (rows of `hidden`, shape [T, H] at `offset`) into one vector. */
function poolTokens(
  hidden: Float32Array,
  mask: ArrayLike<bigint | number>,
  offset: number,
  maskOffset: number,
  tokens: number,
  size: number,
  pooling: Pooling,
): Float32Array {
  const pooled = new Float32Array(size);
  const isReal = (token: number) => Number(mask[maskOffset + token]) !== 0;
  if (pooling === 'cls') {
    pooled.set(hidden.subarray(offset, offset + size));
    return pooled;
  }
  if (pooling === 'last') {
    let last = 0;
    for (let token = 0; token < tokens; token++) if (isReal(token)) last = token;
    pooled.set(hidden.subarray(offset + last * size, offset + (last + 1) * size));
    return pooled;
  }
  // Accumulate in float64 so the mean does not depend on how many padding rows the batch added.
  const sum = new Float64Array(size);
  let count = 0;
  for (let token = 0; token < tokens; token++) {
    if (!isReal(token)) continue;
    count++;
    const row = offset + token * size;
    for (let d = 0; d < size; d++) sum[d] = (sum[d] ?? 0) + (hidden[row + d] ?? 0);
  }
  for (let d = 0; d < size; d++) pooled[d] = (sum[d] ?? 0) / Math.max(count, 1);
  return pooled;
}

/** Checks pooling and batch size; returns the batch size to use. */
function assertEmbedOptions(options: EmbedOptions): number {
  if (!POOLINGS.includes(options.pooling)) {
    throw new RangeError(
      `Unknown pooling "${String(options.pooling)}". Use one of: ${POOLINGS.map((p) => `"${p}"`).join(', ')}.`,
    );
  }
  const batchSize = options.batchSize ?? DEFAULT_EMBED_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Embedding batch size must be a positive integer, got ${String(batchSize)}.`);
  }
  return batchSize;
}

class TransformersEncoder implements Encoder {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly dimension: number;
  readonly numLayers: number;
  readonly maxTokens: number;
  readonly #tokenizer: PreTrainedTokenizer;
  readonly #model: PreTrainedModel;
  readonly #inputNames: readonly string[] | undefined;
  /** Why intermediate layers cannot be read, when they cannot. */
  readonly #layersUnavailable: string | undefined;
  #disposed = false;

  constructor(
    modelId: string,
    device: Device,
    dtype: Dtype,
    tokenizer: PreTrainedTokenizer,
    model: PreTrainedModel,
    layers: LayerAccess,
  ) {
    this.modelId = modelId;
    this.device = device;
    this.dtype = dtype;
    this.#tokenizer = tokenizer;
    this.#model = model;
    this.numLayers = layers.numLayers;
    this.#layersUnavailable = layers.unavailable;
    const config = model.config as unknown as Record<string, unknown>;
    const dimension = configNumber(config, ['hidden_size', 'd_model', 'n_embd', 'dim']);
    if (dimension === undefined) {
      throw new Error(`${modelId}: config.json states no hidden size (hidden_size, d_model or n_embd).`);
    }
    this.dimension = dimension;
    const positions = configNumber(config, ['max_position_embeddings', 'n_positions']);
    // Tokenizers without a limit report a huge sentinel (1e30); the position table is the real bound.
    const tokenizerLimit = positiveFinite(tokenizer.model_max_length);
    const limits = [tokenizerLimit, positions].filter(
      (limit): limit is number => limit !== undefined && limit < 1e9,
    );
    this.maxTokens = limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_TOKENS;
    const sessions = (model as unknown as { sessions?: Record<string, { inputNames?: string[] }> }).sessions;
    this.#inputNames = sessions?.model?.inputNames;
  }

  async embed(
    texts: string[],
    options: EmbedOptions,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[]> {
    this.#assertUsable();
    const batchSize = assertEmbedOptions(options);
    const layer = this.#layerIndex(options.layer);
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      vectors.push(...(await this.#embedBatch(batch, layer, options.pooling)));
      onBatch?.(Math.min(start + batchSize, texts.length), texts.length);
    }
    return vectors;
  }

  async countTokens(texts: string[]): Promise<number[]> {
    this.#assertUsable();
    return texts.map((text) => this.#tokenizer.encode(text).length);
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#model.dispose();
  }

  /** Resolves a layer index (negative counts from the end) to 0..numLayers, or says which layers exist. */
  #layerIndex(layer: number): number {
    const last = this.numLayers;
    const index = resolveLayer(layer, last, this.modelId);
    if (index < last && this.#layersUnavailable !== undefined) {
      throw new RangeError(
        `Layer ${layer} of ${this.modelId} cannot be read, only the last layer (-1) can: ` +
          this.#layersUnavailable,
      );
    }
    return index;
  }

  /**
   * The hidden states of `layer` among the model's outputs. The last layer is `last_hidden_state` when the model
   * has it (after any final norm, as transformers' `hidden_states[-1]`); a causal LM has none, so its last layer is
   * the last block's output.
   */
  #hiddenStates(outputs: Record<string, Tensor | undefined>, layer: number): Tensor {
    const name = hiddenStateOutputName(layer);
    const hidden = layer === this.numLayers ? (outputs.last_hidden_state ?? outputs[name]) : outputs[name];
    if (hidden) return hidden;
    const wanted = layer === this.numLayers ? `"last_hidden_state" or "${name}"` : `"${name}"`;
    throw new Error(
      `${this.modelId}: the model returned no ${wanted} (outputs: ${Object.keys(outputs).join(', ')}). ` +
        'Use an encoder (feature-extraction) export of the model.',
    );
  }

  async #embedBatch(texts: string[], layer: number, pooling: Pooling): Promise<Float32Array[]> {
    const encoded = this.#tokenizer(texts, { padding: true, truncation: true, max_length: this.maxTokens });
    const feeds: Record<string, Tensor> = {
      input_ids: encoded.input_ids,
      attention_mask: encoded.attention_mask,
    };
    if (encoded.token_type_ids && (this.#inputNames?.includes('token_type_ids') ?? true)) {
      feeds.token_type_ids = encoded.token_type_ids;
    }
    let outputs: Record<string, Tensor | undefined>;
    try {
      outputs = (await this.#model(feeds)) as Record<string, Tensor | undefined>;
    } catch (error) {
      for (const tensor of Object.values(feeds)) tensor.dispose();
      throw this.#runError(error);
    }
    try {
      const hidden = this.#hiddenStates(outputs, layer);
      const [rows, tokens, size] = hidden.dims as [number, number, number];
      if (size !== this.dimension) {
        throw new Error(`${this.modelId}: hidden size ${size} differs from config.json's ${this.dimension}.`);
      }
      // fp16 exports may return float16 hidden states; pooling works in float32.
      const data = (hidden.type === 'float32' ? hidden : hidden.to('float32')).data as Float32Array;
      const mask = encoded.attention_mask.data as ArrayLike<bigint | number>;
      const pooled: Float32Array[] = [];
      for (let row = 0; row < rows; row++) {
        pooled.push(poolTokens(data, mask, row * tokens * size, row * tokens, tokens, size, pooling));
      }
      return pooled;
    } finally {
      for (const tensor of Object.values(outputs)) tensor?.dispose();
      for (const tensor of Object.values(feeds)) tensor.dispose();
    }
  }

  /** A failed forward pass, with the one cause the files can explain said plainly. */
  #runError(error: unknown): Error {
    const reason = error instanceof Error ? error.message : String(error);
    if (!/indices element out of data bounds|out of (data )?bounds|index out of range/i.test(reason)) {
      return error instanceof Error ? error : new Error(reason);
    }
    return new Error(
      `${this.modelId}: the tokenizer produced token ids the model's embedding table does not have (${reason}). ` +
        'tokenizer.json belongs to a different model: copy it from the same export as the ONNX file.',
      { cause: error },
    );
  }

  #assertUsable(): void {
    if (this.#disposed) throw new Error(`The encoder for ${this.modelId} was disposed; load it again.`);
  }
}

/** Where transformers.js looks for a picked folder's files; only the adapter's own `env.fetch` answers it. */
const PICKED_FILES_PATH = '/picked-model-folder/';
/** The model id a picked folder goes by inside transformers.js. */
const PICKED_REFERENCE = 'picked/model';

/**
 * Points transformers.js at the source. Only a hub source that allows downloads lets requests leave the machine;
 * only hub files go to the browser cache (served and picked files are local already).
 */
function configureEnvironment(source: ModelSource, options: LoadEncoderOptions): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useBrowserCache = false;
  // Never copy model files into transformers.js's file-system cache (inside node_modules): local files are read in
  // place, and a cached copy would outlive the file, even an error page a server once answered with.
  env.useFSCache = false;
  switch (source.kind) {
    case 'folder':
      break;
    case 'served':
      env.localModelPath = source.baseUrl;
      break;
    case 'hub':
      // Cache first (transformers.js looks there before anything else); the hub only when downloads are allowed.
      env.useBrowserCache = typeof caches !== 'undefined';
      env.allowRemoteModels = source.allowDownload;
      env.allowLocalModels = !source.allowDownload;
      break;
    case 'files':
      env.localModelPath = PICKED_FILES_PATH;
      break;
  }
  const wasm = env.backends.onnx.wasm;
  if (wasm) {
    // transformers.js points WASM at a CDN when imported; the app serves its own copy. It would also re-serve the
    // loader from a blob: URL, from which ORT starts its threads, and a CSP allowing workers only from 'self'
    // blocks those: the app's own URLs (cached by its service worker) are enough.
    if (options.wasmPaths) {
      wasm.wasmPaths = options.wasmPaths;
      env.useWasmCache = false;
    }
    if (options.numThreads !== undefined) wasm.numThreads = options.numThreads;
  }
}

/** What transformers.js gets as "model name or path": an absolute folder in Node, a hub-style id in the browser. */
function pretrainedReference(source: ModelSource): string {
  switch (source.kind) {
    case 'folder':
      return source.path.replace(/\/+$/, '');
    case 'hub':
      return source.id;
    case 'files':
      return PICKED_REFERENCE;
    case 'served': {
      const id = source.id.replace(/^\/+|\/+$/g, '');
      // transformers.js prefixes `localModelPath` only to hub-style ids ("owner/name"); deeper ids go as full paths.
      return HUB_ID.test(id) ? id : joinUrl(source.baseUrl, id);
    }
  }
}

/**
 * Makes transformers.js read a picked folder's files through `env.fetch` (the one way it reads local files in a
 * browser), answering every other path with a 404 so an optional file it looks for is "absent" without any
 * request. Returns the function that restores the previous `env.fetch`.
 */
function servePickedFiles(source: Extract<ModelSource, { kind: 'files' }>): () => void {
  const previous = env.fetch;
  const prefix = `${PICKED_FILES_PATH}${PICKED_REFERENCE}/`;
  env.fetch = (input: string | URL) => {
    const url = String(input);
    const data = url.startsWith(prefix) ? pickedFile(source, url.slice(prefix.length)) : undefined;
    return Promise.resolve(
      data
        ? new Response(data, { headers: { 'content-length': String(data.size) } })
        : new Response(null, { status: 404, statusText: 'Not in the picked folder' }),
    );
  };
  return () => {
    env.fetch = previous;
  };
}

/** The largest token id in a tokenizer's vocabulary, or undefined when it cannot tell. */
function largestTokenId(tokenizer: PreTrainedTokenizer): number | undefined {
  let largest: number | undefined;
  for (const id of tokenizer.get_vocab().values()) if (largest === undefined || id > largest) largest = id;
  return largest;
}

/**
 * A tokenizer whose ids reach past the model's embedding table belongs to another model: ORT would fail on the
 * first text with an index error, or worse, a model with a larger table would silently read the wrong rows.
 */
function checkTokenizerFitsModel(
  tokenizer: PreTrainedTokenizer,
  config: Record<string, unknown>,
  source: ModelSource,
): void {
  const vocabSize = configNumber(config, ['vocab_size', 'n_vocab']);
  const largest = largestTokenId(tokenizer);
  if (vocabSize === undefined || largest === undefined || largest < vocabSize) return;
  const tokenizerFile = fileLocation(source, 'tokenizer.json');
  throw new ModelFileError(
    tokenizerFile,
    `${tokenizerFile} does not match the model: its token ids go up to ${largest}, but config.json says the ` +
      `model has ${vocabSize} tokens (vocab_size). The tokenizer comes from a different model. Copy ` +
      'tokenizer.json and tokenizer_config.json from the same export as config.json and the ONNX file.',
  );
}

/** onnxruntime's words for an ONNX file it cannot parse. */
const UNPARSABLE_ONNX =
  /protobuf parsing failed|failed to load model|invalid model|load model from .* failed/i;

/** WebGPU devices already watched for loss, so each gets one listener. */
const watchedDevices = new WeakSet<object>();
let deviceLostHandler: ((reason: string) => void) | undefined;

/**
 * Calls `handler` when the GPU device behind WebGPU sessions is lost (driver reset, GPU removed, out of memory).
 * Sessions on it are unusable afterwards; the caller should reload on WASM.
 */
export function onWebGpuDeviceLost(handler: (reason: string) => void): void {
  deviceLostHandler = handler;
}

/** Starts watching the device onnxruntime created for WebGPU, once one exists. */
async function watchWebGpuDevice(): Promise<void> {
  const webgpu = env.backends.onnx.webgpu;
  if (!webgpu) return;
  const device = await webgpu.device;
  if (!device || watchedDevices.has(device)) return;
  watchedDevices.add(device);
  void device.lost.then((info) => deviceLostHandler?.(info.message || `reason: ${String(info.reason)}`));
}

/**
 * Loads the tokenizer and ONNX encoder of `source`, checking first that every required file exists (the error
 * names the missing file's full path). Nothing leaves the machine unless `source` is a hub model that allows
 * downloads. File problems throw a {@link ModelFileError}.
 */
export async function loadEncoder(source: ModelSource, options: LoadEncoderOptions): Promise<Encoder> {
  switch (source.kind) {
    case 'folder':
      if (!source.path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(source.path)) {
        throw new Error(`Model folder must be an absolute path, got "${source.path}".`);
      }
      await checkFolderFiles(source.path, options.dtype);
      break;
    case 'served':
      await checkServedFiles(source.baseUrl, source.id, options.dtype);
      break;
    case 'hub':
      await checkHubFiles(source, options.dtype);
      break;
    case 'files':
      checkPickedFiles(source, options.dtype);
      break;
  }
  configureEnvironment(source, options);
  const restoreFetch = source.kind === 'files' ? servePickedFiles(source) : undefined;
  try {
    return await loadConfigured(source, options);
  } finally {
    restoreFetch?.();
  }
}

/** The load itself, once the files are checked and transformers.js is configured for the source. */
async function loadConfigured(source: ModelSource, options: LoadEncoderOptions): Promise<Encoder> {
  const reference = pretrainedReference(source);
  const revision = source.kind === 'hub' ? { revision: source.revision } : {};
  const onnxFile = ONNX_FILE_BY_DTYPE[options.dtype];
  const progress_callback = options.onProgress ? progressReporter(options.onProgress) : undefined;
  const location = describeSource(source);
  const settings = `device ${options.device}, dtype ${options.dtype}`;
  const loadError = (error: unknown): Error => {
    if (error instanceof ModelFileError) return error;
    const reason = error instanceof Error ? error.message : String(error);
    if (UNPARSABLE_ONNX.test(reason)) {
      const onnxLocation = fileLocation(source, onnxFile);
      return new ModelFileError(
        onnxLocation,
        `onnxruntime could not read ${onnxLocation} (${reason}): the file is corrupt or incomplete. Download or ` +
          'copy it again.',
        { cause: error },
      );
    }
    return new Error(`Could not load the model at ${location} (${settings}): ${reason}`, { cause: error });
  };

  let tokenizer: PreTrainedTokenizer;
  let config: PretrainedConfig;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(reference, { progress_callback, ...revision });
    applyReferenceUnigram(tokenizer);
    config = await AutoConfig.from_pretrained(reference, { progress_callback, ...revision });
  } catch (error) {
    throw loadError(error);
  }
  const configFields = config as unknown as Record<string, unknown>;
  checkTokenizerFitsModel(tokenizer, configFields, source);
  const configLayers = configNumber(configFields, LAYER_COUNT_KEYS);

  let layers: LayerAccess;
  let model: PreTrainedModel;
  const modelOptions = { config, device: options.device, dtype: options.dtype, ...revision };
  if (usesExternalData(configFields)) {
    // The weights live in .onnx_data files that name the original graph file: load it as it is.
    layers = {
      numLayers: configLayers ?? 0,
      unavailable: `${location} keeps its weights in external .onnx_data files, which this app cannot extend with layer outputs.`,
    };
    try {
      model = await AutoModel.from_pretrained(reference, { ...modelOptions, progress_callback });
    } catch (error) {
      throw loadError(error);
    }
  } else {
    // Read and extend the graph once per load. The original bytes are dropped here; the extended copy is handed
    // over in memory and released as soon as the session holds it.
    const prepared = exposeHiddenStates(
      await readModelFile(source, onnxFile, options.onProgress, (bytes) =>
        options.onWeightsSize?.(onnxFile, bytes),
      ),
      configLayers,
      fileLocation(source, onnxFile),
    );
    layers = prepared.layers;
    const served = serveModelFromMemory(prepared.bytes, options.dtype);
    // No progress callback: readModelFile reported the real file, and without one transformers.js takes the
    // in-memory bytes with arrayBuffer() instead of copying them through a stream.
    try {
      model = await AutoModel.from_pretrained(reference, { ...modelOptions, model_file_name: served.stem });
    } catch (error) {
      throw loadError(error);
    } finally {
      served.release();
    }
  }

  let encoder: Encoder;
  try {
    encoder = new TransformersEncoder(
      modelIdOf(source),
      options.device,
      options.dtype,
      tokenizer,
      model,
      layers,
    );
  } catch (error) {
    await model.dispose();
    throw error;
  }
  if (options.device === 'webgpu') await watchWebGpuDevice().catch(() => undefined);
  options.onProgress?.({ file: '', loaded: 0, total: 0, status: 'ready' });
  return encoder;
}

/** Token ids of a padded batch, row-major `[rows, tokens]`, as int64 ONNX inputs take them. */
export interface TokenizedBatch {
  dims: [rows: number, tokens: number];
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Present when the tokenizer produces segment ids (BERT-style). */
  tokenTypeIds?: BigInt64Array;
}

/** A model's tokenizer on its own, for feeding an ONNX session directly (benchmarks). */
export interface BatchTokenizer {
  /** Pads to the longest text and truncates to `maxTokens`, exactly as {@link Encoder.embed} does. */
  tokenize(texts: string[], maxTokens: number): TokenizedBatch;
}

/** Loads only the tokenizer of a model folder (Node), e.g. to benchmark a bare ONNX session on the same inputs. */
export async function loadBatchTokenizer(folder: string): Promise<BatchTokenizer> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const tokenizer = await AutoTokenizer.from_pretrained(folder.replace(/\/+$/, ''));
  applyReferenceUnigram(tokenizer);
  const int64 = (tensor: Tensor) => BigInt64Array.from(tensor.data as ArrayLike<bigint>);
  return {
    tokenize(texts, maxTokens) {
      const encoded = tokenizer(texts, { padding: true, truncation: true, max_length: maxTokens });
      const [rows, tokens] = encoded.input_ids.dims as [number, number];
      return {
        dims: [rows, tokens],
        inputIds: int64(encoded.input_ids),
        attentionMask: int64(encoded.attention_mask),
        ...(encoded.token_type_ids ? { tokenTypeIds: int64(encoded.token_type_ids) } : {}),
      };
    },
  };
}
