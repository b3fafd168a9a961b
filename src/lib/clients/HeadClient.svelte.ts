/**
 * @file The main-thread face of the head worker: trains heads with live per-epoch state, cancels, predicts.
 */
import type { EpochReport, HeadTrainingOptions, SerializedHead } from '../core/ports.ts';
import { HEAD_EVENT_TYPES, type HeadWorkerMethods, type TrainedReply } from '../workers/protocol.ts';
import { CancelledError, RpcClient, type WorkerPort } from '../workers/rpc.ts';
import { FrameBatch } from './frame-batch.ts';
import { messageOf, type WorkerFactory } from './ModelClient.svelte.ts';

export type HeadStatus = 'idle' | 'training' | 'done' | 'cancelled' | 'error';

/** Inputs of one training run. */
export interface TrainInput {
  features: Float32Array[];
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
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
  /** The final reply of the last successful run. */
  result = $state.raw<TrainedReply | undefined>(undefined);

  readonly #createWorker: WorkerFactory;
  #rpc: RpcClient<HeadWorkerMethods> | undefined;
  #trainController: AbortController | undefined;

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
    this.#trainController?.abort();
    const controller = new AbortController();
    this.#trainController = controller;
    if (signal?.aborted) controller.abort();
    signal?.addEventListener('abort', () => controller.abort(), { once: true });
    this.status = 'training';
    this.error = undefined;
    this.epochs = [];
    this.totalEpochs = input.options.epochs;
    // Epochs reach the chart at most once per frame, however fast the worker reports them.
    const epochs = new FrameBatch<EpochReport>((reports) => {
      if (this.#trainController === controller) this.epochs = [...this.epochs, ...reports];
    });
    try {
      // Features are not transferred: the caller keeps them cached for the next head.
      const reply = await this.#worker().call('train', input, {
        signal: controller.signal,
        onEvent: (event) => {
          if (this.#trainController !== controller) return;
          epochs.push(event.report);
          onEpoch?.(event.report);
        },
      });
      epochs.flush();
      if (this.#trainController === controller) {
        this.result = reply;
        this.status = 'done';
      }
      return reply;
    } catch (error) {
      epochs.flush();
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
