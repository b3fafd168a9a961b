/**
 * @file The transformers.js adapter: loads a frozen encoder (tokenizer + ONNX model) and turns texts into pooled
 * feature vectors. This is the only module that imports `@huggingface/transformers`; everything around it that
 * does not need the library lives in its own module:
 * - model-sources/: where the files live (a folder in Node, the app's server, the Hugging Face hub, a picked
 *   folder) and how each is described, checked, read and configured;
 * - in-memory-model.ts: handing transformers.js model bytes prepared in memory;
 * - layer-access.ts, model-config.ts: the graph's layers and what config.json says;
 * - pooling.ts: one vector per text from the token vectors.
 *
 * Node loads from an absolute folder with onnxruntime-node (device 'cpu'). The browser runs onnxruntime-web (device
 * 'wasm' or 'webgpu') with the WASM files self-hosted (never a CDN). File problems (missing, truncated, corrupt, a
 * tokenizer from another model) throw a {@link ModelFileError} naming the file and what to do.
 *
 * Text pairs (NLI): a model whose graph returns classification `logits` is also a {@link PairClassifier} over the
 * same session; pairs are tokenized as the model's tokenizer joins them, a premise too long is cut at its end (the
 * hypothesis and special tokens never are), and the logits come back in config.json's `id2label` order.
 *
 * Any hidden layer: the adapter reads the ONNX file itself, adds a graph output `hidden_states.N` for every layer,
 * and hands transformers.js those bytes in memory, so one session returns every layer next to `last_hidden_state`.
 * Nothing is written to disk.
 */
import {
  AutoConfig,
  AutoModel,
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  Tensor as TensorClass,
  type PretrainedConfig,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type ProgressInfo,
  Tensor,
} from '@huggingface/transformers';
import { sha256Hex } from '../core/hash/sha256.ts';
import { batchCostFor, planBatches, tokenBudgetFor } from '../core/models/batches.ts';
import { resolveLayer } from '../core/experiment/layers.ts';
import type { Pooling } from '../core/experiment/types.ts';
import { ONNX_FILE_BY_DTYPE, type CachedHubFile, type HubFile } from '../core/models/files.ts';
import type {
  ClassifiedPairs,
  CausalScorer,
  ChatMessage,
  ContinuationRequest,
  Device,
  Dtype,
  EmbedOptions,
  Encoder,
  LoadProgress,
  ModelSource,
  PairClassifier,
  TextPair,
  TextTokenStates,
  TokenStateOptions,
} from '../core/ports.ts';
import { InMemoryModels } from './in-memory-model.ts';
import { applyReferenceUnigram } from './reference-tokenizer.ts';
import { exposeHiddenStates, type LayerAccess } from './layer-access.ts';
import {
  checkTokenizerFitsModel,
  configNumber,
  graphOptimizationOf,
  hiddenSizeOf,
  LAYER_COUNT_KEYS,
  maxTokensOf,
  usesExternalData,
  type ConfigFields,
} from './model-config.ts';
import { ModelFileError } from './model-errors.ts';
import {
  cachedHubFiles as cachedFilesOnHub,
  sourceKindOf,
  type SourceEnvironment,
} from './model-sources/index.ts';
import { hiddenStateOutputName, modelMetadata } from './onnx-graph/index.ts';
import { assertPooling, poolBatch } from './pooling.ts';
import { padEncodings, type TextEncoding } from './token-batch.ts';

export { ModelFileError, ModelFileMissingError } from './model-errors.ts';

export interface LoadEncoderOptions {
  device: Device;
  dtype: Dtype;
  onProgress?(progress: LoadProgress): void;
  /**
   * Told the ONNX weights file's size before its bytes are read (when the size is known up front); throw to refuse
   * the load, e.g. a file too large for this device's memory.
   */
  onWeightsSize?(file: string, bytes: number): void;
  /** Browser: URLs of the onnxruntime-web build the model worker chose (`.wasm` and its `.mjs` loader), served by the app. */
  wasmPaths?: { wasm: string; mjs: string };
  /** Browser WASM threads; must be set before the first session is created. */
  numThreads?: number;
  /** Told each phase's wall-clock time as it ends: `files`, `prepare`, `session` (core/models/load-phases.ts). */
  onPhase?(name: 'files' | 'prepare' | 'session', ms: number): void;
}

/** Texts per forward pass when the caller does not say. */
export const DEFAULT_EMBED_BATCH_SIZE = 32;

/** In-memory model files served to transformers.js through its custom cache. */
const inMemoryModels = new InMemoryModels(env);

/** The hub files among `files` that are in the browser cache (so they load offline), with their stored size. */
export function cachedHubFiles(files: readonly HubFile[]): Promise<CachedHubFile[]> {
  return cachedFilesOnHub(env, files);
}

/** The graph output of models that compute their own sentence embedding (see src/cli/convert/use-lite-graph.ts). */
export const SENTENCE_EMBEDDING_OUTPUT = 'sentence_embedding';

/** The graph output of sequence classifiers (NLI models among them): one row of class logits per input. */
export const CLASSIFIER_OUTPUT = 'logits';

/** config.json's `id2label` as a list in logit order (`{"0": "a", "1": "b"}` → `["a", "b"]`); [] when absent. */
function id2labelOf(config: ConfigFields): string[] {
  const raw = (config as { id2label?: unknown }).id2label;
  if (typeof raw !== 'object' || raw === null) return [];
  const entries = Object.entries(raw as Record<string, unknown>);
  const labels: string[] = [];
  for (const [id, label] of entries) {
    const index = Number(id);
    if (Number.isInteger(index) && index >= 0 && index < 10_000) labels[index] = String(label);
  }
  return Array.from(labels, (label) => label ?? '');
}

/** Checks pooling and batch size; returns the batch size to use. */
function assertEmbedOptions(options: EmbedOptions): number {
  assertPooling(options.pooling);
  const batchSize = options.batchSize ?? DEFAULT_EMBED_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Embedding batch size must be a positive integer, got ${String(batchSize)}.`);
  }
  return batchSize;
}

/**
 * Points transformers.js at a source as its table entry says. Only a hub source that allows downloads lets
 * requests leave the machine; only hub files go to the browser cache (served and picked files are local already).
 * Returns the function that undoes what only this load needs (a source's own `env.fetch`).
 */
function configureEnvironment(settings: SourceEnvironment, options: LoadEncoderOptions): () => void {
  env.allowRemoteModels = settings.allowRemoteModels;
  env.allowLocalModels = settings.allowLocalModels;
  env.useBrowserCache = settings.useBrowserCache;
  // Never copy model files into transformers.js's file-system cache (inside node_modules): local files are read in
  // place, and a cached copy would outlive the file, even an error page a server once answered with.
  env.useFSCache = false;
  if (settings.localModelPath !== undefined) env.localModelPath = settings.localModelPath;
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
  const answer = settings.fetch;
  if (!answer) return () => undefined;
  const previous = env.fetch;
  env.fetch = (input: string | URL) => answer(String(input));
  return () => {
    env.fetch = previous;
  };
}

/**
 * Reads a model file (e.g. 'onnx/model.onnx') of `source` into memory, reporting progress under that name.
 * `onSize` hears the size before the bytes are read, when it is known.
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
  const bytes = await sourceKindOf(source).read(source, file, env, onBytes, onSize);
  onProgress?.({ file, loaded: bytes.length, total: bytes.length, status: 'progress' });
  onProgress?.({ file, loaded: bytes.length, total: bytes.length, status: 'done' });
  return bytes;
}

/**
 * Reads the ONNX weights file of `source` for `dtype` again, as it is stored (unfreezing rebuilds the top layers
 * from it in the head worker). The source's own checks apply: nothing leaves the machine unless it allows it.
 */
export async function readModelWeights(source: ModelSource, dtype: Dtype): Promise<Uint8Array> {
  return sourceKindOf(source).read(source, ONNX_FILE_BY_DTYPE[dtype], env, () => undefined);
}

/** The largest token id in a tokenizer's vocabulary, or undefined when it cannot tell. */
function largestTokenId(tokenizer: PreTrainedTokenizer): number | undefined {
  let largest: number | undefined;
  for (const id of tokenizer.get_vocab().values()) if (largest === undefined || id > largest) largest = id;
  return largest;
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
  phaseStarted = performance.now();
  const kind = sourceKindOf(source);
  await kind.check(source, options.dtype, env);
  const settings = kind.configure(source);
  const restore = configureEnvironment(settings, options);
  try {
    return await loadConfigured(source, settings, options);
  } finally {
    restore();
  }
}

/** When the load's current phase began (one load at a time runs in a worker or process). */
let phaseStarted = 0;

/** Reports the phase that ends now and starts the next one's clock. */
function endPhase(options: LoadEncoderOptions, name: 'files' | 'prepare' | 'session'): void {
  const now = performance.now();
  options.onPhase?.(name, now - phaseStarted);
  phaseStarted = now;
}

/** The load itself, once the files are checked and transformers.js is configured for the source. */
async function loadConfigured(
  source: ModelSource,
  environment: SourceEnvironment,
  options: LoadEncoderOptions,
): Promise<Encoder> {
  const kind = sourceKindOf(source);
  const reference = environment.reference;
  const revision = environment.revision === undefined ? {} : { revision: environment.revision };
  const onnxFile = ONNX_FILE_BY_DTYPE[options.dtype];
  const onnxLocation = kind.fileLocation(source, onnxFile, env);
  const progress_callback = options.onProgress ? progressReporter(options.onProgress) : undefined;
  const location = kind.describe(source);
  const settings = `device ${options.device}, dtype ${options.dtype}`;
  const loadError = (error: unknown): Error => {
    if (error instanceof ModelFileError) return error;
    const reason = error instanceof Error ? error.message : String(error);
    if (UNPARSABLE_ONNX.test(reason)) {
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
  const configFields = config as unknown as ConfigFields;
  checkTokenizerFitsModel(
    largestTokenId(tokenizer),
    configFields,
    kind.fileLocation(source, 'tokenizer.json', env),
  );
  const configLayers = configNumber(configFields, LAYER_COUNT_KEYS);

  let layers: LayerAccess;
  let model: PreTrainedModel;
  /** SHA-256 of the weights file as read (what persistent feature caches key vectors by). */
  let weightsHash: string | undefined;
  const modelOptions = { config, device: options.device, dtype: options.dtype, ...revision };
  if (usesExternalData(configFields)) {
    // The weights live in .onnx_data files that name the original graph file: load it as it is.
    layers = {
      numLayers: configLayers ?? 0,
      unavailable: `${location} keeps its weights in external .onnx_data files, which this app cannot extend with layer outputs.`,
    };
    endPhase(options, 'files');
    try {
      model = await AutoModel.from_pretrained(reference, { ...modelOptions, progress_callback });
    } catch (error) {
      throw loadError(error);
    }
    endPhase(options, 'session');
  } else {
    // Read and extend the graph once per load. The original bytes are dropped here; the extended copy is handed
    // over in memory and released as soon as the session holds it.
    const weights = await readModelFile(source, onnxFile, options.onProgress, (bytes) =>
      options.onWeightsSize?.(onnxFile, bytes),
    );
    endPhase(options, 'files');
    weightsHash = await sha256Hex(weights);
    const prepared = exposeHiddenStates(weights, configLayers, onnxLocation);
    layers = prepared.layers;
    // A file may ask for less of onnxruntime's graph optimiser (the built-in converted model asks for none: its
    // graph gains nothing from it, and in the browser V8 spends CPU optimising the optimiser's own code beside the
    // page; docs/performance.md, round 8).
    const graphOptimizationLevel = graphOptimizationOf(modelMetadata(weights), onnxLocation);
    endPhase(options, 'prepare');
    const served = inMemoryModels.serve(prepared.bytes, options.dtype);
    // No progress callback: readModelFile reported the real file, and without one transformers.js takes the
    // in-memory bytes with arrayBuffer() instead of copying them through a stream.
    try {
      model = await AutoModel.from_pretrained(reference, {
        ...modelOptions,
        model_file_name: served.stem,
        ...(graphOptimizationLevel === undefined ? {} : { session_options: { graphOptimizationLevel } }),
      });
    } catch (error) {
      throw loadError(error);
    } finally {
      served.release();
    }
    endPhase(options, 'session');
  }

  let encoder: Encoder;
  try {
    encoder = new TransformersEncoder(
      kind.modelId(source),
      options.device,
      options.dtype,
      tokenizer,
      model,
      layers,
      weightsHash,
    );
  } catch (error) {
    await model.dispose();
    throw error;
  }
  if (options.device === 'webgpu') await watchWebGpuDevice().catch(() => undefined);
  options.onProgress?.({ file: '', loaded: 0, total: 0, status: 'ready' });
  return encoder;
}

class TransformersEncoder implements Encoder {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly dimension: number;
  readonly numLayers: number;
  readonly maxTokens: number;
  /** True when the model computes its own sentence embedding (an output named `sentence_embedding`). */
  readonly sentenceEmbedding: boolean;
  readonly maskToken?: string;
  readonly pairClassifier?: PairClassifier;
  readonly weightsHash: string | undefined;
  readonly #tokenizer: PreTrainedTokenizer;
  readonly #model: PreTrainedModel;
  readonly #inputNames: readonly string[] | undefined;
  /** The graph's outputs (every hidden state among them), to fetch only those a call needs. */
  readonly #outputNames: readonly string[];
  /** The ONNX session itself, run with a fetch list; absent when transformers.js does not expose it. */
  readonly #session: EncoderSession | undefined;
  /** Runs of `#session` one after another (onnxruntime-web takes one run at a time per session). */
  #queue: Promise<unknown> = Promise.resolve();
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
    weightsHash?: string,
  ) {
    this.modelId = modelId;
    this.weightsHash = weightsHash;
    this.device = device;
    this.dtype = dtype;
    this.#tokenizer = tokenizer;
    this.#model = model;
    this.numLayers = layers.numLayers;
    this.#layersUnavailable = layers.unavailable;
    const config = model.config as unknown as ConfigFields;
    this.dimension = hiddenSizeOf(config, modelId);
    this.maxTokens = maxTokensOf(config, tokenizer.model_max_length);
    const sessions = (
      model as unknown as { sessions?: Record<string, { inputNames?: string[]; outputNames?: string[] }> }
    ).sessions;
    this.#inputNames = sessions?.model?.inputNames;
    const outputNames = sessions?.model?.outputNames ?? [];
    this.#outputNames = outputNames;
    this.#session = asEncoderSession(sessions?.model);
    this.sentenceEmbedding = outputNames.includes(SENTENCE_EMBEDDING_OUTPUT);
    const maskToken = (tokenizer as { mask_token?: string | null }).mask_token;
    if (typeof maskToken === 'string' && maskToken !== '') this.maskToken = maskToken;
    // A causal LM returns `logits` too, one row per token and vocabulary entry: not a sequence classifier.
    const causal = this.#inputNames?.some((name) => name.startsWith('past_key_values')) ?? false;
    if (outputNames.includes(CLASSIFIER_OUTPUT) && !causal) {
      this.pairClassifier = {
        modelId,
        id2label: id2labelOf(config),
        maxTokens: this.maxTokens,
        classifyPairs: (pairs, onBatch) => this.#classifyPairs(pairs, onBatch),
      };
    }
  }

  async #classifyPairs(
    pairs: readonly TextPair[],
    onBatch?: (done: number, total: number) => void,
  ): Promise<ClassifiedPairs> {
    this.#assertUsable();
    const logits: number[][] = [];
    const truncated: number[] = [];
    let tokens = 0;
    for (let start = 0; start < pairs.length; start += DEFAULT_EMBED_BATCH_SIZE) {
      const batch = pairs.slice(start, start + DEFAULT_EMBED_BATCH_SIZE).map((pair, offset) => {
        const encoded = this.#encodePair(pair);
        if (encoded.truncated) truncated.push(start + offset);
        tokens += encoded.fields.input_ids?.length ?? 0;
        return encoded.fields;
      });
      logits.push(...(await this.#classifyBatch(batch)));
      onBatch?.(start + batch.length, pairs.length);
    }
    return { logits, tokens, truncated };
  }

  /**
   * One pair as the tokenizer joins it (`[CLS] premise [SEP] hypothesis [SEP]` for BERT). When it is longer than
   * the model takes, the end of the premise is cut, never the hypothesis or a special token.
   * @throws RangeError when the hypothesis alone leaves no room for the premise.
   */
  #encodePair(pair: TextPair): { fields: Record<string, number[]>; truncated: boolean } {
    const fields = this.#tokenizer(pair.premise, {
      text_pair: pair.hypothesis,
      return_tensor: false,
    }) as unknown as Record<string, number[]>;
    const ids = fields.input_ids ?? [];
    const excess = ids.length - this.maxTokens;
    if (excess <= 0) return { fields, truncated: false };
    const premise = this.#tokenizer.encode(pair.premise, { add_special_tokens: false });
    let at = -1;
    for (let start = 0; start + premise.length <= ids.length && at < 0; start++) {
      if (premise.every((id, i) => ids[start + i] === id)) at = start;
    }
    if (at < 0 || excess >= premise.length) {
      throw new RangeError(
        `${this.modelId}: the hypothesis "${pair.hypothesis}" leaves no room for the text within the model's ` +
          `${this.maxTokens} tokens: shorten the hypothesis.`,
      );
    }
    const cut = (values: number[]): number[] => [
      ...values.slice(0, at + premise.length - excess),
      ...values.slice(at + premise.length),
    ];
    const kept: Record<string, number[]> = {};
    for (const [key, values] of Object.entries(fields)) kept[key] = cut(values);
    return { fields: kept, truncated: true };
  }

  /** Logit rows of one padded batch of encoded pairs. */
  async #classifyBatch(batch: readonly Record<string, number[]>[]): Promise<number[][]> {
    const width = Math.max(...batch.map((fields) => fields.input_ids?.length ?? 0));
    const left = this.#tokenizer.padding_side === 'left';
    const tensor = (key: string, pad: number): Tensor => {
      const data = new BigInt64Array(batch.length * width).fill(BigInt(pad));
      batch.forEach((fields, row) => {
        const values = fields[key] ?? [];
        const offset = row * width + (left ? width - values.length : 0);
        values.forEach((value, i) => {
          data[offset + i] = BigInt(value);
        });
      });
      return new Tensor('int64', data, [batch.length, width]);
    };
    const feeds: Record<string, Tensor> = {
      input_ids: tensor('input_ids', this.#tokenizer.pad_token_id ?? 0),
      attention_mask: tensor('attention_mask', 0),
    };
    if (this.#inputNames?.includes('token_type_ids') ?? batch[0]?.token_type_ids !== undefined) {
      feeds.token_type_ids = tensor('token_type_ids', 0);
    }
    let outputs: Record<string, Tensor | undefined>;
    try {
      outputs = await this.#run(feeds, this.#fetchable([CLASSIFIER_OUTPUT]));
    } catch (error) {
      throw this.#runError(error);
    } finally {
      for (const tensor of Object.values(feeds)) tensor.dispose();
    }
    try {
      const output = outputs[CLASSIFIER_OUTPUT];
      const [rows, classes] = (output?.dims ?? []) as number[];
      if (!output || output.dims.length !== 2 || rows !== batch.length || classes === undefined) {
        throw new Error(
          `${this.modelId} is not a sequence classifier: expected "${CLASSIFIER_OUTPUT}" of [${batch.length}, ` +
            `classes], got ${output ? `[${output.dims.join(', ')}]` : 'none'}.`,
        );
      }
      const data = (output.type === 'float32' ? output : output.to('float32')).data as Float32Array;
      return Array.from({ length: rows }, (_, row) =>
        Array.from(data.subarray(row * classes, (row + 1) * classes)),
      );
    } finally {
      for (const tensor of Object.values(outputs)) tensor?.dispose();
    }
  }

  async embed(
    texts: string[],
    options: EmbedOptions,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[]> {
    return (await this.embedOutputs(texts, [options], onBatch))[0] ?? [];
  }

  /**
   * Several (layer, pooling) outputs from one forward pass per batch. Batches group similar lengths, cut where
   * the model's estimated cost is lowest and bounded by padded tokens for its width (core/models/batches.ts),
   * exactly as `embed` batches the same texts; results come back in input order. The batch size is the most rows
   * a batch may have: the smallest any output asks for.
   */
  async embedOutputs(
    texts: string[],
    outputs: readonly EmbedOptions[],
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[][]> {
    this.#assertUsable();
    if (outputs.length === 0) throw new RangeError('embedOutputs needs at least one output to compute.');
    const batchSize = Math.min(...outputs.map((options) => assertEmbedOptions(options)));
    const wanted = outputs.map((options) => {
      const layer = this.#layerIndex(options.layer);
      if (options.pooling === 'sentence') this.#assertSentenceEmbedding(layer);
      return { layer, pooling: options.pooling };
    });
    // Each text is tokenized once: its length plans the batches, its ids fill them.
    const encodings = this.#encodeTexts(texts);
    const lengths = encodings.map((encoding) => Math.min(encoding.input_ids.length, this.maxTokens));
    const perOutput = wanted.map(() => new Array<Float32Array>(texts.length));
    let done = 0;
    const limits = {
      maxRows: batchSize,
      tokenBudget: tokenBudgetFor(this.dimension),
      cost: batchCostFor(this.dimension),
    };
    for (const batch of planBatches(lengths, limits)) {
      const embedded = await this.#embedBatch(
        batch.map((index) => encodings[index] as TextEncoding),
        wanted,
      );
      embedded.forEach((vectors, k) => {
        const target = perOutput[k] as Float32Array[];
        batch.forEach((index, row) => {
          target[index] = vectors[row] as Float32Array;
        });
      });
      done += batch.length;
      onBatch?.(done, texts.length);
    }
    return perOutput;
  }

  /** Several layers from one forward pass per batch (the session returns every hidden state at once). */
  async embedLayers(
    texts: string[],
    layers: number[],
    pooling: Pooling,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[][]> {
    this.#assertUsable();
    const batchSize = assertEmbedOptions({ layer: -1, pooling });
    const indices = layers.map((layer) => this.#layerIndex(layer));
    if (pooling === 'sentence') for (const index of indices) this.#assertSentenceEmbedding(index);
    const perLayer: Float32Array[][] = indices.map(() => []);
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = await this.#embedBatch(
        this.#encodeTexts(texts.slice(start, start + batchSize)),
        indices.map((layer) => ({ layer, pooling })),
      );
      batch.forEach((vectors, k) => perLayer[k]?.push(...vectors));
      onBatch?.(Math.min(start + batchSize, texts.length), texts.length);
    }
    return perLayer;
  }

  async embedTokens(
    texts: string[],
    options: TokenStateOptions,
    onBatch?: (done: number, total: number) => void,
  ): Promise<TextTokenStates[]> {
    this.#assertUsable();
    const batchSize = assertEmbedOptions({
      layer: options.layer,
      pooling: 'mean',
      batchSize: options.batchSize,
    });
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) {
      throw new RangeError(`maxTokens must be a positive integer, got ${String(options.maxTokens)}.`);
    }
    const layer = this.#layerIndex(options.layer);
    const maxTokens = Math.min(options.maxTokens, this.maxTokens);
    const states: TextTokenStates[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      states.push(...(await this.#tokenStatesBatch(texts.slice(start, start + batchSize), layer, maxTokens)));
      onBatch?.(Math.min(start + batchSize, texts.length), texts.length);
    }
    return states;
  }

  async countTokens(texts: string[], pairs?: readonly (string | null)[]): Promise<number[]> {
    this.#assertUsable();
    return texts.map((text, i) => this.#tokenizer.encode(text, { text_pair: pairs?.[i] ?? null }).length);
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

  /** The model's own sentence embedding comes from its last layer; say so when it has none or another is asked. */
  #assertSentenceEmbedding(layer: number): void {
    if (!this.sentenceEmbedding) {
      throw new RangeError(
        `${this.modelId} computes no sentence embedding of its own (it has no "${SENTENCE_EMBEDDING_OUTPUT}" ` +
          'output): choose mean, cls or last pooling instead.',
      );
    }
    if (layer !== this.numLayers) {
      throw new RangeError(
        `The sentence embedding of ${this.modelId} is computed from its last layer (${this.numLayers}), not layer ` +
          `${layer}: use layer -1 with it, or mean, cls or last pooling for layer ${layer}.`,
      );
    }
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

  /**
   * Runs the model on a tokenized batch; on failure the inputs are disposed and the error explained. The caller
   * disposes `feeds` and `outputs` when done with them.
   */
  async #forward(
    encoded: {
      input_ids: Tensor;
      attention_mask: Tensor;
      token_type_ids?: Tensor;
    },
    fetches?: readonly string[],
  ): Promise<{ feeds: Record<string, Tensor>; outputs: Record<string, Tensor | undefined> }> {
    const feeds: Record<string, Tensor> = {
      input_ids: encoded.input_ids,
      attention_mask: encoded.attention_mask,
    };
    if (encoded.token_type_ids && (this.#inputNames?.includes('token_type_ids') ?? true)) {
      feeds.token_type_ids = encoded.token_type_ids;
    }
    let outputs: Record<string, Tensor | undefined>;
    try {
      outputs = await this.#run(feeds, fetches);
    } catch (error) {
      for (const tensor of Object.values(feeds)) tensor.dispose();
      throw this.#runError(error);
    }
    return { feeds, outputs };
  }

  /**
   * One forward pass. With `fetches`, the session computes and returns only those outputs, not every hidden state
   * the extended graph offers (copying them out of the runtime and collecting them again is most of the
   * adapter's cost over a bare session); without them, or without a session to call, transformers.js runs it.
   */
  async #run(
    feeds: Record<string, Tensor>,
    fetches: readonly string[] | undefined,
  ): Promise<Record<string, Tensor | undefined>> {
    const session = this.#session;
    // Inputs transformers.js fills in itself (a decoder's position ids and empty cache) need its own forward.
    const direct = session?.inputNames.every(
      (name) => feeds[name] !== undefined || (name === 'token_type_ids' && feeds.input_ids !== undefined),
    );
    if (session === undefined || fetches === undefined || direct !== true) {
      return (await this.#model(feeds)) as Record<string, Tensor | undefined>;
    }
    const inputs: Record<string, Tensor['ort_tensor']> = {};
    const zeros: Tensor[] = [];
    for (const name of session.inputNames) {
      let tensor = feeds[name];
      if (tensor === undefined && name === 'token_type_ids' && feeds.input_ids !== undefined) {
        // As transformers.js does for a graph that takes segment ids the tokenizer does not produce.
        const ids = feeds.input_ids;
        tensor = new Tensor('int64', new BigInt64Array(ids.data.length), ids.dims);
        zeros.push(tensor);
      }
      if (tensor !== undefined) inputs[name] = tensor.ort_tensor;
    }
    const run = this.#queue.then(() => session.run(inputs, [...fetches]));
    this.#queue = run.catch(() => undefined);
    try {
      const outputs = await run;
      const wrapped: Record<string, Tensor | undefined> = {};
      for (const [name, output] of Object.entries(outputs)) wrapped[name] = new Tensor(output);
      return wrapped;
    } finally {
      for (const tensor of zeros) tensor.dispose();
    }
  }

  /** `names` when the graph has every one of them (a fetch list), otherwise undefined (fetch everything). */
  #fetchable(names: readonly string[]): string[] | undefined {
    const distinct = [...new Set(names)];
    return distinct.every((name) => this.#outputNames.includes(name)) ? distinct : undefined;
  }

  /** The output holding hidden state `layer`: `last_hidden_state` for the last layer when the graph has it. */
  #hiddenStateName(layer: number): string {
    return layer === this.numLayers && this.#outputNames.includes('last_hidden_state')
      ? 'last_hidden_state'
      : hiddenStateOutputName(layer);
  }

  /**
   * Every text as the tokenizer encodes it on its own (special tokens included, not yet cut or padded), in
   * order: one tokenization per text, whatever batches it lands in.
   */
  #encodeTexts(texts: readonly string[]): TextEncoding[] {
    if (texts.length === 0) return [];
    const fields = this.#tokenizer([...texts], { return_tensor: false }) as unknown as {
      input_ids: number[][];
      attention_mask: number[][];
      token_type_ids?: number[][];
    };
    return texts.map((_, row) => ({
      input_ids: fields.input_ids[row] ?? [],
      attention_mask: fields.attention_mask[row] ?? [],
      ...(fields.token_type_ids ? { token_type_ids: fields.token_type_ids[row] ?? [] } : {}),
    }));
  }

  /** Encoded texts as one padded batch, cut to the model's limit, as the tokenizer's own batch call builds it. */
  #padded(encodings: readonly TextEncoding[]): {
    input_ids: Tensor;
    attention_mask: Tensor;
    token_type_ids?: Tensor;
  } {
    const limit = Math.min(this.maxTokens, this.#tokenizer.model_max_length ?? Number.POSITIVE_INFINITY);
    const batch = padEncodings(encodings, limit, {
      padTokenId: this.#tokenizer.pad_token_id ?? 0,
      side: this.#tokenizer.padding_side === 'left' ? 'left' : 'right',
    });
    return {
      input_ids: new Tensor('int64', batch.input_ids, batch.dims),
      attention_mask: new Tensor('int64', batch.attention_mask, batch.dims),
      ...(batch.token_type_ids
        ? { token_type_ids: new Tensor('int64', batch.token_type_ids, batch.dims) }
        : {}),
    };
  }

  /**
   * One forward pass over encoded texts, fetching only the outputs `wanted` reads; the vectors of each wanted
   * (resolved layer, pooling), in that order.
   */
  async #embedBatch(
    encodings: readonly TextEncoding[],
    wanted: readonly { layer: number; pooling: Pooling }[],
  ): Promise<Float32Array[][]> {
    const encoded = this.#padded(encodings);
    const fetches = this.#fetchable(
      wanted.map(({ layer, pooling }) =>
        pooling === 'sentence' ? SENTENCE_EMBEDDING_OUTPUT : this.#hiddenStateName(layer),
      ),
    );
    const { feeds, outputs } = await this.#forward(encoded, fetches);
    try {
      return wanted.map(({ layer, pooling }) => {
        if (pooling === 'sentence') return this.#sentenceEmbeddings(outputs, encodings.length);
        const hidden = this.#hiddenStates(outputs, layer);
        const [rows, tokens, size] = hidden.dims as [number, number, number];
        // Inner layers may be narrower (the Universal Sentence Encoder's layer 0 is 256 wide); the last is not.
        if (layer === this.numLayers && size !== this.dimension) {
          throw new Error(
            `${this.modelId}: hidden size ${size} differs from config.json's ${this.dimension}.`,
          );
        }
        // fp16 exports may return float16 hidden states; pooling works in float32.
        const data = (hidden.type === 'float32' ? hidden : hidden.to('float32')).data as Float32Array;
        const mask = encoded.attention_mask.data as ArrayLike<bigint | number>;
        return poolBatch({ data, dims: [rows, tokens, size], mask }, pooling);
      });
    } finally {
      for (const tensor of Object.values(outputs)) tensor?.dispose();
      for (const tensor of Object.values(feeds)) tensor.dispose();
    }
  }

  /** One batch of {@link embedTokens}: each row's real tokens (right padding) cut out of the padded output. */
  async #tokenStatesBatch(texts: string[], layer: number, maxTokens: number): Promise<TextTokenStates[]> {
    const encoded = this.#tokenizer(texts, { padding: true, truncation: true, max_length: maxTokens });
    const name = hiddenStateOutputName(layer);
    const { feeds, outputs } = await this.#forward(
      encoded,
      this.#fetchable([this.#outputNames.includes(name) ? name : this.#hiddenStateName(layer)]),
    );
    try {
      // The unfrozen layers are fed `hidden_states.N` itself, even for the last layer.
      const hidden = outputs[hiddenStateOutputName(layer)] ?? this.#hiddenStates(outputs, layer);
      const [rows, tokens, width] = hidden.dims as [number, number, number];
      const data = (hidden.type === 'float32' ? hidden : hidden.to('float32')).data as Float32Array;
      const mask = encoded.attention_mask.data as ArrayLike<bigint | number>;
      const ids = encoded.input_ids.data as ArrayLike<bigint | number>;
      return Array.from({ length: rows }, (_, row) => {
        let length = 0;
        while (length < tokens && Number(mask[row * tokens + length]) === 1) length++;
        for (let t = length; t < tokens; t++) {
          if (Number(mask[row * tokens + t]) === 1) {
            throw new Error(
              `${this.modelId}: the tokenizer pads on the left; token states need right padding.`,
            );
          }
        }
        return {
          ids: Int32Array.from({ length }, (_, t) => Number(ids[row * tokens + t])),
          states: data.slice(row * tokens * width, (row * tokens + length) * width),
          width,
        };
      });
    } finally {
      for (const tensor of Object.values(outputs)) tensor?.dispose();
      for (const tensor of Object.values(feeds)) tensor.dispose();
    }
  }

  /** Rows of the model's `sentence_embedding` output, [texts, dimension], as fresh float32 vectors. */
  #sentenceEmbeddings(outputs: Record<string, Tensor | undefined>, count: number): Float32Array[] {
    const output = outputs[SENTENCE_EMBEDDING_OUTPUT];
    const [rows, size] = (output?.dims ?? []) as number[];
    if (!output || rows !== count || size !== this.dimension) {
      throw new Error(
        `${this.modelId}: expected a "${SENTENCE_EMBEDDING_OUTPUT}" output of [${count}, ${this.dimension}], got ` +
          `${output ? `[${output.dims.join(', ')}]` : 'none'}.`,
      );
    }
    const data = (output.type === 'float32' ? output : output.to('float32')).data as Float32Array;
    return Array.from({ length: rows }, (_, row) => data.slice(row * size, (row + 1) * size));
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

// ---------------------------------------------------------------- causal language models (instruction prompts)

/**
 * Loads the tokenizer and causal LM of `source` for scoring continuations (instruction prompts). Refuses a model
 * without an LM head (no `logits` output, or a model type transformers.js has no causal LM for), naming it and
 * what to choose instead. File problems throw a {@link ModelFileError}, as for encoders.
 */
export async function loadCausalScorer(
  source: ModelSource,
  options: LoadEncoderOptions,
): Promise<CausalScorer> {
  const kind = sourceKindOf(source);
  await kind.check(source, options.dtype, env);
  const settings = kind.configure(source);
  const restore = configureEnvironment(settings, options);
  const reference = settings.reference;
  const revision = settings.revision === undefined ? {} : { revision: settings.revision };
  const progress_callback = options.onProgress ? progressReporter(options.onProgress) : undefined;
  const modelId = kind.modelId(source);
  try {
    const tokenizer = await AutoTokenizer.from_pretrained(reference, { progress_callback, ...revision });
    const config = await AutoConfig.from_pretrained(reference, { progress_callback, ...revision });
    const modelType = String((config as unknown as ConfigFields).model_type);
    let model: PreTrainedModel;
    try {
      model = await AutoModelForCausalLM.from_pretrained(reference, {
        config,
        device: options.device,
        dtype: options.dtype,
        progress_callback,
        ...revision,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (/unsupported model type|could not find|no .*causal/i.test(reason)) {
        throw new NotCausalModelError(modelId, `its config says model_type "${modelType}" (${reason})`);
      }
      throw error;
    }
    const session = (model as unknown as { sessions?: Record<string, { outputNames?: string[] }> }).sessions
      ?.model;
    if (!(session?.outputNames?.includes('logits') ?? false)) {
      await model.dispose();
      throw new NotCausalModelError(
        modelId,
        `its ONNX graph has no "logits" output (outputs: ${session?.outputNames?.join(', ') ?? 'none'})`,
      );
    }
    const scorer = new TransformersCausalScorer(modelId, options.device, options.dtype, tokenizer, model);
    options.onProgress?.({ file: '', loaded: 0, total: 0, status: 'ready' });
    return scorer;
  } finally {
    restore();
  }
}

/** A model that cannot score continuations: no LM head. */
export class NotCausalModelError extends Error {
  override readonly name = 'NotCausalModelError';

  constructor(modelId: string, why: string) {
    super(
      `${modelId} is not a causal language model with an LM head: ${why}. Instruction prompts need a decoder ` +
        'such as GPT-2 or SmolLM2 (a text-generation export): set the prompt\'s "model" to one.',
    );
  }
}

/** A KV cache by input name (`past_key_values.{layer}.key` / `.value`). */
type PastKeyValues = Record<string, Tensor>;

class TransformersCausalScorer implements CausalScorer {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly maxTokens: number;
  readonly #tokenizer: PreTrainedTokenizer;
  readonly #model: PreTrainedModel;
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
    this.maxTokens = maxTokensOf(model.config as unknown as ConfigFields, tokenizer.model_max_length);
  }

  async tokenize(text: string): Promise<number[]> {
    this.#assertUsable();
    return this.#tokenizer.encode(text, { add_special_tokens: false });
  }

  async decode(ids: readonly number[]): Promise<string> {
    this.#assertUsable();
    return this.#tokenizer.decode([...ids], { skip_special_tokens: false });
  }

  async applyChatTemplate(messages: readonly ChatMessage[]): Promise<string | undefined> {
    this.#assertUsable();
    if (!this.#tokenizer.chat_template) return undefined;
    const rendered = this.#tokenizer.apply_chat_template(
      messages.map((message) => ({ ...message })),
      { tokenize: false, add_generation_prompt: true },
    );
    return typeof rendered === 'string' ? rendered : undefined;
  }

  async continuationLogProbs(
    request: ContinuationRequest,
    onContext?: (done: number, total: number) => void,
  ): Promise<number[][][]> {
    this.#assertUsable();
    const { prefix, contexts, continuations } = request;
    if (continuations.length === 0 || continuations.some((ids) => ids.length === 0)) {
      throw new RangeError('Every continuation needs at least one token.');
    }
    const reuse = request.reusePrefix ?? true;
    if (prefix.length + contexts.reduce((most, ids) => Math.max(most, ids.length), 0) === 0) {
      throw new RangeError('Continuations need a prefix or a context to follow.');
    }
    // The prefix's last token starts every row, so its logits (predicting the context's first token, or the
    // continuation's when the context is empty) are computed with the row; the cache covers the tokens before it.
    const cached = reuse ? prefix.slice(0, -1) : [];
    let past: PastKeyValues | undefined;
    const results: number[][][] = [];
    try {
      if (cached.length > 0) {
        const single = await this.#forward([cached], 0, undefined);
        single.logits.dispose();
        past = repeatBatch(single.present, continuations.length);
        for (const tensor of Object.values(single.present)) tensor.dispose();
      }
      const lead = reuse ? prefix.slice(-1) : [...prefix];
      for (const [index, context] of contexts.entries()) {
        const rows = continuations.map((ids) => [...lead, ...context, ...ids]);
        const { logits, present } = await this.#forward(rows, cached.length, past);
        for (const tensor of Object.values(present)) tensor.dispose();
        try {
          const start = lead.length + context.length - 1;
          results.push(continuations.map((ids, row) => tokenLogProbs(logits, row, start, ids)));
        } finally {
          logits.dispose();
        }
        onContext?.(index + 1, contexts.length);
      }
    } finally {
      for (const tensor of Object.values(past ?? {})) tensor.dispose();
    }
    return results;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#model.dispose();
  }

  /** One forward pass over right-padded rows after `pastLength` cached tokens: logits and the new cache. */
  async #forward(
    rows: readonly (readonly number[])[],
    pastLength: number,
    past: PastKeyValues | undefined,
  ): Promise<{ logits: Tensor; present: PastKeyValues }> {
    const width = Math.max(...rows.map((row) => row.length));
    const total = pastLength + width;
    if (total > this.maxTokens) {
      throw new RangeError(`${this.modelId} takes ${this.maxTokens} tokens; this input has ${total}.`);
    }
    const ids = new BigInt64Array(rows.length * width);
    const mask = new BigInt64Array(rows.length * total);
    const positions = new BigInt64Array(rows.length * width);
    rows.forEach((row, r) => {
      for (let t = 0; t < width; t++) {
        ids[r * width + t] = BigInt(row[t] ?? 0);
        positions[r * width + t] = BigInt(pastLength + t);
      }
      for (let t = 0; t < pastLength + row.length; t++) mask[r * total + t] = 1n;
    });
    const feeds: Record<string, unknown> = {
      input_ids: new TensorClass('int64', ids, [rows.length, width]),
      attention_mask: new TensorClass('int64', mask, [rows.length, total]),
      position_ids: new TensorClass('int64', positions, [rows.length, width]),
    };
    if (past !== undefined) feeds.past_key_values = { ...past };
    let outputs: Record<string, Tensor>;
    try {
      outputs = (await this.#model(feeds)) as Record<string, Tensor>;
    } finally {
      for (const key of ['input_ids', 'attention_mask', 'position_ids']) (feeds[key] as Tensor).dispose();
    }
    const { logits, ...rest } = outputs;
    if (logits === undefined) throw new Error(`${this.modelId}: the model returned no logits.`);
    const present: PastKeyValues = {};
    for (const [name, tensor] of Object.entries(rest)) {
      if (name.startsWith('present')) present[name.replace('present', 'past_key_values')] = tensor;
      else tensor.dispose();
    }
    return { logits, present };
  }

  #assertUsable(): void {
    if (this.#disposed) throw new Error(`The language model ${this.modelId} was disposed; load it again.`);
  }
}

/** Each cache tensor `[1, …]` repeated `rows` times along the batch dimension. */
function repeatBatch(cache: PastKeyValues, rows: number): PastKeyValues {
  const repeated: PastKeyValues = {};
  for (const [name, tensor] of Object.entries(cache)) {
    const data = tensor.data as Float32Array;
    const copy = new (data.constructor as new (length: number) => Float32Array)(data.length * rows);
    for (let r = 0; r < rows; r++) copy.set(data, r * data.length);
    repeated[name] = new TensorClass(tensor.type, copy, [rows, ...tensor.dims.slice(1)]);
  }
  return repeated;
}

/**
 * Log-probabilities of `ids` in row `row` of `[rows, tokens, vocab]` logits, the first predicted at position
 * `start` (log-softmax in float64).
 */
function tokenLogProbs(logits: Tensor, row: number, start: number, ids: readonly number[]): number[] {
  const [, tokens, vocab] = logits.dims as [number, number, number];
  const data = (logits.type === 'float32' ? logits : logits.to('float32')).data as Float32Array;
  return ids.map((id, j) => {
    const offset = (row * tokens + start + j) * vocab;
    let top = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < vocab; v++) top = Math.max(top, data[offset + v] as number);
    let total = 0;
    for (let v = 0; v < vocab; v++) total += Math.exp((data[offset + v] as number) - top);
    return (data[offset + id] as number) - top - Math.log(total);
  });
}

/** What the adapter calls on transformers.js's onnxruntime session: its names and `run` with a fetch list. */
interface EncoderSession {
  inputNames: readonly string[];
  run(
    feeds: Record<string, Tensor['ort_tensor']>,
    fetches: string[],
  ): Promise<Record<string, Tensor['ort_tensor']>>;
}

/** The session when it has the shape onnxruntime's sessions (node and web) have, else undefined. */
function asEncoderSession(session: unknown): EncoderSession | undefined {
  const candidate = session as Partial<EncoderSession> | undefined;
  return Array.isArray(candidate?.inputNames) && typeof candidate?.run === 'function'
    ? (candidate as EncoderSession)
    : undefined;
}
