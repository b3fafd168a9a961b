/**
 * @file Messages between the main thread and the two workers, imported by both sides.
 *
 * Every request carries an `id` chosen by the client. The worker answers with events (any number, same `id`)
 * and then exactly one final message: the result or an `error`. A `cancel` message names the `id` to abort.
 * The RPC layer also attaches a shared `cancelFlag` to each request when it can (see rpc.ts).
 * Each worker's `...Methods` map ties a request type to its result and event types, so the RPC helper
 * (rpc.ts) can type `call('embed', ...)` end to end without casts at the call sites.
 */
import type {
  Device,
  Dtype,
  EmbedOptions,
  EpochReport,
  HeadTrainingOptions,
  LoadProgress,
  ModelSource,
  SerializedHead,
} from '../core/ports.ts';
import type { DatasetFile } from '../core/dataset/read.ts';

/** Asks the worker to abort request `id`; the worker answers that request with a cancelled `error`. */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

/** The final message of a failed or cancelled request. */
export interface ErrorReply {
  type: 'error';
  id: number;
  message: string;
  /** True when the request stopped because it was cancelled, not because something broke. */
  cancelled: boolean;
}

/** What the user may ask for; 'auto' means WebGPU when an adapter exists, otherwise WASM. */
export type DeviceChoice = 'auto' | Exclude<Device, 'cpu'>;
/** The devices a load in the browser can end up on. */
export type BrowserDevice = Exclude<Device, 'cpu'>;
/** What the user may ask for; 'auto' means the right precision for the device among the files present. */
export type DtypeChoice = 'auto' | Dtype;

/** Allowed device choices, in the order the UI offers them. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'wasm', 'webgpu'];
/** Allowed dtypes, in the order the UI offers them. */
export const DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8'];
/** Allowed dtype choices, in the order the UI offers them. */
export const DTYPE_CHOICES: readonly DtypeChoice[] = ['auto', ...DTYPES];

/** What `navigator.gpu.requestAdapter()` gave in the model worker. */
export type GpuProbe =
  | {
      available: true;
      /** A software adapter (e.g. SwiftShader): works, but slower than WASM. */
      fallbackAdapter: boolean;
      /** Vendor and architecture, e.g. "google swiftshader". */
      description: string;
    }
  | { available: false; reason: string };

// ---------------------------------------------------------------- model worker

/** A model on the Hugging Face hub (browser cache first; downloads only when allowed). */
export type HubModelSource = Extract<ModelSource, { kind: 'hub' }>;
/** A model folder the user picked on disk. */
export type LocalFilesModelSource = Extract<ModelSource, { kind: 'files' }>;

/** Every place the browser app loads a model from. */
export type BrowserModelSource = Exclude<ModelSource, { kind: 'folder' }>;

export interface LoadRequest {
  type: 'load';
  id: number;
  source: BrowserModelSource;
  device: DeviceChoice;
  dtype: DtypeChoice;
  /** Dtypes whose ONNX file the model has, when the client knows (index.json, catalog, picked files). */
  availableDtypes?: Dtype[];
}

export interface EmbedRequest {
  type: 'embed';
  id: number;
  texts: string[];
  options: EmbedOptions;
}

export interface CountTokensRequest {
  type: 'count-tokens';
  id: number;
  texts: string[];
}

export interface DisposeRequest {
  type: 'dispose';
  id: number;
}

/** What this browser offers the model worker: WebGPU adapter, threads, memory. */
export interface ProbeRequest {
  type: 'probe';
  id: number;
}

/** One file of a hub model, to look up in the browser cache that hub downloads go to. */
export interface HubFileRef {
  id: string;
  revision: string;
  /** Path inside the model folder, e.g. 'onnx/model_quantized.onnx'. */
  path: string;
}

/** Which hub files are already in the browser cache (downloaded earlier, loadable offline). */
export interface CacheStatusRequest {
  type: 'cache-status';
  id: number;
  files: HubFileRef[];
}

/** Counters for checking that sessions are released (tests, diagnostics); collects garbage first where it can. */
export interface StatsRequest {
  type: 'stats';
  id: number;
}

export type ModelWorkerRequest =
  | LoadRequest
  | EmbedRequest
  | CountTokensRequest
  | DisposeRequest
  | ProbeRequest
  | CacheStatusRequest
  | StatsRequest
  | CancelMessage;

/** What the loaded encoder turned out to be (device and dtype actually used). */
export interface LoadedModelInfo {
  modelId: string;
  device: Device;
  dtype: Dtype;
  dimension: number;
  numLayers: number;
  maxTokens: number;
  /** WASM threads ORT was allowed (1 without cross-origin isolation). */
  numThreads: number;
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
  /** Size of the ONNX weights file, when known. */
  weightsBytes?: number;
}

/** The step a load is at, for the status line: checking files, loading, warm-up, or a fallback to WASM. */
export interface LoadStage {
  stage: 'checking' | 'loading' | 'warming-up' | 'falling-back';
  /** Device the stage runs on (none while the files are being checked). */
  device?: BrowserDevice;
  /** For 'falling-back': why. */
  detail?: string;
}

/** Either a file's progress or the load's next stage. */
export interface LoadProgressEvent {
  type: 'load-progress';
  id: number;
  progress?: LoadProgress;
  stage?: LoadStage;
}

export interface LoadedReply {
  type: 'loaded';
  id: number;
  info: LoadedModelInfo;
}

export interface EmbedProgressEvent {
  type: 'embed-progress';
  id: number;
  done: number;
  total: number;
}

export interface EmbeddedReply {
  type: 'embedded';
  id: number;
  /** One vector per input text, in order; their buffers are transferred, not copied. */
  vectors: Float32Array[];
  ms: number;
  /** Set when the model had to be reloaded on WASM first (e.g. the WebGPU device was lost): what now runs. */
  reloaded?: LoadedModelInfo;
}

export interface TokenCountsReply {
  type: 'token-counts';
  id: number;
  /** Tokens per text before truncation, in input order. */
  counts: number[];
}

export interface DisposedReply {
  type: 'disposed';
  id: number;
}

export interface ProbedReply {
  type: 'probed';
  id: number;
  gpu: GpuProbe;
  crossOriginIsolated: boolean;
  /** WASM threads a load would get. */
  threads: number;
  /** `navigator.deviceMemory` (GB, rounded by the browser), when the browser tells. */
  deviceMemoryGb?: number;
}

export interface CacheStatusReply {
  type: 'cached';
  id: number;
  /** The requested files found in the browser cache, with their stored size. */
  cached: (HubFileRef & { bytes: number })[];
}

export interface StatsReply {
  type: 'stats-report';
  id: number;
  /** Encoders loaded and not yet disposed (each holds one ONNX session). */
  liveEncoders: number;
  loads: number;
  disposals: number;
}

export type ModelWorkerReply =
  | LoadProgressEvent
  | LoadedReply
  | EmbedProgressEvent
  | EmbeddedReply
  | TokenCountsReply
  | DisposedReply
  | ProbedReply
  | CacheStatusReply
  | StatsReply
  | ErrorReply;

/** Request type → its final reply and its events, for the model worker. */
export interface ModelWorkerMethods {
  load: { request: LoadRequest; result: LoadedReply; event: LoadProgressEvent };
  embed: { request: EmbedRequest; result: EmbeddedReply; event: EmbedProgressEvent };
  'count-tokens': { request: CountTokensRequest; result: TokenCountsReply; event: never };
  dispose: { request: DisposeRequest; result: DisposedReply; event: never };
  probe: { request: ProbeRequest; result: ProbedReply; event: never };
  'cache-status': { request: CacheStatusRequest; result: CacheStatusReply; event: never };
  stats: { request: StatsRequest; result: StatsReply; event: never };
}

/** Reply types of the model worker that are events, not final replies. */
export const MODEL_EVENT_TYPES: ReadonlySet<ModelWorkerReply['type']> = new Set([
  'load-progress',
  'embed-progress',
]);

// ---------------------------------------------------------------- head worker

export interface TrainRequest {
  type: 'train';
  id: number;
  features: Float32Array[];
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
}

export interface PredictRequest {
  type: 'predict';
  id: number;
  head: SerializedHead;
  features: Float32Array[];
}

export type HeadWorkerRequest = TrainRequest | PredictRequest | CancelMessage;

export interface EpochEvent {
  type: 'epoch';
  id: number;
  report: EpochReport;
}

export interface TrainedReply {
  type: 'trained';
  id: number;
  /** The trained weights; the worker keeps nothing, so `predict` takes them back. */
  head: SerializedHead;
  parameterCount: number;
  trainMs: number;
  /** The tfjs backend that ran, e.g. 'wasm'. */
  backend: string;
}

export interface PredictedReply {
  type: 'predicted';
  id: number;
  /** Class probabilities per feature vector, in label-index order. */
  probabilities: number[][];
  ms: number;
}

export type HeadWorkerReply = EpochEvent | TrainedReply | PredictedReply | ErrorReply;

/** Request type → its final reply and its events, for the head worker. */
export interface HeadWorkerMethods {
  train: { request: TrainRequest; result: TrainedReply; event: EpochEvent };
  predict: { request: PredictRequest; result: PredictedReply; event: never };
}

/** Reply types of the head worker that are events, not final replies. */
export const HEAD_EVENT_TYPES: ReadonlySet<HeadWorkerReply['type']> = new Set(['epoch']);

// ---------------------------------------------------------------- data worker

/** Reads an uploaded dataset file: size check first, then decode and parse (see core/dataset/read.ts). */
export interface ReadFileRequest {
  type: 'read-file';
  id: number;
  /** The file as picked or dropped; a File is a handle, so posting it copies no bytes. */
  file: Blob;
  /** The file's name: its extension decides the format, and messages name it. */
  name: string;
}

export interface FileReadReply {
  type: 'file-read';
  id: number;
  file: DatasetFile;
  /** Wall time of reading and parsing. */
  ms: number;
}

export type DataWorkerRequest = ReadFileRequest | CancelMessage;

export type DataWorkerReply = FileReadReply | ErrorReply;

/** Request type → its final reply and its events, for the data worker. */
export interface DataWorkerMethods {
  'read-file': { request: ReadFileRequest; result: FileReadReply; event: never };
}

/** The data worker sends no events. */
export const DATA_EVENT_TYPES: ReadonlySet<DataWorkerReply['type']> = new Set();

/** The buffers of `vectors`, for `postMessage`'s transfer list (each buffer once). */
export function transferablesOf(vectors: readonly Float32Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const v of vectors) if (v.buffer instanceof ArrayBuffer) buffers.add(v.buffer);
  return [...buffers];
}
