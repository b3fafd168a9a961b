/**
 * @file The model catalog and a first run with no real model: what the app says it can use, the sizes it shows
 * before any download, how to get a model (the exact command while downloads are off), the persisted download
 * setting, and the whole flow on the untrained fixture. No request may leave 127.0.0.1.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, runAllPrompts, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { notices, settledStatus } from './models-helpers.ts';

const MINILM = 'Xenova/all-MiniLM-L6-v2';

let session: BrowserSession;
let page: Page;

function row(id: string) {
  return page.locator(`[data-testid="catalog-row"][data-id="${id}"]`);
}

describe('model catalog and first run', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await openTab(page, 'model');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('lists every catalog model with what it does, license, source and its size per precision', async () => {
    await row(MINILM).waitFor({ timeout: UI_TIMEOUT_MS });
    const ids = await page
      .getByTestId('catalog-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(ids).toEqual([
      MINILM,
      'Xenova/mobilebert-uncased-mnli',
      'HuggingFaceTB/SmolLM2-135M-Instruct',
      'fixtures/tiny-bert',
      'fixtures/tiny-nli',
      'fixtures/tiny-gpt2',
    ]);
    const minilm = row(MINILM);
    const sizes = await minilm
      .getByTestId('catalog-size')
      .evaluateAll((items) =>
        items.map((i) => [i.getAttribute('data-dtype'), Number(i.getAttribute('data-bytes'))]),
      );
    // Shared files + weights, from the catalog, before anything was downloaded.
    expect(sizes).toEqual([
      ['fp32', 650 + 712000 + 400 + 125 + 90400000],
      ['q8', 650 + 712000 + 400 + 125 + 23000000],
      ['fp16', 650 + 712000 + 400 + 125 + 45300000],
    ]);
    const text = (await minilm.textContent()) ?? '';
    expect(text).toContain('Apache-2.0');
    expect(text).toContain('https://huggingface.co/Xenova/all-MiniLM-L6-v2');
    expect(text).toContain('label-description prompts');
    expect(text).toContain('q8: ≈ 23.7 MB');
  });

  test('says where each model is: fixtures generated, hub models not here, with the command to get them', async () => {
    await expect(row('fixtures/tiny-bert').getAttribute('data-status')).resolves.toBe('served');
    await expect(row('fixtures/tiny-bert').getByTestId('catalog-untrained').count()).resolves.toBe(1);
    // The fixture's real file size comes from the server's index.
    const fixtureBytes = Number(
      await row('fixtures/tiny-bert').getByTestId('catalog-size').getAttribute('data-bytes'),
    );
    expect(fixtureBytes).toBeGreaterThan(280_000);
    for (const id of [MINILM, 'Xenova/mobilebert-uncased-mnli', 'HuggingFaceTB/SmolLM2-135M-Instruct']) {
      await expect(row(id).getAttribute('data-status')).resolves.toBe('missing');
      await expect(row(id).getByTestId('catalog-command').textContent()).resolves.toBe(
        `npm run models -- ${id}`,
      );
    }
  });

  test('a first run explains which models the app can use and gives the exact command', async () => {
    const firstRun = page.getByTestId('first-run');
    await firstRun.waitFor({ timeout: UI_TIMEOUT_MS });
    const text = (await firstRun.textContent()) ?? '';
    for (const name of ['all-MiniLM-L6-v2', 'MobileBERT (MNLI)', 'SmolLM2-135M-Instruct'])
      expect(text).toContain(name);
    await expect(page.getByTestId('first-run-command').textContent()).resolves.toBe(
      `npm run models -- ${MINILM}`,
    );
    await expect(page.getByTestId('first-run-download').count()).resolves.toBe(0);
    await expect(page.getByTestId('allow-downloads').isChecked()).resolves.toBe(false);
  });

  test('with downloads off, a hub model that is not here is refused with the command, and nothing is fetched', async () => {
    await expect(row(MINILM).getByTestId('catalog-load').count()).resolves.toBe(0);
    await page.getByTestId('model-select').selectOption(MINILM);
    await page.getByTestId('model-load').click();
    const error = page.getByTestId('model-source-error');
    await error.waitFor({ timeout: UI_TIMEOUT_MS });
    const message = (await error.textContent()) ?? '';
    expect(message).toContain(`npm run models -- ${MINILM}`);
    expect(message).toContain('downloads are off');
    await expect(page.getByTestId('model-status').getAttribute('data-status')).resolves.toBe('idle');
  });

  test('the download setting is off by default, persisted, and turns missing hub models into downloadable', async () => {
    await page.getByTestId('allow-downloads').check();
    await expect(page.evaluate(() => localStorage.getItem('pvf:allow-model-downloads'))).resolves.toBe(
      'true',
    );
    await expect(row(MINILM).getAttribute('data-status')).resolves.toBe('downloadable');
    await expect(page.getByTestId('first-run-download').textContent()).resolves.toMatch(
      /Download all-MiniLM-L6-v2 \(about [\d.]+ MB\) and load it/,
    );

    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app');
    await openTab(page, 'model');
    await expect(page.getByTestId('allow-downloads').isChecked()).resolves.toBe(true);
    await page.getByTestId('allow-downloads').uncheck();
    await expect(page.evaluate(() => localStorage.getItem('pvf:allow-model-downloads'))).resolves.toBeNull();
    await expect(row(MINILM).getAttribute('data-status')).resolves.toBe('missing');
  });

  test('runs the whole flow on the untrained fixture, labelled as such, and says how it chose device and dtype', async () => {
    await page.getByTestId('first-run-fixture').click();
    expect(await settledStatus(page)).toBe('ready');
    await expect(page.getByTestId('model-fixture-note').textContent()).resolves.toContain(
      'Untrained test model',
    );
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('wasm');
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('fp32');
    const said = await notices(page);
    // Headless Chromium without --enable-unsafe-webgpu has no adapter; the fixture has no q8 file.
    expect(said.some((n) => n.startsWith('WebGPU is not available'))).toBe(true);
    expect(said.some((n) => n.includes('no q8 (onnx/model_quantized.onnx)'))).toBe(true);

    await runAllPrompts(page);
    await openTab(page, 'model');
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
