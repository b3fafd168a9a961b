/**
 * @file The model worker: loads one frozen encoder (transformers.js + onnxruntime-web) and embeds texts.
 *
 * ORT's WASM binary and its loader are served by the app itself (Vite `?url` imports), never from a CDN: the build
 * with WebGPU where the browser has a WebGPU adapter, the smaller CPU-only build elsewhere (`chooseRuntime`).
 * Requests: `load` (one model at a time; a newer load supersedes an older one), `embed`, `count-tokens`,
 * `embed-tokens`, `layer-model` and `layer-sizes` (for unfrozen layers and the layer stack), `dispose`, `probe`
 * (WebGPU adapter, threads, memory), `cache-status`, `stats`, `cancel`.
 *
 * A load picks the device and dtype (core/models/load-plan.ts), loads, runs a warm-up, and only then replaces the loaded
 * model: a load that fails leaves the previous model working. WebGPU that fails (session creation, warm-up,
 * non-finite outputs, a lost device) falls back to WASM, and the reason travels with the model info.
 */
import ortCpuMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortCpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import ortWebGpuMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWebGpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { announceServedModelFile } from '../../offline/model-file-log.ts';
import { ONNX_FILE_BY_DTYPE } from '../core/models/files.ts';
import {
  checkModelSize,
  isOutOfMemory,
  outOfMemoryMessage,
  planDtype,
  planLoad,
  type BrowserDevice,
  type GpuProbe,
} from '../core/models/load-plan.ts';
import { orderPhases, type LoadPhaseTiming } from '../core/models/load-phases.ts';
import type { CausalScorer, Dtype, Encoder } from '../core/ports.ts';
import { countTokensInSlices } from '../core/tokenize/count-in-slices.ts';
import { countTokensOnce } from '../core/tokenize/count-once.ts';
import {
  cachedHubFiles,
  loadCausalScorer,
  loadEncoder,
  ModelFileError,
  onWebGpuDeviceLost,
  readModelWeights,
} from '../ml/transformers-adapter.ts';
import { sourceKindOf } from '../ml/model-sources/index.ts';
import { startWasmRuntime, type WasmRuntimeOptions } from '../ml/ort-web-runtime.ts';
import { decodeGraph } from '../ml/onnx-graph/model-proto.ts';
import { layerStackOfGraph } from '../ml/unfreeze/layer-parameters.ts';
import {
  tokenStateTransferables,
  transferablesOf,
  type BrowserModelSource,
  type LoadedModelInfo,
  type LoadOrder,
  type LayerSizesReply,
  type LoadProgressEvent,
  type ModelWorkerMethods,
  type RuntimeBuild,
  type SessionCounters,
} from './protocol.ts';
import { CancelledError, serveRpc, throwIfCancelled, type Handlers, type HandlerContext } from './rpc.ts';

/** Upper bound on ORT threads: more gives little for small encoders and starves the UI thread. */
const MAX_THREADS = 4;
/** The warm-up input: short, so WebGPU's first (compiling) run stays cheap. */
const WARM_UP_TEXTS = ['warm up'];

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** A loaded encoder and everything needed to describe or reload it. */
interface Loaded {
  encoder: Encoder;
  info: LoadedModelInfo;
  source: BrowserModelSource;
  availableDtypes: Dtype[];
  /** The catalog's default precision, when it names one (see `LoadOrder`). */
  preferredDtype: Dtype | undefined;
  /** Set when the WebGPU device behind the encoder was lost: the next call reloads on WASM. */
  lostReason?: string;
}

let current: Loaded | undefined;
let loading: Promise<unknown> | undefined;
/** Incremented by every load, so a slower, older load knows it was superseded. */
let loadGeneration = 0;
/** Session bookkeeping, reported by `stats` so tests can check that switching models releases sessions. */
const counters: SessionCounters = { liveEncoders: 0, loads: 0, disposals: 0, textsEmbedded: 0 };
/** Why the WebGPU device was lost, once it was: onnxruntime cannot get a new one in this worker. */
let gpuLostReason: string | undefined;

onWebGpuDeviceLost((reason) => {
  gpuLostReason = reason;
  if (current?.info.device === 'webgpu') current.lostReason = reason;
});

function threadCount(): number {
  return scope.crossOriginIsolated
    ? Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1))
    : 1;
}

function deviceMemoryGb(): number | undefined {
  const memory = (navigator as Navigator & { deviceMemory?: unknown }).deviceMemory;
  return typeof memory === 'number' && memory > 0 ? memory : undefined;
}

/** Asks for a WebGPU adapter; transformers.js assumes one whenever `navigator.gpu` exists, so check for real. */
async function probeGpu(): Promise<GpuProbe> {
  if (gpuLostReason !== undefined) {
    return {
      available: false,
      reason: `the WebGPU device was lost earlier (${gpuLostReason}); reload the page to use WebGPU again`,
    };
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { available: false, reason: 'this browser does not offer WebGPU (navigator.gpu is missing)' };
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) {
      return {
        available: false,
        reason:
          'the browser found no WebGPU adapter (requestAdapter() returned none: WebGPU is disabled, or the GPU ' +
          'or its driver is blocklisted)',
      };
    }
    const info = adapter.info;
    const description = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    return {
      available: true,
      fallbackAdapter: info.isFallbackAdapter === true,
      description: description || 'an unnamed adapter',
    };
  } catch (error) {
    return { available: false, reason: `requesting a WebGPU adapter failed (${messageOf(error)})` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function modelIdOf(source: BrowserModelSource): string {
  return sourceKindOf(source).modelId(source);
}

/** Problems with the model's files, which another device would not fix. */
function isFileProblem(error: unknown): boolean {
  return error instanceof ModelFileError;
}

async function disposeEncoder(encoder: Encoder): Promise<void> {
  await encoder.dispose();
  counters.liveEncoders--;
  counters.disposals++;
}

/** True when every number of every vector is finite: a broken GPU kernel often yields NaN instead of failing. */
function allFinite(vectors: Float32Array[]): boolean {
  return vectors.every((vector) => vector.every(Number.isFinite));
}

type LoadContext = Pick<HandlerContext<LoadProgressEvent>, 'emit' | 'signal'>;

/** Reports a phase that has ended to the page and keeps it for the model info. */
function phaseReporter(context: LoadContext, phases: LoadPhaseTiming[]): (phase: LoadPhaseTiming) => void {
  return (phase) => {
    phases.push(phase);
    context.emit({ type: 'load-progress', phase });
  };
}

/** Whether a load has reported the WASM runtime's start as a phase (once per worker: it starts once). */
let runtimeReported = false;

/**
 * onnxruntime-web's two WASM builds, served by the app. `webgpu` (asyncify, 27 MB) runs both WebGPU and WASM
 * sessions; `cpu` (14 MB) runs WASM sessions only. Measured side by side in the production build on this 2-core
 * machine without WebGPU: the CPU-only build's runtime phase took 0.9-1.3 s instead of 1.8-2.5 s, and the model was
 * ready about 0.6 s sooner, because V8 compiles half the code.
 */
const RUNTIME_BUILDS: Record<RuntimeBuild, WasmRuntimeOptions['wasmPaths']> = {
  webgpu: { wasm: ortWebGpuWasmUrl, mjs: ortWebGpuMjsUrl },
  cpu: { wasm: ortCpuWasmUrl, mjs: ortCpuMjsUrl },
};

/** The build this worker runs and the WebGPU probe it was chosen by. */
interface RuntimeChoice {
  build: RuntimeBuild;
  paths: WasmRuntimeOptions['wasmPaths'];
  gpu: GpuProbe;
}

let runtimeChoice: Promise<RuntimeChoice> | undefined;

/**
 * Chooses the runtime build once per worker: ORT starts one runtime for both of its backends, so the build must
 * serve every session this worker may create. With a WebGPU adapter that is the WebGPU build; without one,
 * WebGPU cannot run here anyway, so the CPU-only build. `probed`, a probe the caller has started anyway, is used
 * for the first choice instead of asking for an adapter twice.
 */
function chooseRuntime(probed?: Promise<GpuProbe>): Promise<RuntimeChoice> {
  runtimeChoice ??= (probed ?? probeGpu()).then((gpu) => {
    const build: RuntimeBuild = gpu.available ? 'webgpu' : 'cpu';
    return { build, paths: RUNTIME_BUILDS[build], gpu };
  });
  return runtimeChoice;
}

/** The probe the CPU-only build was chosen by, saying when it was made (WebGPU cannot start in this worker now). */
function probedAtStart(gpu: GpuProbe): GpuProbe {
  if (gpu.available) return gpu;
  return {
    available: false,
    reason: `${gpu.reason}; checked when the page started, reload it to check again`,
  };
}

/** Whether the runtime's files have been announced for the offline copy (once per worker). */
let runtimeAnnounced = false;

/**
 * Starts onnxruntime's WASM runtime (fetch, compile, threads) unless it is started already. The page asks for it
 * as soon as the worker is up (`probe`), so by the time a model is loaded the runtime is usually ready. Once
 * started, its two files are announced like model files: the service worker keeps only the build this browser
 * uses (src/sw.ts), and a first visit reads it before the service worker controls the page.
 */
async function startRuntime(probed?: Promise<GpuProbe>): Promise<number> {
  const { paths } = await chooseRuntime(probed);
  const ms = await startWasmRuntime({ wasmPaths: paths, numThreads: threadCount() });
  if (!runtimeAnnounced) {
    runtimeAnnounced = true;
    announceServedModelFile(paths.wasm);
    announceServedModelFile(paths.mjs);
  }
  return ms;
}

/**
 * Waits for the WASM runtime beside the file reads and reports its time as the `runtime` phase on the first load
 * of this worker. Its failure is not reported here: the session creation that needs the runtime fails with it and
 * says why (and the next load starts it again).
 */
function runtimeAlongside(report: (phase: LoadPhaseTiming) => void): Promise<void> {
  return startRuntime().then(
    (ms) => {
      if (runtimeReported) return;
      runtimeReported = true;
      report({ name: 'runtime', ms, overlapped: true });
    },
    () => undefined,
  );
}

/** Loads `source` on one device and warms it up; the encoder is disposed again when the warm-up fails. */
async function loadOn(
  source: BrowserModelSource,
  device: BrowserDevice,
  dtype: Dtype,
  context: LoadContext,
  phases: LoadPhaseTiming[],
): Promise<{ encoder: Encoder; warmupMs: number; weightsBytes?: number; warnings: string[] }> {
  context.emit({ type: 'load-progress', stage: { stage: 'loading', device } });
  const report = phaseReporter(context, phases);
  const runtime = device === 'wasm' ? runtimeAlongside(report) : Promise.resolve();
  // onnxruntime-web registers "webgpu" and "wasm" as two backends over one WASM runtime, each starting it on its
  // first session: a WebGPU session begun while the WASM start (asked for by `probe`) is still running fails with
  // "multiple calls to 'initWasm()'", and onnxruntime then refuses WebGPU for the rest of the worker's life. So a
  // WebGPU load waits for that start; it needs the same runtime anyway. A failed start is left to the session.
  if (device === 'webgpu') await startRuntime().catch(() => undefined);
  let encoder: Encoder;
  let weightsBytes: number | undefined;
  const warnings: string[] = [];
  try {
    encoder = await loadEncoder(source, {
      device,
      dtype,
      numThreads: threadCount(),
      wasmPaths: (await chooseRuntime()).paths,
      onPhase: (name, ms) => report({ name, ms }),
      onProgress: (progress) => context.emit({ type: 'load-progress', progress }),
      onWeightsSize: (file, bytes) => {
        weightsBytes = bytes;
        const check = checkModelSize(`${modelIdOf(source)}: ${file}`, bytes, deviceMemoryGb());
        if (check && 'error' in check) throw new ModelFileError(file, check.error);
        if (check) warnings.push(check.warning);
      },
    });
  } catch (error) {
    if (!isFileProblem(error) && isOutOfMemory(messageOf(error))) {
      throw new Error(
        outOfMemoryMessage(
          modelIdOf(source),
          ONNX_FILE_BY_DTYPE[dtype],
          weightsBytes,
          device,
          messageOf(error),
        ),
        { cause: error },
      );
    }
    throw error;
  }
  // The session could not exist without the runtime, so this only waits for its phase to be reported.
  await runtime;
  counters.liveEncoders++;
  counters.loads++;
  try {
    throwIfCancelled(context.signal);
    // The first run compiles kernels; report ready only once a real call has gone through.
    context.emit({ type: 'load-progress', stage: { stage: 'warming-up', device } });
    const started = performance.now();
    const vectors = await encoder.embed(WARM_UP_TEXTS, { layer: -1, pooling: 'mean' });
    if (!allFinite(vectors)) {
      throw new Error(`the warm-up run on ${device} returned non-finite numbers (NaN or Infinity)`);
    }
    const warmupMs = performance.now() - started;
    report({ name: 'warm-up', ms: warmupMs });
    return { encoder, warmupMs, weightsBytes, warnings };
  } catch (error) {
    await disposeEncoder(encoder);
    throw error;
  }
}

/** A load order whose available dtypes are known (empty = unknown) and whose preferred dtype is given, if any. */
type LoadArguments = Required<Omit<LoadOrder, 'preferredDtype'>> & { preferredDtype: Dtype | undefined };

/**
 * Loads per the plan; a WebGPU failure that is not about the files is retried on WASM with a notice. Returns the
 * new model without installing it.
 */
async function loadWithFallback(request: LoadArguments, context: LoadContext): Promise<Loaded> {
  const started = performance.now();
  context.emit({ type: 'load-progress', stage: { stage: 'checking' } });
  const runtime = await chooseRuntime();
  const gpu: GpuProbe =
    request.device === 'wasm'
      ? { available: false, reason: 'not asked' }
      : runtime.build === 'cpu'
        ? probedAtStart(runtime.gpu)
        : await probeGpu();
  const plan = planLoad(request.device, request.dtype, gpu, request.availableDtypes, request.preferredDtype);
  const notices = [...plan.notices];
  let device = plan.device;
  let dtype = plan.dtype;
  let loaded: Awaited<ReturnType<typeof loadOn>>;
  const phases: LoadPhaseTiming[] = [];
  try {
    loaded = await loadOn(request.source, device, dtype, context, phases);
  } catch (error) {
    if (device !== 'webgpu' || isFileProblem(error) || error instanceof CancelledError) throw error;
    const reason = messageOf(error);
    context.emit({ type: 'load-progress', stage: { stage: 'falling-back', device: 'wasm', detail: reason } });
    const wasmPlan = planDtype('wasm', request.dtype, request.availableDtypes, request.preferredDtype);
    notices.push(`WebGPU failed (${reason}): running on WASM instead.`, ...wasmPlan.notices);
    device = 'wasm';
    dtype = wasmPlan.dtype;
    loaded = await loadOn(request.source, device, dtype, context, phases);
  }
  const { encoder, warmupMs, weightsBytes, warnings } = loaded;
  notices.push(...warnings);
  const numThreads = device === 'wasm' ? threadCount() : 1;
  if (device === 'wasm' && !scope.crossOriginIsolated) {
    notices.push('This page is not cross-origin isolated, so WASM runs on one thread.');
  }
  const info: LoadedModelInfo = {
    modelId: encoder.modelId,
    device: encoder.device,
    dtype: encoder.dtype,
    dimension: encoder.dimension,
    numLayers: encoder.numLayers,
    maxTokens: encoder.maxTokens,
    sentenceEmbedding: encoder.sentenceEmbedding,
    ...(encoder.maskToken === undefined ? {} : { maskToken: encoder.maskToken }),
    ...(encoder.pairClassifier === undefined
      ? {}
      : { pairClassifier: { id2label: [...encoder.pairClassifier.id2label] } }),
    numThreads,
    runtimeBuild: runtime.build,
    loadMs: performance.now() - started,
    source: request.source.kind,
    requestedDevice: request.device,
    requestedDtype: request.dtype,
    notices,
    warmupMs,
    phases: orderPhases(phases),
    ...(weightsBytes === undefined ? {} : { weightsBytes }),
    ...(encoder.weightsHash === undefined ? {} : { weightsHash: encoder.weightsHash }),
    ...(device === 'webgpu' && gpu.available ? { gpuAdapter: gpu.description } : {}),
  };
  return {
    encoder,
    info,
    source: request.source,
    availableDtypes: request.availableDtypes,
    preferredDtype: request.preferredDtype,
  };
}

/** Makes `next` the loaded model and releases the previous one's session. */
async function install(next: Loaded): Promise<void> {
  const previous = current;
  current = next;
  if (previous) await disposeEncoder(previous.encoder);
}

async function load(request: LoadArguments, context: LoadContext): Promise<LoadedModelInfo> {
  const generation = ++loadGeneration;
  // One load at a time: transformers.js is configured through globals. A superseded load stops at its next step.
  await loading?.catch(() => undefined);
  throwIfCancelled(context.signal);
  const next = await loadWithFallback(request, context);
  if (generation !== loadGeneration || context.signal.aborted) {
    await disposeEncoder(next.encoder);
    throw new CancelledError(`Loading "${modelIdOf(request.source)}" was superseded or cancelled.`);
  }
  await install(next);
  return next.info;
}

async function requireLoaded(): Promise<Loaded> {
  await loading?.catch(() => undefined);
  if (!current) throw new Error('No model is loaded. Load a model first, then run again.');
  return current;
}

/** Reloads the current model on WASM after WebGPU failed under it; returns what now runs. */
async function reloadOnWasm(loaded: Loaded, reason: string, signal: AbortSignal): Promise<Loaded> {
  const next = await loadWithFallback(
    {
      source: loaded.source,
      device: 'wasm',
      dtype: loaded.info.requestedDtype,
      availableDtypes: loaded.availableDtypes,
      preferredDtype: loaded.preferredDtype,
    },
    { signal, emit: () => undefined },
  );
  next.info = {
    ...next.info,
    requestedDevice: loaded.info.requestedDevice,
    notices: [`WebGPU failed (${reason}): the model was reloaded on WASM.`, ...next.info.notices],
  };
  if (current === loaded) await install(next);
  else await disposeEncoder(next.encoder);
  return current ?? next;
}

/** The causal LM for instruction prompts, with the source it came from; at most one at a time. */
let languageModel: { scorer: CausalScorer; key: string } | undefined;

function requireLanguageModel(): CausalScorer {
  if (!languageModel)
    throw new Error('No language model is loaded for instruction prompts; run the prompt again.');
  return languageModel.scorer;
}

/** Texts timed to measure the encoder's speed for the layer stack's time estimate: ordinary sentences. */
const CALIBRATION_TEXTS = [
  'The committee will meet again next week to discuss the budget for the coming year.',
  'Heavy rain is expected across the northern coast on Saturday, with strong winds at night.',
  'Please find attached the invoice for last month and let me know if anything is missing.',
  'The home team scored twice in the final minutes and won the cup for the third time.',
];

/** Layer sizes (and the measured speed) per loaded model, computed once on request. */
const layerSizes = new WeakMap<Loaded, Promise<Omit<LayerSizesReply, 'type' | 'id'>>>();

/**
 * Counts each layer's parameters from the model's ONNX file and times one warm forward pass of the calibration
 * texts: FLOP/s = 2 × layer parameters × tokens / seconds (attention's token-by-token products left out).
 */
async function measureLayers(loaded: Loaded): Promise<Omit<LayerSizesReply, 'type' | 'id'>> {
  const stack = layerStackOfGraph(decodeGraph(await readModelWeights(loaded.source, loaded.info.dtype)));
  const parameters = stack.layers.map((layer) => layer.parameters);
  const total = parameters.reduce((sum, count) => sum + count, 0);
  const tokens = (await loaded.encoder.countTokens(CALIBRATION_TEXTS)).reduce(
    (sum, count) => sum + Math.min(count, loaded.info.maxTokens),
    0,
  );
  const started = performance.now();
  await loaded.encoder.embed(CALIBRATION_TEXTS, { layer: -1, pooling: 'mean' });
  const seconds = (performance.now() - started) / 1000;
  const flopsPerSecond = seconds > 0 && total > 0 ? (2 * total * tokens) / seconds : undefined;
  return {
    modelId: loaded.info.modelId,
    parameters,
    ...(stack.untrainable === undefined ? {} : { untrainable: stack.untrainable }),
    ...(flopsPerSecond === undefined ? {} : { flopsPerSecond }),
  };
}

/**
 * Runs `run` (which embeds `texts` texts) on the loaded encoder, reloading on WASM first when the WebGPU device
 * was lost. A failure on WebGPU is retried once on WASM; bad options (RangeError) and cancels are not the
 * device's fault and are thrown as they are. `reloaded` says what runs now when a reload happened.
 */
async function onEncoder<T>(
  signal: AbortSignal,
  texts: number,
  run: (encoder: Encoder) => Promise<T>,
): Promise<{ value: T; reloaded?: LoadedModelInfo }> {
  let loaded = await requireLoaded();
  let reloaded: LoadedModelInfo | undefined;
  if (loaded.lostReason !== undefined) {
    loaded = await reloadOnWasm(loaded, loaded.lostReason, signal);
    reloaded = loaded.info;
  }
  counters.textsEmbedded = (counters.textsEmbedded ?? 0) + texts;
  let value: T;
  try {
    value = await run(loaded.encoder);
  } catch (error) {
    if (loaded.info.device !== 'webgpu' || error instanceof CancelledError || error instanceof RangeError) {
      throw error;
    }
    loaded = await reloadOnWasm(loaded, messageOf(error), signal);
    reloaded = loaded.info;
    value = await run(loaded.encoder);
  }
  throwIfCancelled(signal);
  return reloaded ? { value, reloaded } : { value };
}

const handlers: Handlers<ModelWorkerMethods> = {
  async 'lm-load'(request) {
    const key = JSON.stringify([request.source, request.dtype]);
    if (languageModel?.key !== key) {
      const scorer = await loadCausalScorer(request.source, {
        device: 'wasm',
        dtype: request.dtype,
        numThreads: threadCount(),
        wasmPaths: (await chooseRuntime()).paths,
      });
      const previous = languageModel;
      languageModel = { scorer, key };
      await previous?.scorer.dispose();
    }
    const scorer = requireLanguageModel();
    return { reply: { type: 'lm-loaded', modelId: scorer.modelId, maxTokens: scorer.maxTokens } };
  },
  async 'lm-text'(request) {
    const scorer = requireLanguageModel();
    if (request.op === 'tokenize')
      return { reply: { type: 'lm-text-reply', ids: await scorer.tokenize(request.text ?? '') } };
    if (request.op === 'decode')
      return { reply: { type: 'lm-text-reply', text: await scorer.decode(request.ids ?? []) } };
    const text = await scorer.applyChatTemplate(request.messages ?? []);
    return { reply: { type: 'lm-text-reply', ...(text === undefined ? {} : { text }) } };
  },
  async 'lm-score'(request, { signal, emit }) {
    const scorer = requireLanguageModel();
    const logProbs = await scorer.continuationLogProbs(request.request, (done, total) => {
      emit({ type: 'lm-score-progress', done, total });
      throwIfCancelled(signal);
    });
    return { reply: { type: 'lm-scored', logProbs } };
  },
  async load(request, context) {
    const run = load(
      {
        source: request.source,
        device: request.device,
        dtype: request.dtype,
        availableDtypes: request.availableDtypes ?? [],
        preferredDtype: request.preferredDtype,
      },
      context,
    );
    loading = run;
    const info = await run;
    return { reply: { type: 'loaded', info } };
  },
  async embed(request, { signal, emit }) {
    const started = performance.now();
    const { value: vectors, reloaded } = await onEncoder(signal, request.texts.length, (encoder) =>
      encoder.embed(request.texts, request.options, (done, total) => {
        emit({ type: 'embed-progress', done, total });
        throwIfCancelled(signal);
      }),
    );
    return {
      reply: {
        type: 'embedded',
        vectors,
        ms: performance.now() - started,
        ...(reloaded ? { reloaded } : {}),
      },
      transfer: transferablesOf(vectors),
    };
  },
  async 'embed-outputs'(request, { signal, emit }) {
    const started = performance.now();
    const { value: vectors, reloaded } = await onEncoder(signal, request.texts.length, (encoder) => {
      if (encoder.embedOutputs === undefined)
        throw new Error(`${encoder.modelId} cannot compute several outputs in one pass.`);
      return encoder.embedOutputs(request.texts, request.outputs, (done, total) => {
        emit({ type: 'embed-progress', done, total });
        throwIfCancelled(signal);
      });
    });
    return {
      reply: {
        type: 'embedded-outputs',
        vectors,
        ms: performance.now() - started,
        ...(reloaded ? { reloaded } : {}),
      },
      transfer: transferablesOf(vectors.flat()),
    };
  },
  async 'classify-pairs'(request, { signal, emit }) {
    const { encoder } = await requireLoaded();
    const classifier = encoder.pairClassifier;
    if (classifier === undefined) {
      throw new Error(`${encoder.modelId} is not a sequence classifier: it cannot classify text pairs.`);
    }
    const classified = await classifier.classifyPairs(request.pairs, (done, total) => {
      emit({ type: 'embed-progress', done, total });
      throwIfCancelled(signal);
    });
    return { reply: { type: 'pairs-classified', ...classified } };
  },

  async 'embed-layers'(request, { signal, emit }) {
    const { encoder } = await requireLoaded();
    if (encoder.embedLayers === undefined)
      throw new Error(`${encoder.modelId} cannot embed several layers at once.`);
    const started = performance.now();
    counters.textsEmbedded = (counters.textsEmbedded ?? 0) + request.texts.length;
    const vectors = await encoder.embedLayers(
      request.texts,
      request.layers,
      request.pooling,
      (done, total) => {
        emit({ type: 'embed-progress', done, total });
        throwIfCancelled(signal);
      },
    );
    throwIfCancelled(signal);
    return {
      reply: { type: 'embedded-layers', vectors, ms: performance.now() - started },
      transfer: transferablesOf(vectors.flat()),
    };
  },
  async 'count-tokens'(request, { signal, emit }) {
    const { encoder } = await requireLoaded();
    // Each text once per loaded model: a run's test texts and a used draft's rows were counted by the data
    // report already. In slices: an embedding asked for meanwhile runs between them, and a count nobody waits
    // for stops.
    const once = countTokensOnce(encoder);
    const counts = await countTokensInSlices(
      (texts, pairs) => (pairs === undefined ? once(texts) : encoder.countTokens(texts, pairs)),
      request.texts,
      request.pairs,
      {
        beforeSlice: () => throwIfCancelled(signal),
        onProgress: (done, total) => emit({ type: 'count-progress', done, total }),
      },
    );
    return { reply: { type: 'token-counts', counts } };
  },
  async dispose() {
    await loading?.catch(() => undefined);
    const previous = current;
    current = undefined;
    if (previous) await disposeEncoder(previous.encoder);
    return { reply: { type: 'disposed' } };
  },
  async probe() {
    // The page probes as soon as it starts this worker: start the runtime now, off the page's thread, so a load
    // finds it ready. A failure here is reported by the load that needs the runtime.
    const gpu = probeGpu();
    startRuntime(gpu).catch(() => undefined);
    const memory = deviceMemoryGb();
    return {
      reply: {
        type: 'probed',
        gpu: await gpu,
        crossOriginIsolated: scope.crossOriginIsolated,
        threads: threadCount(),
        ...(memory === undefined ? {} : { deviceMemoryGb: memory }),
      },
    };
  },
  async 'cache-status'(request) {
    return { reply: { type: 'cached', cached: await cachedHubFiles(request.files) } };
  },
  async 'embed-tokens'(request, { signal, emit }) {
    const { encoder } = await requireLoaded();
    if (encoder.embedTokens === undefined)
      throw new Error(`${encoder.modelId} cannot return token-level states.`);
    const started = performance.now();
    counters.textsEmbedded = (counters.textsEmbedded ?? 0) + request.texts.length;
    const states = await encoder.embedTokens(request.texts, request.options, (done, total) => {
      emit({ type: 'embed-progress', done, total });
      throwIfCancelled(signal);
    });
    throwIfCancelled(signal);
    return {
      reply: { type: 'embedded-tokens', states, ms: performance.now() - started },
      transfer: tokenStateTransferables(states),
    };
  },
  async 'layer-model'() {
    const { source, info } = await requireLoaded();
    const bytes = await readModelWeights(source, info.dtype);
    const transfer = bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
    return {
      reply: { type: 'layer-model-bytes', modelId: info.modelId, dtype: info.dtype, bytes },
      transfer,
    };
  },
  async 'layer-sizes'() {
    const loaded = await requireLoaded();
    let sizes = layerSizes.get(loaded);
    if (!sizes) {
      sizes = measureLayers(loaded);
      layerSizes.set(loaded, sizes);
      sizes.catch(() => layerSizes.delete(loaded));
    }
    return { reply: { type: 'layer-sizes-report', ...(await sizes) } };
  },
  async stats() {
    // Where the browser exposes a collector (Chromium with --js-flags=--expose-gc, as memory tests run it), collect
    // first, so memory measured right after reflects what is still alive.
    (globalThis as { gc?: () => void }).gc?.();
    return {
      reply: {
        type: 'stats-report',
        ...counters,
      },
    };
  },
};

// ORT's pthread workers load this same chunk; installing our handler there would swallow their messages.
if (!scope.name?.startsWith('em-pthread')) serveRpc<ModelWorkerMethods>(scope, handlers);
