/**
 * @file Ports: what the pure core needs from the two outside runtimes (transformers.js, tfjs).
 * The CLI (Node) and the workers (browser) implement and call these; the core never imports a runtime. The
 * orchestrator's own ports (encoders per model, feature cache, dataset reader, progress) are beside it, in
 * experiment/orchestrator.ts.
 */
import type { ClassWeighting, Pooling } from './experiment/types.ts';

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
  /**
   * Token count of each text (before truncation), for validation reports; with `pairs`, text i joined with
   * `pairs[i]` (when not null) as the tokenizer joins a pair (an NLI premise and hypothesis).
   */
  countTokens(texts: string[], pairs?: readonly (string | null)[]): Promise<number[]>;
  // ---- feature cache and layer probe (issue 11)
  /**
   * SHA-256 (64 hex digits) of the model's weights file, when the adapter read it: persistent feature caches key
   * vectors by it, so vectors of another export with the same id are never mixed in. Absent: nothing is stored.
   */
  readonly weightsHash?: string;
  /**
   * Vectors of several layers from ONE forward pass per text (every pass returns all hidden states): one list per
   * entry of `layers` (0..numLayers or negative from the end), each one vector per text, in input order.
   */
  embedLayers?(
    texts: string[],
    layers: number[],
    pooling: Pooling,
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[][]>;
  // ---- end feature cache and layer probe
  // ---- one encoder pass per text (issue 13)
  /**
   * Vectors of several outputs (each a layer and pooling) from ONE forward pass per text, batched as `embed`
   * batches the same texts: one list per entry of `outputs`, each one vector per text, in input order. Without it
   * the orchestrator asks `embed` once per output.
   */
  embedOutputs?(
    texts: string[],
    outputs: readonly EmbedOptions[],
    onBatch?: (done: number, total: number) => void,
  ): Promise<Float32Array[][]>;
  // ---- end one encoder pass per text
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
  /** The tokenizer's mask token (e.g. `[MASK]`), a content-free input for calibration; absent when it has none. */
  readonly maskToken?: string;
  /**
   * The same loaded model as a text-pair classifier (its `logits` output), for NLI prompts; absent when the
   * model is not a sequence classifier.
   */
  readonly pairClassifier?: PairClassifier;
}

/** A premise and a hypothesis, classified together (`[CLS] premise [SEP] hypothesis [SEP]` for BERT). */
export interface TextPair {
  premise: string;
  hypothesis: string;
}

/** What a pair classifier computed: one logit row per pair, and what it cost in tokens. */
export interface ClassifiedPairs {
  /** Per pair, one logit per class in `id2label` order. */
  logits: number[][];
  /** Real tokens fed to the model (padding excluded), summed over the pairs. */
  tokens: number;
  /** Indices of the pairs whose premise was cut to fit the model's token limit (the hypothesis never is). */
  truncated: number[];
}

/** A sequence classifier over text pairs (an NLI model), sharing the Encoder's loaded model. */
export interface PairClassifier {
  readonly modelId: string;
  /** config.json's `id2label` in logit order: `id2label[i]` names logit i; empty when config.json has none. */
  readonly id2label: readonly string[];
  /** Maximum tokens per pair; longer premises are truncated. */
  readonly maxTokens: number;
  /** Logits per pair, in input order, computed in batches. Deterministic for the same inputs. */
  classifyPairs(
    pairs: readonly TextPair[],
    onBatch?: (done: number, total: number) => void,
  ): Promise<ClassifiedPairs>;
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
  /**
   * Each weight with the transformer layer whose nodes read it (`layer` n is the scope `/encoder/layer.n/`: it
   * turns hidden state n into n + 1), so a head file can store the weights layer by layer.
   */
  weights: { name: string; shape: number[]; values: number[]; layer?: number }[];
}

export interface HeadTrainingOptions {
  /** 0 = linear head. */
  hidden: number;
  epochs: number;
  learningRate: number;
  seed: number;
  batchSize: number;
  /** Fraction of the hidden layer's units dropped at each training step, 0 ≤ dropout < 1 (hidden heads only). */
  dropout?: number;
  /** Decoupled weight decay (AdamW): each step also shrinks every kernel by `learningRate × weightDecay`. */
  weightDecay?: number;
  /**
   * Fraction of the training examples held out (seeded, stratified) to measure validation loss and accuracy
   * each epoch; 0 or absent trains on all of them.
   */
  validation?: number;
  /**
   * Early stopping: stop after this many epochs without a lower validation loss, keeping the weights of the best
   * epoch. Needs `validation`.
   */
  patience?: number;
  /** `balanced` weighs each example's loss by n / (classes × examples of its class); `none` (default) by 1. */
  classWeights?: ClassWeighting;
  /** Learning rate of unfrozen encoder layers trained with the head (LayerTrainer only); absent = `learningRate`. */
  layerLearningRate?: number;
}

export interface EpochReport {
  epoch: number;
  /** Mean training loss over the epoch's batches (class-weighted when class weights are on). */
  loss: number;
  accuracy: number;
  /** Loss on the validation slice after the epoch (only with `validation`). */
  valLoss?: number;
  /** Accuracy on the validation slice after the epoch (only with `validation`). */
  valAccuracy?: number;
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

// ---------------------------------------------------------------- causal language models (instruction prompts)

/** One chat message, for a model's chat template. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Texts to score after one shared prefix: each context (text + suffix), followed by each continuation. */
export interface ContinuationRequest {
  /** Token ids of the shared prefix (instruction + shots); its KV cache is computed once for all contexts. */
  prefix: readonly number[];
  /** Token ids following the prefix, one entry per text. */
  contexts: readonly (readonly number[])[];
  /** Token ids of each continuation (verbalizer), scored after every context. */
  continuations: readonly (readonly number[])[];
  /** false: run the whole sequence each time without the prefix's KV cache (a reference, and the benchmark). */
  reusePrefix?: boolean;
}

/** A frozen causal language model that scores continuations (no generation). */
export interface CausalScorer {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  /** Longest sequence (prompt + continuation) the model takes. */
  readonly maxTokens: number;
  /** Token ids of a text on its own, without special tokens. */
  tokenize(text: string): Promise<number[]>;
  /** The text of token ids (to show where a text was truncated). */
  decode(ids: readonly number[]): Promise<string>;
  /**
   * The model's chat template applied to `messages` with the assistant's turn opened, or undefined when the model
   * has no chat template.
   */
  applyChatTemplate(messages: readonly ChatMessage[]): Promise<string | undefined>;
  /**
   * Per context, per continuation, the log-probability of each continuation token given everything before it:
   * `[contexts][continuations][tokens]`.
   */
  continuationLogProbs(
    request: ContinuationRequest,
    onContext?: (done: number, total: number) => void,
  ): Promise<number[][][]>;
  dispose(): Promise<void>;
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
