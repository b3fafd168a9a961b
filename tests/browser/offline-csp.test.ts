/**
 * @file The Content-Security-Policy holds: the server sends it per request and the build carries it as a meta
 * tag; the whole flow (model, data, prompts, head training, compare) runs without a single violation; with
 * downloads off, neither the page nor the model worker may connect to any other origin, the hub included; with
 * downloads on, the hub is allowed by the policy (and then aborted by the tests' network guard) while other origins
 * stay blocked, and a worker started without the downloads flag stays closed. Violations are caught three ways:
 * `securitypolicyviolation` events in the page, reports the browser posts (from workers too) and console errors.
 * Runs on its own origin (a proxy in front of the preview server), so its reports and service worker stay its own.
 */
import type { Page, Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  ALLOW_DOWNLOADS_KEY,
  CSP_REPORT_PATH,
  HUB_CONNECT_SOURCES,
  OFFLINE_POLICY_ATTRIBUTE,
  WORKER_DOWNLOADS_ALLOWED,
  WORKER_DOWNLOADS_PARAM,
} from '../../src/offline/csp.ts';
import {
  openTab,
  RUN_TIMEOUT_MS,
  runAllPrompts,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { startProxy, type TestProxy } from './offline-proxy.ts';

/** An origin the app never needs. */
const OTHER_ORIGIN_URL = 'https://example.com/exfiltrate';
/** A hub address transformers.js would use; and one on the hub's storage hosts, reached by redirect. */
const HUB_URL = 'https://huggingface.co/Xenova/all-MiniLM-L6-v2/resolve/main/config.json';
const HUB_STORAGE_URL = 'https://cas-bridge.xethub.hf.co/xet-bridge-us/some-file';
/** How long a violation report may take to arrive after the blocked request. */
const REPORT_TIMEOUT_MS = 60_000;

/** A `securitypolicyviolation` event seen by the page. */
interface PageViolation {
  directive: string;
  blocked: string;
}

let proxy: TestProxy;
let session: BrowserSession;
let page: Page;

/** Directive name → its sources, from a policy string. */
function parsePolicy(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name, sources);
  }
  return directives;
}

/**
 * Violations the page saw, as 'directive blocked-url', each once: a request blocked by several of the page's
 * policies (header, index.html meta, startup meta) fires one event per policy.
 */
async function pageViolations(): Promise<string[]> {
  const events = await withTimeout(
    page.evaluate(() => (window as unknown as { cspViolations: PageViolation[] }).cspViolations),
    UI_TIMEOUT_MS,
    'read the page CSP violations',
  );
  return [...new Set(events.map((event) => `${event.directive} ${event.blocked}`))];
}

/** Fetches `url` from the page; returns 'ok' or the error text. */
async function fetchFromPage(url: string): Promise<string> {
  return withTimeout(
    page.evaluate(
      (target) =>
        fetch(target).then(
          () => 'ok',
          (error: unknown) => String(error),
        ),
      url,
    ),
    UI_TIMEOUT_MS,
    `fetch ${url} from the page`,
  );
}

/** Fetches `url` from inside a worker; returns 'ok' or the error text. */
async function fetchFromWorker(worker: Worker, url: string): Promise<string> {
  return withTimeout(
    worker.evaluate(
      (target) =>
        fetch(target).then(
          () => 'ok',
          (error: unknown) => String(error),
        ),
      url,
    ),
    UI_TIMEOUT_MS,
    `fetch ${url} from the worker ${worker.url()}`,
  );
}

/** Blocked URLs the browser reported for documents or workers whose URL contains `source`. */
function reportedBlocks(source: string): string[] {
  return proxy.reports
    .filter((report) => (report['document-uri'] ?? '').includes(source))
    .map((report) => report['blocked-uri'] ?? '');
}

/** The model worker the app started, once it exists. */
async function modelWorker(): Promise<Worker> {
  const existing = page.workers().find((worker) => worker.url().includes('model.worker'));
  if (existing) return existing;
  return page.waitForEvent('worker', {
    predicate: (worker) => worker.url().includes('model.worker'),
    timeout: UI_TIMEOUT_MS,
  });
}

async function loadFixtureModel(): Promise<void> {
  const panel = await openTab(page, 'model');
  await startModelLoad(panel);
  expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
}

/** Path of the built model worker script, from the service worker's precache list. */
async function modelWorkerPath(): Promise<string> {
  const source = await (await fetch(new URL('sw.js', proxy.url))).text();
  const match = /"url":"(assets\/model\.worker-[\w-]+\.js)"/.exec(source);
  if (!match?.[1]) throw new Error('sw.js lists no assets/model.worker-*.js: the build changed.');
  return `/${match[1]}`;
}

async function reloadWhenControlled(): Promise<void> {
  await withTimeout(
    page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    }),
    RUN_TIMEOUT_MS,
    'wait for the service worker',
  );
  await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app');
  await expect(page.evaluate(() => navigator.serviceWorker.controller !== null)).resolves.toBe(true);
}

describe('content security policy', () => {
  beforeAll(async () => {
    proxy = await startProxy(inject('baseUrl'));
    // A browser of its own, with its profile on disk: the service worker's caches (~19 MB with the runtime) and the
    // model cache are what this file tests, and a context of the shared browser keeps storage in memory under a small
    // quota.
    session = await openBrowser({ ownBrowser: true });
    page = session.page;
    await session.context.addInitScript(() => {
      const seen: { directive: string; blocked: string }[] = [];
      (window as unknown as { cspViolations: typeof seen }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) =>
        seen.push({ directive: event.effectiveDirective, blocked: event.blockedURI }),
      );
    });
    await withTimeout(page.goto(proxy.url), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
    await proxy?.close();
  });

  test('the server sends the policy for each request, and the built page carries it as a meta tag', async () => {
    const documentResponse = await fetch(proxy.url, { headers: { 'Sec-Fetch-Dest': 'document' } });
    const header = parsePolicy(documentResponse.headers.get('content-security-policy') ?? '');
    expect(header.get('default-src')).toEqual(["'self'"]);
    expect(header.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(header.get('worker-src')).toEqual(["'self'"]);
    expect(header.get('connect-src')).toEqual(["'self'", ...HUB_CONNECT_SOURCES]);
    expect(header.get('style-src')).toEqual(["'self'"]);
    expect(header.get('object-src')).toEqual(["'none'"]);
    expect(header.get('frame-ancestors')).toEqual(["'none'"]);
    expect(header.get('report-uri')).toEqual([CSP_REPORT_PATH]);

    const html = await documentResponse.text();
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
    expect(meta, 'index.html has a CSP meta tag').toBeDefined();
    const metaPolicy = parsePolicy((meta ?? '').replaceAll('&#39;', "'"));
    expect(metaPolicy.get('connect-src')).toEqual(header.get('connect-src'));
    expect(metaPolicy.get('script-src')).toEqual(header.get('script-src'));
    // Header-only directives would be reported as errors in a meta tag.
    expect(metaPolicy.has('frame-ancestors')).toBe(false);
    expect(metaPolicy.has('report-uri')).toBe(false);

    const worker = await modelWorkerPath();
    const workerPolicy = async (query: string): Promise<string[] | undefined> => {
      const response = await fetch(new URL(worker + query, proxy.url), {
        headers: { 'Sec-Fetch-Dest': 'worker' },
      });
      expect(response.status).toBe(200);
      return parsePolicy(response.headers.get('content-security-policy') ?? '').get('connect-src');
    };
    await expect(workerPolicy('')).resolves.toEqual(["'self'"]);
    await expect(workerPolicy(`?${WORKER_DOWNLOADS_PARAM}=${WORKER_DOWNLOADS_ALLOWED}`)).resolves.toEqual([
      "'self'",
      ...HUB_CONNECT_SOURCES,
    ]);
    await expect(workerPolicy(`?${WORKER_DOWNLOADS_PARAM}=true`)).resolves.toEqual(["'self'"]);
  });

  test('the whole flow runs without a single violation', async () => {
    await expect(page.locator(`meta[${OFFLINE_POLICY_ATTRIBUTE}]`).count()).resolves.toBe(1);
    await loadFixtureModel();

    const data = await openTab(page, 'data');
    await expect(data.getByTestId('split-row').count()).resolves.toBeGreaterThan(0);

    await runAllPrompts(page);

    const finetune = await openTab(page, 'finetune');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');
    await finetune.getByTestId('loss-chart').locator('polyline').first().waitFor({ timeout: UI_TIMEOUT_MS });

    const compare = await openTab(page, 'compare');
    await compare.getByTestId('compare-run-row').first().waitFor({ timeout: UI_TIMEOUT_MS });

    // Reports are posted asynchronously. A deliberate violation last is the sentinel: once its report has arrived,
    // any report of the flow before it has had its chance, so the sentinel must be the only one.
    const sentinel = 'https://example.com/sentinel';
    expect(await fetchFromPage(sentinel)).toMatch(/Failed to fetch/);
    await expect.poll(() => proxy.reports.length, { timeout: REPORT_TIMEOUT_MS }).toBeGreaterThan(0);
    expect(proxy.reports.map((report) => report['blocked-uri'])).toEqual([sentinel]);
    await expect(pageViolations()).resolves.toEqual([`connect-src ${sentinel}`]);
    // The sentinel's own "Refused to connect" line is the only console error allowed.
    expect(session.consoleErrors.filter((line) => !line.includes(sentinel))).toEqual([]);
  });

  test('with downloads off, the page and the model worker can reach no other origin, the hub included', async () => {
    await reloadWhenControlled();
    const requestsBefore = proxy.requests.length;
    await expect(page.locator(`meta[${OFFLINE_POLICY_ATTRIBUTE}]`).getAttribute('content')).resolves.toBe(
      "connect-src 'self'",
    );

    for (const url of [OTHER_ORIGIN_URL, HUB_URL])
      expect(await fetchFromPage(url)).toMatch(/Failed to fetch/);
    await expect(pageViolations()).resolves.toEqual([
      `connect-src ${OTHER_ORIGIN_URL}`,
      `connect-src ${HUB_URL}`,
    ]);

    await loadFixtureModel();
    const worker = await modelWorker();
    expect(new URL(worker.url()).searchParams.has(WORKER_DOWNLOADS_PARAM)).toBe(false);
    for (const url of [OTHER_ORIGIN_URL, HUB_URL, HUB_STORAGE_URL]) {
      expect(await fetchFromWorker(worker, url)).toMatch(/Failed to fetch/);
    }
    await expect
      .poll(() => reportedBlocks('model.worker'), { timeout: REPORT_TIMEOUT_MS })
      .toEqual([OTHER_ORIGIN_URL, HUB_URL, HUB_STORAGE_URL]);
    // The worker script came from the service worker's cache, with the policy the service worker set.
    const workerPath = new URL(worker.url()).pathname;
    expect(proxy.requests.slice(requestsBefore).filter((request) => request.includes(workerPath))).toEqual(
      [],
    );
    expect(session.externalRequests).toEqual([]);
  });

  test('with downloads on, only the hub is allowed, and only to the worker started for downloads', async () => {
    await page.evaluate((key) => localStorage.setItem(key, 'true'), ALLOW_DOWNLOADS_KEY);
    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app with downloads allowed');
    await expect(page.locator(`meta[${OFFLINE_POLICY_ATTRIBUTE}]`).count()).resolves.toBe(0);

    // The policy lets the hub through; the tests' network guard then aborts it, and records it.
    expect(await fetchFromPage(HUB_URL)).toMatch(/Failed to fetch/);
    expect(session.externalRequests).toEqual([HUB_URL]);
    expect(await fetchFromPage(OTHER_ORIGIN_URL)).toMatch(/Failed to fetch/);
    await expect(pageViolations()).resolves.toEqual([`connect-src ${OTHER_ORIGIN_URL}`]);

    await loadFixtureModel();
    const worker = await modelWorker();
    expect(new URL(worker.url()).searchParams.get(WORKER_DOWNLOADS_PARAM)).toBe(WORKER_DOWNLOADS_ALLOWED);
    const reportsBefore = proxy.reports.length;
    expect(await fetchFromWorker(worker, HUB_STORAGE_URL)).toMatch(/Failed to fetch/);
    expect(session.externalRequests).toEqual([HUB_URL, HUB_STORAGE_URL]);
    expect(await fetchFromWorker(worker, OTHER_ORIGIN_URL)).toMatch(/Failed to fetch/);
    await expect
      .poll(() => proxy.reports.slice(reportsBefore).map((report) => report['blocked-uri']), {
        timeout: REPORT_TIMEOUT_MS,
      })
      .toEqual([OTHER_ORIGIN_URL]);

    // Any other worker (here a second copy of the model worker, without the flag) stays closed.
    const workerPath = new URL(worker.url()).pathname;
    const [plainWorker] = await Promise.all([
      page.waitForEvent('worker', {
        predicate: (candidate) => candidate.url().endsWith(workerPath),
        timeout: UI_TIMEOUT_MS,
      }),
      page.evaluate((path) => {
        new Worker(path, { type: 'module' });
      }, workerPath),
    ]);
    expect(await fetchFromWorker(plainWorker, HUB_URL)).toMatch(/Failed to fetch/);
    await expect
      .poll(() => proxy.reports.slice(reportsBefore).map((report) => report['blocked-uri']), {
        timeout: REPORT_TIMEOUT_MS,
      })
      .toEqual([OTHER_ORIGIN_URL, HUB_URL]);
  });

  test('nothing left 127.0.0.1 but the hub requests made with downloads on, which the guard aborted', () => {
    expect(session.externalRequests).toEqual([HUB_URL, HUB_STORAGE_URL]);
  });
});
