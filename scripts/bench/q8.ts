/**
 * @file Goal Q8 of `npm run bench` (Node half): quantized (q8, `onnx/model_quantized.onnx`) weights against fp32.
 * - Speed: bare onnxruntime-node and bare onnxruntime-web (WASM, in Node), fp32 and q8 sessions of the same model
 *   on the same tokenised batches, interleaved rounds; ratio = fp32 time / q8 time (above 1: q8 is faster). On the
 *   built-in model and on the MiniLM-shaped generated model (whose q8 file this writes beside its fp32 one).
 * - Agreement: the example experiments (`examples/topics.json`, `examples/spam.json`: similarity prompts and trained
 *   heads on each built-in dataset's test split) run by the product's orchestrator with fp32 and with q8 weights;
 *   ratio = the share of test predictions with the same label. The details give the score differences per run,
 *   and the cosine and largest difference of the embeddings on both runtimes.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { quantizeDynamic } from '../../src/cli/convert/quantize.ts';
import { USE_LITE_QUANTIZATION } from '../../src/cli/convert/use-lite.ts';
import { createNodeDependencies } from '../../src/cli/node-dependencies.ts';
import { runExperiment } from '../../src/lib/core/experiment/orchestrator.ts';
import { parseExperiment } from '../../src/lib/core/experiment/schema.ts';
import type { ExperimentResults } from '../../src/lib/core/experiment/types.ts';
import type { Dtype } from '../../src/lib/core/ports.ts';
import { loadBatchTokenizer, type TokenizedBatch } from '../../src/lib/ml/transformers-adapter.ts';
import { encoderFeeds } from './feeds.ts';
import { interleave, type RoundPlan } from './measure.ts';
import { evaluateGoal, round, roundRatios, type GoalResult, type GoalSpec } from './stats.ts';
import { benchTexts } from './texts.ts';

/** The Q8 goals (Node). Speed goals pass when q8 is at least as fast; agreement at 98% same labels. */
export const Q8_GOALS = {
  speedNode: {
    id: 'Q8-speed-node',
    title: 'q8 speed / fp32 speed, bare onnxruntime-node, same batches',
    direction: 'at-least',
    target: 1,
  },
  speedWasm: {
    id: 'Q8-speed-wasm-node',
    title: 'q8 speed / fp32 speed, bare onnxruntime-web (WASM) in Node, same batches',
    direction: 'at-least',
    target: 1,
  },
  labels: {
    id: 'Q8-labels',
    title: 'test predictions with the same label, q8 vs fp32 (example experiments: prompts and heads)',
    direction: 'at-least',
    target: 0.98,
  },
} satisfies Record<string, GoalSpec>;

const SPEED_PLAN: RoundPlan = { warmup: 1, rounds: 4 };
const BATCH_SIZE = 32;
const EXAMPLES = ['examples/topics.json', 'examples/spam.json'] as const;

/** A model measured by the Q8 goal: its folder holds `onnx/model.onnx` (and its q8 file, or this makes it). */
export interface Q8Model {
  name: string;
  folder: string;
  /** Texts per speed round on onnxruntime-node. */
  texts: number;
  /** Texts per speed round on WASM (3–5× slower). */
  wasmTexts: number;
}

/**
 * Writes `onnx/model_quantized.onnx` beside a model's fp32 file when it is missing or older than the fp32 file
 * (a regenerated model); the quantizer is deterministic, so a current file is left alone.
 */
export async function ensureQuantized(folder: string): Promise<void> {
  const target = join(folder, 'onnx/model_quantized.onnx');
  const source = join(folder, 'onnx/model.onnx');
  const [q8, fp32Info] = await Promise.all([stat(target).catch(() => undefined), stat(source)]);
  if (q8 && q8.mtimeMs >= fp32Info.mtimeMs) return;
  const fp32 = await readFile(source);
  await writeFile(target, quantizeDynamic(fp32, USE_LITE_QUANTIZATION).bytes);
}

type Runtime = 'node' | 'wasm';
type AnySession = ort.InferenceSession | ortWeb.InferenceSession;

async function createSession(runtime: Runtime, path: string): Promise<AnySession> {
  if (runtime === 'node') return ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
  return ortWeb.InferenceSession.create(await readFile(path), { executionProviders: ['wasm'] });
}

/** One vector per text: the model's sentence embedding when it has one, else the mean of the last layer. */
async function embedBatches(
  runtime: Runtime,
  session: AnySession,
  batches: readonly TokenizedBatch[],
): Promise<Float32Array[]> {
  const Tensor = runtime === 'node' ? ort.Tensor : ortWeb.Tensor;
  const sentence = session.outputNames.includes('sentence_embedding');
  const vectors: Float32Array[] = [];
  for (const batch of batches) {
    const feeds = encoderFeeds(
      batch,
      session.inputNames,
      (values, dims) => new Tensor('int64', values, dims) as ort.Tensor,
    );
    const name = sentence ? 'sentence_embedding' : 'last_hidden_state';
    const output = (await (session as ort.InferenceSession).run(feeds, [name]))[name]!;
    const data = output.data as Float32Array;
    if (sentence) {
      const [rows = 0, size = 0] = output.dims;
      for (let row = 0; row < rows; row++) vectors.push(data.slice(row * size, (row + 1) * size));
    } else {
      const [rows = 0, tokens = 0, size = 0] = output.dims;
      for (let row = 0; row < rows; row++) {
        const sum = new Float32Array(size);
        let count = 0;
        for (let token = 0; token < tokens; token++) {
          if (batch.attentionMask[row * tokens + token] === 0n) continue;
          count++;
          for (let d = 0; d < size; d++) sum[d]! += data[(row * tokens + token) * size + d]!;
        }
        vectors.push(sum.map((value) => value / Math.max(count, 1)));
      }
    }
    output.dispose();
  }
  return vectors;
}

/** Cosine (min, mean) and largest absolute difference between two lists of vectors. */
export function vectorAgreement(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
): { minCosine: number; meanCosine: number; maxAbsDifference: number } {
  let minCosine = 1;
  let sumCosine = 0;
  let maxAbsDifference = 0;
  a.forEach((vector, row) => {
    const other = b[row]!;
    let dot = 0;
    let normA = 0;
    let normB = 0;
    vector.forEach((value, i) => {
      const w = other[i]!;
      dot += value * w;
      normA += value * value;
      normB += w * w;
      maxAbsDifference = Math.max(maxAbsDifference, Math.abs(value - w));
    });
    const cosine = dot / Math.sqrt(normA * normB || 1);
    minCosine = Math.min(minCosine, cosine);
    sumCosine += cosine;
  });
  return { minCosine, meanCosine: a.length === 0 ? 1 : sumCosine / a.length, maxAbsDifference };
}

/** fp32 vs q8 speed on one runtime and one model, with the embeddings' agreement in the details. */
async function speed(runtime: Runtime, model: Q8Model, log: (line: string) => void): Promise<GoalResult> {
  const base = runtime === 'node' ? Q8_GOALS.speedNode : Q8_GOALS.speedWasm;
  const spec: GoalSpec = { ...base, id: `${base.id} ${model.name}` };
  const tokenizer = await loadBatchTokenizer(model.folder);
  const { texts } = benchTexts('spam-assassin', runtime === 'node' ? model.texts : model.wasmTexts);
  const batches: TokenizedBatch[] = [];
  for (let start = 0; start < texts.length; start += BATCH_SIZE)
    batches.push(tokenizer.tokenize(texts.slice(start, start + BATCH_SIZE), 128));
  const fp32 = await createSession(runtime, join(model.folder, 'onnx/model.onnx'));
  const q8 = await createSession(runtime, join(model.folder, 'onnx/model_quantized.onnx'));
  try {
    log(
      `Q8 ${runtime} ${model.name}: ${texts.length} texts, fp32 vs q8, ${SPEED_PLAN.rounds} interleaved rounds`,
    );
    const measured = await interleave(
      () => embedBatches(runtime, fp32, batches),
      () => embedBatches(runtime, q8, batches),
      SPEED_PLAN,
    );
    const agreement = vectorAgreement(measured.lastA, measured.lastB);
    return evaluateGoal(spec, roundRatios(measured.rounds, 'a'), {
      details: {
        model: model.name,
        runtime: runtime === 'node' ? 'onnxruntime-node' : 'onnxruntime-web (WASM) in Node',
        texts: texts.length,
        fp32Ms: measured.rounds.map((entry) => round(entry.a, 1)),
        q8Ms: measured.rounds.map((entry) => round(entry.b, 1)),
        embeddingMinCosine: round(agreement.minCosine, 5),
        embeddingMeanCosine: round(agreement.meanCosine, 5),
        embeddingMaxAbsDifference: round(agreement.maxAbsDifference, 5),
      },
    });
  } finally {
    await fp32.release();
    await q8.release();
  }
}

/** Per-run comparison of two results of the same experiment. */
export function compareRuns(fp32: ExperimentResults, q8: ExperimentResults) {
  return fp32.runs.map((run) => {
    const other = q8.runs.find((candidate) => candidate.name === run.name);
    if (!other) throw new Error(`The q8 results have no run "${run.name}".`);
    let same = 0;
    let maxScore = 0;
    let sumScore = 0;
    let scores = 0;
    run.predictions.forEach((prediction, index) => {
      const twin = other.predictions[index];
      if (!twin || twin.id !== prediction.id) throw new Error(`Run "${run.name}": predictions out of order.`);
      if (twin.label === prediction.label) same++;
      for (const [label, score] of Object.entries(prediction.scores)) {
        const difference = Math.abs(score - (twin.scores[label] ?? Number.NaN));
        maxScore = Math.max(maxScore, difference);
        sumScore += difference;
        scores++;
      }
    });
    return {
      run: run.name,
      kind: run.kind,
      predictions: run.predictions.length,
      sameLabels: same,
      accuracyFp32: round(run.accuracy, 4),
      accuracyQ8: round(other.accuracy, 4),
      maxScoreDifference: round(maxScore, 5),
      meanScoreDifference: round(scores === 0 ? 0 : sumScore / scores, 5),
    };
  });
}

/** Label agreement of the example experiments, fp32 vs q8, through the product's orchestrator and CLI loader. */
async function labels(projectRoot: string, log: (line: string) => void): Promise<GoalResult> {
  const rows: ReturnType<typeof compareRuns> = [];
  for (const example of EXAMPLES) {
    const file = join(projectRoot, example);
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete parsed.learningCurve;
    const experiment = parseExperiment(parsed);
    const results = new Map<Dtype, ExperimentResults>();
    for (const dtype of ['fp32', 'q8'] as const) {
      log(`Q8 labels: ${example} with ${dtype} weights`);
      const deps = createNodeDependencies({
        experimentFile: file,
        projectRoot,
        dtype,
        onProgress: () => undefined,
      });
      try {
        results.set(dtype, await runExperiment(experiment, deps));
      } finally {
        await deps.dispose();
      }
    }
    rows.push(...compareRuns(results.get('fp32')!, results.get('q8')!).map((row) => ({ example, ...row })));
  }
  const total = rows.reduce((sum, row) => sum + row.predictions, 0);
  const same = rows.reduce((sum, row) => sum + row.sameLabels, 0);
  return evaluateGoal(Q8_GOALS.labels, [same / total], {
    details: {
      predictions: total,
      sameLabels: same,
      maxScoreDifference: Math.max(...rows.map((row) => row.maxScoreDifference)),
      runs: rows,
    },
  });
}

/** Every Node Q8 goal: speed on both runtimes for each model, then label agreement on the built-in model. */
export async function runQ8Node(
  models: readonly Q8Model[],
  projectRoot: string,
  guarded: (specs: GoalSpec[], step: () => Promise<GoalResult | GoalResult[]>) => Promise<GoalResult[]>,
  log: (line: string) => void,
): Promise<GoalResult[]> {
  const goals: GoalResult[] = [];
  for (const model of models) {
    await ensureQuantized(model.folder);
    for (const runtime of ['node', 'wasm'] as const) {
      const base = runtime === 'node' ? Q8_GOALS.speedNode : Q8_GOALS.speedWasm;
      goals.push(
        ...(await guarded([{ ...base, id: `${base.id} ${model.name}` }], () => speed(runtime, model, log))),
      );
    }
  }
  goals.push(...(await guarded([Q8_GOALS.labels], () => labels(projectRoot, log))));
  return goals;
}
