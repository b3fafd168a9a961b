/**
 * @file The model worker: loads one frozen encoder (transformers.js + onnxruntime-web) and embeds texts.
 *
 * ORT's WASM binary and its loader are served by the app itself (Vite `?url` imports), never from a CDN.
 * Requests: `load` (one model at a time; a newer load supersedes an older one), `embed`, `dispose`, `cancel`.
 */
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import type { Device, Dtype, Encoder, ModelSource } from '../core/ports.ts';
import { loadEncoder } from '../ml/transformers-adapter.ts';
import type { DeviceChoice, LoadedModelInfo, ModelWorkerMethods } from './protocol.ts';
import { transferablesOf } from './protocol.ts';
import { CancelledError, serveRpc, throwIfCancelled, type Handlers } from './rpc.ts';

/** Upper bound on ORT threads: more gives little for small encoders and starves the UI thread. */
const MAX_THREADS = 4;

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** The loaded encoder, and the load in flight (later requests wait for it). */
let current: { encoder: Encoder; info: LoadedModelInfo } | undefined;
let loading: Promise<unknown> | undefined;
/** Incremented by every load, so a slower, older load knows it was superseded. */
let loadGeneration = 0;

function threadCount(): number {
  return scope.crossOriginIsolated
    ? Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1))
    : 1;
}

/** 'auto' → WebGPU only when an adapter really exists (transformers.js assumes one whenever `navigator.gpu` is set). */
async function resolveDevice(choice: DeviceChoice): Promise<Device> {
  if (choice === 'wasm') return 'wasm';
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (adapter) return 'webgpu';
  if (choice === 'webgpu') {
    throw new Error(
      'WebGPU was requested but this browser offers no WebGPU adapter. Choose device "auto" or "wasm" instead.',
    );
  }
  return 'wasm';
}

async function load(
  source: ModelSource,
  choice: DeviceChoice,
  dtype: Dtype,
  request: {
    signal: AbortSignal;
    emit: Parameters<Handlers<ModelWorkerMethods>['load']>[1]['emit'];
  },
): Promise<LoadedModelInfo> {
  const generation = ++loadGeneration;
  const started = performance.now();
  const previous = current;
  current = undefined;
  await previous?.encoder.dispose();
  throwIfCancelled(request.signal);
  const device = await resolveDevice(choice);
  const numThreads = threadCount();
  const encoder = await loadEncoder(source, {
    device,
    dtype,
    numThreads,
    wasmPaths: { wasm: ortWasmUrl, mjs: ortMjsUrl },
    onProgress: (progress) => request.emit({ type: 'load-progress', progress }),
  });
  if (generation !== loadGeneration || request.signal.aborted) {
    await encoder.dispose();
    throw new CancelledError(`Loading "${modelIdOf(source)}" was superseded or cancelled.`);
  }
  // Warm-up: the first run compiles kernels; report ready only once a real call has gone through.
  await encoder.embed(['warm up'], { layer: -1, pooling: 'mean' });
  const info: LoadedModelInfo = {
    modelId: encoder.modelId,
    device: encoder.device,
    dtype: encoder.dtype,
    dimension: encoder.dimension,
    numLayers: encoder.numLayers,
    maxTokens: encoder.maxTokens,
    numThreads,
    loadMs: performance.now() - started,
  };
  current = { encoder, info };
  return info;
}

function modelIdOf(source: ModelSource): string {
  return source.kind === 'served' ? source.id : source.path;
}

async function requireEncoder(): Promise<Encoder> {
  await loading?.catch(() => undefined);
  if (!current) throw new Error('No model is loaded. Load a model first, then run again.');
  return current.encoder;
}

const handlers: Handlers<ModelWorkerMethods> = {
  async load(request, context) {
    const run = load(request.source, request.device, request.dtype, context);
    loading = run;
    const info = await run;
    return { reply: { type: 'loaded', info } };
  },
  async embed(request, { signal, emit }) {
    const encoder = await requireEncoder();
    const started = performance.now();
    const vectors = await encoder.embed(request.texts, request.options, (done, total) => {
      emit({ type: 'embed-progress', done, total });
      throwIfCancelled(signal);
    });
    throwIfCancelled(signal);
    return {
      reply: { type: 'embedded', vectors, ms: performance.now() - started },
      transfer: transferablesOf(vectors),
    };
  },
  async 'count-tokens'(request) {
    const encoder = await requireEncoder();
    return { reply: { type: 'token-counts', counts: await encoder.countTokens(request.texts) } };
  },
  async dispose() {
    await loading?.catch(() => undefined);
    const previous = current;
    current = undefined;
    await previous?.encoder.dispose();
    return { reply: { type: 'disposed' } };
  },
};

// ORT's pthread workers load this same chunk; installing our handler there would swallow their messages.
if (!scope.name?.startsWith('em-pthread')) serveRpc<ModelWorkerMethods>(scope, handlers);
