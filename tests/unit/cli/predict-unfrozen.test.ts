/**
 * @file A head trained with its model's top layer keeps it: `npm run experiment -- … --save-heads` writes the
 * layer's trained weights into the head file, and `npm run predict` runs them (token states of the layer below,
 * the rebuilt layer on tfjs, pooling, head) to the experiment's own scores within 1e-6, with tfjs memory back where
 * it was. A file whose layers are corrupt or do not fit the model is refused, naming what is wrong.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { float32ToBase64 } from '../../../src/lib/core/heads/float32-base64.ts';
import { parseHeadFileText } from '../../../src/lib/core/heads/head-file.ts';
import { ROOT, runPredict, runWithSavedHeads } from './run-cli.ts';

const CLI_TIMEOUT_MS = 240_000;
const EXPERIMENT = join(ROOT, 'tests/fixtures/experiments/unfreeze.json');
const HEAD = 'linear, top layer too';
/** tiny-bert's layer 3 (hidden 32, intermediate 64): q, k, v, attention output, two norms, FFN in and out. */
const LAYER_PARAMETERS = 4 * (32 * 32 + 32) + 2 * (32 + 32) + (32 * 64 + 64) + (64 * 32 + 32);

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let workDir: string;
let headFile: string;
let headText: string;
let results: ExperimentResults;

beforeAll(async () => {
  let headsDir: string;
  ({ workDir, headsDir, results } = await runWithSavedHeads(EXPERIMENT, 'predict-unfrozen-'));
  headFile = join(headsDir, 'linear-top-layer-too.head.json');
  headText = await readFile(headFile, 'utf8');
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Writes the saved head file changed by `edit` and returns its path. */
async function edited(name: string, edit: (file: Loose) => void): Promise<string> {
  const json = JSON.parse(headText) as Loose;
  edit(json);
  const path = join(workDir, `${name}.head.json`);
  await writeFile(path, JSON.stringify(json));
  return path;
}

describe('a head file with an unfrozen layer', () => {
  it('holds the trained layer’s weights, layer by layer, next to the head', () => {
    const file = parseHeadFileText(headText);
    expect(file.features).toEqual({ layer: -1, pooling: 'mean', unfreeze: 1 });
    expect(file.layers?.map((layer) => layer.layer)).toEqual([3]);
    const weights = file.layers?.[0]?.weights ?? [];
    expect(weights.every((weight) => weight.name.startsWith('encoder.layer.3.'))).toBe(true);
    const count = weights.reduce((sum, weight) => sum + weight.shape.reduce((a, b) => a * b, 1), 0);
    expect(count).toBe(LAYER_PARAMETERS);
    const run = results.runs.find((candidate) => candidate.name === HEAD);
    expect(run?.cost.trainedParameters).toBe(LAYER_PARAMETERS + 32 * 3 + 3);
    expect(file.scores?.accuracy).toBe(run?.accuracy);
  });

  it(
    'predicts the test texts as the experiment scored them, and leaves tfjs memory where it was',
    async () => {
      const texts = join(workDir, 'test.csv');
      const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
      await writeFile(
        texts,
        ['body', ...results.split.test.map((example) => quote(example.text))].join('\n'),
      );
      const args = [headFile, '--file', texts, '--text-column', 'body', '--json'];
      // The first run starts tfjs's WASM backend; memory is compared around the second.
      const first = await runPredict(args);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const before = tf.memory();
      const second = await runPredict(args);
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
      expect(second.stdout).toBe(first.stdout);

      const lines = first.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { text: string; label: string; scores: Record<string, number> });
      const expected = results.runs.find((candidate) => candidate.name === HEAD)?.predictions ?? [];
      expect(lines).toHaveLength(expected.length);
      let gap = 0;
      lines.forEach((line, index) => {
        expect(line.text).toBe(results.split.test[index]?.text);
        expect(line.label).toBe(expected[index]?.label);
        for (const label of results.labels) {
          gap = Math.max(
            gap,
            Math.abs((line.scores[label] ?? NaN) - (expected[index]?.scores[label] ?? NaN)),
          );
        }
      });
      console.info(
        `unfreeze 1 on tiny-bert: largest predict/experiment probability difference ${gap.toExponential(2)}`,
      );
      expect(gap).toBeLessThanOrEqual(1e-6);
    },
    CLI_TIMEOUT_MS,
  );

  const first = (file: Loose): Loose => file.layers[0].weights[0];
  const sizeOf = (weight: Loose): number => weight.shape.reduce((a: number, b: number) => a * b, 1);
  it.each<[string, (file: Loose) => void, RegExp]>([
    [
      'a wrong count of layers',
      (f) => (f.features.unfreeze = 2),
      /layers must hold the 2 unfrozen layer\(s\)/,
    ],
    [
      'a NaN weight',
      (f) => (first(f).float32 = float32ToBase64([...Array(sizeOf(first(f)) - 1).fill(0), NaN])),
      /layers\[0\]\.weights\[0\]\.float32 holds NaN at value \d+: weights must be finite/,
    ],
    [
      'a weight of another shape than the model’s',
      (f) => {
        // Same number of values (the file reads), another shape than the model's: caught when the layer is built.
        const weight = f.layers[0].weights.find((w: Loose) => w.shape.join() === '32,64');
        weight.shape = [64, 32];
      },
      /Invalid unfrozen layers: weight "encoder\.layer\.3\.intermediate\.dense\.weight" has shape \[64, 32\], the model's is \[32, 64\]/,
    ],
    ['a missing weight', (f) => f.layers[0].weights.pop(), /Invalid unfrozen layers: weight ".*" is missing/],
    [
      'a weight the model does not have',
      (f) => (first(f).name = 'encoder.layer.3.extra'),
      /the model has no weight "encoder\.layer\.3\.extra" in these layers/,
    ],
    [
      'a layer the model numbers otherwise',
      (f) => (f.layers[0].layer = 2),
      /holds layers 2\.\.2 under its feature layer -1, but .* has 4 layers/,
    ],
    [
      'a quantized backbone',
      (f) => {
        f.backbone.dtype = 'q8';
        delete f.backbone.fileHash;
      },
      /loaded quantized \(q8\): its int8 weights cannot run them/,
    ],
  ])(
    'refuses %s with a clear message',
    async (name, edit, message) => {
      const before = tf.memory().numTensors;
      const run = await runPredict([await edited(name.replaceAll(/\W+/g, '-'), edit), '--text', 'rain']);
      expect(run.stderr).toMatch(message);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(tf.memory().numTensors).toBe(before);
    },
    CLI_TIMEOUT_MS,
  );
});
