/**
 * @file The browser and the terminal give the same numbers for the same experiment file. An experiment runs in
 * the app (ORT WASM and tfjs WASM, in workers); its exported experiment file is then run UNCHANGED by the real
 * command, `tsx src/cli/experiment.ts <file> --out <results>` (what `npm run experiment` runs, on
 * onnxruntime-node and tfjs cpu), and the two results are compared run by run: same split, same predicted label
 * for every test example, same metrics, and every score within {@link SCORE_TOLERANCE}. Twice: the default
 * experiment, and one imported from a file (binary data, a text template, an ensemble, a prompt naming its own
 * model, an MLP head on a few shots per class), which also shows that export writes back exactly what was
 * imported. The prompt with its own model runs on that model in the browser too: the app loads it in the model
 * worker, says so, and loads the experiment's model again.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseExperimentText } from '../../src/lib/core/experiment/schema.ts';
import type { Experiment, ExperimentResults } from '../../src/lib/core/experiment/types.ts';
import {
  downloadText,
  openTab,
  runAllPrompts,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { importExperimentFile, waitForLibrary } from './storage-driver.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_TIMEOUT_MS = 120_000;

/** The requirement: every score (cosine similarity or class probability) agrees within 1e-4. */
const SCORE_TOLERANCE = 1e-4;

/** A second BERT-like fixture encoder, for a prompt that names its own model. */
const OTHER_MODEL = 'fixtures/tiny-nli';

/** Spam vs ham on the fixture model, with every kind of setting the app edits. */
const IMPORTED: Experiment = {
  version: 1,
  name: 'Spam: parity check',
  model: 'fixtures/tiny-bert',
  dataset: { builtin: 'spam-assassin' },
  split: { test: 0.25, seed: 5 },
  prompts: [
    { name: 'bare labels', strategy: 'similarity', template: '{label}' },
    // Not last: the app runs it after the variations on the experiment's model, yet reports it in list order.
    {
      name: 'on another model',
      strategy: 'similarity',
      template: 'an email that is {label}',
      model: OTHER_MODEL,
    },
    {
      name: 'wrapped',
      strategy: 'similarity',
      template: 'an email that is {label}',
      textTemplate: 'email: {text}',
    },
    {
      name: 'described',
      strategy: 'similarity',
      descriptions: {
        spam: ['an unsolicited advertisement', 'a scam offering money'],
        ham: 'an ordinary personal or work email',
      },
    },
  ],
  heads: [
    {
      name: 'mlp, 10 per class',
      layer: -1,
      pooling: 'mean',
      hidden: 8,
      epochs: 30,
      learningRate: 0.005,
      seed: 3,
      batchSize: 8,
      shotsPerClass: 10,
    },
  ],
};

let session: BrowserSession;
let page: Page;
let workDir: string;

/** Largest absolute score difference between two runs' predictions, with where it occurs. */
function largestScoreGap(
  labels: readonly string[],
  a: ExperimentResults['runs'][number],
  b: ExperimentResults['runs'][number],
): { gap: number; where: string } {
  let worst = { gap: 0, where: 'nowhere' };
  a.predictions.forEach((prediction, k) => {
    for (const label of labels) {
      const gap = Math.abs(
        (prediction.scores[label] ?? Number.NaN) - (b.predictions[k]?.scores[label] ?? Number.NaN),
      );
      if (!(gap <= worst.gap)) worst = { gap, where: `${prediction.id} / ${label}` };
    }
  });
  return worst;
}

/** Runs every prompt variation and trains the head in the app, then downloads the experiment file and results. */
async function runInBrowser(): Promise<{
  experimentText: string;
  results: ExperimentResults;
  prompts: number;
}> {
  const { cards: promptCount } = await runAllPrompts(page);
  // Every card has its accuracy; the run is over once "Run all" is enabled again: nothing is busy and a model
  // is ready (after a prompt naming its own model, the experiment's model is loaded again by then).
  await page.getByTestId('prompts-run-all').and(page.locator(':enabled')).waitFor({ timeout: UI_TIMEOUT_MS });

  const finetune = await openTab(page, 'finetune');
  await finetune.getByTestId('head-train').click();
  await waitForHeadStatus(page, 'done');
  await finetune.getByTestId('run-accuracy').waitFor({ timeout: UI_TIMEOUT_MS });

  const compare = await openTab(page, 'compare');
  const experimentText = await downloadText(page, compare.getByTestId('export-experiment'));
  const results = JSON.parse(
    await downloadText(page, compare.getByTestId('export-results')),
  ) as ExperimentResults;
  return { experimentText, results, prompts: promptCount };
}

/** Runs the experiment file exactly as downloaded with the real command; returns what it wrote with --out. */
async function runInTerminal(experimentText: string, name: string): Promise<ExperimentResults> {
  // The CLI resolves "fixtures/tiny-bert" from the project, not from the file's folder.
  const experimentFile = path.join(workDir, `${name}.json`);
  const resultsFile = path.join(workDir, `${name}.results.json`);
  await writeFile(experimentFile, experimentText);
  const { stdout } = await run(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, 'src/cli/experiment.ts'), experimentFile, '--out', resultsFile],
    { cwd: root, timeout: CLI_TIMEOUT_MS },
  );
  expect(stdout).toContain('accuracy');
  return JSON.parse(await readFile(resultsFile, 'utf8')) as ExperimentResults;
}

/** Same split, runs, predicted labels and metrics; scores within the tolerance. Logs the largest gaps. */
function expectSameNumbers(browser: ExperimentResults, cli: ExperimentResults, runCount: number): void {
  expect(browser.labels).toEqual(cli.labels);
  expect(browser.split).toEqual(cli.split);
  expect(browser.runs.map((r) => [r.kind, r.name])).toEqual(cli.runs.map((r) => [r.kind, r.name]));
  expect(browser.runs).toHaveLength(runCount);
  const gaps: string[] = [];
  browser.runs.forEach((result, i) => {
    const other = cli.runs[i];
    if (!other) throw new Error(`The CLI has no run ${i} (${result.name}).`);
    expect(
      result.predictions.map((p) => [p.id, p.label]),
      result.name,
    ).toEqual(other.predictions.map((p) => [p.id, p.label]));
    expect(result.accuracy, result.name).toBe(other.accuracy);
    expect(result.macroF1, result.name).toBe(other.macroF1);
    expect(result.confusion, result.name).toEqual(other.confusion);
    expect(result.cost.labeledExamples, result.name).toBe(other.cost.labeledExamples);
    expect(result.cost.trainedParameters, result.name).toBe(other.cost.trainedParameters);
    const { gap, where } = largestScoreGap(browser.labels, result, other);
    gaps.push(`${result.name}: ${gap.toExponential(2)} at ${where}`);
    expect(gap, `${result.name}: largest score difference at ${where}`).toBeLessThanOrEqual(SCORE_TOLERANCE);
  });
  console.info(`${browser.name}: largest browser/CLI score difference per run:\n  ${gaps.join('\n  ')}`);
}

describe('browser and CLI parity', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-parity-'));
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('the default experiment: the exported file runs unchanged in the CLI with the same numbers', async () => {
    const modelPanel = await openTab(page, 'model');
    await startModelLoad(modelPanel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');

    const { experimentText, results, prompts } = await runInBrowser();
    expectSameNumbers(results, await runInTerminal(experimentText, 'default'), prompts + 1);
  });

  test('an imported experiment: exported back exactly as imported, and the same numbers in the CLI', async () => {
    await importExperimentFile(page, {
      name: 'spam-parity.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(IMPORTED)),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText(IMPORTED.name))
      .waitFor({ timeout: UI_TIMEOUT_MS });

    const { experimentText, results, prompts } = await runInBrowser();
    const notice = page.getByTestId('prompt-model-notice');
    await openTab(page, 'prompts');
    expect(await notice.textContent()).toBe(
      `Variation "on another model" ran on "${OTHER_MODEL}"; the experiment's model, ` +
        `"${IMPORTED.model}", is loaded again.`,
    );
    const modelPanel = await openTab(page, 'model');
    expect(await modelPanel.getByTestId('model-status').textContent()).toContain(`Ready: ${IMPORTED.model}`);
    expect(parseExperimentText(experimentText)).toEqual(IMPORTED);
    expect(prompts).toBe(IMPORTED.prompts.length);
    expect(results.labels).toEqual(['ham', 'spam']);
    expect(results.runs.find((r) => r.kind === 'head')?.cost.labeledExamples).toBe(20);
    expectSameNumbers(results, await runInTerminal(experimentText, 'imported'), prompts + 1);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
