/// <reference types="vitest/config" />
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { securityHeaders } from './scripts/vite/security-headers.ts';
import { serveModels } from './scripts/vite/serve-models.ts';
import { ISOLATION_HEADERS } from './src/offline/csp.ts';

/**
 * COOP + COEP (+ CORP) make the page cross-origin isolated, so SharedArrayBuffer exists and
 * onnxruntime-web can run WASM with threads. Vite's preview server reuses these.
 */
const isolationHeaders = { ...ISOLATION_HEADERS };

/**
 * The precache list names every file of the build, onnxruntime-web's two WASM builds (14 and 27 MB) included: the
 * service worker leaves those out of its precache and keeps the one a browser uses (src/sw.ts).
 */
const MAX_PRECACHED_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Browser test files that run alone, after the others: models-device loads models on a software WebGPU adapter
 * (one load in three ended in an error while another Chromium ran beside it: "multiple calls to 'initWasm()'", a
 * race in the model worker fixed since, so under load it now fails only if the race comes back; it has not been
 * tried beside the others again), and models-memory reads the renderer's memory, which a neighbour's load would
 * blur.
 */
const SOLO_BROWSER_FILES = ['tests/browser/models-device.test.ts', 'tests/browser/models-memory.test.ts'];

/**
 * Unit test files share one process (`isolate: false`, project "unit"): tfjs, transformers.js, onnxruntime and
 * the Svelte compiler are imported once, not once per file. What a file changes in that process stays for the
 * files after it, so the rule is:
 * - a file restores every global it changes (in afterEach/afterAll; tests/helpers/fake-indexeddb.ts for
 *   IndexedDB). The shared project's setup file (tests/unit/shared-process-guard.ts) fails a file that leaves a
 *   global or fake timers behind, or that starts tfjs's WASM backend;
 * - files that depend on process-wide state they cannot restore run each in a process of their own (project
 *   "unit-isolated"): those of tests/unit/ml and tests/unit/cli, which switch tfjs's one backend per process
 *   between cpu and WASM (its WASM kernels, evaluated again by a later file, then fail: "wasmFunc is not a
 *   function"; and WASM stays failed once it could not start), and any file named `*.isolated.test.ts`.
 */
const ISOLATED_UNIT_FILES = [
  'tests/unit/ml/**/*.test.ts',
  'tests/unit/cli/**/*.test.ts',
  'tests/unit/**/*.isolated.test.ts',
];

export default defineConfig({
  plugins: [
    // Node unit tests drive the rune classes as the page does: client code (proxies, effects), not SSR output.
    svelte(process.env.VITEST ? { dynamicCompileOptions: () => ({ generate: 'client' }) } : {}),
    serveModels(),
    // Content-Security-Policy headers (dev, preview) and meta tag (build): src/offline/csp.ts.
    securityHeaders(),
    // Offline after the first visit: a Workbox service worker (src/sw.ts) precaching the build. Off in dev.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      registerType: 'prompt',
      injectRegister: false,
      devOptions: { enabled: false },
      injectManifest: {
        // The web manifest and its icons are added by the plugin itself.
        globPatterns: ['**/*.{html,js,mjs,css,wasm,svg}'],
        globIgnores: ['icon*.svg'],
        maximumFileSizeToCacheInBytes: MAX_PRECACHED_FILE_BYTES,
      },
      manifest: {
        name: 'Prompt vs Fine-tune Playground',
        short_name: 'Prompt vs Fine-tune',
        description: 'Compare prompting with fine-tuning a head, on small models running locally.',
        start_url: '.',
        scope: '.',
        display: 'standalone',
        theme_color: '#1f3a5f',
        background_color: '#f7f8fa',
        icons: [
          { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
          { src: 'icon-maskable.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'maskable' },
        ],
      },
    }),
  ],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  // Scan the workers too, so the dev server pre-bundles transformers.js and tfjs up front instead of
  // discovering them on first use and reloading the page mid-run.
  optimizeDeps: { entries: ['index.html', 'src/lib/workers/*.worker.ts'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  test: {
    expect: { requireAssertions: true },
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    // One file at a time (vitest's default on 2 cores). Two at a time measured no faster on this CPU-bound machine
    // (a fresh clone: 25 min either way) and one prompt-lab tab switch timed out beside another Chromium. The two
    // files that measure the machine itself run last, alone, in their own project.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          exclude: [...ISOLATED_UNIT_FILES],
          isolate: false,
          setupFiles: ['tests/unit/shared-process-guard.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
          // A safety net, not a speed target (that is `npm run bench`): tests wait on conditions, and a busy
          // 2-core machine (load average 30 measured with several agents at work) makes seconds into minutes.
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'unit-isolated',
          include: [...ISOLATED_UNIT_FILES],
          environment: 'node',
          sequence: { groupOrder: 0 },
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          exclude: [...SOLO_BROWSER_FILES],
          environment: 'node',
          // The files share one worker process, like the unit project (same rule, same guard): playwright-core, Vite
          // and the drivers are imported once, not once per file. Each file closes what it opens in afterAll (its
          // browser context, servers, temporary folders).
          isolate: false,
          setupFiles: ['tests/unit/shared-process-guard.ts'],
          globalSetup: ['tests/browser/global-setup.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser-solo',
          include: [...SOLO_BROWSER_FILES],
          environment: 'node',
          globalSetup: ['tests/browser/global-setup.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
