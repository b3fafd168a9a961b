/**
 * @file The core's ports (encoders per model, Encoder, HeadTrainer) implemented over the two workers, so the
 * browser runs the very same orchestrator as the CLI (core/experiment/orchestrator.ts) with the heavy work off
 * the main thread.
 */
import type { CausalScorerProvider, EncoderProvider } from '../core/experiment/orchestrator.ts';
import type { Pooling } from '../core/experiment/types.ts';
import type {
  CausalScorer,
  ChatMessage,
  ContinuationRequest,
  Device,
  Dtype,
  EmbedOptions,
  EpochReport,
  Encoder,
  HeadTrainer,
  HeadTrainingOptions,
  PairClassifier,
  SerializedHead,
  TextTokenStates,
  TokenStateOptions,
  TrainedHead,
} from '../core/ports.ts';
import type { HeadClient } from './HeadClient.svelte.ts';
import type { LoadChoice, LoadTarget, ModelClient } from './ModelClient.svelte.ts';
import { fetchModelIndex, MODELS_BASE_URL } from './model-index.ts';

/** The loaded model behind a ModelClient, as an Encoder. Calls made through it are cancelled by `signal`. */
export class RemoteEncoder implements Encoder {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly dimension: number;
  readonly numLayers: number;
  readonly maxTokens: number;
  readonly sentenceEmbedding: boolean;
  readonly maskToken?: string;
  readonly pairClassifier?: PairClassifier;
  readonly weightsHash: string | undefined;
  readonly #client: ModelClient;
  readonly #signal: AbortSignal | undefined;

  /** @throws Error when the client has no model loaded. */
  constructor(client: ModelClient, signal?: AbortSignal) {
    const info = client.info;
    if (!client.ready || !info)
      throw new Error('No model is loaded yet. Load a model in the Model section first.');
    this.modelId = info.modelId;
    this.device = info.device;
    this.dtype = info.dtype;
    this.dimension = info.dimension;
    this.numLayers = info.numLayers;
    this.maxTokens = info.maxTokens;
    this.sentenceEmbedding = info.sentenceEmbedding;
    this.weightsHash = info.weightsHash;
    this.#client = client;
    this.#signal = signal;
    if (info.maskToken !== undefined) this.maskToken = info.maskToken;
    if (info.pairClassifier !== undefined) {
      this.pairClassifier = {
        modelId: info.modelId,
        id2label: info.pairClassifier.id2label,
        maxTokens: info.maxTokens,
        classifyPairs: async (pairs) => {
          this.#checkStillLoaded();
          return client.classifyPairs([...pairs], this.#signal);
        },
      };
    }
  }

  /** Rejects when the client has loaded another model since this encoder was made. */
  async embed(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    this.#checkStillLoaded();
    return this.#client.embed(texts, options, this.#signal);
  }

  /** Several layers from one forward pass per text, in the model worker. */
  async embedLayers(texts: string[], layers: number[], pooling: Pooling): Promise<Float32Array[][]> {
    this.#checkStillLoaded();
    return this.#client.embedLayers(texts, layers, pooling, this.#signal);
  }

  /** Several (layer, pooling) outputs from one forward pass per text, in the model worker (the shared pass). */
  async embedOutputs(texts: string[], outputs: readonly EmbedOptions[]): Promise<Float32Array[][]> {
    this.#checkStillLoaded();
    return this.#client.embedOutputs(texts, [...outputs], this.#signal);
  }

  /** Token-level states of one layer (for unfrozen layers), computed in the model worker. */
  async embedTokens(texts: string[], options: TokenStateOptions): Promise<TextTokenStates[]> {
    this.#checkStillLoaded();
    return this.#client.embedTokens(texts, options, this.#signal);
  }

  async countTokens(texts: string[], pairs?: readonly (string | null)[]): Promise<number[]> {
    this.#checkStillLoaded();
    return this.#client.countTokens(texts, pairs === undefined ? undefined : [...pairs], {
      signal: this.#signal,
    });
  }

  /** The worker holds one model: vectors from whichever replaced this one would be silently wrong. */
  #checkStillLoaded(): void {
    const loaded = this.#client.ready ? this.#client.info?.modelId : undefined;
    if (loaded !== this.modelId) {
      throw new Error(
        `The model "${this.modelId}" is no longer loaded (${loaded === undefined ? 'none is' : `"${loaded}" is`}); ` +
          'run again.',
      );
    }
  }

  /** The model belongs to the client (other runs still use it): unload it there, not here. */
  async dispose(): Promise<void> {}
}

/** A head trained in the head worker; its weights live here, predictions go back to the worker. */
export class RemoteTrainedHead implements TrainedHead {
  readonly parameterCount: number;
  readonly #client: HeadClient;
  readonly #head: SerializedHead;

  constructor(client: HeadClient, head: SerializedHead, parameterCount: number) {
    this.#client = client;
    this.#head = head;
    this.parameterCount = parameterCount;
  }

  predict(features: Float32Array[]): Promise<number[][]> {
    return this.#client.predict(this.#head, features);
  }

  toJSON(): SerializedHead {
    return this.#head;
  }

  /** Nothing to free: the worker disposes its tensors after every request. */
  dispose(): void {}
}

/** Trains heads in the head worker; the HeadClient's rune state (epochs, status) follows along for the UI. */
export class RemoteHeadTrainer implements HeadTrainer {
  readonly #client: HeadClient;

  constructor(client: HeadClient) {
    this.#client = client;
  }

  async train(
    features: Float32Array[],
    labelIndices: number[],
    numClasses: number,
    options: HeadTrainingOptions,
    onEpoch?: (report: EpochReport) => void,
    signal?: AbortSignal,
  ): Promise<TrainedHead> {
    const reply = await this.#client.train({ features, labelIndices, numClasses, options }, signal, onEpoch);
    return new RemoteTrainedHead(this.#client, reply.head, reply.parameterCount);
  }
}

/** What the model worker did for models other than the experiment's, for a notice in the UI. */
export type ModelSwitch =
  | { kind: 'loading'; model: string; home: string }
  | { kind: 'restoring'; model: string; home: string }
  | { kind: 'restored'; model: string; home: string };

/**
 * How a model an experiment names is loaded in the browser: from the folders the app serves, with the weights
 * the folder has (as the model panel loads it). A model missing from the list is still tried by id, so the load
 * error names what is missing.
 */
export async function servedTarget(model: string): Promise<LoadTarget> {
  try {
    const entry = (await fetchModelIndex()).find((candidate) => candidate.id === model);
    if (entry) {
      return {
        source: { kind: 'served', baseUrl: MODELS_BASE_URL, id: model },
        availableDtypes: entry.dtypes,
      };
    }
  } catch {
    // Without the list, the load itself says what is wrong.
  }
  return model;
}

/**
 * Encoders for every model an experiment names, over the one model worker (which holds one model at a time).
 * The loaded model serves itself; any other model (a prompt's own `model`) is loaded in its place with the same
 * device and dtype choice, and `release` loads the original model again exactly as it was loaded. Each switch
 * is reported through `onSwitch`.
 */
export class RemoteEncoderProvider implements EncoderProvider {
  readonly #client: ModelClient;
  readonly #signal: AbortSignal | undefined;
  readonly #onSwitch: (change: ModelSwitch) => void;
  /** The model loaded before the first switch, to return to; undefined while nothing was switched. */
  #home: { modelId: string; target: LoadTarget; choice: LoadChoice } | undefined;
  /** The last model loaded in place of the home model. */
  #visited: string | undefined;
  readonly #resolve: (model: string) => Promise<LoadTarget>;

  /** `resolveTarget` turns a model reference into what to load; by default a folder the app serves. */
  constructor(
    client: ModelClient,
    options: {
      signal?: AbortSignal;
      onSwitch?: (change: ModelSwitch) => void;
      resolveTarget?: (model: string) => Promise<LoadTarget>;
    } = {},
  ) {
    this.#client = client;
    this.#signal = options.signal;
    this.#onSwitch = options.onSwitch ?? (() => undefined);
    this.#resolve = options.resolveTarget ?? servedTarget;
  }

  /** @throws Error when no model is loaded at all, or the other model fails to load (the loaded one stays). */
  async encoder(model: string): Promise<Encoder> {
    const client = this.#client;
    const loaded = client.loadedWith;
    const loadedId = client.info?.modelId;
    if (!client.ready || loaded === undefined || loadedId === undefined) {
      throw new Error('No model is loaded yet. Load a model in the Model section first.');
    }
    if (loadedId === model) return new RemoteEncoder(client, this.#signal);
    this.#signal?.throwIfAborted();
    this.#home ??= { modelId: loadedId, ...loaded };
    this.#onSwitch({ kind: 'loading', model, home: this.#home.modelId });
    this.#visited = model;
    const target = await this.#resolve(model);
    this.#signal?.throwIfAborted();
    // A cancelled run does not wait for another model to download and load: that load stops too.
    const stopLoad = (): void => client.cancelLoad();
    this.#signal?.addEventListener('abort', stopLoad, { once: true });
    try {
      await client.load(target, this.#home.choice);
    } finally {
      this.#signal?.removeEventListener('abort', stopLoad);
    }
    return new RemoteEncoder(client, this.#signal);
  }

  /** Loads the model that was loaded before the first switch again, if another one replaced it. */
  async release(): Promise<void> {
    const home = this.#home;
    const visited = this.#visited;
    this.#home = undefined;
    this.#visited = undefined;
    if (home === undefined || visited === undefined) return;
    // A failed switch leaves the home model loaded: nothing to undo.
    if (this.#client.ready && this.#client.info?.modelId === home.modelId) return;
    this.#onSwitch({ kind: 'restoring', model: visited, home: home.modelId });
    await this.#client.load(home.target, home.choice);
    this.#onSwitch({ kind: 'restored', model: visited, home: home.modelId });
  }
}

/** The language model the model worker holds for instruction prompts, as the core's CausalScorer. */
export class RemoteCausalScorer implements CausalScorer {
  readonly modelId: string;
  readonly device: Device = 'wasm';
  readonly dtype: Dtype = 'fp32';
  readonly maxTokens: number;
  readonly #client: ModelClient;
  readonly #signal: AbortSignal | undefined;

  constructor(client: ModelClient, loaded: { modelId: string; maxTokens: number }, signal?: AbortSignal) {
    this.modelId = loaded.modelId;
    this.maxTokens = loaded.maxTokens;
    this.#client = client;
    this.#signal = signal;
  }

  async tokenize(text: string): Promise<number[]> {
    return (await this.#client.languageModelText({ op: 'tokenize', text })).ids ?? [];
  }

  async decode(ids: readonly number[]): Promise<string> {
    return (await this.#client.languageModelText({ op: 'decode', ids: [...ids] })).text ?? '';
  }

  async applyChatTemplate(messages: readonly ChatMessage[]): Promise<string | undefined> {
    return (await this.#client.languageModelText({ op: 'chat', messages: [...messages] })).text;
  }

  continuationLogProbs(request: ContinuationRequest): Promise<number[][][]> {
    return this.#client.scoreContinuations(request, this.#signal);
  }

  /** The worker keeps the language model for the next run; loading another replaces it. */
  async dispose(): Promise<void> {}
}

/** Language models for instruction prompts, loaded in the model worker beside the encoder (served folders). */
export class RemoteCausalScorerProvider implements CausalScorerProvider {
  readonly #client: ModelClient;
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (model: string) => Promise<LoadTarget>;

  constructor(
    client: ModelClient,
    options: { signal?: AbortSignal; resolveTarget?: (model: string) => Promise<LoadTarget> } = {},
  ) {
    this.#client = client;
    this.#signal = options.signal;
    this.#resolve = options.resolveTarget ?? servedTarget;
  }

  async scorer(model: string): Promise<CausalScorer> {
    const loaded = await this.#client.loadLanguageModel(await this.#resolve(model));
    this.#signal?.throwIfAborted();
    return new RemoteCausalScorer(this.#client, loaded, this.#signal);
  }
}
