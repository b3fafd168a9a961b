/**
 * @file The core's ports (Encoder, HeadTrainer) implemented over the two workers, so the browser runs the very
 * same core functions as the CLI (`runSimilarityPrompt`, `runHead`, `embedTestTexts`) with the heavy work off
 * the main thread.
 */
import type {
  Device,
  Dtype,
  EmbedOptions,
  EpochReport,
  Encoder,
  HeadTrainer,
  HeadTrainingOptions,
  SerializedHead,
  TrainedHead,
} from '../core/ports.ts';
import type { HeadClient } from './HeadClient.svelte.ts';
import type { ModelClient } from './ModelClient.svelte.ts';

/** The loaded model behind a ModelClient, as an Encoder. Calls made through it are cancelled by `signal`. */
export class RemoteEncoder implements Encoder {
  readonly modelId: string;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly dimension: number;
  readonly numLayers: number;
  readonly maxTokens: number;
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
    this.#client = client;
    this.#signal = signal;
  }

  embed(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    return this.#client.embed(texts, options, this.#signal);
  }

  countTokens(texts: string[]): Promise<number[]> {
    return this.#client.countTokens(texts);
  }

  /** The model belongs to the client (other runs still use it): unload it there, not here. */
  async dispose(): Promise<void> {}
}

/** A head trained in the head worker; its weights live here, predictions go back to the worker. */
class RemoteTrainedHead implements TrainedHead {
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
