/**
 * @file What the offline browser tests share: how long the service worker's first install may take, the fixture
 * model's files the app reads, and the paths in the model files cache.
 */
import type { Page } from 'playwright-core';
import { MODEL_FILES_CACHE } from '../../src/offline/cache-names.ts';
import { UI_TIMEOUT_MS } from './app-driver.ts';
import { withTimeout } from './browser.ts';

/** The service worker's first install downloads the build (~5 MB); the runtime the page used (14 MB) is kept too. */
export const INSTALL_TIMEOUT_MS = 90_000;

/** Files of the fixture model the app reads (the ONNX graph, tokenizer and config). */
export const FIXTURE_FILES = [
  '/models/fixtures/tiny-bert/config.json',
  '/models/fixtures/tiny-bert/onnx/model.onnx',
  '/models/fixtures/tiny-bert/tokenizer.json',
  '/models/fixtures/tiny-bert/tokenizer_config.json',
];

/** Paths of the entries in the model files cache, sorted (none when the cache does not exist). */
export async function cachedModelFiles(page: Page): Promise<string[]> {
  return withTimeout(
    page.evaluate(async (name) => {
      if (!(await caches.has(name))) return [];
      const requests = await (await caches.open(name)).keys();
      return requests.map((request) => new URL(request.url).pathname).sort();
    }, MODEL_FILES_CACHE),
    UI_TIMEOUT_MS,
    'list the cached model files',
  );
}
