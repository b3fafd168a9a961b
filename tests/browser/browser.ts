/**
 * @file Opens a page in headless Debian Chromium for browser tests, with a network guard on its context: any
 * request leaving 127.0.0.1/localhost is recorded and aborted, so tests can assert the app stays offline.
 * By default the page lives in a fresh context (its own storage, cookies and cache, like a new incognito window)
 * of the one Chromium the global setup launched for the whole run; a file that needs launch flags, a profile on
 * disk or a browser to itself launches its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { CHROMIUM_PATH, LAUNCH_ARGS } from './global-setup.ts';

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
  /**
   * The profile folder of a browser launched for this session (undefined for a context of the shared browser);
   * its processes carry it on their command line (memory measurements).
   */
  userDataDir: string | undefined;
  /**
   * Closes the context, and a browser launched for this session with its profile; with `keepProfile`, a launched
   * browser's profile stays on disk for a later `openBrowser({ userDataDir })` (which then owns it and deletes it
   * on its own close).
   */
  close(options?: { keepProfile?: boolean }): Promise<void>;
}

/** What a session needs from its browser. Any of `extraArgs`, `userDataDir`, `ownBrowser` launches one for it. */
export interface OpenBrowserOptions {
  /** Extra Chromium flags (e.g. WebGPU, host-resolver rules). */
  extraArgs?: string[];
  /** A profile a previous session closed with `keepProfile`, e.g. to reopen the app's stored data anew. */
  userDataDir?: string;
  /**
   * A browser of its own on a fresh profile on disk: for service workers with their precache (a shared-browser
   * context keeps storage in memory under a small quota), a profile to reopen, or a page to itself.
   */
  ownBrowser?: boolean;
  /** Lets a test inject a script of its own (axe-core, see axe.ts) past the app's Content-Security-Policy. */
  bypassCSP?: boolean;
}

interface OpenedContext {
  context: BrowserContext;
  userDataDir: string | undefined;
  close(keepProfile: boolean): Promise<void>;
}

/** Starts Chromium on a profile folder (fresh unless given) and returns its one context. */
async function launchOwn(options: OpenBrowserOptions): Promise<OpenedContext> {
  const userDataDir = options.userDataDir ?? (await mkdtemp(path.join(tmpdir(), 'pvf-chromium-')));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...LAUNCH_ARGS, ...(options.extraArgs ?? [])],
    bypassCSP: options.bypassCSP ?? false,
  });
  return {
    context,
    userDataDir,
    async close(keepProfile) {
      await context.close();
      if (!keepProfile) await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Connects to the run's shared Chromium and opens a new context in it. The connection is the session's own: when
 * it closes, or the process holding it dies, Playwright's server closes the contexts it opened, so a file that
 * crashed leaves nothing behind for the next.
 */
async function connectShared(options: OpenBrowserOptions): Promise<OpenedContext> {
  const browser = await chromium.connect(inject('browserWsEndpoint'));
  try {
    const context = await browser.newContext({ bypassCSP: options.bypassCSP ?? false });
    return {
      context,
      userDataDir: undefined,
      async close() {
        try {
          await context.close();
        } finally {
          await browser.close();
        }
      },
    };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** A session in a browser launched for it. */
export type OwnBrowserSession = BrowserSession & { userDataDir: string };

/**
 * Opens one page: in a new context of the shared browser, or in a browser of its own when `options` need one or
 * when not running under vitest (bench and perf scripts, which have no shared browser).
 */
export async function openBrowser(
  options: OpenBrowserOptions & { ownBrowser: true },
): Promise<OwnBrowserSession>;
export async function openBrowser(options?: OpenBrowserOptions): Promise<BrowserSession>;
export async function openBrowser(options: OpenBrowserOptions = {}): Promise<BrowserSession> {
  const ownBrowser =
    options.ownBrowser === true ||
    options.userDataDir !== undefined ||
    (options.extraArgs?.length ?? 0) > 0 ||
    process.env.VITEST === undefined;
  const opened = ownBrowser ? await launchOwn(options) : await connectShared(options);
  const { context } = opened;
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
    userDataDir: opened.userDataDir,
    async close(closeOptions = {}) {
      await opened.close(closeOptions.keepProfile === true);
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
