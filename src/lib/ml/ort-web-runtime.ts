/**
 * @file Starts onnxruntime-web's WASM runtime on its own, ahead of the first model session: fetching and compiling
 * its binary (14 or 27 MB, the build the model worker chose) and starting its threads then overlaps with reading
 * the model files, instead of waiting for them inside the first session's creation, and the model panel can show
 * it as a phase of its own. Browser only (the model worker); the runtime is the very instance transformers.js runs
 * its sessions on.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { identityModelBytes } from './onnx-graph/identity-model.ts';

/** Where the app serves onnxruntime-web's binary and loader, and how many threads it may use. */
export interface WasmRuntimeOptions {
  wasmPaths: { wasm: string; mjs: string };
  numThreads: number;
}

let started: Promise<number> | undefined;

/**
 * Initialises the WASM runtime once per worker (a failed start is retried by the next call) and resolves with
 * how long it took. Sets `wasmPaths` and `numThreads` first: they must be in place before the first session.
 */
export function startWasmRuntime(options: WasmRuntimeOptions): Promise<number> {
  if (started) return started;
  const attempt = (async () => {
    const begun = performance.now();
    ort.env.wasm.wasmPaths = options.wasmPaths;
    ort.env.wasm.numThreads = options.numThreads;
    const session = await ort.InferenceSession.create(identityModelBytes(), { executionProviders: ['wasm'] });
    await session.release();
    return performance.now() - begun;
  })();
  started = attempt;
  attempt.catch(() => {
    if (started === attempt) started = undefined;
  });
  return attempt;
}
