/**
 * @file Global setup of the browser test projects: builds the app once, serves it with `vite preview` on a free
 * port and hands the base URL to tests (`inject('baseUrl')`). Both browser projects share that server; the last
 * teardown stops it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type InlineConfig } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the preview server, e.g. 'http://127.0.0.1:41234'. */
    baseUrl: string;
    /** The production build the preview server serves (tests that start a server of their own reuse it). */
    outDir: string;
  }
}

/** Debian's Chromium, which playwright-core drives (no browser download). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

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

/** The build and preview server of this run, shared by the browser projects (built once, closed by the last). */
interface Served {
  baseUrl: string;
  outDir: string;
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
  return {
    baseUrl: `http://${HOST}:${address.port}`,
    outDir,
    close: async () => {
      await server.close();
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
  const { baseUrl, outDir, close } = await served;
  project.provide('baseUrl', baseUrl);
  project.provide('outDir', outDir);
  return async () => {
    users--;
    if (users > 0) return;
    // A later setup (if any) builds and serves afresh.
    served = undefined;
    await close();
  };
}
