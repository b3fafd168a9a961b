/**
 * @file `npm run bench`: measures, on this machine,
 * 1. feature extraction through the project's Encoder (transformers.js) against a bare onnxruntime-node session
 *    fed the same pre-tokenised batches (mean pooling done by hand), to show the adapter's overhead;
 * 2. head training time against feature-extraction time for the same texts, the cost split of fine-tuning a head;
 * 3. instruction prompts on a causal LM with the shared prefix's KV cache reused vs none (prefix-cache.ts).
 * Runs on the tiny-bert fixture and on every real model found under models/. Writes bench-results/bench.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { getBuiltinDataset } from '../../src/lib/core/dataset/builtin/registry.ts';
import type { Encoder, HeadTrainingOptions } from '../../src/lib/core/ports.ts';
import { createHeadTrainer } from '../../src/lib/ml/tfjs-head.ts';
import { benchPrefixCache, formatPrefixCache } from './prefix-cache.ts';
import {
  loadBatchTokenizer,
  loadEncoder,
  type TokenizedBatch,
} from '../../src/lib/ml/transformers-adapter.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const OUTPUT = join(PROJECT_ROOT, 'bench-results/bench.json');
const FIXTURE_FOLDER = join(PROJECT_ROOT, 'tests/fixtures/models/tiny-bert');
const CAUSAL_FIXTURE_FOLDER = join(PROJECT_ROOT, 'tests/fixtures/models/tiny-gpt2');

/** Texts per benchmark: the topics dataset repeated to about this many. */
const TARGET_TEXTS = 600;
const BATCH_SIZE = 32;
const WARMUP_RUNS = 2;
const TIMED_RUNS = 5;

/** The two heads of the example experiment in the schema tests (a linear head and a 64-unit one). */
const HEADS: { name: string; options: HeadTrainingOptions }[] = [
  {
    name: 'linear, 50 epochs',
    options: { hidden: 0, epochs: 50, learningRate: 0.01, seed: 1, batchSize: 32 },
  },
  {
    name: 'hidden 64, 80 epochs',
    options: { hidden: 64, epochs: 80, learningRate: 0.005, seed: 1, batchSize: 32 },
  },
];

interface Timing {
  medianMs: number;
  runsMs: number[];
}

interface ModelBench {
  model: string;
  folder: string;
  texts: number;
  batchSize: number;
  dimension: number;
  encoder: Timing & { textsPerSecond: number };
  bareOnnxRuntime: Timing & { textsPerSecond: number; tokenizeMs: number };
  /** Encoder time (tokenizing included) / bare session time on pre-tokenised batches. */
  overheadRatio: number;
  /** Encoder time / (bare session time + the same tokenizer's time): the adapter's own overhead. */
  overheadRatioWithTokenizing: number;
  /** Largest |difference| between the Encoder's vectors and the hand-pooled bare session's. */
  maxAbsDifference: number;
  heads: { name: string; training: Timing; featureExtractionMs: number; trainingToExtractionRatio: number }[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Runs `task` WARMUP_RUNS times untimed, then TIMED_RUNS times timed. */
async function time<T>(task: () => Promise<T>): Promise<Timing & { last: T }> {
  for (let run = 0; run < WARMUP_RUNS; run++) await task();
  const runsMs: number[] = [];
  let last: T | undefined;
  for (let run = 0; run < TIMED_RUNS; run++) {
    const started = performance.now();
    last = await task();
    runsMs.push(performance.now() - started);
  }
  return {
    medianMs: median(runsMs),
    runsMs: runsMs.map((ms) => Math.round(ms * 100) / 100),
    last: last as T,
  };
}

function benchTexts(): { texts: string[]; labels: number[]; labelNames: string[] } {
  const dataset = getBuiltinDataset('topics');
  const rows = dataset.table().rows;
  const labelNames = [...new Set(rows.map((row) => row[dataset.labelColumn] ?? ''))].sort();
  const texts: string[] = [];
  const labels: number[] = [];
  while (texts.length < TARGET_TEXTS) {
    for (const row of rows) {
      texts.push(row[dataset.textColumn] ?? '');
      labels.push(labelNames.indexOf(row[dataset.labelColumn] ?? ''));
    }
  }
  return { texts, labels, labelNames };
}

/** Model folders under models/ (hub layout, up to owner/name depth) that hold an fp32 ONNX encoder. */
async function realModels(): Promise<{ id: string; folder: string }[]> {
  const root = join(PROJECT_ROOT, 'models');
  const found: { id: string; folder: string }[] = [];
  async function visit(folder: string, depth: number): Promise<void> {
    if (existsSync(join(folder, 'config.json')) && existsSync(join(folder, 'onnx/model.onnx'))) {
      found.push({ id: relative(root, folder), folder });
      return;
    }
    if (depth >= 2) return;
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isDirectory() && !entry.name.startsWith('.'))
        await visit(join(folder, entry.name), depth + 1);
    }
  }
  await visit(root, 0);
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

/** Mean pooling over the attention mask, by hand, from a [rows, tokens, size] output. */
function meanPool(hidden: Float32Array, mask: BigInt64Array, rows: number, tokens: number, size: number) {
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

async function bareSessionEmbed(
  session: ort.InferenceSession,
  batches: TokenizedBatch[],
): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (const batch of batches) {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, batch.dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, batch.dims),
    };
    if (session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor(
        'int64',
        batch.tokenTypeIds ?? new BigInt64Array(batch.inputIds.length),
        batch.dims,
      );
    }
    const outputs = await session.run(feeds);
    const hidden = outputs.last_hidden_state;
    if (!hidden) throw new Error('The session returned no last_hidden_state.');
    const [rows, tokens, size] = hidden.dims as [number, number, number];
    vectors.push(...meanPool(hidden.data as Float32Array, batch.attentionMask, rows, tokens, size));
    for (const tensor of Object.values(outputs)) tensor.dispose();
  }
  return vectors;
}

function maxAbsDifference(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((vector, row) => {
    vector.forEach((value, column) => {
      max = Math.max(max, Math.abs(value - (b[row]?.[column] ?? Number.NaN)));
    });
  });
  return max;
}

async function benchModel(id: string, folder: string): Promise<ModelBench> {
  const { texts, labels, labelNames } = benchTexts();
  process.stderr.write(`bench: ${id} (${texts.length} texts)\n`);
  const encoder: Encoder = await loadEncoder(
    { kind: 'folder', path: folder },
    { device: 'cpu', dtype: 'fp32' },
  );
  try {
    const embedOptions = { layer: -1, pooling: 'mean' as const, batchSize: BATCH_SIZE };
    const viaEncoder = await time(() => encoder.embed(texts, embedOptions));

    const tokenizer = await loadBatchTokenizer(folder);
    const tokenizing = await time(async () => {
      const batches: TokenizedBatch[] = [];
      for (let start = 0; start < texts.length; start += BATCH_SIZE) {
        batches.push(tokenizer.tokenize(texts.slice(start, start + BATCH_SIZE), encoder.maxTokens));
      }
      return batches;
    });
    const batches = tokenizing.last;
    const session = await ort.InferenceSession.create(join(folder, 'onnx/model.onnx'), {
      executionProviders: ['cpu'],
    });
    let bare: Timing & { last: Float32Array[] };
    try {
      bare = await time(() => bareSessionEmbed(session, batches));
    } finally {
      await session.release();
    }

    const trainer = createHeadTrainer({ backend: 'cpu' });
    const heads: ModelBench['heads'] = [];
    for (const head of HEADS) {
      const training = await time(async () => {
        const trained = await trainer.train(viaEncoder.last, labels, labelNames.length, head.options);
        trained.dispose();
      });
      heads.push({
        name: head.name,
        training: { medianMs: training.medianMs, runsMs: training.runsMs },
        featureExtractionMs: viaEncoder.medianMs,
        trainingToExtractionRatio: training.medianMs / viaEncoder.medianMs,
      });
    }

    return {
      model: id,
      folder: relative(PROJECT_ROOT, folder),
      texts: texts.length,
      batchSize: BATCH_SIZE,
      dimension: encoder.dimension,
      encoder: {
        medianMs: viaEncoder.medianMs,
        runsMs: viaEncoder.runsMs,
        textsPerSecond: texts.length / (viaEncoder.medianMs / 1000),
      },
      bareOnnxRuntime: {
        medianMs: bare.medianMs,
        runsMs: bare.runsMs,
        textsPerSecond: texts.length / (bare.medianMs / 1000),
        tokenizeMs: tokenizing.medianMs,
      },
      overheadRatio: viaEncoder.medianMs / bare.medianMs,
      overheadRatioWithTokenizing: viaEncoder.medianMs / (bare.medianMs + tokenizing.medianMs),
      maxAbsDifference: maxAbsDifference(viaEncoder.last, bare.last),
      heads,
    };
  } finally {
    await encoder.dispose();
  }
}

function formatTable(results: ModelBench[]): string {
  const rows: string[][] = [
    [
      'model',
      'encoder texts/s',
      'bare ORT texts/s',
      'tokenize ms',
      'ratio',
      'ratio incl. tokenize',
      'max |diff|',
    ],
    ...results.map((result) => [
      result.model,
      result.encoder.textsPerSecond.toFixed(0),
      result.bareOnnxRuntime.textsPerSecond.toFixed(0),
      result.bareOnnxRuntime.tokenizeMs.toFixed(1),
      `${result.overheadRatio.toFixed(2)}×`,
      `${result.overheadRatioWithTokenizing.toFixed(2)}×`,
      result.maxAbsDifference.toExponential(1),
    ]),
  ];
  const headRows: string[][] = [
    ['model', 'head', 'train ms', 'features ms', 'train / features'],
    ...results.flatMap((result) =>
      result.heads.map((head) => [
        result.model,
        head.name,
        head.training.medianMs.toFixed(0),
        head.featureExtractionMs.toFixed(0),
        `${head.trainingToExtractionRatio.toFixed(2)}×`,
      ]),
    ),
  ];
  const render = (table: string[][]) => {
    const widths =
      table[0]?.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0))) ?? [];
    return table
      .map((row) =>
        row
          .map((cell, column) =>
            column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
          )
          .join('  '),
      )
      .join('\n');
  };
  return `Feature extraction (${results[0]?.texts ?? 0} texts, batch ${BATCH_SIZE}, mean pooling, median of ${TIMED_RUNS})\n${render(rows)}\n\nHead training on those features\n${render(headRows)}`;
}

async function main(): Promise<void> {
  if (!existsSync(join(FIXTURE_FOLDER, 'onnx/model.onnx'))) {
    throw new Error(`Fixture model missing at ${FIXTURE_FOLDER}: run \`npm run fixtures\` first.`);
  }
  const models = [{ id: 'fixtures/tiny-bert', folder: FIXTURE_FOLDER }, ...(await realModels())];
  const results: ModelBench[] = [];
  for (const model of models) results.push(await benchModel(model.id, model.folder));
  const prefixCache = [
    await benchPrefixCache('fixtures/tiny-gpt2', CAUSAL_FIXTURE_FOLDER, {
      texts: 60,
      shotsPerClass: 1,
      warmupRuns: WARMUP_RUNS,
      timedRuns: TIMED_RUNS,
    }),
  ];
  const cpuList = cpus();
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      totalMemoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    settings: {
      warmupRuns: WARMUP_RUNS,
      timedRuns: TIMED_RUNS,
      batchSize: BATCH_SIZE,
      device: 'cpu',
      dtype: 'fp32',
    },
    results,
    prefixCache,
  };
  await mkdir(join(PROJECT_ROOT, 'bench-results'), { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(formatTable(results));
  console.log(`\n${formatPrefixCache(prefixCache)}`);
  console.log(`\nWrote ${relative(process.cwd(), OUTPUT)}`);
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
