/**
 * @file The main-thread face of the model worker: rune state for the UI plus promise-returning methods.
 * Components read `status`, `files`, `error`, `info`; they never post messages themselves.
 */
import type { Dtype, EmbedOptions, LoadProgress } from '../core/ports.ts';
import {
  MODEL_EVENT_TYPES,
  type DeviceChoice,
  type LoadedModelInfo,
  type ModelWorkerMethods,
} from '../workers/protocol.ts';
import { CancelledError, RpcClient, type WorkerPort } from '../workers/rpc.ts';
import { MODELS_BASE_URL } from './model-index.ts';

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

/** Progress of one model file, as the UI shows it. */
export interface FileProgress {
  file: string;
  loaded: number;
  /** 0 while unknown. */
  total: number;
  done: boolean;
}

/** Creates the worker; tests may pass their own. */
export type WorkerFactory = () => WorkerPort;

function createModelWorker(): WorkerPort {
  return new Worker(new URL('../workers/model.worker.ts', import.meta.url), {
    type: 'module',
    name: 'model-worker',
  });
}

/** Owns the model worker: loads one encoder at a time and embeds texts with it. */
export class ModelClient {
  status = $state<ModelStatus>('idle');
  /** Per-file download/load progress of the current load, in first-seen order. */
  files = $state<FileProgress[]>([]);
  /** What went wrong and what to do, when status is 'error' (or an embed failed). */
  error = $state<string | undefined>(undefined);
  /** The loaded model: device and dtype actually used, sizes, load time. */
  info = $state.raw<LoadedModelInfo | undefined>(undefined);
  /** The id being loaded or loaded. */
  modelId = $state<string | undefined>(undefined);
  /** Progress of the running embed call, if any. */
  embedProgress = $state<{ done: number; total: number } | undefined>(undefined);

  readonly #createWorker: WorkerFactory;
  #rpc: RpcClient<ModelWorkerMethods> | undefined;
  #loadController: AbortController | undefined;

  constructor(createWorker: WorkerFactory = createModelWorker) {
    this.#createWorker = createWorker;
  }

  /** True once a model is ready to embed. */
  get ready(): boolean {
    return this.status === 'ready' && this.info !== undefined;
  }

  /**
   * Loads model `id` (served under /models/), replacing any loaded one. Resolves with what actually loaded;
   * rejects (and sets `error`) when the load fails. A newer `load` cancels an older one still running.
   */
  async load(id: string, options: { device: DeviceChoice; dtype: Dtype }): Promise<LoadedModelInfo> {
    this.#loadController?.abort();
    const controller = new AbortController();
    this.#loadController = controller;
    this.status = 'loading';
    this.error = undefined;
    this.info = undefined;
    this.modelId = id;
    this.files = [];
    try {
      const reply = await this.#worker().call(
        'load',
        {
          source: { kind: 'served', baseUrl: MODELS_BASE_URL, id },
          device: options.device,
          dtype: options.dtype,
        },
        { signal: controller.signal, onEvent: (event) => this.#onProgress(event.progress) },
      );
      this.info = reply.info;
      this.status = 'ready';
      for (const file of this.files) file.done = true;
      return reply.info;
    } catch (error) {
      // A superseded load must not overwrite the state of the newer one.
      if (this.#loadController === controller) {
        this.status = 'error';
        this.error = error instanceof CancelledError ? 'Loading was cancelled.' : messageOf(error);
      }
      throw error;
    } finally {
      if (this.#loadController === controller) this.#loadController = undefined;
    }
  }

  /** Cancels a load in progress. */
  cancelLoad(): void {
    this.#loadController?.abort();
  }

  /** One vector per text from the loaded model. Rejects when no model is ready. */
  async embed(texts: string[], options: EmbedOptions, signal?: AbortSignal): Promise<Float32Array[]> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    this.embedProgress = { done: 0, total: texts.length };
    try {
      const reply = await this.#worker().call(
        'embed',
        { texts, options },
        { signal, onEvent: (event) => (this.embedProgress = { done: event.done, total: event.total }) },
      );
      return reply.vectors;
    } finally {
      this.embedProgress = undefined;
    }
  }

  /** Token count of each text (before truncation) under the loaded model's tokenizer. */
  async countTokens(texts: string[]): Promise<number[]> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    const reply = await this.#worker().call('count-tokens', { texts });
    return reply.counts;
  }

  /** Releases the model's session; the worker stays up for the next load. */
  async unload(): Promise<void> {
    if (!this.#rpc) return;
    await this.#rpc.call('dispose', {});
    this.info = undefined;
    this.status = 'idle';
    this.files = [];
  }

  /** Stops the worker for good (page teardown). */
  destroy(): void {
    this.#rpc?.terminate();
    this.#rpc = undefined;
  }

  /** The live worker; a crashed one is replaced on the next call, so the app recovers by loading again. */
  #worker(): RpcClient<ModelWorkerMethods> {
    if (!this.#rpc) {
      const rpc: RpcClient<ModelWorkerMethods> = new RpcClient<ModelWorkerMethods>(
        this.#createWorker(),
        MODEL_EVENT_TYPES,
        'model worker',
        {
          advice: 'Load the model again to restart it; reload the page if it keeps failing.',
          onCrash: (message) => {
            rpc.terminate();
            if (this.#rpc === rpc) this.#rpc = undefined;
            this.status = 'error';
            this.info = undefined;
            this.error = message;
          },
        },
      );
      this.#rpc = rpc;
    }
    return this.#rpc;
  }

  #onProgress(progress: LoadProgress): void {
    if (!progress.file) return;
    const done = progress.status === 'done' || progress.status === 'ready';
    const existing = this.files.find((f) => f.file === progress.file);
    if (existing) {
      existing.loaded =
        done && existing.total > 0 ? existing.total : Math.max(existing.loaded, progress.loaded);
      existing.total = progress.total || existing.total;
      existing.done ||= done;
    } else {
      this.files.push({ file: progress.file, loaded: progress.loaded, total: progress.total, done });
    }
  }
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
