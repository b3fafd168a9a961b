/**
 * @file The bench worker: what `npm run bench` measures inside Chromium, in a module worker as the app's model
 * and head workers run. It imports `onnxruntime-web/webgpu`, the module transformers.js imports, so the bundle holds
 * one runtime: the product's Encoder and a bare `InferenceSession` run on the same WASM binary and threads. That
 * binary is the CPU-only build, the one the app's model worker runs in a browser without a WebGPU adapter such as
 * the bench's Chromium.
 *
 * Methods (each answers `{ id, ok, value }` or `{ id, ok: false, error }`):
 * - `p1`: the Encoder against bare onnxruntime-web (tokenising included on both sides), interleaved rounds;
 * - `p3`: head training (tfjs WASM, as the head worker) against feature extraction of the same texts, after each
 *   head's first (cold) training, timed alone;
 * - `embed`: one timed embedding of many texts (the scaling table);
 * - `loadPhases`: a model's load split into fetch, session creation, tokenizer, warm-up; and the Encoder's own load;
 * - `q8`: bare sessions of a model's fp32 and q8 (`onnx/model_quantized.onnx`) weights on the same texts,
 *   interleaved rounds, with the cosine of their mean-pooled vectors (goal Q8, scripts/bench/q8.ts).
 */
import tfjsWasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import tfjsWasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import tfjsWasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import * as ort from 'onnxruntime-web/webgpu';

/** A request from the bench page. */
export interface BenchRequest {
  id: number;
  method: 'p1' | 'p3' | 'embed' | 'loadPhases' | 'q8';
  args: unknown;
}

/** The worker's answer to one request. */
export type BenchReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Where the bench page's server answers model files (scripts/bench/browser-goals.ts). */
const MODELS_BASE = '/bench-models/';
const BATCH_SIZE = 32;
const THREADS = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));

const scope = self as unknown as DedicatedWorkerGlobalScope;

ort.env.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortMjsUrl };
ort.env.wasm.numThreads = THREADS;

const libraries = (async () => {
  const adapter = await import('../../../src/lib/ml/transformers-adapter.ts');
  const transformers = await import('@huggingface/transformers');
  const reference = await import('../../../src/lib/ml/reference-tokenizer.ts');
  const head = await import('../../../src/lib/ml/tfjs-head.ts');
  // transformers.js points the runtime at a CDN when imported: back to the app's own copy, for the bare sessions too.
  ort.env.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortMjsUrl };
  ort.env.wasm.numThreads = THREADS;
  return { adapter, transformers, reference, head };
})();

type Pooling = 'mean' | 'sentence';

async function loadProduct(id: string) {
  const { adapter } = await libraries;
  return adapter.loadEncoder(
    { kind: 'served', baseUrl: MODELS_BASE, id },
    { device: 'wasm', dtype: 'fp32', wasmPaths: { wasm: ortWasmUrl, mjs: ortMjsUrl }, numThreads: THREADS },
  );
}

async function loadTokenizer(id: string) {
  const { transformers, reference } = await libraries;
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = MODELS_BASE;
  const tokenizer = await transformers.AutoTokenizer.from_pretrained(id);
  reference.applyReferenceUnigram(tokenizer);
  return tokenizer;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function meanPool(hidden: Float32Array, mask: ArrayLike<bigint>, rows: number, tokens: number, size: number) {
  const pooled: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    const sum = new Float64Array(size);
    let count = 0;
    for (let token = 0; token < tokens; token++) {
      if (mask[row * tokens + token] === 0n) continue;
      count++;
      const offset = (row * tokens + token) * size;
      for (let d = 0; d < size; d++) sum[d] = (sum[d] ?? 0) + (hidden[offset + d] ?? 0);
    }
    pooled.push(Float32Array.from(sum, (value) => value / Math.max(count, 1)));
  }
  return pooled;
}

type Tokenizer = Awaited<ReturnType<typeof loadTokenizer>>;

/** Bare onnxruntime-web: tokenise each batch of 32 in input order, run, mean-pool by hand. */
async function bareEmbed(
  session: ort.InferenceSession,
  tokenizer: Tokenizer,
  texts: string[],
  maxTokens: number,
) {
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += BATCH_SIZE) {
    const encoded = tokenizer(texts.slice(start, start + BATCH_SIZE), {
      padding: true,
      truncation: true,
      max_length: maxTokens,
    });
    const dims = encoded.input_ids.dims as [number, number];
    const ids = BigInt64Array.from(encoded.input_ids.data as ArrayLike<bigint>);
    const mask = BigInt64Array.from(encoded.attention_mask.data as ArrayLike<bigint>);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    };
    if (session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(ids.length), dims);
    }
    const outputs = await session.run(feeds, ['last_hidden_state']);
    const hidden = outputs.last_hidden_state;
    if (!hidden) throw new Error('The session returned no last_hidden_state.');
    const [rows, tokens, size] = hidden.dims as [number, number, number];
    vectors.push(...meanPool(hidden.data as Float32Array, mask, rows, tokens, size));
    hidden.dispose();
  }
  return vectors;
}

async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

/** A then B, B then A, …: `rounds` timed pairs after `warmup` untimed ones (as scripts/bench/measure.ts). */
async function interleave<A, B>(a: () => Promise<A>, b: () => Promise<B>, warmup: number, rounds: number) {
  for (let round = 0; round < warmup; round++) {
    await a();
    await b();
  }
  const pairs: { a: number; b: number }[] = [];
  let lastA: A | undefined;
  let lastB: B | undefined;
  for (let round = 0; round < rounds; round++) {
    const first = round % 2 === 0 ? await timed(a) : undefined;
    const second = await timed(b);
    const third = first ?? (await timed(a));
    pairs.push({ a: third.ms, b: second.ms });
    lastA = third.value;
    lastB = second.value;
  }
  return { pairs, lastA: lastA as A, lastB: lastB as B };
}

function maxAbsDifference(a: Float32Array[], b: Float32Array[]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  a.forEach((vector, row) =>
    vector.forEach((value, column) => {
      max = Math.max(max, Math.abs(value - (b[row]?.[column] ?? Number.NaN)));
    }),
  );
  return max;
}

async function p1(args: { model: string; texts: string[]; warmup: number; rounds: number }) {
  await libraries;
  const encoder = await loadProduct(args.model);
  const tokenizer = await loadTokenizer(args.model);
  const session = await ort.InferenceSession.create(
    await fetchBytes(`${MODELS_BASE}${args.model}/onnx/model.onnx`),
    { executionProviders: ['wasm'] },
  );
  try {
    const measured = await interleave(
      () => encoder.embed(args.texts, { layer: -1, pooling: 'mean', batchSize: BATCH_SIZE }),
      () => bareEmbed(session, tokenizer, args.texts, encoder.maxTokens),
      args.warmup,
      args.rounds,
    );
    return {
      rounds: measured.pairs,
      maxAbsDifference: maxAbsDifference(measured.lastA, measured.lastB),
      threads: THREADS,
    };
  } finally {
    await session.release();
    await encoder.dispose();
  }
}

interface HeadOptions {
  hidden: number;
  epochs: number;
  learningRate: number;
  seed: number;
  batchSize: number;
}

async function p3(args: {
  model: string;
  pooling: Pooling;
  texts: string[];
  labels: number[];
  classes: number;
  heads: HeadOptions[];
  rounds: number;
}) {
  const { head } = await libraries;
  const trainer = head.createHeadTrainer({
    backend: 'wasm',
    wasmPaths: {
      'tfjs-backend-wasm.wasm': tfjsWasmPlainUrl,
      'tfjs-backend-wasm-simd.wasm': tfjsWasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': tfjsWasmThreadedSimdUrl,
    },
  });
  const encoder = await loadProduct(args.model);
  try {
    const embed = () => encoder.embed(args.texts, { layer: -1, pooling: args.pooling });
    const features = await embed();
    const results: { a: number; b: number }[][] = [];
    const coldTrainMs: number[] = [];
    for (const options of args.heads) {
      const train = async () => {
        const trained = await trainer.train(features, args.labels, args.classes, options);
        trained.dispose();
      };
      // Each head's first training alone: the first one includes the tfjs WASM backend's start.
      coldTrainMs.push((await timed(train)).ms);
      const measured = await interleave(train, embed, 1, args.rounds);
      results.push(measured.pairs);
    }
    return { heads: results, coldTrainMs };
  } finally {
    await encoder.dispose();
  }
}

async function embed(args: { model: string; pooling: Pooling; texts: string[] }) {
  const encoder = await loadProduct(args.model);
  try {
    await encoder.embed(['warm up'], { layer: -1, pooling: args.pooling });
    const measured = await timed(() => encoder.embed(args.texts, { layer: -1, pooling: args.pooling }));
    return { ms: measured.ms, vectors: measured.value.length };
  } finally {
    await encoder.dispose();
  }
}

async function loadPhases(args: { model: string; pooling: Pooling }) {
  await libraries;
  const base = `${MODELS_BASE}${args.model}/`;
  const fetchStep = await timed(async () => {
    const [bytes] = await Promise.all([
      fetchBytes(`${base}onnx/model.onnx`),
      fetchBytes(`${base}config.json`),
      fetchBytes(`${base}tokenizer.json`),
    ]);
    return bytes;
  });
  const sessionStep = await timed(() =>
    ort.InferenceSession.create(fetchStep.value, { executionProviders: ['wasm'] }),
  );
  const tokenizerStep = await timed(() => loadTokenizer(args.model));
  const warmStep = await timed(async () => {
    const encoded = tokenizerStep.value(['warm up'], { padding: true, truncation: true });
    const dims = encoded.input_ids.dims as [number, number];
    const ids = BigInt64Array.from(encoded.input_ids.data as ArrayLike<bigint>);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor(
        'int64',
        BigInt64Array.from(encoded.attention_mask.data as ArrayLike<bigint>),
        dims,
      ),
    };
    if (sessionStep.value.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(ids.length), dims);
    }
    const outputs = await sessionStep.value.run(feeds, ['last_hidden_state']);
    for (const tensor of Object.values(outputs)) tensor.dispose();
  });
  await sessionStep.value.release();
  const productLoad = await timed(() => loadProduct(args.model));
  const productWarm = await timed(() =>
    productLoad.value.embed(['warm up'], { layer: -1, pooling: args.pooling }),
  );
  await productLoad.value.dispose();
  return {
    fetchMs: fetchStep.ms,
    bytes: fetchStep.value.length,
    sessionMs: sessionStep.ms,
    tokenizerMs: tokenizerStep.ms,
    warmUpMs: warmStep.ms,
    encoderLoadMs: productLoad.ms,
    encoderWarmUpMs: productWarm.ms,
  };
}

/** Q8: fp32 against q8 weights, bare sessions, the same texts and tokenizer; A = fp32, B = q8. */
async function q8(args: {
  model: string;
  texts: string[];
  maxTokens: number;
  warmup: number;
  rounds: number;
}) {
  await libraries;
  const tokenizer = await loadTokenizer(args.model);
  const session = async (file: string) =>
    ort.InferenceSession.create(await fetchBytes(`${MODELS_BASE}${args.model}/onnx/${file}`), {
      executionProviders: ['wasm'],
    });
  const fp32 = await session('model.onnx');
  const quantized = await session('model_quantized.onnx');
  try {
    const measured = await interleave(
      () => bareEmbed(fp32, tokenizer, args.texts, args.maxTokens),
      () => bareEmbed(quantized, tokenizer, args.texts, args.maxTokens),
      args.warmup,
      args.rounds,
    );
    const cosines = measured.lastA.map((vector, row) => {
      const other = measured.lastB[row]!;
      let [dot, normA, normB] = [0, 0, 0];
      vector.forEach((value, i) => {
        dot += value * other[i]!;
        normA += value * value;
        normB += other[i]! * other[i]!;
      });
      return dot / Math.sqrt(normA * normB || 1);
    });
    return {
      rounds: measured.pairs,
      minCosine: Math.min(...cosines),
      meanCosine: cosines.reduce((sum, value) => sum + value, 0) / Math.max(cosines.length, 1),
      maxAbsDifference: maxAbsDifference(measured.lastA, measured.lastB),
      threads: THREADS,
    };
  } finally {
    await fp32.release();
    await quantized.release();
  }
}

const methods: Record<BenchRequest['method'], (args: never) => Promise<unknown>> = {
  p1,
  p3,
  embed,
  loadPhases,
  q8,
};

// ORT's pthread workers load this same script under the name `em-pthread…`: leave their messages to ORT.
if (!scope.name.startsWith('em-pthread')) {
  scope.onmessage = async (event: MessageEvent<BenchRequest>) => {
    const { id, method, args } = event.data;
    try {
      const value = await methods[method](args as never);
      scope.postMessage({ id, ok: true, value } satisfies BenchReply);
    } catch (error) {
      const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
      scope.postMessage({ id, ok: false, error: message } satisfies BenchReply);
    }
  };
}
