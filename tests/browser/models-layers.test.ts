/**
 * @file The fine-tune lab's layer and pooling choice: the layers offered come from the loaded model (0 = embeddings
 * … N = last), "last layer" is kept as -1, and a head trains on the features of any layer with any pooling.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { dataValues, openTab, setInput, TRAIN_TIMEOUT_MS, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { settledStatus } from './models-helpers.ts';

let session: BrowserSession;
let page: Page;

async function loadModel(id: string): Promise<void> {
  await openTab(page, 'model');
  await page.locator(`[data-testid="catalog-row"][data-id="${id}"]`).getByTestId('catalog-load').click();
  expect(await settledStatus(page)).toBe('ready');
}

async function layerOptions(): Promise<{ value: string; label: string }[]> {
  return page
    .getByTestId('head-layer')
    .locator('option')
    .evaluateAll((options) =>
      options.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent?.trim() ?? '' })),
    );
}

describe('layer and pooling of the head', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('before a model is loaded, the picker says to load one', async () => {
    await openTab(page, 'finetune');
    await expect(page.getByTestId('head-layer-note').textContent()).resolves.toContain('Load a model');
  });

  test("offers the loaded model's layers, 0 = embeddings to N = last, with last selected as -1", async () => {
    await loadModel('fixtures/tiny-bert');
    await openTab(page, 'finetune');
    await expect(layerOptions()).resolves.toEqual([
      { value: '0', label: '0 — embeddings (no transformer layer)' },
      { value: '1', label: '1' },
      { value: '2', label: '2' },
      { value: '3', label: '3' },
      { value: '-1', label: '4 — last layer' },
    ]);
    await expect(page.getByTestId('head-layer').inputValue()).resolves.toBe('-1');
    await expect(page.getByTestId('head-pooling').inputValue()).resolves.toBe('mean');
    await expect(page.getByTestId('head-layer-note').textContent()).resolves.toContain(
      'Layers up to this one stay frozen',
    );
  });

  test('a head trains on layer 2 with CLS pooling, and on the embeddings with last-token pooling', async () => {
    const panel = await openTab(page, 'finetune');
    await setInput(panel.getByTestId('head-epochs'), '5');
    for (const [layer, pooling] of [
      ['2', 'cls'],
      ['0', 'last'],
    ] as const) {
      // A fresh name per run: its score appears only once this run has finished.
      await setInput(panel.getByTestId('head-name'), `layer ${layer} ${pooling}`);
      await panel.getByTestId('head-layer').selectOption(layer);
      await panel.getByTestId('head-pooling').selectOption(pooling);
      await expect(panel.getByTestId('run-accuracy').count()).resolves.toBe(0);
      await panel.getByTestId('head-train').click();
      await panel.getByTestId('run-accuracy').waitFor({ timeout: TRAIN_TIMEOUT_MS });
      await expect(panel.getByTestId('head-error').count()).resolves.toBe(0);
      const [accuracy] = await dataValues(panel.getByTestId('run-accuracy'));
      expect(accuracy).toBeGreaterThanOrEqual(0);
      expect(accuracy).toBeLessThanOrEqual(1);
      await expect(panel.getByTestId('head-layer').inputValue()).resolves.toBe(layer);
    }
  });

  test('a model with fewer layers offers fewer; a layer it lacks is shown as such', async () => {
    const panel = await openTab(page, 'finetune');
    await panel.getByTestId('head-layer').selectOption('3');
    await loadModel('fixtures/tiny-gpt2');
    await openTab(page, 'finetune');
    const options = await layerOptions();
    expect(options.map((o) => o.value)).toEqual(['0', '1', '-1', '3']);
    expect(options.at(-1)?.label).toBe('3 — not in this model (0–2)');
    await page.getByTestId('head-layer').selectOption('-1');
    await expect(page.getByTestId('head-layer').inputValue()).resolves.toBe('-1');
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
