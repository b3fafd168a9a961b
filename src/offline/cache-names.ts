/**
 * @file Names of the Cache Storage caches the service worker (src/sw.ts) fills at run time, for code that wants
 * to tell whether a model is available offline. (The app shell and its WASM live in Workbox's precache.)
 */

/** Model files served under /models/, cached on first successful load (cache-first). */
export const MODEL_FILES_CACHE = 'pvf-models-v1';

/** The last `/models/index.json` seen, for listing models offline (network-first). */
export const MODEL_INDEX_CACHE = 'pvf-model-index-v1';
