/**
 * @file Broken model folders, served under /models/broken/<case>/ by Playwright routes built from the tiny-bert
 * fixture: an HTML page instead of the ONNX file, a truncated file, a transfer cut short, garbage bytes, a
 * tokenizer from another model, a config from another export, a file too large to load. Each load fails with a
 * message naming the file and what to do, and the fixture loaded before keeps working.
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, runAllPrompts, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { fixtureFile, loadOtherModel, settledStatus } from './models-helpers.ts';

const ONNX = 'onnx/model.onnx';

type Answer = {
  status?: number;
  body: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
};

/** How each broken folder differs from tiny-bert; files not listed are the fixture's own. */
const BROKEN: Record<string, (file: string) => Promise<Answer | undefined>> = {
  // What a dev server without the models plugin answers for a file it does not have.
  html: async (file) =>
    file === ONNX ? { body: '<!doctype html><title>App</title>', contentType: 'text/html' } : undefined,
  truncated: async (file) =>
    file === ONNX ? { body: (await fixtureFile('tiny-bert', ONNX)).subarray(0, 100_000) } : undefined,
  // The server promises the whole file and the connection ends halfway.
  'cut-short': async (file) => {
    if (file !== ONNX) return undefined;
    const bytes = await fixtureFile('tiny-bert', ONNX);
    return {
      body: bytes.subarray(0, bytes.length >> 1),
      headers: { 'content-length': String(bytes.length) },
    };
  },
  garbage: async (file) =>
    file === ONNX
      ? { body: Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251)) }
      : undefined,
  tokenizer: async (file) =>
    file === 'tokenizer.json' || file === 'tokenizer_config.json'
      ? { body: await fixtureFile('tiny-gpt2', file), contentType: 'application/json' }
      : undefined,
  'other-config': async (file) => {
    if (file !== 'config.json') return undefined;
    const config = JSON.parse((await fixtureFile('tiny-bert', file)).toString('utf8')) as Record<
      string,
      unknown
    >;
    return { body: JSON.stringify({ ...config, num_hidden_layers: 6 }), contentType: 'application/json' };
  },
  // 3 GB announced: refused from the headers, before a byte is read.
  huge: async (file) =>
    file === ONNX ? { body: 'x', headers: { 'content-length': String(3_000_000_000) } } : undefined,
};

async function answer(route: Route): Promise<void> {
  const url = new URL(route.request().url());
  const match = /^\/models\/broken\/([^/]+)\/(.+)$/.exec(url.pathname);
  const broken = match ? BROKEN[match[1] ?? ''] : undefined;
  const file = match?.[2] ?? '';
  if (!broken) return route.fulfill({ status: 404, body: `no broken case for ${url.pathname}` });
  const changed = await broken(file);
  if (changed) {
    return route.fulfill({
      status: changed.status ?? 200,
      body: changed.body,
      contentType: changed.contentType ?? 'application/octet-stream',
      headers: { 'cross-origin-resource-policy': 'same-origin', ...changed.headers },
    });
  }
  const body = await fixtureFile('tiny-bert', file).catch(() => undefined);
  if (!body) return route.fulfill({ status: 404, body: `Model file not found: ${url.pathname}` });
  return route.fulfill({
    status: 200,
    body,
    contentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    headers: { 'cross-origin-resource-policy': 'same-origin' },
  });
}

let session: BrowserSession;
let page: Page;

/** Loads broken case `name` and returns the error shown; the fixture must still be the loaded model. */
async function failingLoad(name: string): Promise<string> {
  expect(await loadOtherModel(page, `broken/${name}`)).toBe('error');
  const message = (await page.getByTestId('model-error').textContent()) ?? '';
  expect(message).toContain('Still using the previous model, fixtures/tiny-bert');
  await expect(page.getByTestId('model-status').textContent()).resolves.toContain(
    'still using fixtures/tiny-bert',
  );
  await expect(page.getByTestId('model-device').textContent()).resolves.toBe('wasm');
  return message;
}

describe('bad model files', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await session.context.route('**/models/broken/**', answer);
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await openTab(page, 'model');
    await page.getByTestId('model-select').selectOption('fixtures/tiny-bert');
    await page.getByTestId('model-load').click();
    expect(await settledStatus(page)).toBe('ready');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('an HTML page where the ONNX file should be is named as a missing file', async () => {
    const message = await failingLoad('html');
    expect(message).toContain(
      'Model file missing: /models/broken/html/onnx/model.onnx (HTTP 200, text/html)',
    );
    expect(message).toContain('Download or copy the model');
  });

  test('a truncated ONNX file is named as not a usable model', async () => {
    const message = await failingLoad('truncated');
    expect(message).toContain('/models/broken/truncated/onnx/model.onnx is not a usable ONNX model');
    expect(message).toContain('Download or copy it again');
  });

  test('a transfer cut short is named with the bytes that arrived', async () => {
    const message = await failingLoad('cut-short');
    expect(message).toMatch(
      /Model file \/models\/broken\/cut-short\/onnx\/model\.onnx (is truncated|stopped arriving)/,
    );
    expect(message).toMatch(/Load again|Reload to try again/);
  });

  test('garbage bytes are named the same way', async () => {
    const message = await failingLoad('garbage');
    expect(message).toContain('/models/broken/garbage/onnx/model.onnx is not a usable ONNX model');
  });

  test('a tokenizer from another model is caught at load, naming tokenizer.json', async () => {
    const message = await failingLoad('tokenizer');
    expect(message).toContain('/models/broken/tokenizer/tokenizer.json does not match the model');
    expect(message).toContain('vocab_size');
    expect(message).toContain('Copy tokenizer.json and tokenizer_config.json from the same export');
  });

  test('a config.json from another export is caught by its layer count', async () => {
    const message = await failingLoad('other-config');
    expect(message).toContain('config.json says the model has 6 layers');
    expect(message).toContain('/models/broken/other-config/onnx/model.onnx has 4');
  });

  test('a file too large to load is refused before it is read, with its size', async () => {
    const message = await failingLoad('huge');
    expect(message).toContain('broken/huge: onnx/model.onnx is 3 GB');
    expect(message).toContain('smaller precision');
  });

  test('after all that, the fixture still runs prompts', async () => {
    const { panel: prompts } = await runAllPrompts(page);
    await expect(prompts.getByTestId('prompt-error').count()).resolves.toBe(0);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
