/**
 * @file What the real default model does on the built-in datasets, through the experiment command exactly as a user
 * runs it (`npm run experiment`, in-process). Thresholds sit a little below the figures measured on this project's
 * reference machine (README, "Real numbers"), so they catch a broken model, tokenizer or pooling, not noise.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli } from '../cli/run-cli.ts';
import { ensureUseLite } from '../../helpers/use-lite.ts';

const RUN_TIMEOUT_MS = 300_000;

let workDir: string;

beforeAll(async () => {
  await ensureUseLite();
  workDir = await mkdtemp(join(tmpdir(), 'use-lite-experiments-'));
}, 120_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Runs an experiment file of the repository, or an experiment object written to a scratch file. */
async function run(experiment: string | object): Promise<Map<string, ExperimentResults['runs'][number]>> {
  const file = typeof experiment === 'string' ? join(ROOT, experiment) : join(workDir, 'experiment.json');
  if (typeof experiment !== 'string') await writeFile(file, JSON.stringify(experiment));
  const out = join(workDir, 'results.json');
  const result = await runCli([file, '--out', out]);
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  const results = JSON.parse(await readFile(out, 'utf8')) as ExperimentResults;
  expect(results.model).toBe('universal-sentence-encoder-lite');
  return new Map(results.runs.map((entry) => [entry.name, entry]));
}

function accuracy(runs: Map<string, ExperimentResults['runs'][number]>, name: string): number {
  const found = runs.get(name);
  if (!found) throw new Error(`no run named "${name}" (runs: ${[...runs.keys()].join(', ')})`);
  return found.accuracy;
}

describe('Universal Sentence Encoder Lite on the built-in datasets', () => {
  it(
    'topics: prompts alone are already near-perfect, and so is a head trained on 2 examples per class',
    async () => {
      const runs = await run('examples/topics.json');
      // Measured: bare labels 0.978, sentence template 1.000, described 0.956; heads 1.000, 1.000, 2-shot 0.978.
      expect(accuracy(runs, 'bare labels')).toBeGreaterThanOrEqual(0.93);
      expect(accuracy(runs, 'sentence template')).toBeGreaterThanOrEqual(0.95);
      expect(accuracy(runs, 'described')).toBeGreaterThanOrEqual(0.9);
      expect(accuracy(runs, 'linear, sentence embedding')).toBeGreaterThanOrEqual(0.95);
      expect(accuracy(runs, 'linear, 2 examples per class')).toBeGreaterThanOrEqual(0.9);
      expect(runs.get('linear, 2 examples per class')?.cost.labeledExamples).toBe(6);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'spam: a sentence prompt beats bare labels, and a trained head beats every prompt by a wide margin',
    async () => {
      const runs = await run({
        version: 1,
        name: 'spam, prompts vs a linear head',
        model: 'universal-sentence-encoder-lite',
        dataset: { builtin: 'spam-assassin' },
        split: { test: 0.3, seed: 42 },
        prompts: [
          { name: 'bare labels', strategy: 'similarity', template: '{label}' },
          { name: 'sentence template', strategy: 'similarity', template: 'This email is {label}.' },
        ],
        heads: [
          {
            name: 'linear',
            layer: -1,
            pooling: 'sentence',
            hidden: 0,
            epochs: 50,
            learningRate: 0.01,
            seed: 1,
          },
        ],
      });
      // Measured: bare labels 0.561, sentence template 0.750; linear head 0.906 (chance: 0.5).
      const bare = accuracy(runs, 'bare labels');
      const template = accuracy(runs, 'sentence template');
      const head = accuracy(runs, 'linear');
      expect(template - bare).toBeGreaterThanOrEqual(0.12);
      expect(head).toBeGreaterThanOrEqual(0.86);
      expect(head - Math.max(bare, template)).toBeGreaterThanOrEqual(0.08);
      expect(runs.get('linear')?.cost.trainedParameters).toBe(512 * 2 + 2);
    },
    RUN_TIMEOUT_MS,
  );
});
