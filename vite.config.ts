/// <reference types="vitest/config" />
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';
import { serveModels } from './scripts/vite/serve-models.ts';

/**
 * COOP + COEP make the page cross-origin isolated, so SharedArrayBuffer exists and
 * onnxruntime-web can run WASM with threads. Vite's preview server reuses these.
 */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [svelte(), serveModels()],
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
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/browser/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
