/**
 * @file Launches headless Debian Chromium for browser tests, with a fresh profile and a network guard:
 * any request leaving 127.0.0.1/localhost is recorded and aborted, so tests can assert the app stays offline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from './global-setup.ts';

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** Bound on any Playwright action or wait given no timeout of its own (see app-driver.ts). */
const DEFAULT_ACTION_TIMEOUT_MS = 120_000;

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A browser session for one test file. */
export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** URLs of requests that tried to leave the machine (aborted). */
  externalRequests: string[];
  /** Console errors (page and workers) and uncaught page errors, as text. */
  consoleErrors: string[];
  /** Every console message, for diagnosing a failure. */
  consoleLog: string[];
  /** The browser's profile folder; its processes carry it on their command line (memory measurements). */
  userDataDir: string;
  /**
   * Closes the browser and deletes its profile; with `keepProfile`, the profile stays on disk for a later
   * `openBrowser({ userDataDir })` (which then owns it and deletes it on its own close).
   */
  close(options?: { keepProfile?: boolean }): Promise<void>;
}

/**
 * Starts Chromium and opens one page: on a fresh user-data dir, or on `userDataDir` when given (a profile a
 * previous session closed with `keepProfile`, e.g. to reopen the app's stored data in a browser started anew).
 * `bypassCSP` lets a test inject a script of its own (axe-core, see axe.ts) past the app's Content-Security-Policy.
 */
export async function openBrowser(
  options: { extraArgs?: string[]; userDataDir?: string; bypassCSP?: boolean } = {},
): Promise<BrowserSession> {
  const userDataDir = options.userDataDir ?? (await mkdtemp(path.join(tmpdir(), 'pvf-chromium-')));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...LAUNCH_ARGS, ...(options.extraArgs ?? [])],
    bypassCSP: options.bypassCSP ?? false,
  });
  const externalRequests: string[] = [];
  const consoleErrors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    const local = url.protocol === 'data:' || url.protocol === 'blob:' || LOCAL_HOSTS.has(url.hostname);
    if (local) return route.continue();
    externalRequests.push(url.href);
    return route.abort('blockedbyclient');
  });
  // Playwright's own default (30 s) applies to every action given no timeout; under load that is not enough.
  context.setDefaultTimeout(DEFAULT_ACTION_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLog: string[] = [];
  const onConsole = (source: string) => (message: ConsoleMessage) => {
    const line = `[${source} ${message.type()}] ${message.text()}`;
    consoleLog.push(line);
    if (message.type() === 'error') consoleErrors.push(`${line} (${message.location().url})`);
  };
  page.on('console', onConsole('page'));
  // Dedicated workers (model, head) report their console separately from the page.
  page.on('worker', (worker) =>
    worker.on('console', onConsole(`worker ${worker.url().split('/').pop() ?? ''}`)),
  );
  page.on('pageerror', (error) => consoleErrors.push(`Uncaught: ${error.message}`));
  return {
    context,
    page,
    externalRequests,
    consoleErrors,
    consoleLog,
    userDataDir,
    async close(closeOptions = {}) {
      await context.close();
      if (closeOptions.keepProfile !== true) await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Rejects after `ms` with a message naming `what`; for racing calls that have no timeout of their own. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
