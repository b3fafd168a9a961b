/**
 * @file The experiment CLI with heads on intermediate layers (tests/fixtures/experiments/layers.json): heads on the
 * embeddings output, layer 2 and the last layer of the tiny-bert fixture all train and predict, and a layer the
 * model does not have fails before any work with the field, the model and its range.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults, RunResult } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

const EXPERIMENTS = join(ROOT, 'tests/fixtures/experiments');
/** Loading transformers.js, tfjs and the model takes a few seconds on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;

/** Every test example's score vector of a run, in test order. */
function scores(run: RunResult | undefined, labels: string[]): number[][] {
  return (run?.predictions ?? []).map((prediction) => labels.map((label) => prediction.scores[label] ?? NaN));
}

function maxAbsDifference(a: number[][], b: number[][]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(
    ...a.map((row, i) => Math.max(...row.map((value, j) => Math.abs(value - (b[i]?.[j] ?? NaN))))),
  );
}

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'layers-cli-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('experiment CLI with heads on intermediate layers', () => {
  let run: CliRun;
  let results: ExperimentResults;

  beforeAll(async () => {
    const outFile = join(workDir, 'layers-results.json');
    run = await runCli([join(EXPERIMENTS, 'layers.json'), '--out', outFile]);
    results = JSON.parse(await readFile(outFile, 'utf8')) as ExperimentResults;
  }, CLI_TIMEOUT_MS);

  it('runs every head, embedding each text once for every (layer, pooling) the heads need', () => {
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n');
    // One encoder pass over the 90 distinct texts gives all four outputs; no head extracts features of its own.
    expect(lines.filter((line) => line.startsWith('Embedding '))).toEqual([
      'Embedding 90 distinct texts once (layer 0 mean, layer 2 mean, layer 2 cls, layer 4 mean) for 4 heads',
    ]);
    expect(lines.filter((line) => line.startsWith('Extracting features'))).toEqual([]);
    expect(lines.filter((line) => line.startsWith('Using cached features'))).toEqual([
      'Using cached features (layer 0, mean pooling)',
      'Using cached features (layer 2, mean pooling)',
      'Using cached features (layer 2, cls pooling)',
      'Using cached features (layer -1, mean pooling)',
    ]);
    expect(results.runs.map((result) => [result.name, result.kind])).toEqual([
      ['layer 0 (embeddings)', 'head'],
      ['layer 2', 'head'],
      ['layer 2, cls', 'head'],
      ['last layer (-1)', 'head'],
    ]);
    for (const name of ['layer 0 (embeddings)', 'layer 2', 'layer 2, cls', 'last layer (-1)']) {
      expect(run.stdout).toContain(name);
    }
  });

  it('learns the keyword topics from layer 2, well above chance (1/3)', () => {
    const layer2 = results.runs.find((result) => result.name === 'layer 2');
    expect(layer2?.accuracy).toBeGreaterThan(0.6);
    expect(layer2?.predictions).toHaveLength(results.split.test.length);
  });

  it('trains on different features per layer and pooling: the heads score the test texts differently', () => {
    const byName = (name: string) =>
      scores(
        results.runs.find((result) => result.name === name),
        results.labels,
      );
    expect(maxAbsDifference(byName('layer 0 (embeddings)'), byName('layer 2'))).toBeGreaterThan(1e-4);
    expect(maxAbsDifference(byName('layer 2'), byName('last layer (-1)'))).toBeGreaterThan(1e-4);
    expect(maxAbsDifference(byName('layer 2'), byName('layer 2, cls'))).toBeGreaterThan(1e-4);
  });
});

describe('experiment CLI with a layer the model does not have', () => {
  it(
    'fails before extracting anything, naming the field, the model and its range',
    async () => {
      const file = join(EXPERIMENTS, 'invalid/unsupported-layer.json');
      const failed = await runCli([file]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(
        'error: heads[0].layer: layer 9 does not exist: fixtures/tiny-bert has layers 0..4 ' +
          '(0 = embeddings output, 4 = last layer), or -1..-5 counting from the end.',
      );
      expect(failed.stderr).not.toMatch(/Extracting features|Embedding \d+ distinct texts/);
      expect(failed.stdout).toBe('');
    },
    CLI_TIMEOUT_MS,
  );
});
