/**
 * @file On a static host that sends no security headers (no COOP/COEP/CORP, no CSP), the service worker supplies
 * them: from the second load on, the page and its workers are cross-origin isolated (ORT threads) and the
 * Content-Security-Policy holds in the page and in the model worker. This is also what keeps the app isolated
 * offline whatever the cached copies carry.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { HUB_CONNECT_SOURCES } from '../../src/offline/csp.ts';
import { openTab, startModelLoad, UI_TIMEOUT_MS, waitForModelStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { INSTALL_TIMEOUT_MS } from './offline-caches.ts';
import { startProxy, type TestProxy } from './offline-proxy.ts';

const SECURITY_HEADERS = [
  'cross-origin-opener-policy',
  'cross-origin-embedder-policy',
  'cross-origin-resource-policy',
  'content-security-policy',
];
const OTHER_ORIGIN_URL = 'https://example.com/exfiltrate';

let proxy: TestProxy;
let session: BrowserSession;
let page: Page;

describe('on a static host that sends no security headers', () => {
  beforeAll(async () => {
    proxy = await startProxy(inject('baseUrl'), { stripHeaders: SECURITY_HEADERS });
    // A browser of its own, with its profile on disk: the service worker's caches (~19 MB with the runtime) and the
    // model cache are what this file tests, and a context of the shared browser keeps storage in memory under a small
    // quota.
    session = await openBrowser({ ownBrowser: true });
    page = session.page;
  });

  afterAll(async () => {
    await session?.close();
    await proxy?.close();
  });

  test('the first load is not isolated, but the policy from the meta tag already applies', async () => {
    const response = await withTimeout(page.goto(proxy.url), UI_TIMEOUT_MS, 'open the app');
    expect(response?.headers()['cross-origin-embedder-policy']).toBeUndefined();
    await expect(page.evaluate(() => crossOriginIsolated)).resolves.toBe(false);
    const blocked = await page.evaluate(async (url) => {
      const seen: string[] = [];
      // The violation event is queued as a task of its own, after the fetch has failed: wait for it (or give up
      // after a while, and the assertion below says it never came).
      const violation = new Promise<void>((resolve) => {
        document.addEventListener('securitypolicyviolation', (event) => {
          seen.push(event.blockedURI);
          resolve();
        });
        setTimeout(resolve, 10_000);
      });
      const outcome = await fetch(url).then(
        () => 'ok',
        (error: unknown) => String(error),
      );
      await violation;
      return { outcome, seen };
    }, OTHER_ORIGIN_URL);
    expect(blocked.outcome).toMatch(/Failed to fetch/);
    expect(blocked.seen).toContain(OTHER_ORIGIN_URL);
  });

  test('once the service worker serves the app, the page and the model worker are isolated and under the policy', async () => {
    await withTimeout(
      page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      }),
      INSTALL_TIMEOUT_MS,
      'wait for the service worker',
    );
    const response = await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app');
    expect(response?.fromServiceWorker()).toBe(true);
    const headers = response?.headers() ?? {};
    expect(headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(headers['content-security-policy']).toContain(
      `connect-src 'self' ${HUB_CONNECT_SOURCES.join(' ')}`,
    );
    await expect(page.evaluate(() => crossOriginIsolated)).resolves.toBe(true);

    await startModelLoad(await openTab(page, 'model'));
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    // The app may start its model worker before the first load: take it from the page's workers.
    const worker = page.workers().find((candidate) => candidate.url().includes('model.worker'));
    if (!worker) throw new Error('The app has no model worker after loading a model.');
    await expect(worker.evaluate(() => crossOriginIsolated)).resolves.toBe(true);
    // Blocked by the worker's own policy (set by the service worker): the request never reaches the network.
    const outcome = await worker.evaluate(
      (url) =>
        fetch(url).then(
          () => 'ok',
          (error: unknown) => String(error),
        ),
      OTHER_ORIGIN_URL,
    );
    expect(outcome).toMatch(/Failed to fetch/);
    expect(session.externalRequests).toEqual([]);
  });
});
