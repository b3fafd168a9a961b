/**
 * @file `npm run experiment` on NLI prompts (tests/fixtures/experiments/nli.json): each prompt runs on its own
 * model, the results say what ran, the reordered fixture agrees with tiny-nli, calibration repairs the biased
 * fixture; and an NLI prompt on a model that is not an NLI classifier fails naming the field.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults, RunResult } from '../../../src/lib/core/experiment/types.ts';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

const EXPERIMENT = join(ROOT, 'tests/fixtures/experiments/nli.json');
/** Four fixture models load in turn on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;

let workDir: string;
let cli: CliRun;
let results: ExperimentResults;

function run(name: string): RunResult {
  const found = results.runs.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no run named ${name}`);
  return found;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'nli-cli-'));
  cli = await runCli([EXPERIMENT, '--out', join(workDir, 'results.json')]);
  results = JSON.parse(await readFile(join(workDir, 'results.json'), 'utf8')) as ExperimentResults;
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('experiment CLI with NLI prompts', () => {
  it('loads each prompt’s own model and prints every run', () => {
    expect(cli.stderr).not.toMatch(/^error:/m);
    expect(cli.code).toBe(0);
    for (const model of ['tiny-bert', 'tiny-nli', 'tiny-nli-reordered', 'tiny-nli-biased']) {
      expect(cli.stderr).toContain(`Loaded ${join(ROOT, 'tests/fixtures/models', model)} (cpu, fp32)`);
    }
    for (const entry of results.runs) expect(cli.stdout).toContain(entry.name);
    expect(results.split.test).toHaveLength(45);
  });

  it('records exactly what each prompt ran', () => {
    const nli = run('nli');
    const first = results.split.test[0]?.text;
    expect(nli.rendered).toEqual({
      premise: first,
      hypotheses: ['This text is about food.', 'This text is about sports.', 'This text is about weather.'],
    });
    expect(run('similarity').rendered).toBe(first);
    for (const entry of results.runs) {
      expect(entry.kind).toBe('prompt');
      expect(entry.shots).toEqual([]);
      expect(entry.cost.labeledExamples).toBe(0);
      expect(entry.cost.trainedParameters).toBe(0);
      expect(entry.tokens).toBeGreaterThan(0);
      expect(entry.truncated).toBe(0);
      expect(entry.calibrated).toBe(entry.name.includes('calibrated'));
    }
    // 45 texts × 3 hypotheses, each pair at least [CLS] + a word + [SEP] + 6 hypothesis tokens + [SEP].
    expect(nli.tokens).toBeGreaterThan(45 * 3 * 9);
  });

  it('gives the designed outcomes: index from id2label, bias repaired by calibration', () => {
    expect(run('nli').accuracy).toBeCloseTo(40 / 45, 10);
    expect(run('nli, reordered labels').predictions).toEqual(run('nli').predictions);
    expect(run('nli, calibrated').accuracy).toBe(run('nli').accuracy);
    expect(run('nli, biased model').accuracy).toBeCloseTo(1 / 3, 10);
    expect(run('nli, biased model, calibrated').accuracy).toBe(run('nli').accuracy);
    expect(run('similarity, calibrated').accuracy).toBeGreaterThanOrEqual(run('similarity').accuracy - 0.05);
  });

  it('fails naming the field when an NLI prompt runs on a model that is not an NLI classifier', async () => {
    const experiment = JSON.parse(await readFile(EXPERIMENT, 'utf8')) as {
      dataset: { path: string };
      prompts: Record<string, unknown>[];
    };
    experiment.dataset.path = join(ROOT, 'tests/fixtures/datasets/topics-keywords.csv');
    experiment.prompts = [{ name: 'nli on an encoder', strategy: 'nli', hypothesis: 'About {label}.' }];
    const file = join(workDir, 'nli-on-bert.json');
    await writeFile(file, JSON.stringify(experiment));
    const failed = await runCli([file]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/error: model: .*tiny-bert is not a sequence classifier/);
    expect(failed.stderr).not.toMatch(/^\s+at /m);
  });
});
