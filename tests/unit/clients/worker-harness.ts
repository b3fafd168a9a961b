/**
 * Workers for Node tests of the clients and state classes: a handler table served with the real `serveRpc` over
 * a MessageChannel, as the clients' worker factories expect. The model worker is a fake (keyword encoders that
 * log every request); the head worker runs the real tfjs head on the cpu backend, as head.worker.ts does with
 * WASM.
 */
import { MessageChannel } from 'node:worker_threads';
import type { LoadPhaseTiming } from '../../../src/lib/core/models/load-phases.ts';
import type { Encoder } from '../../../src/lib/core/ports.ts';
import { createHeadTrainer } from '../../../src/lib/ml/tfjs-head.ts';
import { headHandlers } from '../../../src/lib/workers/head-handlers.ts';
import type {
  HeadWorkerMethods,
  LoadedModelInfo,
  LoadRequest,
  ModelWorkerMethods,
} from '../../../src/lib/workers/protocol.ts';
import {
  serveRpc,
  throwIfCancelled,
  type Handlers,
  type MethodTable,
  type WorkerPort,
} from '../../../src/lib/workers/rpc.ts';
import { FakeClock, KeywordEncoder } from '../core/experiment/fakes.ts';

/** A worker port whose other end runs `handlers`; `close` ends both ends (call it after each test). */
export function serveOverChannel<M extends MethodTable<M>>(
  handlers: Handlers<M>,
): WorkerPort & { close(): void } {
  const { port1, port2 } = new MessageChannel();
  serveRpc<M>(
    {
      postMessage: (message, transfer) => port2.postMessage(message, transfer as never),
      addEventListener: (type, listener) => port2.addEventListener(type, listener as never),
    },
    handlers,
  );
  port2.start();
  const close = (): void => {
    port1.close();
    port2.close();
  };
  return {
    postMessage: (message, transfer) => port1.postMessage(message, transfer as never),
    addEventListener: (type: string, listener: (event: never) => void) => {
      port1.addEventListener(type as 'message', listener as never);
      port1.start();
    },
    terminate: close,
    close,
  };
}

/** What the fake model worker was asked to do. */
export interface ModelWorkerLog {
  /** Model ids of every load request, in order (failed ones included). */
  loads: string[];
  /** Every embed request: the loaded model, how many texts, layer and pooling. */
  embeds: { model: string; texts: string[]; layer: number; pooling: string }[];
}

/** Options of the fake model worker. */
export interface FakeModelWorkerOptions {
  /** Model ids whose load fails with a message naming the id. */
  failing?: ReadonlySet<string>;
  /** Embed requests wait for this before answering (to cancel or inspect a run midway). */
  embedGate?: () => Promise<void>;
}

function infoOf(encoder: Encoder, request: LoadRequest): LoadedModelInfo {
  return {
    modelId: encoder.modelId,
    device: 'wasm',
    dtype: 'fp32',
    dimension: encoder.dimension,
    numLayers: encoder.numLayers,
    maxTokens: encoder.maxTokens,
    sentenceEmbedding: encoder.sentenceEmbedding,
    numThreads: 1,
    runtimeBuild: 'cpu',
    loadMs: 1,
    source: request.source.kind,
    requestedDevice: request.device,
    requestedDtype: request.dtype,
    notices: [],
    warmupMs: 1,
    phases: FAKE_LOAD_PHASES,
  };
}

/** The phases every fake load reports, one event each as it ends, then together in the model info. */
export const FAKE_LOAD_PHASES: LoadPhaseTiming[] = [
  { name: 'files', ms: 2 },
  { name: 'session', ms: 3 },
  { name: 'warm-up', ms: 1 },
];

/**
 * A model worker holding one keyword encoder at a time (core/experiment/fakes.ts): the same vectors the core
 * tests use, so state results can be compared with `runExperiment` on the same fakes.
 */
export function fakeModelWorker(options: FakeModelWorkerOptions = {}): {
  handlers: Handlers<ModelWorkerMethods>;
  log: ModelWorkerLog;
} {
  const log: ModelWorkerLog = { loads: [], embeds: [] };
  const clock = new FakeClock();
  let current: KeywordEncoder | undefined;
  const counters = { loads: 0, disposals: 0 };
  const noLanguageModel = async (): Promise<never> => {
    throw new Error('The fake model worker has no language model.');
  };
  const handlers: Handlers<ModelWorkerMethods> = {
    'lm-load': noLanguageModel,
    'lm-text': noLanguageModel,
    'lm-score': noLanguageModel,
    async load(request, { emit }) {
      const id = request.source.kind === 'files' ? request.source.name : request.source.id;
      log.loads.push(id);
      emit({ type: 'load-progress', stage: { stage: 'loading', device: 'wasm' } });
      emit({
        type: 'load-progress',
        progress: { file: 'onnx/model.onnx', loaded: 10, total: 10, status: 'done' },
      });
      if (options.failing?.has(id)) throw new Error(`Could not load ${id}: onnx/model.onnx is missing.`);
      for (const phase of FAKE_LOAD_PHASES) emit({ type: 'load-progress', phase });
      current = new KeywordEncoder(id, clock);
      counters.loads++;
      return { reply: { type: 'loaded', info: infoOf(current, request) } };
    },
    async embed(request, { emit, signal }) {
      if (!current) throw new Error('No model is loaded.');
      log.embeds.push({
        model: current.modelId,
        texts: request.texts,
        layer: request.options.layer,
        pooling: request.options.pooling,
      });
      await options.embedGate?.();
      throwIfCancelled(signal);
      const vectors = await current.embed(request.texts, request.options);
      emit({ type: 'embed-progress', done: request.texts.length, total: request.texts.length });
      return { reply: { type: 'embedded', vectors, ms: 1 } };
    },
    async 'embed-outputs'(request, { emit, signal }) {
      if (!current) throw new Error('No model is loaded.');
      const encoder = current;
      // One pass over the texts, whatever the outputs: logged once, with its first output.
      const first = request.outputs[0];
      log.embeds.push({
        model: encoder.modelId,
        texts: request.texts,
        layer: first?.layer ?? -1,
        pooling: first?.pooling ?? 'mean',
      });
      await options.embedGate?.();
      throwIfCancelled(signal);
      const vectors = await Promise.all(
        request.outputs.map((output) => encoder.embed(request.texts, output)),
      );
      emit({ type: 'embed-progress', done: request.texts.length, total: request.texts.length });
      return { reply: { type: 'embedded-outputs', vectors, ms: 1 } };
    },
    async 'classify-pairs'() {
      throw new Error(`${current?.modelId ?? 'No model'} is not a sequence classifier.`);
    },
    async 'embed-layers'(request) {
      if (!current) throw new Error('No model is loaded.');
      const encoder = current;
      const vectors = await Promise.all(
        request.layers.map((layer) => encoder.embed(request.texts, { layer, pooling: request.pooling })),
      );
      return { reply: { type: 'embedded-layers', vectors, ms: 1 } };
    },
    async 'count-tokens'(request) {
      if (!current) throw new Error('No model is loaded.');
      return { reply: { type: 'token-counts', counts: await current.countTokens(request.texts) } };
    },
    async dispose() {
      if (current) counters.disposals++;
      current = undefined;
      return { reply: { type: 'disposed' } };
    },
    async probe() {
      return {
        reply: {
          type: 'probed',
          gpu: { available: false, reason: 'no adapter in Node' },
          crossOriginIsolated: false,
          threads: 1,
        },
      };
    },
    async 'cache-status'() {
      return { reply: { type: 'cached', cached: [] } };
    },
    async 'embed-tokens'() {
      throw new Error('The fake model worker has no token-level states (keyword vectors only).');
    },
    async 'layer-model'() {
      throw new Error('The fake model worker has no ONNX weights file.');
    },
    async 'layer-sizes'() {
      throw new Error('The fake model worker has no ONNX weights file.');
    },
    async stats() {
      return {
        reply: {
          type: 'stats-report',
          liveEncoders: current ? 1 : 0,
          loads: counters.loads,
          disposals: counters.disposals,
        },
      };
    },
  };
  return { handlers, log };
}

/** The head worker's own handlers (head.worker.ts) with the tfjs cpu backend, timed by a clock that stands still. */
export function headWorker(): Handlers<HeadWorkerMethods> {
  return headHandlers(createHeadTrainer({ backend: 'cpu' }), () => 0);
}
