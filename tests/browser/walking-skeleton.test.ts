/**
 * @file The whole flow in a real browser against the production build: load the fixture model in the model
 * worker, split the built-in dataset, run prompt variations, train a head in the head worker, compare.
 * Also: cancelling training, and a model that does not exist. The page must never reach beyond 127.0.0.1
 * and must log no console errors.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  chartPoints,
  dataValues,
  FIXTURE_MODEL_ID,
  openTab,
  RUN_TIMEOUT_MS,
  setInput,
  startModelLoad,
  TRAIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

/** Epochs for the run that gets cancelled (the schema's maximum) with batch size 1: a minute of work or more. */
const CANCELLED_EPOCHS = 1000;
/** The most hidden units a head may have (settings.ts): the slowest head to train, for runs that must not finish. */
const WIDEST_HIDDEN = 4096;
/** Epochs of the live-chart run, with one example per step. */
const LIVE_EPOCHS = 1000;
/**
 * A 5-epoch run after a cancel: well below what the cancelled run would still take (a minute when quiet, and
 * longer the busier the machine), so only a cancel that reached the worker lets it finish in time.
 */
const AFTER_CANCEL_TIMEOUT_MS = 45_000;

/** The built-in "topics" dataset: 3 labels × 50 examples; test fraction 0.3 → 15 per class. */
const LABELS = ['food', 'sports', 'weather'];
const TEST_SIZE = 45;
const TRAIN_SIZE = 105;
const CHANCE = 1 / LABELS.length;

let session: BrowserSession;
let page: Page;

describe('walking skeleton', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('the page is cross-origin isolated, so ORT can use threads', async () => {
    const isolated = await withTimeout(
      page.evaluate(() => crossOriginIsolated),
      UI_TIMEOUT_MS,
      'read crossOriginIsolated',
    );
    expect(isolated).toBe(true);
  });

  test('loads the fixture model in the worker and shows the device and dtype used', async () => {
    const panel = await openTab(page, 'model');
    // The first screen starts on the model that comes with npm install (built by the test command); this flow
    // picks the untrained fixture, whose designed behaviour the assertions below rely on.
    await expect(panel.getByTestId('model-select').inputValue()).resolves.toBe(
      'universal-sentence-encoder-lite',
    );
    await panel.getByTestId('model-select').selectOption(FIXTURE_MODEL_ID);
    await panel.getByTestId('model-fixture-note').waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(panel.getByTestId('model-fixture-note').textContent()).resolves.toContain(
      'Untrained test model',
    );
    await startModelLoad(panel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await expect(panel.getByTestId('model-device').textContent()).resolves.toBe('wasm');
    await expect(panel.getByTestId('model-dtype').textContent()).resolves.toBe('fp32');
    const threads = Number(await panel.getByTestId('model-threads').textContent());
    expect(threads).toBeGreaterThanOrEqual(1);
    const files = await panel.getByTestId('model-file-progress').count();
    expect(files).toBeGreaterThanOrEqual(1);
  });

  test('shows the built-in dataset and its stratified split', async () => {
    const panel = await openTab(page, 'data');
    await expect(panel.getByTestId('dataset-source').textContent()).resolves.toBeTruthy();
    const rows = panel.getByTestId('split-row');
    await expect(rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-label')))).resolves.toEqual(
      LABELS,
    );
    const testCounts = await panel.getByTestId('split-test-count').allTextContents();
    expect(testCounts.map(Number)).toEqual([15, 15, 15]);
    await expect(panel.getByTestId('split-test-total').textContent()).resolves.toBe(String(TEST_SIZE));
    await expect(panel.getByTestId('split-train-total').textContent()).resolves.toBe(String(TRAIN_SIZE));
  });

  test('runs the default prompt variations, then adds, renames and runs one more', async () => {
    const panel = await openTab(page, 'prompts');
    const cards = panel.getByTestId('prompt-card');
    const initial = await cards.count();
    expect(initial).toBeGreaterThanOrEqual(2);

    await panel.getByTestId('prompts-run-all').click();
    await panel
      .getByTestId('run-accuracy')
      .nth(initial - 1)
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(panel.getByTestId('prompt-error').count()).resolves.toBe(0);
    const accuracies = await dataValues(panel.getByTestId('run-accuracy'));
    expect(accuracies).toHaveLength(initial);
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThanOrEqual(0);

    await panel.getByTestId('prompt-add').click();
    await expect(cards.count()).resolves.toBe(initial + 1);
    const added = cards.nth(initial);
    const name = added.getByTestId('prompt-name');
    await setInput(name, 'weather words');
    await page
      .locator('[data-testid="prompt-card"][data-name="weather words"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await setInput(added.getByTestId('prompt-template'), 'news about {label}');
    await added.getByTestId('prompt-run').click();
    await added.getByTestId('run-accuracy').waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(panel.getByTestId('run-accuracy').count()).resolves.toBe(initial + 1);
  });

  test('trains a head in the worker with a live loss chart', async () => {
    const panel = await openTab(page, 'finetune');
    // The fixture's default head trains in a few milliseconds, within one or two frames; a thousand epochs of
    // one-example steps (~100,000 steps, still well under a second here) leave the chart many frames to grow in.
    const epochs = LIVE_EPOCHS;
    await setInput(panel.getByTestId('head-epochs'), String(epochs));
    await setInput(panel.getByTestId('head-batch-size'), '1');
    const chart = panel.getByTestId('loss-chart');
    // Record every point count the chart shows instead of polling.
    await chart.evaluate((element) => {
      const seen: number[] = [];
      (window as unknown as { chartPointsSeen: number[] }).chartPointsSeen = seen;
      new MutationObserver(() => seen.push(Number(element.getAttribute('data-points')))).observe(element, {
        attributeFilter: ['data-points'],
      });
    });
    await panel.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');
    expect(await chartPoints(page)).toBe(epochs);
    const seen = await withTimeout(
      page.evaluate(() => (window as unknown as { chartPointsSeen: number[] }).chartPointsSeen),
      UI_TIMEOUT_MS,
      'read the recorded chart point counts',
    );
    // The chart grew while training ran: several intermediate counts, never shrinking, ending at all epochs.
    const growing = seen.filter((count) => count > 0);
    expect(new Set(growing).size).toBeGreaterThan(2);
    expect(growing).toEqual([...growing].sort((a, b) => a - b));
    expect(growing.at(-1)).toBe(epochs);
    // The chart drew its loss and accuracy lines.
    await expect(chart.locator('[data-series="loss"] polyline').count()).resolves.toBe(1);
    await expect(chart.locator('[data-series="accuracy"] polyline').count()).resolves.toBe(1);
    const accuracy = await dataValues(panel.getByTestId('run-accuracy'));
    expect(accuracy).toHaveLength(1);
  });

  test('compares every run on the same test examples, above chance on the fixture', async () => {
    const panel = await openTab(page, 'compare');
    const rows = panel.getByTestId('compare-run-row');
    const kinds = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    expect(kinds.filter((k) => k === 'prompt').length).toBeGreaterThanOrEqual(3);
    expect(kinds.filter((k) => k === 'head')).toHaveLength(1);
    const accuracies = await dataValues(panel.getByTestId('compare-accuracy'));
    const macroF1s = await dataValues(panel.getByTestId('compare-macro-f1'));
    expect(accuracies).toHaveLength(kinds.length);
    expect(macroF1s).toHaveLength(kinds.length);
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(CHANCE);
    // The head learned from every train example and changed its parameters; prompts used none.
    const labeled = (await panel.getByTestId('compare-labeled').allTextContents()).map((t) =>
      Number(t.replace(/,/g, '')),
    );
    const parameters = (await panel.getByTestId('compare-parameters').allTextContents()).map((t) =>
      Number(t.replace(/,/g, '')),
    );
    kinds.forEach((kind, i) => {
      if (kind === 'head') {
        expect(labeled[i]).toBe(TRAIN_SIZE);
        expect(parameters[i]).toBe(32 * LABELS.length + LABELS.length);
      } else {
        expect(labeled[i]).toBe(0);
        expect(parameters[i]).toBe(0);
      }
    });
    await expect(panel.getByTestId('example-row').count()).resolves.toBe(TEST_SIZE);
    const predictions = await panel.getByTestId('example-prediction').count();
    expect(predictions).toBe(TEST_SIZE * kinds.length);
  });

  test('cancelling training stops it, keeps the previous result and leaves the app usable', async () => {
    const panel = await openTab(page, 'finetune');
    const previousAccuracy = await dataValues(panel.getByTestId('run-accuracy'));
    expect(previousAccuracy).toHaveLength(1);
    // Far more work than could finish during the test (the widest hidden layer, one example per step: tens of
    // seconds): only a cancel that reaches the worker lets the next run start soon.
    await setInput(panel.getByTestId('head-epochs'), String(CANCELLED_EPOCHS));
    await setInput(panel.getByTestId('head-batch-size'), '1');
    await setInput(panel.getByTestId('head-hidden'), String(WIDEST_HIDDEN));
    await panel.getByTestId('head-train').click();
    await panel
      .getByTestId('loss-chart')
      .and(page.locator('[data-points]:not([data-points="0"])'))
      .waitFor({ timeout: TRAIN_TIMEOUT_MS });
    await panel.getByTestId('head-cancel').click();
    await waitForHeadStatus(page, 'cancelled', UI_TIMEOUT_MS);
    const atCancel = await chartPoints(page);
    expect(atCancel).toBeLessThan(CANCELLED_EPOCHS);
    // The worker's cancel reply follows its last epoch report on the same channel, so nothing of the cancelled
    // run can arrive after the status says so; the next run below would also be queued behind a worker that
    // kept training, and its chart must hold exactly its own epochs.
    await expect(dataValues(panel.getByTestId('run-accuracy'))).resolves.toEqual(previousAccuracy);
    await expect(panel.getByTestId('head-error').count()).resolves.toBe(0);

    await setInput(panel.getByTestId('head-epochs'), '5');
    await setInput(panel.getByTestId('head-batch-size'), '16');
    await setInput(panel.getByTestId('head-hidden'), '0');
    await panel.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done', AFTER_CANCEL_TIMEOUT_MS);
    expect(await chartPoints(page)).toBe(5);
  });

  test('a missing model shows an error naming the missing file, and the app recovers', async () => {
    const panel = await openTab(page, 'model');
    await startModelLoad(panel, 'does-not/exist');
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('error');
    const message = (await panel.getByTestId('model-error').textContent()) ?? '';
    expect(message).toContain('/models/does-not/exist/config.json');
    expect(message).toMatch(/404/);

    await startModelLoad(panel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await expect(panel.getByTestId('model-error').count()).resolves.toBe(0);

    // The experiment's own model is back, so its results still hold and stay; running again gives the same.
    const prompts = await openTab(page, 'prompts');
    const cards = await prompts.getByTestId('prompt-card').count();
    const before = await dataValues(prompts.getByTestId('run-accuracy'));
    expect(before).toHaveLength(cards);
    await prompts.getByTestId('prompts-run-all').click();
    await prompts
      .locator('[data-testid="prompts-run-all"]:not([disabled])')
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(dataValues(prompts.getByTestId('run-accuracy'))).resolves.toEqual(before);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
