/**
 * @file Shared steps of the models-*.test.ts browser tests: a fake Hugging Face hub (Playwright routes serving
 * fixture files under hub URLs), waiting for a load to settle, and talking to the model worker directly.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page, Worker as PageWorker } from 'playwright-core';
import { LOAD_TIMEOUT_MS } from './app-driver.ts';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Generated fixture model folders. */
export const FIXTURES_DIR = path.join(ROOT, 'tests/fixtures/models');

/** The hub's address, as transformers.js builds file URLs. */
export const HUB_ORIGIN = 'https://huggingface.co';

/** A file of a fixture model, by folder name and path inside it. */
export async function fixtureFile(model: string, file: string): Promise<Buffer> {
  return readFile(path.join(FIXTURES_DIR, model, file));
}

/** What the fake hub answered, for assertions. */
export interface FakeHub {
  /** `METHOD /path` of every request that reached the hub's address. */
  requests: string[];
}

/**
 * Serves `files(id, path)` under `https://huggingface.co/<id>/resolve/<revision>/<path>` (404 when it returns
 * undefined), with the CORS header the real hub sends. Registered after the network guard of browser.ts, so it
 * takes precedence for hub URLs; every other outside address stays blocked.
 */
export async function fakeHub(
  context: BrowserContext,
  files: (id: string, file: string) => Promise<Buffer | undefined>,
): Promise<FakeHub> {
  const hub: FakeHub = { requests: [] };
  await context.route(`${HUB_ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    hub.requests.push(`${route.request().method()} ${url.pathname}`);
    const match = /^\/(.+?\/.+?)\/resolve\/[^/]+\/(.+)$/.exec(url.pathname);
    const body = match ? await files(match[1] ?? '', match[2] ?? '') : undefined;
    const headers = { 'access-control-allow-origin': '*' };
    if (!body) return route.fulfill({ status: 404, body: 'Entry not found', headers });
    const contentType = url.pathname.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return route.fulfill({ status: 200, body, headers: { ...headers, 'content-type': contentType } });
  });
  return hub;
}

/** Waits for the model status to leave 'loading' and returns it ('ready' or 'error'). */
export async function settledStatus(page: Page, timeout = LOAD_TIMEOUT_MS): Promise<string> {
  const status = page.getByTestId('model-status');
  await status.and(page.locator('[data-status="ready"],[data-status="error"]')).waitFor({ timeout });
  return (await status.getAttribute('data-status')) ?? '';
}

/**
 * Waits for a load to settle like {@link settledStatus}, but returns `error: <the message the page shows>` instead
 * of a bare 'error', so an assertion `toBe('ready')` that fails names what went wrong.
 */
export async function loadOutcome(page: Page, timeout = LOAD_TIMEOUT_MS): Promise<string> {
  const status = await settledStatus(page, timeout);
  if (status !== 'error') return status;
  const message = page.getByTestId('model-error');
  const text = (await message.count()) > 0 ? await message.textContent() : null;
  return `error: ${text?.trim() || '(the page shows no error message)'}`;
}

/** The model worker the page started (its script URL is hashed by the build). */
export async function modelWorker(page: Page, timeout = LOAD_TIMEOUT_MS): Promise<PageWorker> {
  const existing = page.workers().find((worker) => /model\.worker[^/]*\.js/.test(worker.url()));
  if (existing) return existing;
  return page.waitForEvent('worker', {
    predicate: (worker) => /model\.worker[^/]*\.js/.test(worker.url()),
    timeout,
  });
}

/** Chooses precision and device in the model form. */
export async function chooseDeviceAndDtype(page: Page, device: string, dtype: string): Promise<void> {
  await page.getByTestId('model-device-choice').selectOption(device);
  await page.getByTestId('model-dtype-choice').selectOption(dtype);
}

/** Loads a model id the form does not list ("Other model id…") with the given precision. */
export async function loadOtherModel(page: Page, id: string, dtype = 'fp32'): Promise<string> {
  await page.getByTestId('model-select').selectOption('__other__');
  await page.getByTestId('model-other-id').fill(id);
  await page.getByTestId('model-dtype-choice').selectOption(dtype);
  await page.getByTestId('model-load').click();
  return settledStatus(page);
}

/** The notices shown next to the loaded model. */
export async function notices(page: Page): Promise<string[]> {
  return page.getByTestId('model-notice').allTextContents();
}

/**
 * Makes the app see `/models/index.json` without the models `ids`, as on a machine where they are not built or
 * downloaded yet (the files stay on disk; only the list the app starts from changes).
 */
export async function hideServedModels(context: BrowserContext, ids: readonly string[]): Promise<void> {
  await context.route('**/models/index.json', async (route) => {
    const response = await route.fetch();
    const index = (await response.json()) as { models: { id: string }[] };
    const models = index.models.filter((model) => !ids.includes(model.id));
    await route.fulfill({ response, json: { ...index, models } });
  });
}
