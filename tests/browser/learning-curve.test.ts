/**
 * @file The learning curve in the app, on its designed fixture: the crossover experiment
 * (tests/fixtures/experiments/crossover.json) imported with its rows inline, the prompt run, then the curve from
 * the Compare tab: it can be cancelled, and a full run names the crossover the fixture is built for (2 examples
 * per class, against a prompt at exactly 2/3) on the chart, in words, in the table and in the exported results.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Experiment, ExperimentResults } from '../../src/lib/core/experiment/types.ts';
import {
  downloadText,
  openTab,
  runAllPrompts,
  setInput,
  startModelLoad,
  TRAIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { importExperimentFile, waitForLibrary } from './storage-driver.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let session: BrowserSession;
let page: Page;

/**
 * Head settings for the curve that gets cancelled: 1,000 one-example epochs on the widest hidden layer (the
 * settings' maxima), so its 15 trainings take tens of seconds and the cancel lands inside the curve however busy
 * the machine. With the fixture's own head the whole curve takes about 1 s, close to the time a click takes under
 * load.
 */
const SLOW_HEAD = { 'head-epochs': '1000', 'head-batch-size': '1', 'head-hidden': '4096' };
/** The fixture's head (crossover.json), which the full curve below is designed for. */
const FIXTURE_HEAD = { 'head-epochs': '10', 'head-batch-size': '4', 'head-hidden': '0' };

/** Sets the edited head's fields in the fine-tune tab (the curve trains that head). */
async function setHead(fields: Record<string, string>): Promise<void> {
  const panel = await openTab(page, 'finetune');
  for (const [testId, value] of Object.entries(fields)) await setInput(panel.getByTestId(testId), value);
}

/** The crossover experiment with its CSV carried inline (a browser cannot open a dataset by path). */
async function crossoverExperiment(): Promise<Experiment> {
  const fixtures = path.join(root, 'tests/fixtures');
  const experiment = JSON.parse(
    await readFile(path.join(fixtures, 'experiments/crossover.json'), 'utf8'),
  ) as Experiment;
  const csv = await readFile(path.join(fixtures, 'datasets/crossover-keywords.csv'), 'utf8');
  // Every row is `"text",label` (the generator quotes each text, none holds a quote).
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const match = /^"([^"]*)",(\w+)$/.exec(line);
      if (!match) throw new Error(`unexpected fixture row: ${line}`);
      return { text: match[1] ?? '', label: match[2] ?? '' };
    });
  return { ...experiment, dataset: { name: 'crossover-keywords.csv', rows, text: 'text', label: 'label' } };
}

describe('learning curve in the app', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
    const experiment = await crossoverExperiment();
    await importExperimentFile(page, {
      name: 'crossover.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(experiment)),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText(experiment.name))
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await startModelLoad(await openTab(page, 'model'));
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await runAllPrompts(page);
  });

  afterAll(async () => {
    await session?.close();
  });

  test('a curve in progress can be cancelled, leaving no curve and no error', async () => {
    await setHead(SLOW_HEAD);
    try {
      const compare = await openTab(page, 'compare');
      await compare.getByTestId('curve-run').click();
      await compare
        .getByTestId('curve-progress')
        .and(page.getByText(/\(1 of 15\)/))
        .waitFor({ timeout: UI_TIMEOUT_MS * 3 });
      await compare.getByTestId('curve-cancel').click();
      await compare.getByTestId('curve-progress').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
      await compare
        .getByTestId('curve-run')
        .and(page.locator(':enabled'))
        .waitFor({ timeout: UI_TIMEOUT_MS });
      expect(await compare.getByTestId('curve-answer').count()).toBe(0);
      expect(await compare.getByTestId('curve-error').count()).toBe(0);
    } finally {
      await setHead(FIXTURE_HEAD);
    }
  });

  test('a full curve names the designed crossover on the chart, in words, in the table and in the results', async () => {
    const compare = await openTab(page, 'compare');
    await compare.getByTestId('curve-run').click();
    const answer = compare.getByTestId('curve-answer');
    await answer.waitFor({ timeout: TRAIN_TIMEOUT_MS });

    expect(await answer.getAttribute('data-crossover')).toBe('2');
    expect(await answer.textContent()).toContain(
      'the head "linear" reaches the best prompt ("bare labels", accuracy 0.667) from 2 labeled examples per class',
    );
    expect(await compare.getByTestId('curve-crossover-label').textContent()).toBe('crossover: 2 per class');
    const lines = compare.getByTestId('curve-prompt-line');
    expect(await lines.count()).toBe(1);
    expect(await lines.getAttribute('data-name')).toBe('bare labels');
    const means = compare.getByTestId('curve-mean-point');
    expect(
      await means.evaluateAll((points) => points.map((p) => Number(p.getAttribute('data-shots')))),
    ).toEqual([1, 2, 4, 8, 16]);
    const accuracies = await means.evaluateAll((points) =>
      points.map((p) => Number(p.getAttribute('data-accuracy'))),
    );
    expect(accuracies[0]).toBeLessThan(2 / 3);
    expect(accuracies[1]).toBeGreaterThanOrEqual(2 / 3);
    expect(await compare.getByTestId('curve-chart').getAttribute('aria-label')).toMatch(
      /^Learning curve of head/,
    );
    expect(await compare.getByTestId('curve-row').count()).toBe(5);
    expect(await compare.getByTestId('curve-capped').count()).toBe(3);

    const results = JSON.parse(
      await downloadText(page, compare.getByTestId('export-results')),
    ) as ExperimentResults;
    expect(results.learningCurve).toMatchObject({
      head: 'linear',
      shotsPerClass: [1, 2, 4, 8, 16],
      seeds: 3,
      crossover: 2,
      bestPrompt: { name: 'bare labels', accuracy: 24 / 36 },
    });
    expect(results.learningCurve?.points).toHaveLength(15);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
