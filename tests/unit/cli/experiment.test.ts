import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

const EXPERIMENTS = join(ROOT, 'tests/fixtures/experiments');
/** Loading transformers.js, tfjs and the model takes a few seconds on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;

function expectNoStackTrace(run: CliRun): void {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).not.toMatch(/^\s+at /m);
}

/** Argmax of a prediction's scores, which must be the label it reports. */
function topScoringLabel(scores: Record<string, number>): string {
  return Object.entries(scores).reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
}

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'experiment-cli-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('experiment CLI on the keyword fixture', () => {
  const outFile = () => join(workDir, 'nested/dir/results.json');
  let first: CliRun;
  let results: ExperimentResults;

  beforeAll(async () => {
    first = await runCli([join(EXPERIMENTS, 'keywords.json'), '--out', outFile()]);
    results = JSON.parse(await readFile(outFile(), 'utf8')) as ExperimentResults;
  }, CLI_TIMEOUT_MS);

  it('exits 0, prints a summary table naming every run, and reports progress on stderr', () => {
    expect(first.stderr).not.toMatch(/^error:/m);
    expect(first.code).toBe(0);
    for (const name of [
      'bare labels',
      'described ensemble',
      'templated, with a text template',
      'linear',
      'hidden 16, 8 per class',
    ]) {
      expect(first.stdout).toContain(name);
    }
    expect(first.stderr).toContain(`Loaded ${join(ROOT, 'tests/fixtures/models/tiny-bert')} (cpu, fp32)`);
    expectNoStackTrace(first);
  });

  it('writes results with every field of the documented format', () => {
    expect(results).toMatchObject({
      version: 1,
      name: 'Keyword topics on the tiny-bert fixture: prompts vs trained heads',
      model: 'fixtures/tiny-bert',
      labels: ['food', 'sports', 'weather'],
      split: { seed: 42, testFraction: 0.3 },
    });
    expect(results.split.train).toBeGreaterThan(0);
    expect(results.split.test.length).toBeGreaterThan(0);
    for (const example of results.split.test) {
      expect(Object.keys(example).sort()).toEqual(['id', 'label', 'text']);
    }
    expect(results.runs.map((run) => [run.name, run.kind])).toEqual([
      ['bare labels', 'prompt'],
      ['described ensemble', 'prompt'],
      ['templated, with a text template', 'prompt'],
      ['linear', 'head'],
      ['hidden 16, 8 per class', 'head'],
    ]);
    for (const run of results.runs) {
      expect(Object.keys(run).sort()).toEqual(
        expect.arrayContaining(['accuracy', 'confusion', 'cost', 'kind', 'macroF1', 'name', 'predictions']),
      );
      expect(Object.keys(run.cost).sort()).toEqual(
        expect.arrayContaining(['adaptMs', 'inferMs', 'labeledExamples', 'trainedParameters']),
      );
      expect(run.cost.adaptMs).toBeGreaterThanOrEqual(0);
      expect(run.cost.inferMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('reports accuracy, macro-F1 and confusion that agree with its own predictions', () => {
    const { labels } = results;
    const truth = new Map(results.split.test.map((example) => [example.id, example.label]));
    for (const run of results.runs) {
      expect(run.predictions.map((prediction) => prediction.id)).toEqual(
        results.split.test.map((example) => example.id),
      );
      const confusion = labels.map(() => labels.map(() => 0));
      for (const prediction of run.predictions) {
        expect(Object.keys(prediction.scores).sort()).toEqual([...labels].sort());
        expect(prediction.label).toBe(topScoringLabel(prediction.scores));
        const row = confusion[labels.indexOf(truth.get(prediction.id) ?? '')];
        if (row) row[labels.indexOf(prediction.label)] = (row[labels.indexOf(prediction.label)] ?? 0) + 1;
      }
      expect(run.confusion).toEqual(confusion);
      const correct = labels.reduce((sum, _, index) => sum + (confusion[index]?.[index] ?? 0), 0);
      expect(run.accuracy).toBeCloseTo(correct / run.predictions.length, 10);
      const f1s = labels.map((_, index) => {
        const truePositives = confusion[index]?.[index] ?? 0;
        const predicted = confusion.reduce((sum, row) => sum + (row[index] ?? 0), 0);
        const actual = (confusion[index] ?? []).reduce((sum, count) => sum + count, 0);
        return truePositives === 0 ? 0 : (2 * truePositives) / (predicted + actual);
      });
      expect(run.macroF1).toBeCloseTo(f1s.reduce((sum, f1) => sum + f1, 0) / f1s.length, 10);
    }
  });

  it('puts label descriptions and trained heads well above chance on the designed fixture', () => {
    const accuracyOf = (name: string) => results.runs.find((run) => run.name === name)?.accuracy ?? 0;
    const chance = 1 / results.labels.length;
    expect(accuracyOf('described ensemble')).toBeGreaterThan(chance + 0.3);
    expect(accuracyOf('bare labels')).toBeGreaterThan(chance + 0.3);
    expect(accuracyOf('linear')).toBeGreaterThan(chance + 0.3);
    expect(accuracyOf('hidden 16, 8 per class')).toBeGreaterThan(chance + 0.2);
  });

  it('counts labeled examples and trained parameters per method', () => {
    const run = (name: string) => results.runs.find((candidate) => candidate.name === name);
    expect(run('bare labels')?.cost).toMatchObject({ labeledExamples: 0, trainedParameters: 0 });
    expect(run('linear')?.cost).toMatchObject({
      labeledExamples: results.split.train,
      trainedParameters: 32 * 3 + 3,
    });
    expect(run('hidden 16, 8 per class')?.cost).toMatchObject({
      labeledExamples: 8 * 3,
      trainedParameters: 32 * 16 + 16 + 16 * 3 + 3,
    });
  });

  it(
    'gives identical predictions on a second run',
    async () => {
      const secondOut = join(workDir, 'second.json');
      const second = await runCli([join(EXPERIMENTS, 'keywords.json'), '--out', secondOut]);
      expect(second.code).toBe(0);
      const again = JSON.parse(await readFile(secondOut, 'utf8')) as ExperimentResults;
      expect(again.split).toEqual(results.split);
      expect(again.runs.map((run) => run.predictions)).toEqual(results.runs.map((run) => run.predictions));
    },
    CLI_TIMEOUT_MS,
  );
});

describe('experiment CLI on the built-in topics dataset', () => {
  it(
    'runs without --out and prints the table only',
    async () => {
      const run = await runCli([join(EXPERIMENTS, 'builtin-topics.json')]);
      expect(run.stderr).not.toMatch(/^error:/m);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('bare labels');
      expect(run.stdout).toContain('linear, cls pooling');
      expectNoStackTrace(run);
    },
    CLI_TIMEOUT_MS,
  );
});

describe('experiment CLI errors', () => {
  const invalid = (name: string) => join(EXPERIMENTS, 'invalid', name);
  const cases: { file: string; expected: () => (string | RegExp)[] }[] = [
    { file: 'unknown-field.json', expected: () => [/heads\[0\]\.epoch\b/, 'unknown-field.json'] },
    { file: 'bad-value.json', expected: () => [/split\.test\b/] },
    { file: 'unknown-label.json', expected: () => [/prompts\[0\]\.descriptions\.politics/] },
    { file: 'unsupported-layer.json', expected: () => [/heads\[0\]\.layer\b/] },
    { file: 'missing-dataset.json', expected: () => [join(EXPERIMENTS, 'invalid/no-such-file.csv')] },
    {
      file: 'missing-model.json',
      expected: () => [join(ROOT, 'models/Nobody/not-downloaded-model'), 'Nobody/not-downloaded-model'],
    },
  ];

  for (const { file, expected } of cases) {
    it(
      `${file}: one error line naming the problem, non-zero exit, no stack trace`,
      async () => {
        const run = await runCli([invalid(file)]);
        expect(run.code).not.toBe(0);
        const errorLines = run.stderr.split('\n').filter((line) => line.startsWith('error: '));
        expect(errorLines).toHaveLength(1);
        for (const pattern of expected()) {
          if (typeof pattern === 'string') expect(errorLines[0]).toContain(pattern);
          else expect(errorLines[0]).toMatch(pattern);
        }
        expectNoStackTrace(run);
      },
      CLI_TIMEOUT_MS,
    );
  }

  it(
    'reports a JSON syntax error with its line and column',
    async () => {
      const file = join(workDir, 'broken.json');
      await writeFile(
        file,
        '{\n  "version": 1,\n  "name": "missing comma"\n  "model": "fixtures/tiny-bert"\n}\n',
      );
      const run = await runCli([file]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/^error: .*broken\.json is not valid JSON \(line 4, column 3\)/m);
      expectNoStackTrace(run);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'names the experiment file it could not find, and prints usage for bad arguments',
    async () => {
      const missing = join(workDir, 'nowhere.json');
      const notFound = await runCli([missing]);
      expect(notFound.code).not.toBe(0);
      expect(notFound.stderr).toContain(`error: File not found: ${missing}`);
      expectNoStackTrace(notFound);

      const noArgs = await runCli([]);
      expect(noArgs.code).toBe(2);
      expect(noArgs.stderr).toMatch(/^error: give the experiment file/m);

      const help = await runCli(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(
        /^Usage: npm run experiment -- <experiment\.json> \[--out <results\.json>\]/,
      );
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'prints the stack trace only when DEBUG is set',
    async () => {
      const run = await runCli([invalid('missing-dataset.json')], { DEBUG: '1' });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/^\s+at /m);
    },
    CLI_TIMEOUT_MS,
  );
});
