/**
 * @file The transformers.js adapter: loads a frozen encoder (tokenizer + ONNX model) and turns texts into pooled
 * feature vectors. This is the only module that imports `@huggingface/transformers`.
 *
 * Node loads from an absolute folder with onnxruntime-node (device 'cpu'); the browser loads from URLs the app
 * serves, on onnxruntime-web (device 'wasm' or 'webgpu'), with the WASM files self-hosted (never a CDN).
 */
import {
  AutoModel,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type ProgressInfo,
  type Tensor,
} from '@huggingface/transformers';
import type { Pooling } from '../core/experiment/types.ts';
import type { Device, Dtype, EmbedOptions, Encoder, LoadProgress, ModelSource } from '../core/ports.ts';

export interface LoadEncoderOptions {
  device: Device;
  dtype: Dtype;
  onProgress?(progress: LoadProgress): void;
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

/** A required model file that is absent; `path` is the full path or URL that was checked. */
export class ModelFileMissingError extends Error {
  override readonly name = 'ModelFileMissingError';
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

function describeSource(source: ModelSource): string {
  return source.kind === 'folder' ? source.path : joinUrl(source.baseUrl, source.id);
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

/** Node only: stats each required file so a missing one is named before transformers.js gives a vaguer error. */
async function checkFolderFiles(folder: string, dtype: Dtype): Promise<void> {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises') as
    typeof import('node:fs/promises') | undefined;
  if (!fs) throw new Error('Loading a model from a folder needs Node.js 20.16 or newer.');
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

function assertEmbedOptions(options: EmbedOptions, numLayers: number): number {
  if (!POOLINGS.includes(options.pooling)) {
    throw new RangeError(
      `Unknown pooling "${String(options.pooling)}". Use one of: ${POOLINGS.map((p) => `"${p}"`).join(', ')}.`,
    );
  }
  if (options.layer !== -1 && options.layer !== numLayers) {
    throw new RangeError(
      `Reading hidden layer ${String(options.layer)} is not supported yet: only the last layer (-1) is. ` +
        `Set "layer": -1 for now.`,
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
  #disposed = false;

  constructor(
    modelId: string,
    device: Device,
    dtype: Dtype,
    tokenizer: PreTrainedTokenizer,
    model: PreTrainedModel,
  ) {
    this.modelId = modelId;
    this.device = device;
    this.dtype = dtype;
    this.#tokenizer = tokenizer;
    this.#model = model;
    const config = model.config as unknown as Record<string, unknown>;
    const dimension = configNumber(config, ['hidden_size', 'd_model', 'n_embd', 'dim']);
    if (dimension === undefined) {
      throw new Error(`${modelId}: config.json states no hidden size (hidden_size, d_model or n_embd).`);
    }
    this.dimension = dimension;
    this.numLayers = configNumber(config, ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers']) ?? 0;
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
    const batchSize = assertEmbedOptions(options, this.numLayers);
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      vectors.push(...(await this.#embedBatch(batch, options.pooling)));
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

  async #embedBatch(texts: string[], pooling: Pooling): Promise<Float32Array[]> {
    const encoded = this.#tokenizer(texts, { padding: true, truncation: true, max_length: this.maxTokens });
    const feeds: Record<string, Tensor> = {
      input_ids: encoded.input_ids,
      attention_mask: encoded.attention_mask,
    };
    if (encoded.token_type_ids && (this.#inputNames?.includes('token_type_ids') ?? true)) {
      feeds.token_type_ids = encoded.token_type_ids;
    }
    const outputs = (await this.#model(feeds)) as Record<string, Tensor | undefined>;
    const hidden = outputs.last_hidden_state;
    try {
      if (!hidden) {
        throw new Error(
          `${this.modelId}: the model returned no "last_hidden_state" (outputs: ${Object.keys(outputs).join(', ')}). ` +
            'Use an encoder (feature-extraction) export of the model.',
        );
      }
      const [rows, tokens, size] = hidden.dims as [number, number, number];
      if (size !== this.dimension) {
        throw new Error(`${this.modelId}: hidden size ${size} differs from config.json's ${this.dimension}.`);
      }
      const data = hidden.data as Float32Array;
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

  #assertUsable(): void {
    if (this.#disposed) throw new Error(`The encoder for ${this.modelId} was disposed; load it again.`);
  }
}

/** Points transformers.js at local files only; for served models, at the app's base URL. */
function configureEnvironment(source: ModelSource, options: LoadEncoderOptions): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  if (source.kind === 'folder') {
    // Local files are read in place; nothing needs a file-system cache copy.
    env.useFSCache = false;
  } else {
    env.localModelPath = source.baseUrl;
  }
  const wasm = env.backends.onnx.wasm;
  if (wasm) {
    // transformers.js points WASM at a CDN when imported; the app serves its own copy.
    if (options.wasmPaths) wasm.wasmPaths = options.wasmPaths;
    if (options.numThreads !== undefined) wasm.numThreads = options.numThreads;
  }
}

/** What transformers.js gets as "model name or path": an absolute folder in Node, a hub-style id in the browser. */
function pretrainedReference(source: ModelSource): string {
  if (source.kind === 'folder') return source.path.replace(/\/+$/, '');
  const id = source.id.replace(/^\/+|\/+$/g, '');
  // transformers.js prefixes `localModelPath` only to hub-style ids ("owner/name"); deeper ids go as full paths.
  return HUB_ID.test(id) ? id : joinUrl(source.baseUrl, id);
}

/**
 * Loads the tokenizer and ONNX encoder of `source`, checking first that every required file exists (the error
 * names the missing file's full path). Only local or app-served files are read; the hub is never contacted.
 */
export async function loadEncoder(source: ModelSource, options: LoadEncoderOptions): Promise<Encoder> {
  if (source.kind === 'folder') {
    if (!source.path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(source.path)) {
      throw new Error(`Model folder must be an absolute path, got "${source.path}".`);
    }
    await checkFolderFiles(source.path, options.dtype);
  } else {
    await checkServedFiles(source.baseUrl, source.id, options.dtype);
  }
  configureEnvironment(source, options);

  const reference = pretrainedReference(source);
  const progress_callback = options.onProgress ? progressReporter(options.onProgress) : undefined;
  const location = describeSource(source);
  let tokenizer: PreTrainedTokenizer;
  let model: PreTrainedModel;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(reference, { progress_callback });
    model = await AutoModel.from_pretrained(reference, {
      device: options.device,
      dtype: options.dtype,
      progress_callback,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const settings = `device ${options.device}, dtype ${options.dtype}`;
    throw new Error(`Could not load the model at ${location} (${settings}): ${reason}`, { cause: error });
  }
  let encoder: Encoder;
  try {
    const modelId = source.kind === 'folder' ? source.path : source.id;
    encoder = new TransformersEncoder(modelId, options.device, options.dtype, tokenizer, model);
  } catch (error) {
    await model.dispose();
    throw error;
  }
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
