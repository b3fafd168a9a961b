/**
 * @file Offline after the first visit: the service worker precaches the app and tfjs's WASM, keeps the one
 * onnxruntime-web build this browser runs (CPU-only here: no WebGPU adapter) and the model files loaded online, offers a new version with "reload to update", and with the network gone (browser offline and
 * the app's origin no longer answering) the app still loads cross-origin isolated, loads the fixture model and
 * runs prompts. Runs on its own origin (a proxy in front of the preview server), so no other test file meets
 * its service worker.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { MODEL_FILES_CACHE, MODEL_INDEX_CACHE, ORT_RUNTIME_CACHE } from '../../src/offline/cache-names.ts';
import { openTab, RUN_TIMEOUT_MS, startModelLoad, UI_TIMEOUT_MS, waitForModelStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { FIXTURE_FILES, INSTALL_TIMEOUT_MS } from './offline-caches.ts';
import { startProxy, type TestProxy } from './offline-proxy.ts';

/** onnxruntime-web's files in the build: both runtime builds' WASM and loaders, cached only when used. */
const RUNTIME_FILE = /^\/assets\/ort-wasm-/;

/** The CPU-only build's files, the one a browser without a WebGPU adapter runs. */
const CPU_RUNTIME = [
  /^\/assets\/ort-wasm-simd-threaded-[\w-]+\.mjs$/,
  /^\/assets\/ort-wasm-simd-threaded-[\w-]+\.wasm$/,
];

/** A file the fixture model does not have: the server answers 404 (logged by the browser as a console error). */
const MISSING_MODEL_FILE = '/models/fixtures/tiny-bert/missing.json';

let proxy: TestProxy;
let session: BrowserSession;
let page: Page;

/** Paths (no query) of every entry in the caches whose name passes `select`. */
async function cachedPaths(select: { prefix?: string; name?: string }): Promise<string[]> {
  return withTimeout(
    page.evaluate(async ({ prefix, name }) => {
      const paths: string[] = [];
      for (const cacheName of await caches.keys()) {
        if (name !== undefined ? cacheName !== name : !cacheName.startsWith(prefix ?? '')) continue;
        const cache = await caches.open(cacheName);
        for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
      }
      return paths.sort();
    }, select),
    UI_TIMEOUT_MS,
    `list the cached files of ${JSON.stringify(select)}`,
  );
}

/** The precache list Workbox was built with, read from the served `sw.js`. */
async function precacheManifest(): Promise<string[]> {
  const source = await (await fetch(new URL('sw.js', proxy.url))).text();
  const urls = [...source.matchAll(/"url":"([^"]+)"/g)].map((match) => `/${match[1] ?? ''}`);
  return [...new Set(urls)].sort();
}

async function waitForControllingWorker(): Promise<void> {
  await withTimeout(
    page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    }),
    INSTALL_TIMEOUT_MS,
    'wait for the service worker to be installed and active',
  );
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, {
    timeout: UI_TIMEOUT_MS,
  });
}

async function runAllPrompts(): Promise<number[]> {
  const panel = await openTab(page, 'prompts');
  const cards = await panel.getByTestId('prompt-card').count();
  expect(cards).toBeGreaterThanOrEqual(1);
  await panel.getByTestId('prompts-run-all').click();
  await panel
    .getByTestId('run-accuracy')
    .nth(cards - 1)
    .waitFor({ timeout: RUN_TIMEOUT_MS });
  await expect(panel.getByTestId('prompt-error').count()).resolves.toBe(0);
  const values = await panel
    .getByTestId('run-accuracy')
    .evaluateAll((elements) => elements.map((e) => Number(e.getAttribute('data-value'))));
  return values;
}

describe('offline after the first visit', () => {
  beforeAll(async () => {
    proxy = await startProxy(inject('baseUrl'));
    // A browser of its own, with its profile on disk: the service worker's caches (~19 MB with the runtime) and the
    // model cache are what this file tests, and a context of the shared browser keeps storage in memory under a small
    // quota.
    session = await openBrowser({ ownBrowser: true });
    page = session.page;
    await withTimeout(page.goto(proxy.url), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
    await proxy?.close();
  });

  test('the first visit installs a service worker that precaches the app shell, chunks and WASM, and keeps the runtime it used', async () => {
    await waitForControllingWorker();
    await page.getByTestId('sw-offline-ready').waitFor({ timeout: UI_TIMEOUT_MS });

    const manifest = await precacheManifest();
    for (const pattern of [
      /^\/index\.html$/,
      /^\/manifest\.webmanifest$/,
      /^\/assets\/index-[\w-]+\.js$/,
      /^\/assets\/index-[\w-]+\.css$/,
      /^\/assets\/model\.worker-[\w-]+\.js$/,
      /^\/assets\/head\.worker-[\w-]+\.js$/,
      /^\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/,
      /^\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.mjs$/,
      ...CPU_RUNTIME,
      /^\/assets\/tfjs-backend-wasm-simd-[\w-]+\.wasm$/,
    ]) {
      expect(
        manifest.some((url) => pattern.test(url)),
        `precache list has ${String(pattern)}`,
      ).toBe(true);
    }
    // Everything on the list but the runtime is in the cache once the worker is active, not fetched later on
    // demand; of the runtime, only the build this page started (CPU-only: this browser has no WebGPU adapter),
    // and "works offline" was said only once it was kept.
    const cached = await cachedPaths({ prefix: 'workbox-precache' });
    expect(cached).toEqual(expect.arrayContaining(manifest.filter((url) => !RUNTIME_FILE.test(url))));
    expect(cached.filter((url) => RUNTIME_FILE.test(url))).toEqual([]);
    const runtime = await cachedPaths({ name: ORT_RUNTIME_CACHE });
    expect(runtime).toHaveLength(CPU_RUNTIME.length);
    for (const pattern of CPU_RUNTIME) {
      expect(
        runtime.filter((url) => pattern.test(url)),
        `runtime cache has ${String(pattern)}`,
      ).toHaveLength(1);
    }
    await expect(page.evaluate(() => crossOriginIsolated)).resolves.toBe(true);
  });

  test('a model loaded online is kept for offline use, and HTML or error answers are not', async () => {
    const panel = await openTab(page, 'model');
    await startModelLoad(panel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await expect(panel.getByTestId('model-runtime').textContent()).resolves.toContain('CPU-only');
    await expect(cachedPaths({ name: MODEL_FILES_CACHE })).resolves.toEqual(FIXTURE_FILES);
    await expect(cachedPaths({ name: MODEL_INDEX_CACHE })).resolves.toEqual(['/models/index.json']);

    // A missing file answered 404 goes through to the page and is not stored.
    const status = await page.evaluate(async (url) => (await fetch(url)).status, MISSING_MODEL_FILE);
    expect(status).toBe(404);
    await expect(cachedPaths({ name: MODEL_FILES_CACHE })).resolves.toEqual(FIXTURE_FILES);
  });

  test('a model file changed on the server replaces its cached copy at the next load; the others stay', async () => {
    const changed = '/models/fixtures/tiny-bert/config.json';
    const unchanged = '/models/fixtures/tiny-bert/onnx/model.onnx';
    const newDate = 'Wed, 01 Jan 2031 00:00:00 GMT';
    const cachedDate = (path: string) =>
      page.evaluate(
        async ({ cacheName, url }) =>
          (await (await caches.open(cacheName)).match(url))?.headers.get('last-modified') ?? null,
        { cacheName: MODEL_FILES_CACHE, url: path },
      );
    const unchangedDate = await cachedDate(unchanged);
    expect(unchangedDate).not.toBeNull();
    proxy.setResponseHeader(changed, 'last-modified', newDate);
    const requestsBefore = proxy.requests.length;

    await startModelLoad(await openTab(page, 'model'));
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await expect(cachedDate(changed)).resolves.toBe(newDate);
    await expect(cachedDate(unchanged)).resolves.toBe(unchangedDate);
    const requests = proxy.requests.slice(requestsBefore);
    expect(requests).toContain(`GET ${changed}`);
    expect(requests).toContain(`HEAD ${unchanged}`);
    expect(requests).not.toContain(`GET ${unchanged}`);
  });

  test('a new version is offered with "reload to update" and takes over after the reload', async () => {
    proxy.changeServiceWorker('\n// a new version of the app\n');
    await page.evaluate(() => {
      (window as unknown as { beforeUpdate: boolean }).beforeUpdate = true;
    });
    await withTimeout(
      page.evaluate(async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        await registration?.update();
      }),
      UI_TIMEOUT_MS,
      'ask the browser to check for a new service worker',
    );
    const banner = page.getByTestId('sw-update-banner');
    await banner.waitFor({ timeout: INSTALL_TIMEOUT_MS });
    // Until the user agrees, the old version keeps serving the page.
    await expect(
      page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting !== null),
    ).resolves.toBe(true);

    await Promise.all([
      page.waitForEvent('load', { timeout: UI_TIMEOUT_MS }),
      banner.getByTestId('sw-update-reload').click(),
    ]);
    await expect(
      page.evaluate(() => (window as unknown as { beforeUpdate?: boolean }).beforeUpdate),
    ).resolves.toBeUndefined();
    const state = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      return {
        waiting: registration?.waiting ?? null,
        active: registration?.active?.state,
        controlled: navigator.serviceWorker.controller !== null,
      };
    });
    expect(state).toEqual({ waiting: null, active: 'activated', controlled: true });
    await expect(banner.count()).resolves.toBe(0);
    // The new version kept the runtime build in use (its files are the same here: only sw.js changed).
    await expect(cachedPaths({ name: ORT_RUNTIME_CACHE })).resolves.toHaveLength(CPU_RUNTIME.length);
  });

  test('with the network gone, the app loads isolated from the cache, loads the fixture model and runs prompts', async () => {
    await proxy.unplug();
    await session.context.setOffline(true);
    await expect(fetch(proxy.url)).rejects.toThrow();

    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app offline');
    await page.getByTestId('tab-model').waitFor({ timeout: UI_TIMEOUT_MS });
    // The network is gone because the proxy is unplugged (the fetch above failed). navigator.onLine is not checked:
    // after a reload headless Chromium reports it true or false depending on timing, whatever the emulation says.
    const environment = await page.evaluate(() => ({
      isolated: crossOriginIsolated,
      controlled: navigator.serviceWorker.controller !== null,
    }));
    expect(environment).toEqual({ isolated: true, controlled: true });

    const panel = await openTab(page, 'model');
    await startModelLoad(panel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    await expect(panel.getByTestId('model-device').textContent()).resolves.toBe('wasm');
    const threads = Number(await panel.getByTestId('model-threads').textContent());
    expect(threads).toBeGreaterThanOrEqual(1);

    const accuracies = await runAllPrompts();
    expect(accuracies.length).toBeGreaterThanOrEqual(1);
    for (const accuracy of accuracies) expect(accuracy).toBeGreaterThanOrEqual(0);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors but the 404 it asked for', () => {
    expect(session.externalRequests).toEqual([]);
    const unexpected = session.consoleErrors.filter((line) => !line.includes(MISSING_MODEL_FILE));
    expect(unexpected).toEqual([]);
  });
});
