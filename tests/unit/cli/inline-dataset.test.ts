/**
 * An experiment exported by the app for uploaded data carries its rows inline; it must run unchanged with
 * `npm run experiment` and give the same results as the same data read from a file next to it.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTable } from '../../../src/lib/core/dataset/parse.ts';
import { inlineDatasetRef } from '../../../src/lib/core/dataset/ref.ts';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli } from './run-cli.ts';

const CSV = join(ROOT, 'tests/fixtures/datasets/topics-keywords.csv');
/** Two CLI runs (each loading the model) on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 180_000;

function experiment(dataset: unknown): string {
  return JSON.stringify({
    version: 1,
    name: 'Uploaded keywords',
    model: 'fixtures/tiny-bert',
    dataset,
    split: { test: 0.3, seed: 11 },
    prompts: [{ name: 'bare labels', strategy: 'similarity', template: '{label}' }],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 20, learningRate: 0.05, seed: 1 },
    ],
  });
}

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'inline-dataset-cli-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('npm run experiment with an inline dataset', () => {
  it(
    'runs a one-file experiment with inline rows and matches the same data read from a file',
    async () => {
      const csv = await readFile(CSV, 'utf8');
      const rows = inlineDatasetRef('uploaded.csv', parseTable(csv, 'csv'), { text: 'text', label: 'label' });
      await writeFile(join(workDir, 'inline.json'), experiment(rows));
      await copyFile(CSV, join(workDir, 'data.csv'));
      await writeFile(
        join(workDir, 'file.json'),
        experiment({ path: 'data.csv', text: 'text', label: 'label' }),
      );

      const inlineRun = await runCli([
        join(workDir, 'inline.json'),
        '--out',
        join(workDir, 'inline-results.json'),
      ]);
      expect(inlineRun.stderr).not.toMatch(/^error:/m);
      expect(inlineRun.code).toBe(0);
      expect(inlineRun.stdout).toContain('bare labels');
      expect(inlineRun.stderr).toContain('uploaded.csv: 90 examples, 3 labels; 63 train, 27 test');
      const fileRun = await runCli([join(workDir, 'file.json'), '--out', join(workDir, 'file-results.json')]);
      expect(fileRun.code).toBe(0);

      const inline = JSON.parse(
        await readFile(join(workDir, 'inline-results.json'), 'utf8'),
      ) as ExperimentResults;
      const file = JSON.parse(
        await readFile(join(workDir, 'file-results.json'), 'utf8'),
      ) as ExperimentResults;
      expect(inline.labels).toEqual(['food', 'sports', 'weather']);
      expect(inline.split).toEqual(file.split);
      expect(inline.runs.map((run) => run.name)).toEqual(['bare labels', 'linear']);
      inline.runs.forEach((run, index) => {
        const other = file.runs[index];
        expect(run.predictions.map((p) => p.id)).toEqual(inline.split.test.map((example) => example.id));
        expect(run.predictions.map((p) => p.label)).toEqual(other?.predictions.map((p) => p.label));
        expect(run.accuracy).toBe(other?.accuracy);
      });
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'exits non-zero naming the bad row field, without a stack trace',
    async () => {
      const rows = [
        { text: 'a', label: 'x' },
        { text: 'b', label: 7 },
      ];
      await writeFile(
        join(workDir, 'bad.json'),
        experiment({ name: 'bad.csv', rows, text: 'text', label: 'label' }),
      );
      const run = await runCli([join(workDir, 'bad.json')]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('dataset.rows[1].label: must be a string');
      expect(run.stderr).not.toMatch(/^\s+at /m);
    },
    CLI_TIMEOUT_MS,
  );
});
