/**
 * @file The main-thread face of the model worker: rune state for the UI plus promise-returning methods.
 * Components read `status`, `stage`, `files`, `error`, `info`; they never post messages themselves.
 *
 * A failed load leaves the previous model loaded (the worker only swaps models once the new one has warmed up):
 * `status` is then 'error' with the message in `error`, while `info` still describes the model that runs and
 * `ready` stays true.
 */
import type { HubFile } from '../core/models/files.ts';
import type { DeviceChoice, DtypeChoice } from '../core/models/load-plan.ts';
import type { Pooling } from '../core/experiment/types.ts';
import type {
  ClassifiedPairs,
  ContinuationRequest,
  Dtype,
  EmbedOptions,
  LoadProgress,
  TextPair,
  TextTokenStates,
  TokenStateOptions,
} from '../core/ports.ts';
import {
  MODEL_EVENT_TYPES,
  type BrowserModelSource,
  type CacheStatusReply,
  type EmbedProgressEvent,
  type LayerSizesReply,
  type LoadedModelInfo,
  type LoadStage,
  type LmTextReply,
  type LmTextRequest,
  type ModelWorkerMethods,
  type ProbedReply,
  type StatsReply,
} from '../workers/protocol.ts';
import modelWorkerUrl from '../workers/model.worker.ts?worker&url';
import { CancelledError, RpcClient, type WorkerPort } from '../workers/rpc.ts';
import { workerUrlWithDownloads } from '../../offline/csp.ts';
import type { LoadPhaseTiming } from '../core/models/load-phases.ts';
import { FrameBatch, FrameLatest } from './frame-batch.ts';
import { DownloadSetting } from './model-downloads.svelte.ts';
import { MODELS_BASE_URL } from './model-index.ts';
import { preferredDtypeOf } from './model-catalog.ts';

/** What a load reports, for the components showing it (they never import from workers/). */
export type { LoadedModelInfo };

export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

/** Progress of one model file, as the UI shows it. */
export interface FileProgress {
  file: string;
  loaded: number;
  /** 0 while unknown. */
  total: number;
  done: boolean;
}

/** Creates a worker; tests may pass their own. */
export type WorkerFactory = () => WorkerPort;

/**
 * Creates the model worker; tests may pass their own. `allowDownloads` decides whether the worker may reach the hub
 * at all: its Content-Security-Policy comes with its script URL (src/offline/csp.ts).
 */
export type ModelWorkerFactory = (options: { allowDownloads: boolean }) => WorkerPort;

/** What to load: a served id (string), or a source with the dtypes it is known to have. */
export type LoadTarget = string | { source: BrowserModelSource; availableDtypes?: Dtype[] };

/** Device and dtype the user asked for. */
export interface LoadChoice {
  device: DeviceChoice;
  dtype: DtypeChoice;
}

function createModelWorker({ allowDownloads }: { allowDownloads: boolean }): WorkerPort {
  return new Worker(workerUrlWithDownloads(modelWorkerUrl, allowDownloads), {
    type: 'module',
    name: 'model-worker',
  });
}

/** The id a source is shown and recorded under. */
export function sourceId(source: BrowserModelSource): string {
  return source.kind === 'files' ? source.name : source.id;
}

/** Owns the model worker: loads one encoder at a time and embeds texts with it. */
export class ModelClient {
  status = $state<ModelStatus>('idle');
  /** The step the running load is at. */
  stage = $state.raw<LoadStage | undefined>(undefined);
  /** Per-file download/load progress of the current load, in first-seen order. */
  files = $state<FileProgress[]>([]);
  /** The phases of the current (or last) load that have ended, with their times, as the worker reports them. */
  phases = $state.raw<LoadPhaseTiming[]>([]);
  /** What went wrong and what to do, when status is 'error' (or an embed failed). */
  error = $state<string | undefined>(undefined);
  /** The loaded model: device and dtype actually used, why they differ from the request, sizes, load time. */
  info = $state.raw<LoadedModelInfo | undefined>(undefined);
  /** The id being loaded or loaded (after a failed load, the previous model's again). */
  modelId = $state<string | undefined>(undefined);
  /** The id of the last load that failed, while `status` is 'error'. */
  failedId = $state<string | undefined>(undefined);
  /** Progress of the running embed call, if any. */
  embedProgress = $state<{ done: number; total: number } | undefined>(undefined);
  /** Texts this page has run through the model for embeddings (warm-ups excluded): 0 means no forward pass. */
  textsEmbedded = $state(0);
  /** What this browser offers (WebGPU adapter, threads, memory), once `probe` has run. */
  capabilities = $state.raw<ProbedReply | undefined>(undefined);
  /** Exact layer sizes and the measured speed (see {@link measureLayers}), with the loaded model they describe. */
  layerSizes = $state.raw<{ info: LoadedModelInfo; sizes: LayerSizesReply } | undefined>(undefined);

  /** The user's "allow model downloads from the Hugging Face hub" setting. */
  readonly downloads: DownloadSetting;

  readonly #createWorker: ModelWorkerFactory;
  #rpc: RpcClient<ModelWorkerMethods> | undefined;
  /** Whether the live worker was started with network access to the hub. */
  #workerMayDownload = false;
  #loadController: AbortController | undefined;
  /** How the loaded model was loaded, so it can be loaded again after another one (see `loadedWith`). */
  #loadedWith: { target: LoadTarget; choice: LoadChoice } | undefined;

  constructor(createWorker: ModelWorkerFactory = createModelWorker, downloads = new DownloadSetting()) {
    this.#createWorker = createWorker;
    this.downloads = downloads;
  }

  /** True while a model is loaded and no other load is running (the previous model survives a failed load). */
  get ready(): boolean {
    return this.info !== undefined && this.status !== 'loading';
  }

  /** The target and device/dtype choice the loaded model was loaded with; undefined while none is loaded. */
  get loadedWith(): { target: LoadTarget; choice: LoadChoice } | undefined {
    return this.info === undefined ? undefined : this.#loadedWith;
  }

  /**
   * Loads a model, replacing the loaded one once the new one is ready. Resolves with what actually loaded (device
   * and dtype may differ from the request; `info.notices` says why); rejects (and sets `error`) when the load
   * fails, in which case the previous model stays loaded. A newer `load` cancels an older one still running.
   */
  async load(target: LoadTarget, choice: LoadChoice): Promise<LoadedModelInfo> {
    const { source, availableDtypes } =
      typeof target === 'string'
        ? {
            source: { kind: 'served', baseUrl: MODELS_BASE_URL, id: target } as const,
            availableDtypes: undefined,
          }
        : target;
    this.#loadController?.abort();
    const controller = new AbortController();
    this.#loadController = controller;
    const previous = this.info;
    this.status = 'loading';
    this.stage = undefined;
    this.error = undefined;
    this.failedId = undefined;
    this.modelId = sourceId(source);
    this.files = [];
    this.phases = [];
    // A download reports progress many times a frame: the bars move once per frame.
    const progress = new FrameBatch<LoadProgress>((reports) => {
      if (this.#loadController === controller) for (const report of reports) this.#onProgress(report);
    });
    // A worker's network permission is fixed when it starts. After the setting changed, the load runs in a new
    // worker, which replaces the old one (and its model) only once the load succeeded.
    const old = this.#rpc;
    const replacing = old !== undefined && this.#workerMayDownload !== this.downloads.allowed;
    const worker = replacing ? this.#startWorker() : this.#worker();
    try {
      const reply = await worker.call(
        'load',
        {
          source,
          device: choice.device,
          dtype: choice.dtype,
          ...(availableDtypes ? { availableDtypes } : {}),
          ...preferredDtypeOf(source),
        },
        {
          signal: controller.signal,
          onEvent: (event) => {
            if (event.progress) progress.push(event.progress);
            if (event.stage) this.stage = event.stage;
            if (event.phase && this.#loadController === controller)
              this.phases = [...this.phases, event.phase];
          },
        },
      );
      progress.flush();
      if (replacing) {
        old?.terminate();
        this.#rpc = worker;
        this.#workerMayDownload = this.downloads.allowed;
      }
      this.info = reply.info;
      this.phases = reply.info.phases ?? this.phases;
      this.#loadedWith = { target, choice };
      this.status = 'ready';
      for (const file of this.files) file.done = true;
      return reply.info;
    } catch (error) {
      progress.flush();
      if (replacing) worker.terminate();
      // A superseded load must not overwrite the state of the newer one.
      if (this.#loadController === controller) {
        this.status = 'error';
        this.info = previous;
        this.failedId = this.modelId;
        this.modelId = previous?.modelId;
        const message = error instanceof CancelledError ? 'Loading was cancelled.' : messageOf(error);
        this.error = previous
          ? `${message}\nStill using the previous model, ${previous.modelId} (${previous.device}, ${previous.dtype}).`
          : message;
      }
      throw error;
    } finally {
      if (this.#loadController === controller) {
        this.#loadController = undefined;
        this.stage = undefined;
      }
    }
  }

  /** Cancels a load in progress. */
  cancelLoad(): void {
    this.#loadController?.abort();
  }

  /** One vector per text from the loaded model. Rejects when no model is ready. */
  async embed(texts: string[], options: EmbedOptions, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.#embedCall(texts, (worker, onEvent) =>
      worker.call('embed', { texts, options }, { signal, onEvent }),
    );
  }

  /**
   * Vectors of several layers from one forward pass per text: one list per layer, each one vector per text.
   * Rejects when no model is ready.
   */
  async embedLayers(
    texts: string[],
    layers: number[],
    pooling: Pooling,
    signal?: AbortSignal,
  ): Promise<Float32Array[][]> {
    return this.#embedCall(texts, (worker, onEvent) =>
      worker.call('embed-layers', { texts, layers, pooling }, { signal, onEvent }),
    );
  }

  /**
   * Vectors of several outputs (each a layer and pooling) from one forward pass per text: one list per output,
   * each one vector per text. Rejects when no model is ready.
   */
  async embedOutputs(
    texts: string[],
    outputs: EmbedOptions[],
    signal?: AbortSignal,
  ): Promise<Float32Array[][]> {
    return this.#embedCall(texts, (worker, onEvent) =>
      worker.call('embed-outputs', { texts, outputs }, { signal, onEvent }),
    );
  }

  /** Token-level states of one layer per text (for unfrozen layers), from the loaded model. */
  async embedTokens(
    texts: string[],
    options: TokenStateOptions,
    signal?: AbortSignal,
  ): Promise<TextTokenStates[]> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    this.embedProgress = { done: 0, total: texts.length };
    const progress = this.#embedProgressPerFrame();
    try {
      const reply = await this.#worker().call(
        'embed-tokens',
        { texts, options },
        { signal, onEvent: (event) => progress.set({ done: event.done, total: event.total }) },
      );
      this.textsEmbedded += texts.length;
      return reply.states;
    } finally {
      progress.clear();
      this.embedProgress = undefined;
    }
  }

  /**
   * Counts the loaded model's layer parameters from its weights file and measures its speed (the layer stack's
   * figures); the worker computes them once per loaded model. Also kept in `layerSizes`.
   */
  async measureLayers(): Promise<LayerSizesReply> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    const info = this.info;
    const reply = await this.#worker().call('layer-sizes', {});
    if (info !== undefined && this.info === info) this.layerSizes = { info, sizes: reply };
    return reply;
  }

  /** A fresh copy of the loaded model's ONNX weights file (the dtype it runs), to rebuild its top layers. */
  async layerModelBytes(): Promise<{ modelId: string; dtype: Dtype; bytes: Uint8Array }> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    const { modelId, dtype, bytes } = await this.#worker().call('layer-model', {});
    return { modelId, dtype, bytes };
  }

  /** Logits of premise/hypothesis pairs from the loaded model (a sequence classifier). Rejects when none is ready. */
  async classifyPairs(pairs: TextPair[], signal?: AbortSignal): Promise<ClassifiedPairs> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    this.embedProgress = { done: 0, total: pairs.length };
    const progress = this.#embedProgressPerFrame();
    try {
      const { logits, tokens, truncated } = await this.#worker().call(
        'classify-pairs',
        { pairs },
        { signal, onEvent: (event) => progress.set({ done: event.done, total: event.total }) },
      );
      return { logits, tokens, truncated };
    } finally {
      progress.clear();
      this.embedProgress = undefined;
    }
  }

  /** Progress of instruction-prompt scoring (texts scored), while it runs. */
  lmProgress = $state<{ done: number; total: number } | undefined>(undefined);

  /**
   * Loads a causal LM for instruction prompts beside the encoder (WASM, fp32 when the folder has it), unless the
   * same one is loaded already.
   */
  async loadLanguageModel(target: LoadTarget): Promise<{ modelId: string; maxTokens: number }> {
    const { source, availableDtypes } =
      typeof target === 'string'
        ? {
            source: { kind: 'served', baseUrl: MODELS_BASE_URL, id: target } as const,
            availableDtypes: undefined,
          }
        : target;
    const dtype =
      availableDtypes === undefined || availableDtypes.includes('fp32') ? 'fp32' : availableDtypes[0];
    const reply = await this.#worker().call('lm-load', { source, dtype: dtype ?? 'fp32' });
    return { modelId: reply.modelId, maxTokens: reply.maxTokens };
  }

  /** Tokenizes, decodes or applies the chat template with the loaded language model. */
  async languageModelText(request: Omit<LmTextRequest, 'type' | 'id'>): Promise<LmTextReply> {
    return this.#worker().call('lm-text', request);
  }

  /** Continuation log-probabilities from the loaded language model; progress in `lmProgress`. */
  async scoreContinuations(request: ContinuationRequest, signal?: AbortSignal): Promise<number[][][]> {
    this.lmProgress = { done: 0, total: request.contexts.length };
    const progress = new FrameLatest<{ done: number; total: number }>((value) => (this.lmProgress = value));
    try {
      const reply = await this.#worker().call(
        'lm-score',
        { request },
        { signal, onEvent: (event) => progress.set({ done: event.done, total: event.total }) },
      );
      return reply.logProbs;
    } finally {
      progress.clear();
      this.lmProgress = undefined;
    }
  }

  /**
   * Token count of each text (before truncation) under the loaded model's tokenizer; with `pairs`, text i joined
   * with `pairs[i]` (when not null) as one pair input, e.g. an NLI premise and hypothesis. The worker counts in
   * slices: `onProgress` hears how many are counted after each, and aborting `signal` stops it there.
   */
  async countTokens(
    texts: string[],
    pairs?: (string | null)[],
    options: { signal?: AbortSignal | undefined; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<number[]> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    const { onProgress } = options;
    const reply = await this.#worker().call(
      'count-tokens',
      pairs === undefined ? { texts } : { texts, pairs },
      {
        signal: options.signal,
        ...(onProgress ? { onEvent: (event) => onProgress(event.done, event.total) } : {}),
      },
    );
    return reply.counts;
  }

  /** Asks the worker what this browser offers (WebGPU adapter, threads, memory); also kept in `capabilities`. */
  async probe(): Promise<ProbedReply> {
    const reply = await this.#worker().call('probe', {});
    this.capabilities = reply;
    return reply;
  }

  /** Which of `files` are in the browser cache that hub downloads go to. */
  async cachedFiles(files: HubFile[]): Promise<CacheStatusReply['cached']> {
    const reply = await this.#worker().call('cache-status', { files });
    return reply.cached;
  }

  /** Session counters of the worker (loaded, disposed, alive). */
  async stats(): Promise<StatsReply> {
    return this.#worker().call('stats', {});
  }

  /** Releases the model's session; the worker stays up for the next load. */
  async unload(): Promise<void> {
    if (!this.#rpc) return;
    await this.#rpc.call('dispose', {});
    this.info = undefined;
    this.status = 'idle';
    this.files = [];
    this.phases = [];
  }

  /** Stops the worker for good (page teardown). */
  destroy(): void {
    this.#rpc?.terminate();
    this.#rpc = undefined;
  }

  /** The live worker; a crashed one is replaced on the next call, so the app recovers by loading again. */
  #worker(): RpcClient<ModelWorkerMethods> {
    if (!this.#rpc) {
      this.#rpc = this.#startWorker();
      this.#workerMayDownload = this.downloads.allowed;
    }
    return this.#rpc;
  }

  /** Starts a worker whose hub access follows the download setting now; the caller decides when it is live. */
  #startWorker(): RpcClient<ModelWorkerMethods> {
    const rpc: RpcClient<ModelWorkerMethods> = new RpcClient<ModelWorkerMethods>(
      this.#createWorker({ allowDownloads: this.downloads.allowed }),
      MODEL_EVENT_TYPES,
      'model worker',
      {
        advice: 'Load the model again to restart it; reload the page if it keeps failing.',
        onCrash: (message) => {
          rpc.terminate();
          // A replacement worker that crashes while loading fails its own load; the live one is untouched.
          if (this.#rpc !== rpc) return;
          this.#rpc = undefined;
          this.status = 'error';
          this.info = undefined;
          this.error = message;
        },
      },
    );
    return rpc;
  }

  /**
   * One embedding request over `texts`: rejects when no model is ready; progress goes to `embedProgress` (once per
   * frame), the texts are counted in `textsEmbedded`, and `info` follows a reload on WASM the worker reports.
   * `send` posts the request with the given progress callback.
   */
  async #embedCall<V>(
    texts: readonly string[],
    send: (
      worker: RpcClient<ModelWorkerMethods>,
      onEvent: (event: EmbedProgressEvent) => void,
    ) => Promise<{ vectors: V; reloaded?: LoadedModelInfo }>,
  ): Promise<V> {
    if (!this.ready) throw new Error('No model is loaded yet. Load a model in the Model section first.');
    this.embedProgress = { done: 0, total: texts.length };
    const progress = this.#embedProgressPerFrame();
    try {
      const reply = await send(this.#worker(), (event) =>
        progress.set({ done: event.done, total: event.total }),
      );
      // WebGPU failed under the model and the worker moved it to WASM: show what runs now.
      if (reply.reloaded) this.info = reply.reloaded;
      this.textsEmbedded += texts.length;
      return reply.vectors;
    } finally {
      progress.clear();
      this.embedProgress = undefined;
    }
  }

  /** Embed progress as the worker reports it, written to `embedProgress` at most once per frame. */
  #embedProgressPerFrame(): FrameLatest<{ done: number; total: number }> {
    return new FrameLatest((value) => (this.embedProgress = value));
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
