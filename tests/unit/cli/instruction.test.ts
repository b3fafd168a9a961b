/**
 * @file The experiment command runs instruction prompts on the tiny-gpt2 fixture
 * (tests/fixtures/experiments/instruction.json): well above chance zero-shot, what each run fed the model
 * (rendered prompt, shots from the training split, tokens, truncation, scoring), and contextual calibration
 * repairing a designed bias (an instruction full of food words) by a known margin.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults, RunResult } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

const EXPERIMENT = join(ROOT, 'tests/fixtures/experiments/instruction.json');
/** Loading transformers.js and the model takes a few seconds on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;

let workDir: string;
let run: CliRun;
let results: ExperimentResults;
const byName = (name: string): RunResult => {
  const found = results.runs.find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`no run "${name}"`);
  return found;
};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'instruction-cli-'));
  run = await runCli([EXPERIMENT, '--out', join(workDir, 'results.json')]);
  results = JSON.parse(await readFile(join(workDir, 'results.json'), 'utf8')) as ExperimentResults;
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('experiment CLI: instruction prompts on tiny-gpt2', () => {
  it('exits 0 and loads the language model once for every prompt', () => {
    expect(run.code).toBe(0);
    expect(run.stderr.match(/Loaded language model/g)).toHaveLength(1);
    expect(run.stdout).toMatch(/zero-shot\s+prompt\s+0\.\d{3}/);
  });

  it('scores zero-shot well above chance (measured 0.815 on 27 test texts)', () => {
    expect(byName('zero-shot').accuracy).toBeGreaterThan(0.7);
  });

  it('records the exact prompt of the first test example, the shots by id, tokens and the scoring', () => {
    const testIds = new Set(results.split.test.map((example) => example.id));
    const zero = byName('zero-shot');
    const first = results.split.test[0]?.text ?? '';
    expect(zero.rendered).toBe(`Classify the topic of the text.\n\nText: ${first}\nAnswer:`);
    expect(zero.shots).toEqual([]);
    expect(zero.cost).toMatchObject({ labeledExamples: 0, trainedParameters: 0 });
    expect(zero.truncated).toBe(0);
    expect(zero.scoring).toMatch(/^sum of verbalizer token log-probabilities/);
    const few = byName('one shot per class');
    expect(few.shots).toHaveLength(3);
    for (const id of few.shots ?? []) expect(testIds.has(id)).toBe(false);
    expect(few.cost.labeledExamples).toBe(3);
    expect(few.rendered).toMatch(
      /^Classify the topic of the text\.\n\n(Text: .+\nAnswer: (food|sports|weather)\n\n){3}Text: /,
    );
    expect(few.tokens).toBeGreaterThan(zero.tokens ?? Infinity);
    expect(byName('topic template, one shot, length-normalised').scoring).toMatch(/^mean verbalizer token/);
  });

  it('calibration repairs the bias of a food-heavy instruction (measured 0.333 → 0.593)', () => {
    const biased = byName('food-heavy instruction');
    expect(biased.predictions.every((prediction) => prediction.label === 'food')).toBe(true);
    const calibrated = byName('food-heavy instruction, calibrated');
    expect(calibrated.scoring).toMatch(/calibrated on "N\/A", ""/);
    expect(calibrated.accuracy - biased.accuracy).toBeGreaterThan(0.2);
  });

  it(
    'refuses a prompt that leaves no room for the text, naming the field and exiting 1 before writing',
    async () => {
      const experiment = JSON.parse(await readFile(EXPERIMENT, 'utf8')) as {
        prompts: Record<string, unknown>[];
      };
      const bad = { ...experiment, prompts: [{ ...experiment.prompts[0], shotsPerClass: 4 }] };
      const file = join(workDir, 'too-long.json');
      await writeFile(
        file,
        JSON.stringify({
          ...bad,
          dataset: {
            path: join(ROOT, 'tests/fixtures/datasets/topics-keywords.csv'),
            text: 'text',
            label: 'label',
          },
        }),
      );
      const failed = await runCli([file, '--out', join(workDir, 'never.json')]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/error: prompts\[0\]: .*takes 128: leave room for the text/);
      await expect(readFile(join(workDir, 'never.json'))).rejects.toThrow();
    },
    CLI_TIMEOUT_MS,
  );
});
