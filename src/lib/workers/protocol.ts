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

/** Allowed device choices, in the order the UI offers them. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'wasm', 'webgpu'];
/** Allowed dtypes, in the order the UI offers them. */
export const DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8'];

// ---------------------------------------------------------------- model worker

export interface LoadRequest {
  type: 'load';
  id: number;
  source: ModelSource;
  device: DeviceChoice;
  dtype: Dtype;
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

export type ModelWorkerRequest =
  LoadRequest | EmbedRequest | CountTokensRequest | DisposeRequest | CancelMessage;

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
}

export interface LoadProgressEvent {
  type: 'load-progress';
  id: number;
  progress: LoadProgress;
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

export type ModelWorkerReply =
  | LoadProgressEvent
  | LoadedReply
  | EmbedProgressEvent
  | EmbeddedReply
  | TokenCountsReply
  | DisposedReply
  | ErrorReply;

/** Request type → its final reply and its events, for the model worker. */
export interface ModelWorkerMethods {
  load: { request: LoadRequest; result: LoadedReply; event: LoadProgressEvent };
  embed: { request: EmbedRequest; result: EmbeddedReply; event: EmbedProgressEvent };
  'count-tokens': { request: CountTokensRequest; result: TokenCountsReply; event: never };
  dispose: { request: DisposeRequest; result: DisposedReply; event: never };
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

/** The buffers of `vectors`, for `postMessage`'s transfer list (each buffer once). */
export function transferablesOf(vectors: readonly Float32Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const v of vectors) if (v.buffer instanceof ArrayBuffer) buffers.add(v.buffer);
  return [...buffers];
}
