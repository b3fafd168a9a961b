/**
 * @file Messages between the main thread and the three workers (model, head, data), imported by both sides.
 *
 * Every request carries an `id` chosen by the client. The worker answers with events (any number, same `id`)
 * and then exactly one final message: the result or an `error`. A `cancel` message names the `id` to abort.
 * The RPC layer also attaches a shared `cancelFlag` to each request when it can (see rpc.ts).
 * Each worker's `...Methods` map ties a request type to its result and event types, so the RPC helper
 * (rpc.ts) can type `call('embed', ...)` end to end without casts at the call sites.
 */
import type { ColumnMapping, PostedCheck } from '../core/dataset/build.ts';
import type { DatasetFileView } from '../core/dataset/read.ts';
import type { HeadFileInfo, HeadFileInput } from '../core/heads/head-file.ts';
import type { Pooling } from '../core/experiment/types.ts';
import type { CachedHubFile, HubFile } from '../core/models/files.ts';
import type { BrowserDevice, DeviceChoice, DtypeChoice, GpuProbe } from '../core/models/load-plan.ts';
import type { LoadPhaseTiming } from '../core/models/load-phases.ts';
import type {
  ClassifiedPairs,
  ChatMessage,
  ContinuationRequest,
  Device,
  Dtype,
  EmbedOptions,
  EpochReport,
  HeadTrainingOptions,
  LoadProgress,
  ModelSource,
  SerializedHead,
  TextPair,
  LayerTrainingRequest,
  TextTokenStates,
  TokenStateOptions,
} from '../core/ports.ts';

/** What every message carries: its kind, and the id of the request it belongs to. */
export interface Envelope<T extends string> {
  type: T;
  id: number;
}

/** Asks the worker to abort request `id`; the worker answers that request with a cancelled `error`. */
export type CancelMessage = Envelope<'cancel'>;

/** The final message of a failed or cancelled request. */
export interface ErrorReply extends Envelope<'error'> {
  message: string;
  /** True when the request stopped because it was cancelled, not because something broke. */
  cancelled: boolean;
}

/** The `type`s of a worker's events (messages before the final reply), from its method table. */
export type EventType<M extends { [K in keyof M]: { event: { type: string } } }> =
  M[keyof M]['event']['type'];

/**
 * The event types of a worker's methods, from a record that must name each of them once: a method given a new
 * event type does not compile until it is listed, since the calling side would take an unlisted event for the
 * call's final reply.
 */
export function eventTypeSet<M extends { [K in keyof M]: { event: { type: string } } }>(
  table: Record<EventType<M>, true>,
): ReadonlySet<EventType<M>> {
  return new Set(Object.keys(table) as EventType<M>[]);
}

// ---------------------------------------------------------------- model worker

/** Every place the browser app loads a model from. */
export type BrowserModelSource = Exclude<ModelSource, { kind: 'folder' }>;
/** A model folder the user picked on disk. */
export type LocalFilesModelSource = Extract<ModelSource, { kind: 'files' }>;

/** What to load and how the user asked for it to run. */
export interface LoadOrder {
  source: BrowserModelSource;
  device: DeviceChoice;
  dtype: DtypeChoice;
  /** Dtypes whose ONNX file the model has, when the client knows (index.json, catalog, picked files). */
  availableDtypes?: Dtype[];
  /** The catalog's default precision for the model, which an "auto" load on WASM uses (see `planDtype`). */
  preferredDtype?: Dtype;
}

/** onnxruntime-web's WASM builds: `webgpu` runs WebGPU and WASM sessions, `cpu` (half the size) WASM only. */
export type RuntimeBuild = 'webgpu' | 'cpu';

/** What the loaded encoder turned out to be (device and dtype actually used). */
export interface LoadedModelInfo {
  modelId: string;
  device: Device;
  dtype: Dtype;
  dimension: number;
  numLayers: number;
  maxTokens: number;
  /** The model computes its own sentence embedding (pooling `sentence`). */
  sentenceEmbedding: boolean;
  /** WASM threads ORT was allowed (1 without cross-origin isolation). */
  numThreads: number;
  /** Which onnxruntime-web build the worker runs: with WebGPU, or CPU-only (no WebGPU adapter here). */
  runtimeBuild: RuntimeBuild;
  /** Wall time of the load, warm-up included. */
  loadMs: number;
  /** Where the files came from. */
  source: BrowserModelSource['kind'];
  /** What the user asked for; `device` and `dtype` say what actually ran. */
  requestedDevice: DeviceChoice;
  requestedDtype: DtypeChoice;
  /** Why the device or dtype differ from the request, fallbacks, warnings: shown next to the model. */
  notices: string[];
  /** The WebGPU adapter, when the model runs on WebGPU. */
  gpuAdapter?: string;
  /** Time of the warm-up run that preceded "ready". */
  warmupMs: number;
  /** Where the load's time went, phase by phase (core/models/load-phases.ts), in panel order. */
  phases?: LoadPhaseTiming[];
  /** Size of the ONNX weights file, when known. */
  weightsBytes?: number;
  /** The tokenizer's mask token, when it has one (a content-free input for calibration). */
  maskToken?: string;
  /** Set when the model is a sequence classifier (NLI prompts): config.json's id2label in logit order. */
  pairClassifier?: { id2label: string[] };
  /** SHA-256 of the ONNX weights file, when it was read whole (what the feature cache keys vectors by). */
  weightsHash?: string;
}

/** The step a load is at, for the status line: checking files, loading, warm-up, or a fallback to WASM. */
export interface LoadStage {
  stage: 'checking' | 'loading' | 'warming-up' | 'falling-back';
  /** Device the stage runs on (none while the files are being checked). */
  device?: BrowserDevice;
  /** For 'falling-back': why. */
  detail?: string;
}

/** What this browser offers the model worker: WebGPU adapter, threads, memory. */
export interface BrowserCapabilities {
  gpu: GpuProbe;
  crossOriginIsolated: boolean;
  /** WASM threads a load would get. */
  threads: number;
  /** `navigator.deviceMemory` (GB, rounded by the browser), when the browser tells. */
  deviceMemoryGb?: number;
}

/** Session bookkeeping, to check that switching models releases sessions (tests, diagnostics). */
export interface SessionCounters {
  /** Encoders loaded and not yet disposed (each holds one ONNX session). */
  liveEncoders: number;
  loads: number;
  disposals: number;
  /** Texts run through the encoder for `embed`, `embed-layers` and `embed-outputs` requests (warm-ups excluded). */
  textsEmbedded?: number;
}

export type LoadRequest = Envelope<'load'> & LoadOrder;

export interface EmbedRequest extends Envelope<'embed'> {
  texts: string[];
  options: EmbedOptions;
}

/** Several layers' vectors from one forward pass per text (the layer probe). */
export interface EmbedLayersRequest extends Envelope<'embed-layers'> {
  texts: string[];
  layers: number[];
  pooling: Pooling;
}

export interface EmbeddedLayersReply extends Envelope<'embedded-layers'> {
  /** One list per requested layer, each one vector per text; buffers transferred. */
  vectors: Float32Array[][];
  ms: number;
}

// ---- one encoder pass per text (issue 13)
/** Several outputs (each a layer and pooling) of the same texts from one forward pass per text (the shared pass). */
export interface EmbedOutputsRequest extends Envelope<'embed-outputs'> {
  texts: string[];
  outputs: EmbedOptions[];
}

export interface EmbeddedOutputsReply extends Envelope<'embedded-outputs'> {
  /** One list per requested output, each one vector per text, in order; their buffers are transferred. */
  vectors: Float32Array[][];
  ms: number;
  /** Set when the model had to be reloaded on WASM first (e.g. the WebGPU device was lost): what now runs. */
  reloaded?: LoadedModelInfo;
}
// ---- end one encoder pass per text

export interface CountTokensRequest extends Envelope<'count-tokens'> {
  texts: string[];
  /** When set, text i is counted joined with pairs[i] (null: alone) as one pair input, e.g. an NLI premise. */
  pairs?: (string | null)[];
}

/** Classifies premise/hypothesis pairs with the loaded model (NLI prompts). */
export interface ClassifyPairsRequest extends Envelope<'classify-pairs'> {
  pairs: TextPair[];
}

export interface PairsClassifiedReply extends Envelope<'pairs-classified'>, ClassifiedPairs {}

export type DisposeRequest = Envelope<'dispose'>;

/** Asks what this browser offers the model worker ({@link BrowserCapabilities}). */
export type ProbeRequest = Envelope<'probe'>;

/** Which hub files are already in the browser cache (downloaded earlier, loadable offline). */
export interface CacheStatusRequest extends Envelope<'cache-status'> {
  files: HubFile[];
}

/** Asks for the {@link SessionCounters}; collects garbage first where it can. */
export type StatsRequest = Envelope<'stats'>;

/** Either a file's progress, the load's next stage, or a phase that has just ended. */
export interface LoadProgressEvent extends Envelope<'load-progress'> {
  progress?: LoadProgress;
  stage?: LoadStage;
  phase?: LoadPhaseTiming;
}

export interface LoadedReply extends Envelope<'loaded'> {
  info: LoadedModelInfo;
}

export interface EmbedProgressEvent extends Envelope<'embed-progress'> {
  done: number;
  total: number;
}

/** How many of a count's texts are counted so far (core/tokenize/count-in-slices.ts). */
export interface CountProgressEvent extends Envelope<'count-progress'> {
  done: number;
  total: number;
}

export interface EmbeddedReply extends Envelope<'embedded'> {
  /** One vector per input text, in order; their buffers are transferred, not copied. */
  vectors: Float32Array[];
  ms: number;
  /** Set when the model had to be reloaded on WASM first (e.g. the WebGPU device was lost): what now runs. */
  reloaded?: LoadedModelInfo;
}

export interface TokenCountsReply extends Envelope<'token-counts'> {
  /** Tokens per text before truncation, in input order. */
  counts: number[];
}

export type DisposedReply = Envelope<'disposed'>;

export type ProbedReply = Envelope<'probed'> & BrowserCapabilities;

export interface CacheStatusReply extends Envelope<'cached'> {
  /** The requested files found in the browser cache, with their stored size. */
  cached: CachedHubFile[];
}

export type StatsReply = Envelope<'stats-report'> & SessionCounters;

// ---- causal language models for instruction prompts (held beside the encoder, one at a time)

/** Loads a causal LM for instruction prompts (WASM); a later load replaces it. */
export interface LmLoadRequest extends Envelope<'lm-load'> {
  source: BrowserModelSource;
  dtype: Dtype;
}

export interface LmLoadedReply extends Envelope<'lm-loaded'> {
  modelId: string;
  maxTokens: number;
}

/** Tokenizes texts without special tokens, decodes ids, or applies the chat template, with the loaded LM. */
export interface LmTextRequest extends Envelope<'lm-text'> {
  op: 'tokenize' | 'decode' | 'chat';
  /** For `tokenize`. */
  text?: string;
  /** For `decode`. */
  ids?: number[];
  /** For `chat`. */
  messages?: ChatMessage[];
}

export interface LmTextReply extends Envelope<'lm-text-reply'> {
  ids?: number[];
  /** Decoded text or the chat rendering; absent for a model without a chat template. */
  text?: string;
}

export interface LmScoreRequest extends Envelope<'lm-score'> {
  request: ContinuationRequest;
}

export interface LmScoreProgressEvent extends Envelope<'lm-score-progress'> {
  done: number;
  total: number;
}

export interface LmScoredReply extends Envelope<'lm-scored'> {
  logProbs: number[][][];
}

// ---- unfrozen layers (issue 11): token states of the layer below them, and the weights file to build them from

/** Token-level hidden states of one layer for each text (real tokens only, capped). */
export interface EmbedTokensRequest extends Envelope<'embed-tokens'> {
  texts: string[];
  options: TokenStateOptions;
}

export interface EmbeddedTokensReply extends Envelope<'embedded-tokens'> {
  /** One entry per text, in order; the `ids` and `states` buffers are transferred, not copied. */
  states: TextTokenStates[];
  ms: number;
}

/** The loaded model's ONNX weights file (the dtype it runs), to rebuild its top layers in the head worker. */
export type LayerModelRequest = Envelope<'layer-model'>;

export interface LayerModelReply extends Envelope<'layer-model-bytes'> {
  modelId: string;
  dtype: Dtype;
  /** The file's bytes; transferred (the worker read a fresh copy for this reply). */
  bytes: Uint8Array;
}

/** What the fine-tune lab's layer stack needs from the loaded model: exact sizes and a measured speed. */
export type LayerSizesRequest = Envelope<'layer-sizes'>;

export interface LayerSizesReply extends Envelope<'layer-sizes-report'> {
  modelId: string;
  /** Parameters of each transformer layer, bottom first, counted from the ONNX file's weights. */
  parameters: number[];
  /** Set when the layers cannot be trained (a quantized file), saying why. */
  untrainable?: string;
  /**
   * The encoder's measured arithmetic rate on this machine (FLOP/s): two per layer parameter per token, over a
   * timed forward pass of a few calibration texts. Absent when it could not be measured.
   */
  flopsPerSecond?: number;
}

/** Request type → its final reply and its events, for the model worker. */
export interface ModelWorkerMethods {
  'lm-load': { request: LmLoadRequest; result: LmLoadedReply; event: never };
  'lm-text': { request: LmTextRequest; result: LmTextReply; event: never };
  'lm-score': { request: LmScoreRequest; result: LmScoredReply; event: LmScoreProgressEvent };
  load: { request: LoadRequest; result: LoadedReply; event: LoadProgressEvent };
  embed: { request: EmbedRequest; result: EmbeddedReply; event: EmbedProgressEvent };
  'embed-layers': { request: EmbedLayersRequest; result: EmbeddedLayersReply; event: EmbedProgressEvent };
  'embed-outputs': { request: EmbedOutputsRequest; result: EmbeddedOutputsReply; event: EmbedProgressEvent };
  'count-tokens': { request: CountTokensRequest; result: TokenCountsReply; event: CountProgressEvent };
  'classify-pairs': {
    request: ClassifyPairsRequest;
    result: PairsClassifiedReply;
    event: EmbedProgressEvent;
  };
  dispose: { request: DisposeRequest; result: DisposedReply; event: never };
  probe: { request: ProbeRequest; result: ProbedReply; event: never };
  'cache-status': { request: CacheStatusRequest; result: CacheStatusReply; event: never };
  stats: { request: StatsRequest; result: StatsReply; event: never };
  'embed-tokens': { request: EmbedTokensRequest; result: EmbeddedTokensReply; event: EmbedProgressEvent };
  'layer-model': { request: LayerModelRequest; result: LayerModelReply; event: never };
  'layer-sizes': { request: LayerSizesRequest; result: LayerSizesReply; event: never };
}

/** Reply types of the model worker that are events, not final replies. */
export const MODEL_EVENT_TYPES = eventTypeSet<ModelWorkerMethods>({
  'load-progress': true,
  'embed-progress': true,
  'lm-score-progress': true,
  'count-progress': true,
});

// ---------------------------------------------------------------- head worker

export interface TrainRequest extends Envelope<'train'> {
  features: Float32Array[];
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
}

export interface PredictRequest extends Envelope<'predict'> {
  head: SerializedHead;
  features: Float32Array[];
}

export interface EpochEvent extends Envelope<'epoch'> {
  report: EpochReport;
}

export interface TrainedReply extends Envelope<'trained'> {
  /** The trained weights; the worker keeps nothing, so `predict` takes them back. */
  head: SerializedHead;
  parameterCount: number;
  trainMs: number;
  /** The tfjs backend that ran, e.g. 'wasm'. */
  backend: string;
}

export interface PredictedReply extends Envelope<'predicted'> {
  /** Class probabilities per feature vector, in label-index order. */
  probabilities: number[][];
  ms: number;
}

// ---- unfrozen layers (issue 11): a head trained with the top layers of the model, on cached token states

/**
 * Hands the head worker a model's ONNX weights file under `key` (model id, dtype and file hash); it keeps one
 * such file, decoded, for the layer requests that name the key. The buffer is transferred.
 */
export interface HoldLayerModelRequest extends Envelope<'hold-layer-model'> {
  key: string;
  bytes: Uint8Array;
}

export type LayerModelHeldReply = Envelope<'layer-model-held'>;

/** Trains a head with unfrozen layers of the held model (`key`) on token states of the layer below them. */
export interface TrainLayersRequest extends Envelope<'train-layers'> {
  key: string;
  request: LayerTrainingRequest;
  /** Each text's token states; not transferred (the caller keeps them for the test predictions and other heads). */
  texts: TextTokenStates[];
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
}

/**
 * The 'trained' reply of `train-layers`: the weights packed as Float32Arrays, their buffers transferred (a head with
 * unfrozen layers holds millions of values; see packed-head.ts).
 */
export interface TrainedLayersReply extends Omit<TrainedReply, 'head'> {
  head: PackedHead;
}

/** Class probabilities of texts (their token states) under a head with unfrozen layers of the held model. */
export interface PredictLayersRequest extends Envelope<'predict-layers'> {
  key: string;
  request: LayerTrainingRequest;
  /** Packed: its Float32Arrays are copied whole by the structured clone (not transferred: the caller keeps them). */
  head: PackedHead;
  texts: TextTokenStates[];
}

// ---- head files in the head worker (issues 11/13): read, checked and written off the main thread; an imported
// head's weights stay in the worker under a handle, so predictions send features only

/** A head's weights with every array as a Float32Array, so they transfer instead of being cloned value by value. */
export interface PackedHead {
  inputSize: number;
  hidden: number;
  numClasses: number;
  layers: { kernel: Float32Array; kernelShape: [number, number]; bias: Float32Array }[];
  unfrozen?: {
    fromLayer: number;
    toLayer: number;
    weights: { name: string; shape: number[]; values: Float32Array; layer?: number }[];
  };
}

/** Reads and validates a head file (core/heads/head-file.ts rules) and keeps its weights under a new handle. */
export interface ImportHeadRequest extends Envelope<'import-head'> {
  /** The file as picked; a File is a handle, so posting it copies no bytes. */
  file: Blob;
}

export interface HeadImportedReply extends Envelope<'head-imported'> {
  /** Names the imported head in later requests, until `release-head`. */
  handle: number;
  /** The file without its weights, which stay in the worker. */
  info: HeadFileInfo;
  /** Wall time of reading, parsing and validating. */
  ms: number;
}

/** Builds, validates and encodes a head file of a trained head; its weights' buffers are transferred. */
export interface ExportHeadRequest extends Envelope<'export-head'> {
  input: Omit<HeadFileInput, 'head'> & { head: PackedHead };
}

export interface HeadExportedReply extends Envelope<'head-exported'> {
  /** The head file as UTF-8 JSON text; transferred. */
  bytes: Uint8Array<ArrayBuffer>;
  ms: number;
}

/** Class probabilities of feature vectors under an imported head on frozen features. */
export interface PredictImportedRequest extends Envelope<'predict-imported'> {
  handle: number;
  features: Float32Array[];
}

/** Class probabilities of texts (token states) under an imported head with unfrozen layers of the held model. */
export interface PredictImportedLayersRequest extends Envelope<'predict-imported-layers'> {
  handle: number;
  /** The held model file's key (see `hold-layer-model`). */
  key: string;
  request: LayerTrainingRequest;
  /** Each text's token states; transferred (made for this request only). */
  texts: TextTokenStates[];
}

/** Forgets an imported head and releases its tensors. */
export interface ReleaseHeadRequest extends Envelope<'release-head'> {
  handle: number;
}

export type HeadReleasedReply = Envelope<'head-released'>;

/** Asks for the head worker's live tfjs tensors (tests, diagnostics: back to baseline after `release-head`). */
export type HeadMemoryRequest = Envelope<'head-memory'>;

export interface HeadMemoryReply extends Envelope<'head-memory-report'> {
  numTensors: number;
  /** Imported heads held. */
  imported: number;
}

/** The head worker's requests about head files. */
export interface HeadFileMethods {
  'import-head': { request: ImportHeadRequest; result: HeadImportedReply; event: never };
  'export-head': { request: ExportHeadRequest; result: HeadExportedReply; event: never };
  'predict-imported': { request: PredictImportedRequest; result: PredictedReply; event: never };
  'predict-imported-layers': { request: PredictImportedLayersRequest; result: PredictedReply; event: never };
  'release-head': { request: ReleaseHeadRequest; result: HeadReleasedReply; event: never };
  'head-memory': { request: HeadMemoryRequest; result: HeadMemoryReply; event: never };
}
// ---- end head files in the head worker

/** Request type → its final reply and its events, for the head worker. */
export interface HeadWorkerMethods extends HeadFileMethods {
  train: { request: TrainRequest; result: TrainedReply; event: EpochEvent };
  predict: { request: PredictRequest; result: PredictedReply; event: never };
  'hold-layer-model': { request: HoldLayerModelRequest; result: LayerModelHeldReply; event: never };
  'train-layers': { request: TrainLayersRequest; result: TrainedLayersReply; event: EpochEvent };
  'predict-layers': { request: PredictLayersRequest; result: PredictedReply; event: never };
}

/** Reply types of the head worker that are events, not final replies. */
export const HEAD_EVENT_TYPES = eventTypeSet<HeadWorkerMethods>({ epoch: true });

// ---------------------------------------------------------------- data worker

/** Reads an uploaded dataset file: size check first, then decode and parse (see core/dataset/read.ts). */
export interface ReadFileRequest extends Envelope<'read-file'> {
  /** The file as picked or dropped; a File is a handle, so posting it copies no bytes. */
  file: Blob;
  /** The file's name: its extension decides the format, and messages name it. */
  name: string;
}

/**
 * The page's view of the file, with the check of its guessed columns; the worker keeps the whole table (the last
 * file read) for `check-columns`.
 */
export interface FileReadReply extends Envelope<'file-read'> {
  file: DatasetFileView;
  /** The check of the guessed text and label columns (`file.guess`). */
  check: PostedCheck;
  /** Wall time of reading and parsing. */
  ms: number;
}

/** Checks other columns of the file the worker holds, when the user maps them, and sends cells the page lacks. */
export interface CheckColumnsRequest extends Envelope<'check-columns'> {
  /** The file's name as read: a request about a file the worker no longer holds is refused. */
  name: string;
  mapping: ColumnMapping;
  /** Columns whose cells to send (those of the mapping the page does not hold yet). */
  send: string[];
}

export interface ColumnsCheckedReply extends Envelope<'columns-checked'> {
  /** Cells of the columns asked for, in row order. */
  cells: ReadonlyMap<string, readonly string[]>;
  check: PostedCheck;
}

/** Lets the worker drop the table it holds (the page closed the file). */
export type ForgetFileRequest = Envelope<'forget-file'>;

export type FileForgottenReply = Envelope<'file-forgotten'>;

/** Request type → its final reply and its events, for the data worker. */
export interface DataWorkerMethods {
  'read-file': { request: ReadFileRequest; result: FileReadReply; event: never };
  'check-columns': { request: CheckColumnsRequest; result: ColumnsCheckedReply; event: never };
  'forget-file': { request: ForgetFileRequest; result: FileForgottenReply; event: never };
}

/** The data worker sends no events. */
export const DATA_EVENT_TYPES = eventTypeSet<DataWorkerMethods>({});

/** The buffers of `vectors`, for `postMessage`'s transfer list (each buffer once). */
export function transferablesOf(vectors: readonly Float32Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const v of vectors) if (v.buffer instanceof ArrayBuffer) buffers.add(v.buffer);
  return [...buffers];
}

/** The buffers of token states, for `postMessage`'s transfer list (each buffer once). */
export function tokenStateTransferables(texts: readonly TextTokenStates[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const text of texts) {
    if (text.ids.buffer instanceof ArrayBuffer) buffers.add(text.ids.buffer);
    if (text.states.buffer instanceof ArrayBuffer) buffers.add(text.states.buffer);
  }
  return [...buffers];
}
