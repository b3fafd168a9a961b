/**
 * @file The feature cache and the layer probe in headless Chromium, against the app's real model worker and
 * IndexedDB: a head's features are stored per text; after a reload, retraining the head with other settings runs
 * ZERO texts through the model (the page's counter of texts embedded stays at 0); probing every layer runs each
 * text through the model once for all layers and charts accuracy by layer; clearing empties the cache; the
 * variations and two heads on different layers, run one after another, run each text through the model once.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  LOAD_TIMEOUT_MS,
  runAllPrompts,
  setInput,
  startModelLoad,
  TRAIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { waitForLibrary } from './storage-driver.ts';

/** The built-in `topics` dataset the default experiment uses: 150 texts (train and test). */
const TEXTS = 150;
/** tiny-bert has 4 layers: hidden states 0..4. */
const LAYERS = 5;
/** The default split's test texts (the rest, 105, are training texts). */
const TEST_TEXTS = 45;
/** Label texts of the default variations: 3 bare labels, 3 sentences, 6 descriptions. */
const LABEL_TEXTS = 12;

let session: BrowserSession;
let page: Page;

/**
 * Opens a tab, allowing for a machine so busy that a click waits long for the page (model loads and
 * training share its cores with other jobs).
 */
async function openTab(id: string) {
  await page.getByTestId(`tab-${id}`).click({ timeout: LOAD_TIMEOUT_MS });
  const panel = page.getByTestId(`panel-${id}`);
  await panel.waitFor({ state: 'visible', timeout: LOAD_TIMEOUT_MS });
  return panel;
}

async function loadFixtureModel(): Promise<void> {
  const panel = await openTab('model');
  await startModelLoad(panel);
  expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
}

/** Texts this page has run through the model so far. */
async function textsEmbedded(): Promise<number> {
  return Number(await page.getByTestId('texts-embedded').getAttribute('data-value'));
}

/** Waits until the cache reports `entries` vectors. */
async function waitForEntries(entries: number): Promise<void> {
  await page
    .locator(`[data-testid="feature-cache-size"][data-entries="${entries}"]`)
    .waitFor({ timeout: LOAD_TIMEOUT_MS });
}

async function train(epochs: string, hidden?: string): Promise<void> {
  const panel = await openTab('finetune');
  await setInput(panel.getByTestId('head-epochs'), epochs);
  if (hidden !== undefined) await setInput(panel.getByTestId('head-hidden'), hidden);
  await panel.getByTestId('head-train').click();
  await waitForHeadStatus(page, 'done');
}

describe('feature cache', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
  });

  test('training a head stores one vector per text', async () => {
    await loadFixtureModel();
    await train('3');
    expect(await textsEmbedded()).toBe(TEXTS);
    await waitForEntries(TEXTS);
  });

  test('after a reload, retraining with other settings runs no text through the model', async () => {
    await withTimeout(page.reload(), LOAD_TIMEOUT_MS, 'reload the page');
    await waitForLibrary(page);
    await loadFixtureModel();
    await openTab('finetune');
    await waitForEntries(TEXTS);
    await train('4', '8');
    await expect(page.getByTestId('run-accuracy').first().isVisible()).resolves.toBe(true);
    expect(await textsEmbedded()).toBe(0);
  });

  test('probing every layer runs each text through the model once and charts every layer', async () => {
    const panel = await openTab('finetune');
    await panel.getByTestId('probe-layers').click();
    await page
      .locator(`[data-testid="layer-probe"][data-points="${LAYERS}"]`)
      .waitFor({ timeout: TRAIN_TIMEOUT_MS });
    await page
      .getByTestId('probe-layers')
      .and(page.locator(':enabled'))
      .waitFor({ timeout: LOAD_TIMEOUT_MS });
    const rows = await panel
      .getByTestId('layer-probe-row')
      .evaluateAll((elements) =>
        elements.map((e) => [Number(e.getAttribute('data-layer')), Number(e.getAttribute('data-value'))]),
      );
    expect(rows.map(([layer]) => layer)).toEqual([0, 1, 2, 3, 4]);
    for (const [, accuracy] of rows) expect(accuracy).toBeGreaterThanOrEqual(0);
    // The last layer was cached already; layers 0..3 came from one pass per text.
    expect(await textsEmbedded()).toBe(TEXTS);
    await waitForEntries(TEXTS * LAYERS);
    await expect(panel.getByRole('img', { name: /Test accuracy by layer/ }).count()).resolves.toBe(1);
  });

  test('clearing empties the cache; the next training computes its features again', async () => {
    const panel = await openTab('finetune');
    await panel.getByTestId('feature-cache-clear').click();
    await waitForEntries(0);
    // The head status still says "done" from the probe: wait on what this training changes instead.
    await panel.getByTestId('head-train').click();
    await page
      .locator(`[data-testid="texts-embedded"][data-value="${2 * TEXTS}"]`)
      .waitFor({ timeout: TRAIN_TIMEOUT_MS });
    await waitForEntries(TEXTS);
    expect(await textsEmbedded()).toBe(2 * TEXTS);
  });

  test('variations and two heads on different layers, run one by one, run each text through the model once', async () => {
    const panel = await openTab('finetune');
    await panel.getByTestId('feature-cache-clear').click();
    await waitForEntries(0);
    await panel.getByTestId('head-add').click();
    await panel.getByTestId('head-layer').selectOption('2');
    await setInput(panel.getByTestId('head-epochs'), '3');
    const before = await textsEmbedded();

    // The variations' pass over the test texts also gives both heads their test features (layers 4 and 2).
    await runAllPrompts(page);
    expect(await textsEmbedded()).toBe(before + TEST_TEXTS + LABEL_TEXTS);
    await openTab('finetune');
    await waitForEntries(2 * TEST_TEXTS);

    // The new head's pass over the training texts gives the first head its features too.
    await panel.getByTestId('head-train').click();
    await waitForEntries(2 * TEXTS);
    await waitForHeadStatus(page, 'done');
    expect(await textsEmbedded()).toBe(before + TEXTS + LABEL_TEXTS);

    // The first head, on the last layer, finds every feature cached.
    await panel.getByTestId('head-select').selectOption('0', { timeout: TRAIN_TIMEOUT_MS });
    await setInput(panel.getByTestId('head-epochs'), '2');
    await panel.getByTestId('head-train').click();
    await page.locator('[data-testid="loss-chart"][data-points="2"]').waitFor({ timeout: TRAIN_TIMEOUT_MS });
    await waitForHeadStatus(page, 'done');
    expect(await textsEmbedded()).toBe(before + TEXTS + LABEL_TEXTS);
  });
});
