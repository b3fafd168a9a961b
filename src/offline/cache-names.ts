/**
 * @file Names of the Cache Storage caches the service worker (src/sw.ts) fills at run time, for code that wants
 * to tell whether a model is available offline. (The app shell and the other WASM live in Workbox's precache.)
 */

/** Model files served under /models/, cached on first successful load (cache-first). */
export const MODEL_FILES_CACHE = 'pvf-models-v1';

/** The last `/models/index.json` seen, for listing models offline (network-first). */
export const MODEL_INDEX_CACHE = 'pvf-model-index-v1';

/**
 * onnxruntime-web's WASM build this browser runs (CPU-only or with WebGPU, the model worker chooses) and its loader,
 * cached on first use rather than precached: each browser needs one of the two builds (14 or 27 MB).
 */
export const ORT_RUNTIME_CACHE = 'pvf-ort-runtime-v1';
