/**
 * The learning curve end to end on its designed fixture (tests/fixtures/experiments/crossover.json): the tiny-bert
 * fixture, the crossover-keywords dataset whose bare-label prompt scores exactly 2/3 by design, and a linear head
 * that crosses it at 2 examples per class. Runs the experiment command and reads the results file it writes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeCurve } from '../../../src/lib/core/experiment/learning-curve.ts';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

/** Loading transformers.js, tfjs and the model, then 15 small trainings, on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 180_000;

let workDir: string;
let run: CliRun;
let results: ExperimentResults;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'curve-cli-'));
  const out = join(workDir, 'results.json');
  run = await runCli([join(ROOT, 'tests/fixtures/experiments/crossover.json'), '--out', out]);
  results = JSON.parse(await readFile(out, 'utf8')) as ExperimentResults;
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('experiment CLI with a learningCurve, on the crossover fixture', () => {
  it('scores the bare-label prompt at exactly 2/3: every food row is called sports, by design', () => {
    expect(run.code).toBe(0);
    const prompt = results.runs.find((entry) => entry.name === 'bare labels');
    expect(results.split.test).toHaveLength(36);
    expect(prompt?.accuracy).toBe(24 / 36);
    expect(prompt?.confusion).toEqual([
      [0, 12, 0],
      [0, 12, 0],
      [0, 0, 12],
    ]);
  });

  it('writes the curve in the documented format, one point per size and seed', () => {
    const curve = results.learningCurve;
    expect(curve).toMatchObject({ head: 'linear', shotsPerClass: [1, 2, 4, 8, 16], seeds: 3 });
    expect(curve?.points.map((point) => [point.shots, point.seed])).toEqual(
      [1, 2, 4, 8, 16].flatMap((shots) => [1, 2, 3].map((seed) => [shots, seed])),
    );
    for (const point of curve?.points ?? []) {
      expect(Object.keys(point).sort()).toEqual(['accuracy', 'macroF1', 'seed', 'shots', 'trainMs']);
      expect(point.trainMs).toBeGreaterThan(0);
    }
    expect(curve?.bestPrompt).toEqual({ name: 'bare labels', accuracy: 24 / 36 });
    // 12 training examples per class: 16 asks for more than any class has.
    expect(curve?.capped).toEqual(
      ['food', 'sports', 'weather'].map((label) => ({ shots: 16, label, available: 12 })),
    );
  });

  it('crosses the prompt at 2 examples per class, with room on both sides', () => {
    const curve = results.learningCurve;
    expect(curve?.crossover).toBe(2);
    const means = new Map(
      summarizeCurve(curve ?? { shotsPerClass: [], points: [] }).map((s) => [s.shots, s]),
    );
    // One example per class gives the head too few updates to leave its random start (10 epochs of one batch).
    expect(means.get(1)?.accuracy).toBeLessThan(24 / 36 - 0.05);
    expect(means.get(2)?.accuracy).toBeGreaterThan(24 / 36 + 0.05);
    expect(means.get(16)?.accuracy).toBe(1);
  });

  it('says the crossover in words on the terminal', () => {
    expect(run.stdout).toContain('Learning curve of head "linear"');
    expect(run.stdout).toContain(
      'Learning curve: the head "linear" reaches the best prompt ("bare labels", accuracy 0.667) from 2 ' +
        'labeled examples per class (the mean of 3 seeds).',
    );
    expect(run.stdout).toMatch(
      /capped: class "food" has 12 training examples, so all of them were used for 16/,
    );
  });
});
