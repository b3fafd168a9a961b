/**
 * @file Instruction prompts give the same numbers in the browser as in the terminal. An experiment with two
 * instruction variations on the tiny-gpt2 fixture (zero-shot; one shot per class, length-normalised and
 * calibrated) is imported into the app and run there (the language model in the model worker, ORT WASM); the
 * exported file is then run unchanged by the real command (onnxruntime-node), and the results compared: same
 * predictions, metrics, rendered prompt, shots, token and truncation counts, scores within 1e-4. The card also
 * shows the exact prompt for a chosen test example with its token count.
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
import { downloadText, openTab, startModelLoad, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { importExperimentFile, waitForLibrary } from './storage-driver.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 240_000;
const SCORE_TOLERANCE = 1e-4;

const VERBALIZERS = { food: ' food', sports: ' sports', weather: ' weather' };
const EXPERIMENT: Experiment = {
  version: 1,
  name: 'Topics: instruction parity',
  model: 'fixtures/tiny-bert',
  dataset: { builtin: 'topics' },
  split: { test: 0.3, seed: 42 },
  prompts: [
    {
      name: 'zero-shot',
      strategy: 'instruction',
      instruction: 'Topic of the text?',
      verbalizers: VERBALIZERS,
      model: 'fixtures/tiny-gpt2',
    },
    {
      name: 'one shot, calibrated',
      strategy: 'instruction',
      instruction: 'Topic of the text?',
      verbalizers: VERBALIZERS,
      shotsPerClass: 1,
      lengthNormalize: true,
      calibrate: true,
      model: 'fixtures/tiny-gpt2',
    },
  ],
  heads: [],
};

let session: BrowserSession;
let page: Page;
let workDir: string;

describe('instruction prompts: browser and CLI parity', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-instruction-'));
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('the same predictions, scores and recorded prompt in the app and the terminal', async () => {
    const modelPanel = await openTab(page, 'model');
    await startModelLoad(modelPanel);
    // The shared test machine can be slow to start the first WASM session: wait on the status, not the clock.
    await page
      .getByTestId('model-status')
      .and(page.locator('[data-status="ready"],[data-status="error"]'))
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    expect(await page.getByTestId('model-status').textContent()).toContain('Ready');
    await importExperimentFile(page, {
      name: 'instruction-parity.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(EXPERIMENT)),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText(EXPERIMENT.name))
      .waitFor({ timeout: UI_TIMEOUT_MS });

    const panel = await openTab(page, 'prompts');
    const cards = panel.getByTestId('instruction-card');
    expect(await cards.count()).toBe(2);

    // What the model sees for test example 2, before anything ran.
    const first = cards.nth(0);
    await first.getByTestId('instruction-preview-number').fill('2');
    await first.getByTestId('instruction-preview').click();
    const shown = first.getByTestId('instruction-preview-text');
    await shown.waitFor({ timeout: RUN_TIMEOUT_MS });
    expect(await shown.textContent()).toMatch(/^Topic of the text\?\n\nText: .+\nAnswer:$/s);
    expect(await first.getByTestId('instruction-preview-facts').textContent()).toMatch(
      /^\d+ tokens before the verbalizer\.$/,
    );

    await panel.getByTestId('prompts-run-all').click();
    await panel.getByTestId('run-accuracy').nth(1).waitFor({ timeout: RUN_TIMEOUT_MS });
    await panel
      .getByTestId('prompts-run-all')
      .and(page.locator(':enabled'))
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await cards.nth(1).getByTestId('instruction-run-facts').textContent()).toMatch(
      /calibrated.*3 shots/,
    );

    const compare = await openTab(page, 'compare');
    const experimentText = await downloadText(page, compare.getByTestId('export-experiment'));
    const browser = JSON.parse(
      await downloadText(page, compare.getByTestId('export-results')),
    ) as ExperimentResults;

    const experimentFile = path.join(workDir, 'instruction.json');
    const resultsFile = path.join(workDir, 'instruction.results.json');
    await writeFile(experimentFile, experimentText);
    await run(
      path.join(root, 'node_modules/.bin/tsx'),
      [path.join(root, 'src/cli/experiment.ts'), experimentFile, '--out', resultsFile],
      { cwd: root, timeout: CLI_TIMEOUT_MS },
    );
    const cli = JSON.parse(await readFile(resultsFile, 'utf8')) as ExperimentResults;

    expect(browser.split).toEqual(cli.split);
    expect(browser.runs.map((r) => r.name)).toEqual(['zero-shot', 'one shot, calibrated']);
    const gaps: string[] = [];
    browser.runs.forEach((result, i) => {
      const other = cli.runs[i];
      if (!other) throw new Error(`The CLI has no run ${i}.`);
      expect(
        result.predictions.map((p) => p.label),
        result.name,
      ).toEqual(other.predictions.map((p) => p.label));
      expect(result.accuracy, result.name).toBe(other.accuracy);
      expect(result.confusion, result.name).toEqual(other.confusion);
      for (const field of ['rendered', 'shots', 'tokens', 'truncated', 'scoring'] as const) {
        expect(result[field], `${result.name}: ${field}`).toEqual(other[field]);
      }
      expect(result.cost.labeledExamples).toBe(other.cost.labeledExamples);
      let gap = 0;
      result.predictions.forEach((prediction, k) => {
        for (const label of browser.labels) {
          gap = Math.max(
            gap,
            Math.abs((prediction.scores[label] ?? NaN) - (other.predictions[k]?.scores[label] ?? NaN)),
          );
        }
      });
      gaps.push(`${result.name}: ${gap.toExponential(2)}`);
      expect(gap, result.name).toBeLessThanOrEqual(SCORE_TOLERANCE);
    });
    console.info(`instruction parity, largest browser/CLI score difference per run: ${gaps.join('; ')}`);
    expect(browser.runs[0]?.accuracy).toBeGreaterThan(0.8);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
