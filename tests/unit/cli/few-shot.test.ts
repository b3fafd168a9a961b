/**
 * @file Few-shot prompts beat zero-shot by a designed margin: the experiment command runs
 * tests/fixtures/experiments/few-shot.json (the tiny-gpt2-induction fixture on code-words.csv, where each code word
 * stands for a colour by an arbitrary mapping). Zero-shot the model cannot know the mapping (every label scores
 * exactly 1/3); each shot "… zorp red" lets its induction head copy the label, so every test text whose code word
 * a shot shows is right, and the rest stay at chance. Shots come from the training split only.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults, RunResult } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

const EXPERIMENT = join(ROOT, 'tests/fixtures/experiments/few-shot.json');
const DATASET = join(ROOT, 'tests/fixtures/datasets/code-words.csv');
/** Loading transformers.js and the model takes a few seconds on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;
/** Designed: six shots per class beat zero-shot by at least this much (measured 0.741 vs 0.333). */
const FEW_SHOT_MARGIN = 0.3;

let workDir: string;
let run: CliRun;
let results: ExperimentResults;
/** Every row's text by id (`r1` is the first data row, as the dataset reader numbers them). */
let textOf: Map<string, string>;

const byName = (name: string): RunResult => {
  const found = results.runs.find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`no run "${name}"`);
  return found;
};
const codeWord = (id: string): string => textOf.get(id)?.split(' ').at(-1) ?? '';

/** Test predictions split by whether a shot of the run shows the text's code word. */
function byCoverage(runResult: RunResult): {
  covered: RunResult['predictions'];
  rest: RunResult['predictions'];
} {
  const shown = new Set((runResult.shots ?? []).map(codeWord));
  const covered = runResult.predictions.filter((prediction) => shown.has(codeWord(prediction.id)));
  return { covered, rest: runResult.predictions.filter((prediction) => !covered.includes(prediction)) };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'few-shot-cli-'));
  run = await runCli([EXPERIMENT, '--out', join(workDir, 'results.json')]);
  results = JSON.parse(await readFile(join(workDir, 'results.json'), 'utf8')) as ExperimentResults;
  const rows = Papa.parse<{ text: string }>(await readFile(DATASET, 'utf8'), {
    header: true,
    skipEmptyLines: true,
  });
  textOf = new Map(rows.data.map((row, index) => [`r${index + 1}`, row.text]));
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('experiment CLI: few-shot prompts on tiny-gpt2-induction', () => {
  it('exits 0 and numbers rows as this test reads them', () => {
    expect(run.code).toBe(0);
    for (const example of results.split.test) expect(textOf.get(example.id)).toBe(example.text);
  });

  it('is at chance zero-shot: every label scores exactly 1/3 (measured 0.333)', () => {
    const zero = byName('zero-shot');
    expect(zero.shots).toEqual([]);
    for (const prediction of zero.predictions) {
      for (const score of Object.values(prediction.scores)) expect(score).toBeCloseTo(1 / 3, 6);
    }
  });

  it(`beats zero-shot by at least ${FEW_SHOT_MARGIN} with six shots per class, more shots never worse`, () => {
    const accuracies = [
      'zero-shot',
      'one shot per class',
      'three shots per class',
      'six shots per class',
    ].map((name) => byName(name).accuracy);
    expect(accuracies.map((accuracy) => Number(accuracy.toFixed(3)))).toEqual([0.333, 0.519, 0.667, 0.741]);
    for (let k = 1; k < accuracies.length; k++) {
      expect(accuracies[k]).toBeGreaterThan((accuracies[k - 1] as number) - 1e-9);
    }
    expect((accuracies[3] as number) - (accuracies[0] as number)).toBeGreaterThanOrEqual(FEW_SHOT_MARGIN);
  });

  it('gets every text whose code word a shot shows right, with probability above 0.999', () => {
    for (const name of ['one shot per class', 'three shots per class', 'six shots per class']) {
      const { covered } = byCoverage(byName(name));
      expect(covered.length, name).toBeGreaterThan(0);
      for (const prediction of covered) {
        const truth = results.split.test.find((example) => example.id === prediction.id)?.label;
        expect(prediction.label, `${name}: ${prediction.id}`).toBe(truth);
        expect(prediction.scores[prediction.label]).toBeGreaterThan(0.999);
      }
    }
  });

  it('draws the shots from the training split only, shotsPerClass per label, in the rendered prompt', () => {
    const testIds = new Set(results.split.test.map((example) => example.id));
    for (const [name, perClass] of [
      ['one shot per class', 1],
      ['three shots per class', 3],
      ['six shots per class', 6],
    ] as const) {
      const few = byName(name);
      expect(few.shots).toHaveLength(3 * perClass);
      expect(few.cost.labeledExamples).toBe(3 * perClass);
      for (const id of few.shots ?? []) {
        expect(testIds.has(id), `${name}: shot ${id} is a test example`).toBe(false);
        expect(few.rendered).toContain(`Text: ${textOf.get(id) ?? '?'} `);
      }
    }
    expect(byName('one shot per class').rendered).toMatch(
      /^Each code word stands for a colour\.\n\n(Text: [A-Za-z ]+ (red|green|blue)\n\n){3}Text: [A-Za-z ]+$/,
    );
  });

  it('stays at chance when the token before the verbalizer is the same in every shot ("Answer:")', () => {
    const run = byName('six shots per class, default template');
    expect(run.shots).toEqual(byName('six shots per class').shots);
    expect(run.accuracy).toBeLessThan(0.4);
    expect(
      Math.max(...run.predictions.flatMap((prediction) => Object.values(prediction.scores))),
    ).toBeLessThan(0.34);
  });
});
