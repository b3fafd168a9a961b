/**
 * @file Unfrozen layers train in the browser and give the terminal's numbers. An experiment whose head trains the
 * top two tiny-bert layers with itself is imported into the app; before training, the fine-tune lab draws those
 * layers as trained and shows the memory of the cached token states for the head's tokens-per-text cap. It is
 * trained in the head worker (token states from the model worker, the layers rebuilt from the model's ONNX file),
 * its exported experiment file is run UNCHANGED by `tsx src/cli/experiment.ts` (onnxruntime-node, tfjs WASM for
 * the layers), and the two head runs agree: same predicted labels, metrics and trained parameters, every class
 * probability within {@link SCORE_TOLERANCE}. The head is then exported as a head file holding its two layers,
 * labels texts with `tsx src/cli/predict.ts`, is imported back, and labels them in the browser with the same scores.
 * Cancel stops such a training, and the next one runs to the end.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Experiment, ExperimentResults } from '../../src/lib/core/experiment/types.ts';
import { formatBytes } from '../../src/lib/core/experiment/unfreeze-run.ts';
import { parseHeadFileText } from '../../src/lib/core/heads/head-file.ts';
import {
  downloadText,
  openTab,
  setInput,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { importExperimentFile, waitForLibrary } from './storage-driver.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_TIMEOUT_MS = 180_000;

/** The requirement: every class probability agrees within 1e-4. */
const SCORE_TOLERANCE = 1e-4;

/** tiny-bert: 4 layers of width 32, 8,544 parameters each (tests/unit/ml/unfreeze-train.test.ts). */
const WIDTH = 32;
const LAYER_PARAMETERS = 8_544;
const TOKEN_CAP = 24;
/** spam-assassin's texts, train and test. */
const TEXTS = 600;
/** Texts the exported head labels in the terminal and in the browser. */
const NEW_TEXTS = [
  'Congratulations! You have won a free cruise, click here to claim your prize now.',
  'Hi Tom, the meeting moved to Thursday at 10, see you there.',
  'Re: patch for the build script attached, please review before the release.',
];

/** Spam vs ham, a linear head on the mean of the last layer, trained with the two layers under it. */
const EXPERIMENT: Experiment = {
  version: 1,
  name: 'Spam: two unfrozen layers',
  model: 'fixtures/tiny-bert',
  dataset: { builtin: 'spam-assassin' },
  split: { test: 0.25, seed: 5 },
  prompts: [],
  heads: [
    {
      name: 'top two layers, 10 per class',
      layer: -1,
      pooling: 'mean',
      hidden: 0,
      epochs: 12,
      learningRate: 0.01,
      seed: 3,
      batchSize: 8,
      shotsPerClass: 10,
      unfreeze: 2,
      maxTokens: TOKEN_CAP,
      layerLearningRate: 0.002,
    },
  ],
};

let session: BrowserSession;
let page: Page;
let workDir: string;

/** Runs the experiment file exactly as downloaded with the real command; returns what it wrote with --out. */
async function runInTerminal(experimentText: string): Promise<ExperimentResults> {
  const experimentFile = path.join(workDir, 'unfreeze.json');
  const resultsFile = path.join(workDir, 'unfreeze.results.json');
  await writeFile(experimentFile, experimentText);
  const { stdout } = await run(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, 'src/cli/experiment.ts'), experimentFile, '--out', resultsFile],
    { cwd: root, timeout: CLI_TIMEOUT_MS },
  );
  expect(stdout).toContain('accuracy');
  return JSON.parse(await readFile(resultsFile, 'utf8')) as ExperimentResults;
}

describe('unfrozen layers: browser and CLI parity', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-unfreeze-'));
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
    const modelPanel = await openTab(page, 'model');
    await startModelLoad(modelPanel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await importExperimentFile(page, {
      name: 'unfreeze-parity.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(EXPERIMENT)),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText(EXPERIMENT.name))
      .waitFor({ timeout: UI_TIMEOUT_MS });
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('before training: the two layers under the features are drawn as trained, with the memory of their inputs', async () => {
    const finetune = await openTab(page, 'finetune');
    const roles = await finetune
      .locator('[data-testid^="stack-layer-"]')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-role')));
    // Top first: layers 4 and 3 are trained, 2 and 1 stay frozen.
    expect(roles).toEqual(['trained', 'trained', 'frozen', 'frozen']);
    expect(await finetune.getByTestId('head-max-tokens').inputValue()).toBe(String(TOKEN_CAP));
    // At most every text's capped tokens (train and test: both are cached), float32; it follows the cap.
    const memory = finetune.getByTestId('stack-memory');
    const shown = (cap: number) => `up to ${formatBytes(TEXTS * cap * WIDTH * 4)} of cached token states`;
    expect(await memory.textContent()).toContain(shown(TOKEN_CAP));
    await setInput(finetune.getByTestId('head-max-tokens'), String(TOKEN_CAP * 2));
    await expect.poll(() => memory.textContent(), { timeout: UI_TIMEOUT_MS }).toContain(shown(TOKEN_CAP * 2));
    await setInput(finetune.getByTestId('head-max-tokens'), String(TOKEN_CAP));
    await expect.poll(() => memory.textContent(), { timeout: UI_TIMEOUT_MS }).toContain(shown(TOKEN_CAP));
  });

  test('the head and its two layers train in the browser with the terminal’s numbers', async () => {
    const finetune = await openTab(page, 'finetune');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');
    await finetune.getByTestId('run-accuracy').waitFor({ timeout: UI_TIMEOUT_MS });
    // The head file holds the two trained layers with the head.
    const note = finetune.getByTestId('head-export-unfrozen');
    await note.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await note.textContent()).toContain('2 trained layers');

    const compare = await openTab(page, 'compare');
    const experimentText = await downloadText(page, compare.getByTestId('export-experiment'));
    const browser = JSON.parse(
      await downloadText(page, compare.getByTestId('export-results')),
    ) as ExperimentResults;
    const cli = await runInTerminal(experimentText);

    expect(browser.split).toEqual(cli.split);
    const [ours, theirs] = [browser, cli].map((results) => results.runs.find((r) => r.kind === 'head'));
    if (!ours || !theirs) throw new Error('A head run is missing from the browser or the CLI results.');
    expect(ours.cost.trainedParameters).toBe(2 * LAYER_PARAMETERS + WIDTH * 2 + 2);
    expect(ours.cost.trainedParameters).toBe(theirs.cost.trainedParameters);
    expect(ours.cost.labeledExamples).toBe(20);
    expect(ours.predictions.map((p) => [p.id, p.label])).toEqual(
      theirs.predictions.map((p) => [p.id, p.label]),
    );
    expect(ours.accuracy).toBe(theirs.accuracy);
    expect(ours.macroF1).toBe(theirs.macroF1);
    let gap = 0;
    ours.predictions.forEach((prediction, k) => {
      for (const label of browser.labels) {
        const other = theirs.predictions[k]?.scores[label] ?? Number.NaN;
        gap = Math.max(gap, Math.abs((prediction.scores[label] ?? Number.NaN) - other));
      }
    });
    console.info(
      `unfreeze 2 on tiny-bert: largest browser/CLI probability difference ${gap.toExponential(2)}`,
    );
    expect(gap).toBeLessThanOrEqual(SCORE_TOLERANCE);
  });

  test('its head file, with both layers, labels texts in the terminal and the browser alike', async () => {
    const finetune = await openTab(page, 'finetune');
    const text = await downloadText(page, finetune.getByTestId('head-export'));
    const file = parseHeadFileText(text);
    expect(file.features.unfreeze).toBe(2);
    expect(file.layers?.map((layer) => layer.layer)).toEqual([2, 3]);
    const headFile = path.join(workDir, 'unfrozen.head.json');
    await writeFile(headFile, text);
    const { stdout } = await run(
      path.join(root, 'node_modules/.bin/tsx'),
      [path.join(root, 'src/cli/predict.ts'), headFile, '--json', ...NEW_TEXTS.flatMap((t) => ['--text', t])],
      { cwd: root, timeout: CLI_TIMEOUT_MS },
    );
    const cli = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { label: string; scores: Record<string, number> });
    expect(cli).toHaveLength(NEW_TEXTS.length);

    await finetune.getByTestId('head-import').setInputFiles(headFile);
    const imported = finetune.getByTestId('head-imported');
    await imported.waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await imported.textContent()).toContain('with 2 trained layers');
    await finetune.getByTestId('head-try-texts').fill(NEW_TEXTS.join('\n'));
    await finetune.getByTestId('head-try').click();
    const rows = finetune.getByTestId('head-try-results').locator('tbody tr');
    await rows.nth(NEW_TEXTS.length - 1).waitFor({ timeout: UI_TIMEOUT_MS });
    let gap = 0;
    for (let index = 0; index < NEW_TEXTS.length; index++) {
      const row = rows.nth(index);
      expect(await row.locator('td').nth(1).textContent()).toBe(cli[index]?.label);
      for (const label of file.labels) {
        const score = Number(await row.locator(`td[data-label="${label}"]`).getAttribute('data-score'));
        gap = Math.max(gap, Math.abs(score - (cli[index]?.scores[label] ?? Number.NaN)));
      }
    }
    console.info(
      `head file with 2 unfrozen layers: largest browser/CLI score difference ${gap.toExponential(2)}`,
    );
    expect(gap).toBeLessThanOrEqual(SCORE_TOLERANCE);
  });

  test('cancel stops a training with unfrozen layers; the next one runs to the end', async () => {
    const finetune = await openTab(page, 'finetune');
    // The most epochs a head takes: far longer than the cancel needs.
    await setInput(finetune.getByTestId('head-epochs'), '1000');
    await expect.poll(() => finetune.getByTestId('head-epochs').inputValue()).toBe('1000');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'training');
    await page.getByTestId('loss-chart').and(page.locator(':not([data-points="0"])')).waitFor({
      timeout: UI_TIMEOUT_MS,
    });
    await finetune.getByTestId('head-cancel').click();
    await waitForHeadStatus(page, 'cancelled');

    await setInput(finetune.getByTestId('head-epochs'), '3');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
