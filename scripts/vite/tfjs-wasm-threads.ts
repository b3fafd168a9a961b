/**
 * @file Vite plugin that lets tfjs's threaded WASM backend start in a production build under the app's
 * Content-Security-Policy.
 *
 * tfjs-backend-wasm starts its pthreads from two `blob:` scripts: the emscripten worker (a string it ships) and the
 * emscripten factory rebuilt with `Function.prototype.toString()`. In a build, the factory's text is minified and
 * names variables of the bundle chunk it came from, so the rebuilt script throws; and the app's policy allows no
 * `blob:` scripts anyway. This plugin instead
 * - emits both scripts as real files of the build, unminified, under {@link THREADS_FOLDER};
 * - wraps the threaded factory that `@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js` imports, so emscripten
 *   starts its pthread workers from those files (`locateFile`, `mainScriptUrlOrBlob`), and marks the worker's
 *   global scope with {@link TFJS_THREADS_MARK}: tfjs-head.ts turns threads on only where that mark is present
 *   (never in dev, where the dependency is pre-bundled without this plugin, nor in Node).
 * Add it to both `plugins` (emits the files) and `worker.plugins` (wraps the factory in the worker bundles).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Plugin } from 'vite';
import { TFJS_THREADS_MARK } from '../../src/lib/ml/tfjs-threads-mark.ts';

const require = createRequire(import.meta.url);
const PACKAGE = '@tensorflow/tfjs-backend-wasm';
const FACTORY_FILE = 'tfjs-backend-wasm-threaded-simd.js';
const WORKER_FILE = 'tfjs-backend-wasm-threaded-simd.worker.js';
/** How backend_wasm.js imports the threaded factory. */
const FACTORY_SPECIFIER = `../wasm-out/${FACTORY_FILE}`;
const WRAPPER_ID = '\0pvf-tfjs-wasm-threaded-factory';

const version = (require(`${PACKAGE}/package.json`) as { version: string }).version;
/** Build folder of the two pthread scripts; versioned, so a tfjs upgrade never meets a cached old copy. */
export const THREADS_FOLDER = `tfjs-wasm-${version}`;

/** The emscripten pthread worker script as tfjs ships it: the string its `blob:` worker is built from. */
function workerScript(): string {
  const { wasmWorkerContents } = require(`${PACKAGE}/wasm-out/${WORKER_FILE}`) as {
    wasmWorkerContents: string;
  };
  // As tfjs does before making its blob: the template literal turned the script's "\n" escapes into newlines.
  return wasmWorkerContents.replace(/\n/g, '\\n');
}

/** The module that replaces the factory import: the original factory, started with file URLs for its threads. */
function wrapperModule(base: string): string {
  const factoryPath = require.resolve(`${PACKAGE}/wasm-out/${FACTORY_FILE}`);
  const folder = `${base}${THREADS_FOLDER}/`;
  return `import * as imported from ${JSON.stringify(factoryPath)};
const factory = imported.default || imported;
const folder = new URL(${JSON.stringify(folder)}, self.location.href).href;
globalThis[Symbol.for(${JSON.stringify(TFJS_THREADS_MARK)})] = true;
export default function WasmBackendModuleThreadedSimd(config) {
  const locateFile = config.locateFile;
  config.mainScriptUrlOrBlob = folder + ${JSON.stringify(FACTORY_FILE)};
  config.locateFile = (path, prefix) =>
    path.endsWith('.worker.js') ? folder + ${JSON.stringify(WORKER_FILE)} : locateFile ? locateFile(path, prefix) : prefix + path;
  // tfjs caps its thread pool at half of navigator.hardwareConcurrency (it assumes two hyperthreads per core), so
  // a 2-core machine would get one thread: while the module starts, it reads twice the real count.
  const cores = self.navigator.hardwareConcurrency;
  Object.defineProperty(self.navigator, 'hardwareConcurrency', { configurable: true, get: () => 2 * cores });
  const restore = () => delete self.navigator.hardwareConcurrency;
  const ready = factory(config);
  ready.then(restore, restore);
  return ready;
}
`;
}

/** The plugin (see the file comment). Inactive in dev and with a relative `base`, where threads stay off. */
export function tfjsWasmThreads(): Plugin {
  let active = false;
  let isWorker = false;
  let base = '/';
  return {
    name: 'pvf-tfjs-wasm-threads',
    // Before Vite's own resolver, which would resolve the factory's relative import first.
    enforce: 'pre',
    configResolved(config) {
      base = config.base;
      isWorker = config.isWorker;
      // The pthread scripts are found from the worker's own URL, which needs an absolute base.
      active = config.command === 'build' && (base.startsWith('/') || /^https?:\/\//.test(base));
    },
    resolveId(source, importer) {
      if (!active || source !== FACTORY_SPECIFIER || importer === undefined) return null;
      return /[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]dist[\\/]/.test(importer) ? WRAPPER_ID : null;
    },
    load(id) {
      return id === WRAPPER_ID ? wrapperModule(base) : null;
    },
    generateBundle() {
      if (!active || isWorker) return;
      const factoryPath = require.resolve(`${PACKAGE}/wasm-out/${FACTORY_FILE}`);
      this.emitFile({
        type: 'asset',
        fileName: `${THREADS_FOLDER}/${FACTORY_FILE}`,
        source: readFileSync(factoryPath, 'utf8'),
      });
      this.emitFile({ type: 'asset', fileName: `${THREADS_FOLDER}/${WORKER_FILE}`, source: workerScript() });
    },
  };
}
