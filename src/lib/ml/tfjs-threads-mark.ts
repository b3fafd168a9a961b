/**
 * @file The mark that tfjs's threaded WASM backend can start in this scope: the build's plugin
 * (scripts/vite/tfjs-wasm-threads.ts) sets `globalThis[Symbol.for(TFJS_THREADS_MARK)]` once it has wrapped the
 * threaded factory so its pthreads start from served files; tfjs-head.ts reads it. No imports, so Vite's config
 * can load it cheaply.
 */

/** Name of the global symbol (`Symbol.for`) set to `true` where threaded tfjs WASM can start. */
export const TFJS_THREADS_MARK = 'pvf.tfjs-wasm-threads';

/** Whether threaded tfjs WASM can start here: the build's wrapper is in place and the scope is cross-origin isolated. */
export function tfjsWasmThreadsUsable(scope: object = globalThis): boolean {
  const fields = scope as { crossOriginIsolated?: unknown } & Record<symbol, unknown>;
  return fields.crossOriginIsolated === true && fields[Symbol.for(TFJS_THREADS_MARK)] === true;
}
