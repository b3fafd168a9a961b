import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { parseHeadFileText } from '../../../src/lib/core/heads/head-file.ts';
import { ROOT, runPredict, runWithSavedHeads } from './run-cli.ts';

const CLI_TIMEOUT_MS = 180_000;
const EXPERIMENT = join(ROOT, 'tests/fixtures/experiments/keywords.json');

let workDir: string;
let headsDir: string;
let results: ExperimentResults;

beforeAll(async () => {
  ({ workDir, headsDir, results } = await runWithSavedHeads(EXPERIMENT, 'predict-cli-'));
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('npm run experiment -- --save-heads', () => {
  it('writes one valid head file per head, named after the head, with its backbone and scores', async () => {
    expect((await readdir(headsDir)).sort()).toEqual(['hidden-16-8-per-class.head.json', 'linear.head.json']);
    const file = parseHeadFileText(await readFile(join(headsDir, 'linear.head.json'), 'utf8'));
    const run = results.runs.find((candidate) => candidate.name === 'linear');
    expect(file).toMatchObject({
      name: 'linear',
      labels: results.labels,
      backbone: { model: 'fixtures/tiny-bert', dtype: 'fp32', dimension: 32 },
      features: { layer: -1, pooling: 'mean', unfreeze: 0 },
      scores: { accuracy: run?.accuracy, macroF1: run?.macroF1, testExamples: results.split.test.length },
    });
    expect(file.backbone.fileHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('npm run predict', () => {
  it(
    'predicts the test texts exactly as the experiment scored them (JSON, from a file column)',
    async () => {
      const texts = join(workDir, 'test.jsonl');
      await writeFile(
        texts,
        results.split.test.map((example) => JSON.stringify({ body: example.text })).join('\n'),
      );
      const run = await runPredict([
        join(headsDir, 'hidden-16-8-per-class.head.json'),
        '--file',
        texts,
        '--text-column',
        'body',
        '--json',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { text: string; label: string; scores: Record<string, number> });
      const expected =
        results.runs.find((candidate) => candidate.name === 'hidden 16, 8 per class')?.predictions ?? [];
      expect(lines).toHaveLength(expected.length);
      lines.forEach((line, index) => {
        expect(line.text).toBe(results.split.test[index]?.text);
        expect(line.label).toBe(expected[index]?.label);
        for (const label of results.labels) {
          expect(
            Math.abs((line.scores[label] as number) - (expected[index]?.scores[label] as number)),
          ).toBeLessThan(1e-6);
        }
      });
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'prints label, probability and the text for --text, one line each',
    async () => {
      const run = await runPredict([
        join(headsDir, 'linear.head.json'),
        '--text',
        'pizza dinner recipe',
        '-t',
        'rain\u001b[2J tomorrow',
      ]);
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^(food|sports|weather)\t[01]\.\d{4}\tpizza dinner recipe$/);
      expect(run.stdout).not.toContain('\u001b');
    },
    CLI_TIMEOUT_MS,
  );

  it.each([
    ['no head file', ['--text', 'x'], 2, /give the head file/],
    ['both --text and --file', ['h.json', '--text', 'x', '--file', 'a.csv'], 2, /either --text/],
    ['--file without a column', ['h.json', '--file', 'a.csv'], 2, /--text-column/],
    ['a bad dtype', ['h.json', '--text', 'x', '--dtype', 'int4'], 2, /--dtype must be one of/],
    ['a missing head file', ['nope.head.json', '--text', 'x'], 1, /File not found/],
    ['an experiment file as the head', [EXPERIMENT, '--text', 'x'], 1, /not a head file/],
  ])('refuses %s', async (_title, args, code, message) => {
    const run = await runPredict(args);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it(
    'refuses another dtype and another model file, and a missing column, naming what it needs',
    async () => {
      const head = join(headsDir, 'linear.head.json');
      const dtype = await runPredict([head, '--text', 'x', '--dtype', 'q8']);
      expect(dtype.code).toBe(1);
      expect(dtype.stderr).toMatch(/loaded as q8: load it as fp32/);
      const other = await runPredict([head, '--text', 'x', '--model', 'fixtures/tiny-gpt2']);
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/another model file/);
      const column = await runPredict([
        head,
        '--file',
        join(ROOT, 'tests/fixtures/datasets/topics-keywords.csv'),
        '--text-column',
        'body',
      ]);
      expect(column.code).toBe(1);
      expect(column.stderr).toMatch(/no column "body"; its columns are "text", "label"/);
    },
    CLI_TIMEOUT_MS,
  );
});
