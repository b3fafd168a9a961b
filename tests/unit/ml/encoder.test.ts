import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoder, LoadProgress } from '../../../src/lib/core/ports.ts';
import { loadEncoder, ModelFileMissingError } from '../../../src/lib/ml/transformers-adapter.ts';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/models/tiny-bert');
const TOLERANCE = 1e-5;

const texts = [
  'the football team scored a late goal',
  'rain and snow are in the forecast for tomorrow',
  'a delicious pizza with cheese for dinner',
  'congratulations you won a free prize click now',
  'please review the attached project report before the meeting',
  'sports',
  'what a strange quiet day',
  'the stadium was full of fans for the final match of the season',
];

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  a.forEach((value, index) => {
    const other = b[index] ?? 0;
    dot += value * other;
    normA += value * value;
    normB += other * other;
  });
  return dot / Math.sqrt(normA * normB);
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

let encoder: Encoder;
const progress: LoadProgress[] = [];

beforeAll(async () => {
  encoder = await loadEncoder(
    { kind: 'folder', path: FIXTURE },
    { device: 'cpu', dtype: 'fp32', onProgress: (event) => progress.push(event) },
  );
});

afterAll(async () => {
  await encoder.dispose();
});

describe('transformers.js encoder on the tiny-bert fixture', () => {
  it('describes the model from its config and reports load progress per file', () => {
    expect(encoder.dimension).toBe(32);
    expect(encoder.numLayers).toBe(4);
    expect(encoder.maxTokens).toBe(128);
    expect(encoder.device).toBe('cpu');
    expect(encoder.dtype).toBe('fp32');
    const doneFiles = progress.filter((event) => event.status === 'done').map((event) => event.file);
    expect(doneFiles).toEqual(
      expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']),
    );
    const modelDone = progress.find((event) => event.status === 'done' && event.file === 'onnx/model.onnx');
    expect(modelDone?.total).toBeGreaterThan(1000);
    expect(progress.at(-1)?.status).toBe('ready');
  });

  it('returns one finite vector of the model dimension per text, in input order, deterministically', async () => {
    const first = await encoder.embed(texts, { layer: -1, pooling: 'mean' });
    const second = await encoder.embed(texts, { layer: -1, pooling: 'mean' });
    expect(first).toHaveLength(texts.length);
    for (const vector of first) {
      expect(vector).toHaveLength(32);
      expect(vector.every(Number.isFinite)).toBe(true);
    }
    expect(second).toEqual(first);
    const [alone] = await encoder.embed([texts[3] ?? ''], { layer: -1, pooling: 'mean' });
    expect(maxAbsDifference([alone ?? new Float32Array()], [first[3] ?? new Float32Array()])).toBeLessThan(
      TOLERANCE,
    );
  });

  it('clusters mean-pooled texts by concept: a sports sentence is nearest the word "sports"', async () => {
    const [sportsText, weatherText, sportsWord, weatherWord] = await encoder.embed(
      [texts[0] ?? '', texts[1] ?? '', 'sports', 'weather'],
      { layer: -1, pooling: 'mean' },
    );
    if (!sportsText || !weatherText || !sportsWord || !weatherWord) throw new Error('missing vectors');
    expect(cosine(sportsText, sportsWord)).toBeGreaterThan(cosine(sportsText, weatherWord));
    expect(cosine(weatherText, weatherWord)).toBeGreaterThan(cosine(weatherText, sportsWord));
  });

  it('pools differently for mean, cls and last token', async () => {
    const mean = await encoder.embed(texts, { layer: -1, pooling: 'mean' });
    const cls = await encoder.embed(texts, { layer: -1, pooling: 'cls' });
    const last = await encoder.embed(texts, { layer: -1, pooling: 'last' });
    expect(maxAbsDifference(mean, cls)).toBeGreaterThan(1e-3);
    expect(maxAbsDifference(mean, last)).toBeGreaterThan(1e-3);
    expect(maxAbsDifference(cls, last)).toBeGreaterThan(1e-3);
  });

  it('gives the same vectors whatever the batch size (padding is masked out)', async () => {
    for (const pooling of ['mean', 'cls', 'last'] as const) {
      const batches: number[] = [];
      const single = await encoder.embed(texts, { layer: -1, pooling, batchSize: 1 }, (done) =>
        batches.push(done),
      );
      const three = await encoder.embed(texts, { layer: -1, pooling, batchSize: 3 });
      const all = await encoder.embed(texts, { layer: -1, pooling, batchSize: 32 });
      expect(batches).toEqual(texts.map((_, index) => index + 1));
      expect(maxAbsDifference(single, three)).toBeLessThan(TOLERANCE);
      expect(maxAbsDifference(single, all)).toBeLessThan(TOLERANCE);
    }
  });

  it('truncates texts longer than maxTokens instead of failing, and counts their full length', async () => {
    const long = Array.from({ length: 400 }, (_, index) => (index % 2 ? 'football' : 'match')).join(' ');
    const [tokens] = await encoder.countTokens([long]);
    expect(tokens).toBeGreaterThan(encoder.maxTokens);
    const [vector] = await encoder.embed([long, 'rain'], { layer: -1, pooling: 'mean' });
    expect(vector).toHaveLength(32);
    expect(vector?.every(Number.isFinite)).toBe(true);
  });

  it('counts tokens including the special tokens', async () => {
    const counts = await encoder.countTokens(['sports', 'the football match']);
    expect(counts).toEqual([3, 5]);
  });

  it('refuses an unknown pooling and a layer the model does not have, naming what is allowed', async () => {
    await expect(encoder.embed(texts, { layer: -1, pooling: 'max' as 'mean' })).rejects.toThrow(
      /Unknown pooling "max". Use one of: "mean", "cls", "last"/,
    );
    await expect(encoder.embed(texts, { layer: 5, pooling: 'mean' })).rejects.toThrow(
      /Layer 5 does not exist: .*tiny-bert has layers 0\.\.4/,
    );
  });
});

describe('loading a model folder with missing files', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tiny-bert-partial-'));
    await cp(FIXTURE, folder, { recursive: true });
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('names the missing ONNX file by full path and lists the ONNX files that do exist', async () => {
    const missing = join(folder, 'onnx/model_quantized.onnx');
    const error = await loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'q8' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ModelFileMissingError);
    expect((error as ModelFileMissingError).path).toBe(missing);
    expect((error as Error).message).toContain(`Model file missing: ${missing}`);
    expect((error as Error).message).toContain('The onnx/ folder holds: model.onnx');
  });

  it('names a missing tokenizer file and a missing folder', async () => {
    await rm(join(folder, 'tokenizer.json'));
    await expect(
      loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' }),
    ).rejects.toThrow(`Model file missing: ${join(folder, 'tokenizer.json')}`);
    const nowhere = join(folder, 'does-not-exist');
    await expect(
      loadEncoder({ kind: 'folder', path: nowhere }, { device: 'cpu', dtype: 'fp32' }),
    ).rejects.toThrow(`Model folder not found: ${nowhere}`);
  });
});
