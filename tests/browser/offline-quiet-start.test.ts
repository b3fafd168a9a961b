/**
 * @file The offline copy waits for a quiet page (src/offline/quiet-start.ts, wired App → `onBusy` →
 * `ServiceWorkerState.setBusy`): while a model load is going on, past the quiet period, the page has not asked
 * for its service worker; once the model is ready and the page has been quiet, it registers it, installs the
 * app, and the model files read before there was a worker are handed over to the model cache all the same.
 * Runs on its own origin (a proxy in front of the preview server), so no other test file meets its service worker.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { OFFLINE_COPY_QUIET_MS } from '../../src/offline/quiet-start.ts';
import { openTab, startModelLoad, UI_TIMEOUT_MS, waitForModelStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { cachedModelFiles, FIXTURE_FILES, INSTALL_TIMEOUT_MS } from './offline-caches.ts';
import { startProxy, type TestProxy } from './offline-proxy.ts';

/** The fixture model's weights: held, its load stays under way for as long as the test needs. */
const HELD_FILE = '**/models/fixtures/tiny-bert/onnx/model.onnx';

let proxy: TestProxy;
let session: BrowserSession;
let page: Page;

const askedForWorker = (): boolean => proxy.requests.some((request) => request.startsWith('GET /sw.js'));

describe('the offline copy waits for a quiet page', () => {
  beforeAll(async () => {
    proxy = await startProxy(inject('baseUrl'));
    // A browser of its own with its profile on disk, as in offline-service-worker.test.ts: the install stores ~19 MB.
    session = await openBrowser({ ownBrowser: true });
    page = session.page;
  });

  afterAll(async () => {
    await session?.close();
    await proxy?.close();
  });

  test('no service worker is asked for while a model loads, past the quiet period; it is once the page is quiet', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let requested: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (requested = resolve));
    await session.context.route(HELD_FILE, async (route) => {
      requested();
      await held;
      await route.continue();
    });
    await withTimeout(page.goto(proxy.url), UI_TIMEOUT_MS, 'open the app');
    const panel = await openTab(page, 'model');
    await startModelLoad(panel);
    await withTimeout(asked, UI_TIMEOUT_MS, "the request for the model's weights");
    await expect(waitForModelStatus(page, ['loading'])).resolves.toBe('loading');
    // The load has been going on for longer than the quiet period the registration waits for.
    const loadingSince = await page.evaluate(() => performance.now());
    await page.waitForFunction(
      (until) => performance.now() > until,
      loadingSince + OFFLINE_COPY_QUIET_MS + 1000,
      {
        timeout: UI_TIMEOUT_MS,
      },
    );
    await expect(page.getByTestId('model-status').getAttribute('data-status')).resolves.toBe('loading');
    expect(askedForWorker()).toBe(false);
    await expect(
      page.evaluate(async () => (await navigator.serviceWorker.getRegistration()) === undefined),
    ).resolves.toBe(true);

    release();
    await expect(waitForModelStatus(page, ['ready', 'error'])).resolves.toBe('ready');
    await expect.poll(askedForWorker, { timeout: UI_TIMEOUT_MS }).toBe(true);
    await page.getByTestId('sw-offline-ready').waitFor({ timeout: INSTALL_TIMEOUT_MS });
    // The files read before there was a worker to see them are in the model cache all the same.
    await expect.poll(() => cachedModelFiles(page), { timeout: UI_TIMEOUT_MS }).toEqual(FIXTURE_FILES);
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
