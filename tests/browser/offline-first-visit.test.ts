/**
 * @file Offline from the first visit: a model loaded before the service worker controls the page (its files
 * bypassed the worker) is cached once the worker takes over, "offline ready" is said only when it is, and with the
 * network gone the reloaded app loads that model from the cache. The proxy holds `sw.js` back so the model load
 * surely comes first; it runs on its own origin, so no other test file meets its service worker.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, startModelLoad, UI_TIMEOUT_MS, waitForModelStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { cachedModelFiles, FIXTURE_FILES, INSTALL_TIMEOUT_MS } from './offline-caches.ts';
import { startProxy, type TestProxy } from './offline-proxy.ts';

let proxy: TestProxy;
let session: BrowserSession;
let page: Page;
let releaseServiceWorker: () => void;

describe('offline from the first visit', () => {
  beforeAll(async () => {
    proxy = await startProxy(inject('baseUrl'));
    releaseServiceWorker = proxy.holdServiceWorker();
    // A browser of its own, with its profile on disk: the service worker's caches (~19 MB with the runtime) and the
    // model cache are what this file tests, and a context of the shared browser keeps storage in memory under a small
    // quota.
    session = await openBrowser({ ownBrowser: true });
    page = session.page;
    await withTimeout(page.goto(proxy.url), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    releaseServiceWorker?.();
    await session?.close();
    await proxy?.close();
  });

  test('a model loaded before the service worker controls the page is not cached and nothing says offline', async () => {
    const panel = await openTab(page, 'model');
    await startModelLoad(panel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await expect(page.evaluate(() => navigator.serviceWorker.controller === null)).resolves.toBe(true);
    await expect(cachedModelFiles(page)).resolves.toEqual([]);
    await expect(page.getByTestId('sw-offline-ready').count()).resolves.toBe(0);
  });

  test('once the worker controls the page, "offline ready" appears only with the loaded model cached', async () => {
    releaseServiceWorker();
    await page.getByTestId('sw-offline-ready').waitFor({ timeout: INSTALL_TIMEOUT_MS });
    await expect(cachedModelFiles(page)).resolves.toEqual(FIXTURE_FILES);
    await expect(page.evaluate(() => navigator.serviceWorker.controller !== null)).resolves.toBe(true);
    await expect(page.getByTestId('sw-offline-problem').count()).resolves.toBe(0);
  });

  test('with the network gone, the reloaded app loads the same model from the cache', async () => {
    await proxy.unplug();
    await session.context.setOffline(true);
    // The origin no longer answers: whatever loads now comes from the service worker's caches.
    await expect(fetch(proxy.url)).rejects.toThrow();
    const requestsBefore = proxy.requests.length;

    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app offline');
    await page.getByTestId('tab-model').waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(page.evaluate(() => navigator.serviceWorker.controller !== null)).resolves.toBe(true);

    const panel = await openTab(page, 'model');
    await startModelLoad(panel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    expect(proxy.requests.length).toBe(requestsBefore);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
