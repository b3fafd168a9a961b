/**
 * @file An NLI variation edited and run in the browser gives the terminal's numbers. An experiment with one NLI
 * prompt on its own model (fixtures/tiny-nli) is imported; its card's hypothesis and calibration are edited, a
 * new variation is switched to NLI and pointed at the model through its card; "Run all" runs them (the model
 * worker loads tiny-nli in place of tiny-bert, then tiny-bert again). The exported experiment and results are
 * compared with `tsx src/cli/experiment.ts` on that file: same predictions, every score within
 * {@link SCORE_TOLERANCE}, and the same record of what ran. "What the model sees" shows the NLI variation's
 * premise/hypothesis pair per label, each counted as the one input the classifier receives.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseExperimentText } from '../../src/lib/core/experiment/schema.ts';
import type { Experiment, ExperimentResults } from '../../src/lib/core/experiment/types.ts';
import { setInput, startModelLoad } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { importExperimentFile, waitForLibrary } from './storage-driver.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_TIMEOUT_MS = 120_000;
/** ORT WASM in Chromium and onnxruntime-node on the same fp32 fixture: NLI probabilities agree this closely. */
const SCORE_TOLERANCE = 1e-6;
/** Cosine similarities, as in cli-parity.test.ts. */
const SIMILARITY_TOLERANCE = 1e-4;
const NLI_MODEL = 'fixtures/tiny-nli';
/** The shared machine (9 agents on 2 cores) can stall a click for longer than app-driver's UI_TIMEOUT_MS. */
const SLOW_UI_TIMEOUT_MS = 60_000;

/** Clicks a tab and returns its (now visible) panel, allowing for a busy machine. */
async function openTab(page: Page, id: string): Promise<Locator> {
  await page.getByTestId(`tab-${id}`).click({ timeout: SLOW_UI_TIMEOUT_MS });
  const panel = page.getByTestId(`panel-${id}`);
  await panel.waitFor({ state: 'visible', timeout: SLOW_UI_TIMEOUT_MS });
  return panel;
}

/** Clicks a button that downloads a file and returns the file's text, allowing for a busy machine. */
async function downloadText(page: Page, button: Locator): Promise<string> {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: SLOW_UI_TIMEOUT_MS }),
    button.click({ timeout: SLOW_UI_TIMEOUT_MS }),
  ]);
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Loading under heavy load (9 agents on 2 cores). */
const SLOW_LOAD_TIMEOUT_MS = 150_000;

const IMPORTED: Experiment = {
  version: 1,
  name: 'Topics: NLI in the browser',
  model: 'fixtures/tiny-bert',
  dataset: { builtin: 'topics' },
  split: { test: 0.3, seed: 7 },
  prompts: [
    { name: 'similarity', strategy: 'similarity', template: 'This text is about {label}.' },
    { name: 'entailment', strategy: 'nli', hypothesis: 'This is about {label}.', model: NLI_MODEL },
  ],
  heads: [{ name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.05, seed: 1 }],
};

let session: BrowserSession;
let page: Page;
let workDir: string;

describe('an NLI variation in the browser', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-nli-'));
    await withTimeout(page.goto(inject('baseUrl')), SLOW_UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test(
    'is edited on its card, runs on its own model, and gives the CLI’s numbers',
    { timeout: 480_000 },
    async () => {
      await startModelLoad(await openTab(page, 'model'));
      // The shared 2-core machine can take minutes to compile ORT's WASM: wait longer than LOAD_TIMEOUT_MS.
      await page
        .getByTestId('model-status')
        .and(page.locator('[data-status="ready"],[data-status="error"]'))
        .waitFor({ timeout: SLOW_LOAD_TIMEOUT_MS });
      expect(await page.getByTestId('model-status').getAttribute('data-status')).toBe('ready');
      await importExperimentFile(page, {
        name: 'nli.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(IMPORTED)),
      });
      await page
        .getByTestId('current-experiment-name')
        .and(page.getByText(IMPORTED.name))
        .waitFor({ timeout: SLOW_UI_TIMEOUT_MS });

      const panel = await openTab(page, 'prompts');
      const imported = panel.locator('[data-testid="prompt-card"][data-name="entailment"]');
      expect(await imported.getByTestId('prompt-mode-nli').isChecked()).toBe(true);
      expect(await imported.getByTestId('prompt-model').inputValue()).toBe(NLI_MODEL);
      await setInput(imported.getByTestId('prompt-hypothesis'), 'This text is about {label}.');
      await imported.getByTestId('prompt-calibrate').check();

      await panel.getByTestId('prompt-add').click();
      const added = panel.getByTestId('prompt-card').nth(2);
      const addedName = (await added.getAttribute('data-name')) ?? '';
      await added.getByTestId('prompt-mode-nli').check();
      await added.getByTestId('prompt-hypothesis').waitFor({ timeout: SLOW_UI_TIMEOUT_MS });
      await setInput(added.getByTestId('prompt-hypothesis'), 'A sentence about {label}.');
      await setInput(added.getByTestId('prompt-model'), NLI_MODEL);

      await panel.getByTestId('prompts-run-all').click();
      await panel.getByTestId('run-accuracy').nth(2).waitFor({ timeout: SLOW_LOAD_TIMEOUT_MS });
      await panel
        .getByTestId('prompts-run-all')
        .and(page.locator(':enabled'))
        .waitFor({ timeout: SLOW_LOAD_TIMEOUT_MS });
      expect(await panel.getByTestId('prompt-error').count()).toBe(0);
      expect(await panel.getByTestId('run-accuracy').count()).toBe(3);

      const compare = await openTab(page, 'compare');
      const experimentText = await downloadText(page, compare.getByTestId('export-experiment'));
      const browser = JSON.parse(
        await downloadText(page, compare.getByTestId('export-results')),
      ) as ExperimentResults;
      const exported = parseExperimentText(experimentText);
      expect(exported.prompts).toEqual([
        IMPORTED.prompts[0],
        {
          name: 'entailment',
          strategy: 'nli',
          hypothesis: 'This text is about {label}.',
          model: NLI_MODEL,
          calibrate: true,
        },
        { name: addedName, strategy: 'nli', hypothesis: 'A sentence about {label}.', model: NLI_MODEL },
      ]);

      // The head was never trained in the browser: run the prompts only in the terminal.
      const experimentFile = path.join(workDir, 'nli.json');
      const resultsFile = path.join(workDir, 'nli.results.json');
      await writeFile(experimentFile, JSON.stringify({ ...exported, heads: [] }));
      await run(
        path.join(root, 'node_modules/.bin/tsx'),
        [path.join(root, 'src/cli/experiment.ts'), experimentFile, '--out', resultsFile],
        { cwd: root, timeout: CLI_TIMEOUT_MS },
      );
      const cli = JSON.parse(await readFile(resultsFile, 'utf8')) as ExperimentResults;

      expect(browser.split).toEqual(cli.split);
      expect(browser.runs.map((r) => r.name)).toEqual(cli.runs.map((r) => r.name));
      const gaps: string[] = [];
      browser.runs.forEach((result, index) => {
        const other = cli.runs[index];
        if (!other) throw new Error(`The CLI has no run ${result.name}.`);
        expect(
          result.predictions.map((p) => p.label),
          result.name,
        ).toEqual(other.predictions.map((p) => p.label));
        expect(result.accuracy, result.name).toBe(other.accuracy);
        for (const field of ['rendered', 'shots', 'tokens', 'truncated', 'calibrated'] as const) {
          expect(result[field], `${result.name}.${field}`).toEqual(other[field]);
        }
        let gap = 0;
        result.predictions.forEach((prediction, k) => {
          for (const label of browser.labels) {
            const difference = Math.abs(
              (prediction.scores[label] ?? NaN) - (other.predictions[k]?.scores[label] ?? NaN),
            );
            if (!(difference <= gap)) gap = difference;
          }
        });
        gaps.push(`${result.name}: ${gap.toExponential(2)}`);
        const tolerance = result.name === 'similarity' ? SIMILARITY_TOLERANCE : SCORE_TOLERANCE;
        expect(gap, `${result.name}: largest score difference`).toBeLessThanOrEqual(tolerance);
      });
      console.info(`NLI browser/CLI largest score difference per run:\n  ${gaps.join('\n  ')}`);
      expect(browser.runs[1]).toMatchObject({
        calibrated: true,
        shots: [],
        rendered: { hypotheses: expect.any(Array) },
      });

      await openTab(page, 'prompts');
      expect(
        await panel.getByTestId('prompt-model-notice').textContent({ timeout: SLOW_UI_TIMEOUT_MS }),
      ).toContain(NLI_MODEL);

      // What the model sees: per label, the text as premise paired with the hypothesis, counted as one input.
      // The similarity variation's template is the same sentence, so each pair is [CLS] text [SEP] + sentence
      // [SEP]: the text's count plus the sentence's, less the one [CLS] a pair does not repeat.
      const view = panel.getByTestId('model-input-section');
      const pieces = view.getByTestId('model-input-piece');
      const counts = () =>
        pieces.evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-tokens'))));
      await view.getByTestId('model-input-variation').selectOption({ label: 'similarity' });
      await pieces.first().and(page.locator('[data-tokens]')).waitFor({ timeout: SLOW_UI_TIMEOUT_MS });
      const [inputTokens = 0, ...labelTokens] = await counts();
      expect(labelTokens).toHaveLength(browser.labels.length);
      await view.getByTestId('model-input-variation').selectOption({ label: 'entailment' });
      await expect
        .poll(counts, { timeout: SLOW_UI_TIMEOUT_MS })
        .toEqual(labelTokens.map((tokens) => inputTokens + tokens - 1));
      const hypotheses = await pieces.getByTestId('model-input-pair').allTextContents();
      expect(hypotheses.map((text) => text.replace('Joined after it, as one input:', '').trim())).toEqual(
        browser.labels.map((label) => `This text is about ${label}.`),
      );
      const first = browser.split.test[0]?.text;
      expect(await pieces.getByTestId('model-input-text').allTextContents()).toEqual(
        browser.labels.map(() => first),
      );
      expect(await pieces.evaluateAll((items) => items.map((item) => item.dataset.truncated))).toEqual(
        browser.labels.map(() => 'false'),
      );
    },
  );

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
