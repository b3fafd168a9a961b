/**
 * @file The main-thread face of the head worker: trains heads with live per-epoch state, cancels, predicts, and
 * writes and imports head files (their weights stay in the worker under a handle).
 */
import type {
  EpochReport,
  HeadTrainingOptions,
  LayerTrainingRequest,
  SerializedHead,
  TextTokenStates,
} from '../core/ports.ts';
import type { HeadFileInfo, HeadFileInput } from '../core/heads/head-file.ts';
import { packHead } from '../workers/packed-head.ts';
import {
  HEAD_EVENT_TYPES,
  tokenStateTransferables,
  transferablesOf,
  type HeadWorkerMethods,
  type PackedHead,
  type TrainedLayersReply,
  type TrainedReply,
} from '../workers/protocol.ts';
import { CancelledError, RpcClient, type WorkerPort } from '../workers/rpc.ts';
import { FrameBatch } from './frame-batch.ts';
import { messageOf, type WorkerFactory } from './ModelClient.svelte.ts';

export type HeadStatus = 'idle' | 'training' | 'done' | 'cancelled' | 'error';

/** A model's ONNX weights file for unfrozen layers: its key (model, dtype, file hash) and how to read it. */
export interface LayerModelSource {
  key: string;
  bytes(): Promise<Uint8Array>;
}

/** Inputs of one training run with unfrozen layers. */
export interface TrainLayersInput {
  model: LayerModelSource;
  request: LayerTrainingRequest;
  texts: TextTokenStates[];
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
}

/** Inputs of one training run. */
export interface TrainInput {
  features: Float32Array[];
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
}

/**
 * A head file imported into the head worker: what it says, without its weights, which stay in the worker under
 * `handle` until {@link HeadClient.releaseHead}.
 */
export interface ImportedHeadFile {
  readonly handle: number;
  readonly info: HeadFileInfo;
}

function createHeadWorker(): WorkerPort {
  return new Worker(new URL('../workers/head.worker.ts', import.meta.url), {
    type: 'module',
    name: 'head-worker',
  });
}

/** Owns the head worker. One training run at a time: starting another cancels the previous one. */
export class HeadClient {
  status = $state<HeadStatus>('idle');
  /** Epoch reports of the current (or last) run, in order. Replaced, not mutated, so charts can diff cheaply. */
  epochs = $state.raw<EpochReport[]>([]);
  /** Epochs the current run will train. */
  totalEpochs = $state(0);
  error = $state<string | undefined>(undefined);
  /** The final reply of the last successful run (a run with unfrozen layers: its weights packed). */
  result = $state.raw<TrainedReply | TrainedLayersReply | undefined>(undefined);

  readonly #createWorker: WorkerFactory;
  #rpc: RpcClient<HeadWorkerMethods> | undefined;
  #trainController: AbortController | undefined;
  /** The model weights file the worker holds for unfrozen layers (per worker instance: a restart forgets it). */
  #heldLayerModel: { rpc: RpcClient<HeadWorkerMethods>; key: string; ready: Promise<void> } | undefined;
  /** The worker instance each imported head lives in (a handle means nothing to another instance). */
  readonly #imports = new WeakMap<ImportedHeadFile, RpcClient<HeadWorkerMethods>>();

  constructor(createWorker: WorkerFactory = createHeadWorker) {
    this.#createWorker = createWorker;
  }

  /**
   * Trains a head; resolves with the serialized head and its size, rejects with CancelledError when
   * `cancel()` is called or `signal` aborts.
   */
  async train(
    input: TrainInput,
    signal?: AbortSignal,
    onEpoch?: (report: EpochReport) => void,
  ): Promise<TrainedReply> {
    // Features are not transferred: the caller keeps them cached for the next head.
    return this.#track(input.options.epochs, signal, onEpoch, (options) =>
      this.#worker().call('train', input, options),
    );
  }

  /**
   * Trains a head with unfrozen layers of a model on token states of the layer below them, like {@link train}
   * (same status, epochs and cancel). The model's weights file is handed to the worker once per `model.key`:
   * `model.bytes()` is called only when the worker does not hold it yet. The weights come back packed as
   * Float32Arrays (transferred, not cloned value by value); `unpackHead` gives the core's plain arrays.
   */
  async trainLayers(
    input: TrainLayersInput,
    signal?: AbortSignal,
    onEpoch?: (report: EpochReport) => void,
  ): Promise<TrainedLayersReply> {
    return this.#track(input.options.epochs, signal, onEpoch, async (options) => {
      await this.#holdLayerModel(input.model);
      options.signal.throwIfAborted();
      const { model, ...rest } = input;
      return this.#worker().call('train-layers', { ...rest, key: model.key }, options);
    });
  }

  /**
   * Class probabilities of texts (token states) under a head with unfrozen layers of `model`; the packed head is
   * copied whole to the worker (not transferred: it stays usable here).
   */
  async predictLayers(
    model: LayerModelSource,
    request: LayerTrainingRequest,
    head: PackedHead,
    texts: TextTokenStates[],
  ): Promise<number[][]> {
    await this.#holdLayerModel(model);
    const reply = await this.#worker().call('predict-layers', { key: model.key, request, head, texts });
    return reply.probabilities;
  }

  async #holdLayerModel(model: LayerModelSource): Promise<void> {
    const rpc = this.#worker();
    if (this.#heldLayerModel?.rpc === rpc && this.#heldLayerModel.key === model.key) {
      return this.#heldLayerModel.ready;
    }
    const ready = model.bytes().then(async (bytes) => {
      const transfer = bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
      await rpc.call('hold-layer-model', { key: model.key, bytes }, { transfer });
    });
    const held = { rpc, key: model.key, ready };
    this.#heldLayerModel = held;
    ready.catch(() => {
      if (this.#heldLayerModel === held) this.#heldLayerModel = undefined;
    });
    return ready;
  }

  async #track<R extends TrainedReply | TrainedLayersReply>(
    epochs: number,
    signal: AbortSignal | undefined,
    onEpoch: ((report: EpochReport) => void) | undefined,
    call: (options: { signal: AbortSignal; onEvent: (event: { report: EpochReport }) => void }) => Promise<R>,
  ): Promise<R> {
    this.#trainController?.abort();
    const controller = new AbortController();
    this.#trainController = controller;
    if (signal?.aborted) controller.abort();
    signal?.addEventListener('abort', () => controller.abort(), { once: true });
    this.status = 'training';
    this.error = undefined;
    this.epochs = [];
    this.totalEpochs = epochs;
    // Epochs reach the chart at most once per frame, however fast the worker reports them.
    const batch = new FrameBatch<EpochReport>((reports) => {
      if (this.#trainController === controller) this.epochs = [...this.epochs, ...reports];
    });
    try {
      const reply = await call({
        signal: controller.signal,
        onEvent: (event) => {
          if (this.#trainController !== controller) return;
          batch.push(event.report);
          onEpoch?.(event.report);
        },
      });
      batch.flush();
      if (this.#trainController === controller) {
        this.result = reply;
        this.status = 'done';
      }
      return reply;
    } catch (error) {
      batch.flush();
      if (this.#trainController === controller) {
        if (error instanceof CancelledError) {
          this.status = 'cancelled';
        } else {
          this.status = 'error';
          this.error = messageOf(error);
        }
      }
      throw error;
    } finally {
      if (this.#trainController === controller) this.#trainController = undefined;
    }
  }

  /** Stops the running training, if any. */
  cancel(): void {
    this.#trainController?.abort();
  }

  /**
   * Stops any training and forgets the last run's status, curve and error, as when another experiment is opened:
   * what is shown then belongs to no run of it.
   */
  reset(): void {
    const controller = this.#trainController;
    // Detached first, so the aborted run does not report "cancelled" over the reset state.
    this.#trainController = undefined;
    controller?.abort();
    this.status = 'idle';
    this.epochs = [];
    this.totalEpochs = 0;
    this.error = undefined;
    this.result = undefined;
  }

  /** Class probabilities of `features` under a serialized head. */
  async predict(head: SerializedHead, features: Float32Array[]): Promise<number[][]> {
    const reply = await this.#worker().call('predict', { head, features });
    return reply.probabilities;
  }

  /**
   * Reads and validates a head file in the worker (the page only hands over the File) and keeps its weights there.
   * @throws HeadFileError's message (as an Error) naming the wrong field, when the file is not a valid head file.
   */
  async importHeadFile(file: Blob): Promise<ImportedHeadFile> {
    const rpc = this.#worker();
    const reply = await rpc.call('import-head', { file });
    const imported: ImportedHeadFile = { handle: reply.handle, info: reply.info };
    this.#imports.set(imported, rpc);
    return imported;
  }

  /**
   * A trained head's head file as UTF-8 JSON, built, validated and encoded in the worker; the weights travel as
   * transferred Float32Arrays. `input.head` is left as it was.
   */
  async exportHeadFile(input: HeadFileInput): Promise<Uint8Array<ArrayBuffer>> {
    const { head, transfer } = packHead(input.head);
    const reply = await this.#worker().call('export-head', { input: { ...input, head } }, { transfer });
    return reply.bytes;
  }

  /** Class probabilities of `features` under an imported head on frozen features; the features are transferred. */
  async predictImported(imported: ImportedHeadFile, features: Float32Array[]): Promise<number[][]> {
    const rpc = this.#workerOf(imported);
    const reply = await rpc.call(
      'predict-imported',
      { handle: imported.handle, features },
      { transfer: transferablesOf(features) },
    );
    return reply.probabilities;
  }

  /**
   * Class probabilities of texts (token states, transferred) under an imported head with unfrozen layers of `model`;
   * the worker builds the layers once per model file and keeps them until {@link releaseHead}.
   */
  async predictImportedLayers(
    imported: ImportedHeadFile,
    model: LayerModelSource,
    request: LayerTrainingRequest,
    texts: TextTokenStates[],
  ): Promise<number[][]> {
    const rpc = this.#workerOf(imported);
    await this.#holdLayerModel(model);
    const reply = await rpc.call(
      'predict-imported-layers',
      { handle: imported.handle, key: model.key, request, texts },
      { transfer: tokenStateTransferables(texts) },
    );
    return reply.probabilities;
  }

  /** Releases an imported head's weights and tensors in the worker; nothing to do once that worker has stopped. */
  async releaseHead(imported: ImportedHeadFile): Promise<void> {
    const rpc = this.#imports.get(imported);
    this.#imports.delete(imported);
    if (rpc === undefined || rpc !== this.#rpc) return;
    await rpc.call('release-head', { handle: imported.handle });
  }

  /** The head worker's live tfjs tensors and imported heads (tests, diagnostics). */
  async memory(): Promise<{ numTensors: number; imported: number }> {
    const { numTensors, imported } = await this.#worker().call('head-memory', {});
    return { numTensors, imported };
  }

  /** The worker holding `imported`; a restarted worker holds none of the heads imported before. */
  #workerOf(imported: ImportedHeadFile): RpcClient<HeadWorkerMethods> {
    const rpc = this.#imports.get(imported);
    if (rpc === undefined || rpc !== this.#rpc) {
      throw new Error(
        `The head worker no longer holds the imported head "${imported.info.name}" (it was released or the ` +
          'worker restarted): import the head file again.',
      );
    }
    return rpc;
  }

  /** Stops the worker for good (page teardown). */
  destroy(): void {
    this.#rpc?.terminate();
    this.#rpc = undefined;
  }

  #worker(): RpcClient<HeadWorkerMethods> {
    if (!this.#rpc) {
      const rpc: RpcClient<HeadWorkerMethods> = new RpcClient<HeadWorkerMethods>(
        this.#createWorker(),
        HEAD_EVENT_TYPES,
        'head worker',
        {
          advice: 'Train again to restart it; reload the page if it keeps failing.',
          onCrash: (message) => {
            rpc.terminate();
            if (this.#rpc === rpc) this.#rpc = undefined;
            this.status = 'error';
            this.error = message;
          },
        },
      );
      this.#rpc = rpc;
    }
    return this.#rpc;
  }
}
