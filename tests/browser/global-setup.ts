/**
 * @file Global setup of the browser test projects: builds the app once, serves it with `vite preview` on a free
 * port and hands the base URL to tests (`inject('baseUrl')`); launches one Chromium that test files connect to
 * (`inject('browserWsEndpoint')`, see browser.ts), each in a context of its own, instead of starting a browser per
 * file (~3.5 s each). Both browser projects share the server and the browser; the last teardown stops both.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview, type InlineConfig } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the preview server, e.g. 'http://127.0.0.1:41234'. */
    baseUrl: string;
    /** The production build the preview server serves (tests that start a server of their own reuse it). */
    outDir: string;
    /** Playwright endpoint of the Chromium shared by the run's test files (`chromium.connect`). */
    browserWsEndpoint: string;
  }
}

/** Debian's Chromium, which playwright-core drives (no browser download). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags of every Chromium the tests start (the shared one and those a file launches for itself). */
export const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = '127.0.0.1';

/** Asks the OS for a free TCP port (listen on port 0, read it back, close). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('Could not read the port the OS assigned.'));
      });
    });
  });
}

/**
 * The build, preview server and shared Chromium of this run, shared by the browser projects (started once, closed
 * by the last).
 */
interface Served {
  baseUrl: string;
  outDir: string;
  browserWsEndpoint: string;
  close: () => Promise<void>;
}

let served: Promise<Served> | undefined;
let users = 0;

async function buildAndServe(): Promise<Served> {
  // A private build folder per run, so neither `vite build` into dist/ nor another test run at the same time
  // can pull files from under the tests.
  const outDir = await mkdtemp(path.join(tmpdir(), 'pvf-browser-tests-'));
  const config: InlineConfig = {
    root,
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  };
  // Vitest sets NODE_ENV=test, which would make Vite build Svelte in dev mode; test the production build users get.
  const testNodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build(config);
  } finally {
    process.env.NODE_ENV = testNodeEnv;
  }
  const server = await preview({
    ...config,
    preview: { host: HOST, port: await freePort(), strictPort: true, open: false },
  });
  const address = server.httpServer.address();
  if (typeof address !== 'object' || address === null) throw new Error('vite preview is not listening.');
  // Test files connect to this browser and each opens a fresh context (its own storage, cookies, cache), which
  // Playwright closes when the file's connection drops, even if the worker running it was killed. On a normal
  // exit, SIGINT or SIGTERM of the vitest process, Playwright kills the browser too (no orphan Chromium).
  const browser = await chromium
    .launchServer({ executablePath: CHROMIUM_PATH, headless: true, args: LAUNCH_ARGS, host: HOST, port: 0 })
    .catch(async (error: unknown) => {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
      throw error;
    });
  return {
    baseUrl: `http://${HOST}:${address.port}`,
    outDir,
    browserWsEndpoint: browser.wsEndpoint(),
    close: async () => {
      await Promise.allSettled([browser.close(), server.close()]);
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Browser tests need Chromium at ${CHROMIUM_PATH}. Install it with: apt-get install -y chromium fonts-liberation`,
    );
  }
  if (!existsSync(path.join(root, 'tests/fixtures/models/tiny-bert/onnx/model.onnx'))) {
    throw new Error('Browser tests need the fixture models. Generate them with: npm run fixtures');
  }
  if (!existsSync(path.join(root, 'models/universal-sentence-encoder-lite/conversion.json'))) {
    throw new Error(
      'Browser tests need the built-in model the app starts on. Build it (offline) with: npm run models:builtin',
    );
  }
  users++;
  served ??= buildAndServe();
  const { baseUrl, outDir, browserWsEndpoint, close } = await served;
  project.provide('baseUrl', baseUrl);
  project.provide('outDir', outDir);
  project.provide('browserWsEndpoint', browserWsEndpoint);
  return async () => {
    users--;
    if (users > 0) return;
    // A later setup (if any) builds and serves afresh.
    served = undefined;
    await close();
  };
}
