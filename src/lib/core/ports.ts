/**
 * @file Ports: what the pure core needs from the two outside runtimes (transformers.js, tfjs).
 * The CLI (Node) and the workers (browser) implement and call these; the core never imports a runtime. The
 * orchestrator's own ports (encoders per model, feature cache, dataset reader, progress) are beside it, in
 * experiment/orchestrator.ts.
 */
import type { Pooling } from './experiment/types.ts';

export type Device = 'wasm' | 'webgpu' | 'cpu';
export type Dtype = 'fp32' | 'fp16' | 'q8';

/** Where a model's files live. */
export type ModelSource =
  /** Node: an absolute folder in hub layout (config.json, tokenizer.json, onnx/model.onnx). */
  | { kind: 'folder'; path: string }
  /** Browser: a model id resolved under a base URL served by the app, e.g. base '/models/', id 'fixtures/tiny-bert'. */
  | { kind: 'served'; baseUrl: string; id: string }
  /**
   * Browser: a model on the Hugging Face hub, read from the browser cache; files missing there are downloaded
   * (and cached) only when `allowDownload` is true, otherwise nothing leaves the machine.
   */
  | { kind: 'hub'; id: string; revision: string; allowDownload: boolean }
  /** Browser: a model folder the user picked on disk; its files are read in place, never uploaded. */
  | { kind: 'files'; name: string; files: LocalModelFile[] };

/** One file of a picked model folder. */
export interface LocalModelFile {
  /** Path inside the model folder, `/`-separated, e.g. 'onnx/model.onnx'. */
  path: string;
  /** The file's contents (a browser File). */
  data: Blob;
}

export interface LoadProgress {
  /** File being loaded, e.g. 'onnx/model.onnx'. */
  file: string;
  loaded: number;
  total: number;
  status: 'initiate' | 'download' | 'progress' | 'done' | 'ready';
}

export interface EmbedOptions {
  /** Hidden layer to read: 0 = embeddings output, -1 = last layer. */
  layer: number;
  pooling: Pooling;
  /** Texts per forward pass. */
  batchSize?: number;
}

/** A frozen encoder that turns texts into fixed-size vectors. */
export interface Encoder {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  /** Hidden size of the vectors `embed` returns. */
  readonly dimension: number;
  /** Number of transformer layers (layer indices run 0..numLayers). */
  readonly numLayers: number;
  /** Maximum tokens per text; longer texts are truncated. */
  readonly maxTokens: number;
  /**
   * True when the model computes a sentence embedding of its own from its last layer (pooling `sentence`), as the
   * Universal Sentence Encoder does; similarity prompts then compare those.
   */
  readonly sentenceEmbedding: boolean;
  /** One vector per text, in input order. Deterministic for the same inputs. */
  embed(
    texts: string[],
    options: EmbedOptions,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[]>;
  /** Token count of each text (before truncation), for validation reports. */
  countTokens(texts: string[]): Promise<number[]>;
  /**
   * Token-level hidden states of one layer before pooling, real tokens only (at most `maxTokens` per text), to feed
   * unfrozen layers. Optional: encoders that cannot expose them leave unfreezing unavailable.
   */
  embedTokens?(
    texts: string[],
    options: TokenStateOptions,
    onBatch?: (done: number, total: number) => void,
  ): Promise<TextTokenStates[]>;
  /** Release the inference session. */
  dispose(): Promise<void>;
}

/** What {@link Encoder.embedTokens} reads. */
export interface TokenStateOptions {
  /** Hidden state index: 0 = embeddings output, -1 = last layer. */
  layer: number;
  /** Cap on tokens per text (the model's own limit applies too); longer texts are truncated. */
  maxTokens: number;
  /** Texts per forward pass. */
  batchSize?: number;
}

/** One text's token-level hidden states of one layer: its real tokens only, no padding. */
export interface TextTokenStates {
  /** Token ids of the kept tokens. */
  ids: Int32Array;
  /** Row-major `[ids.length, width]`. */
  states: Float32Array;
  width: number;
}

/** The weights of unfrozen encoder layers trained with a head, by ONNX initializer name. */
export interface UnfrozenLayersWeights {
  /** Hidden-state index fed to the first unfrozen layer. */
  fromLayer: number;
  /** Hidden-state index the head reads (the feature layer). */
  toLayer: number;
  weights: { name: string; shape: number[]; values: number[] }[];
}

export interface HeadTrainingOptions {
  /** 0 = linear head. */
  hidden: number;
  epochs: number;
  learningRate: number;
  seed: number;
  batchSize: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  accuracy: number;
}

/** A trained classification head over feature vectors. */
export interface TrainedHead {
  /** Trainable parameter count (weights + biases). */
  readonly parameterCount: number;
  /** Class probabilities per feature vector, in label-index order. */
  predict(features: Float32Array[]): Promise<number[][]>;
  /** Plain weights, for export and to move between worker and main thread. */
  toJSON(): SerializedHead;
  dispose(): void;
}

export interface SerializedHead {
  inputSize: number;
  hidden: number;
  numClasses: number;
  /** Each layer's kernel (row-major) and bias. */
  layers: { kernel: number[]; kernelShape: [number, number]; bias: number[] }[];
  /** Encoder layers trained with the head (unfreeze N > 0); absent for a head on frozen features. */
  unfrozen?: UnfrozenLayersWeights;
}

export interface HeadTrainer {
  train(
    features: Float32Array[],
    labelIndices: number[],
    numClasses: number,
    options: HeadTrainingOptions,
    onEpoch?: (report: EpochReport) => void,
    signal?: AbortSignal,
  ): Promise<TrainedHead>;
}

/** Which layers {@link LayerTrainer} unfreezes. */
export interface LayerTrainingRequest {
  /** The model reference, as the experiment names it. */
  model: string;
  /** The head's feature layer, resolved to 1..numLayers. */
  featureLayer: number;
  /** Layers under the feature layer trained with the head, 1..featureLayer. */
  unfreeze: number;
  pooling: Pooling;
}

/** A head trained together with unfrozen layers: it reads token states of the layer below them. */
export interface TokenStatesHead {
  /** Every parameter training updated: head + unfrozen layers. */
  readonly parameterCount: number;
  /** Class probabilities per text, in label-index order. */
  predict(texts: TextTokenStates[]): Promise<number[][]>;
  /** Head weights, with the unfrozen layers' weights in `unfrozen`. */
  toJSON(): SerializedHead;
  dispose(): void;
}

/** Trains a head with the top N layers of a model, on cached token states of the layer below them. */
export interface LayerTrainer {
  train(
    request: LayerTrainingRequest,
    texts: TextTokenStates[],
    labelIndices: number[],
    numClasses: number,
    options: HeadTrainingOptions,
    onEpoch?: (report: EpochReport) => void,
    signal?: AbortSignal,
  ): Promise<TokenStatesHead>;
}
