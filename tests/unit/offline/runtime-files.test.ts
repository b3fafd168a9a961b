/**
 * @file onnxruntime-web's runtime files (src/offline/runtime-files.ts): the service worker caches them by kind, so a
 * kind must ignore the hash and tell the two builds and their WASM and loader apart; an update stores its files of
 * the builds in use while it installs (and of no other), and drops the old ones once active.
 */
import { describe, expect, it } from 'vitest';
import { ORT_RUNTIME_CACHE } from '../../../src/offline/cache-names.ts';
import {
  dropOldRuntimeFiles,
  refreshRuntimeFiles,
  runtimeFileKind,
  type RuntimeCacheStorage,
} from '../../../src/offline/runtime-files.ts';

const ORIGIN = 'http://127.0.0.1:4173';

describe('runtimeFileKind', () => {
  it.each([
    ['/assets/ort-wasm-simd-threaded-4byDm7i3.wasm', 'ort-wasm-simd-threaded.wasm'],
    ['/assets/ort-wasm-simd-threaded-BQJNh0bu.mjs', 'ort-wasm-simd-threaded.mjs'],
    ['/assets/ort-wasm-simd-threaded.asyncify-CxOG5pUO.wasm', 'ort-wasm-simd-threaded.asyncify.wasm'],
    ['/assets/ort-wasm-simd-threaded.asyncify-DXIbolS2.mjs', 'ort-wasm-simd-threaded.asyncify.mjs'],
    // A hash may hold "-" and "_"; the app under a sub-path.
    ['/app/assets/ort-wasm-simd-threaded-a-_b1c2d.wasm', 'ort-wasm-simd-threaded.wasm'],
    ['/assets/ort-wasm-simd-threaded.asyncify-a_b-c1d2.mjs', 'ort-wasm-simd-threaded.asyncify.mjs'],
  ])('%s is %s', (path, kind) => {
    expect(runtimeFileKind(`${ORIGIN}${path}`)).toBe(kind);
  });

  it('gives the same kind to two builds of one file and different kinds to the two builds', () => {
    const kinds = [
      '/assets/ort-wasm-simd-threaded-4byDm7i3.wasm',
      '/assets/ort-wasm-simd-threaded-Zz9_Yy8-.wasm',
      '/assets/ort-wasm-simd-threaded.asyncify-CxOG5pUO.wasm',
    ].map((path) => runtimeFileKind(`${ORIGIN}${path}`));
    expect(kinds[0]).toBe(kinds[1]);
    expect(kinds[0]).not.toBe(kinds[2]);
  });

  it.each([
    ['another asset', `${ORIGIN}/assets/index-DQQFka8_.js`],
    ['tfjs WASM', `${ORIGIN}/assets/tfjs-backend-wasm-simd-BrM3BlWr.wasm`],
    ['no hash', `${ORIGIN}/assets/ort-wasm-simd-threaded.wasm`],
    ['a short hash', `${ORIGIN}/assets/ort-wasm-simd-threaded-4byDm7.wasm`],
    ['another extension', `${ORIGIN}/assets/ort-wasm-simd-threaded-4byDm7i3.js`],
    ['a model file', `${ORIGIN}/models/fixtures/tiny-bert/onnx/model.onnx`],
    ['not a URL', 'ort-wasm-simd-threaded-4byDm7i3.wasm'],
  ])('%s is not a runtime file', (_what, href) => {
    expect(runtimeFileKind(href)).toBeUndefined();
  });
});

/** Cache Storage in memory: caches by name, each a map from URL to response. */
function fakeStorage(contents: Record<string, string[]> = {}): {
  storage: RuntimeCacheStorage;
  urls: (name: string) => string[];
} {
  const caches = new Map<string, Map<string, Response>>();
  const open = (name: string): Map<string, Response> => {
    let cache = caches.get(name);
    if (!cache) caches.set(name, (cache = new Map()));
    return cache;
  };
  for (const [name, paths] of Object.entries(contents)) {
    for (const path of paths) open(name).set(`${ORIGIN}${path}`, new Response(`${name} ${path}`));
  }
  const storage: RuntimeCacheStorage = {
    async open(name) {
      const cache = open(name);
      return {
        keys: async () => [...cache.keys()].map((url) => new Request(url)),
        match: async (url) => cache.get(url)?.clone(),
        put: async (url, response) => void cache.set(url, response),
        delete: async (request) => cache.delete(request.url),
      };
    },
    keys: async () => [...caches.keys()],
    async match(url) {
      for (const cache of caches.values()) if (cache.has(url)) return cache.get(url)?.clone();
      return undefined;
    },
  };
  const urls = (name: string) =>
    [...(caches.get(name)?.keys() ?? [])].map((url) => url.slice(ORIGIN.length)).sort();
  return { storage, urls };
}

/** The CPU-only build and the WebGPU build, as one version of the app names them. */
const CPU_WASM = '/assets/ort-wasm-simd-threaded-4byDm7i3.wasm';
const CPU_MJS = '/assets/ort-wasm-simd-threaded-BQJNh0bu.mjs';
const WEBGPU_WASM = '/assets/ort-wasm-simd-threaded.asyncify-CxOG5pUO.wasm';
const WEBGPU_MJS = '/assets/ort-wasm-simd-threaded.asyncify-DXIbolS2.mjs';
const CPU = [CPU_WASM, CPU_MJS];
const WEBGPU = [WEBGPU_WASM, WEBGPU_MJS];
/** The next version: a new onnxruntime-web renamed both WASM files; the loaders kept their names. */
const NEXT_CPU_WASM = '/assets/ort-wasm-simd-threaded-N3wHash1.wasm';
const NEXT_WEBGPU_WASM = '/assets/ort-wasm-simd-threaded.asyncify-N3wHash2.wasm';
const NEXT = new Set(
  [NEXT_CPU_WASM, CPU_MJS, NEXT_WEBGPU_WASM, WEBGPU_MJS].map((path) => `${ORIGIN}${path}`),
);

/** A fetch that records what it was asked for and answers `status`. */
function recordingFetch(status = 200): { fetchFile: (href: string) => Promise<Response>; fetched: string[] } {
  const fetched: string[] = [];
  return {
    fetched,
    fetchFile: async (href) => {
      fetched.push(href.slice(ORIGIN.length));
      return new Response(status === 200 ? 'fetched' : 'missing', { status });
    },
  };
}

/** One update: what the caches held before it installed, what it fetched, what the runtime cache holds after. */
interface UpdateCase {
  case: string;
  before: Record<string, string[]>;
  fetched: string[];
  runtime: string[];
}

describe('refreshRuntimeFiles (an update installing)', () => {
  it.each<UpdateCase>([
    {
      case: 'nothing used yet: nothing is stored',
      before: {},
      fetched: [],
      runtime: [],
    },
    {
      case: 'the CPU-only build in use: its renamed file is fetched, its loader copied, the WebGPU build left alone',
      before: { [ORT_RUNTIME_CACHE]: CPU },
      fetched: [NEXT_CPU_WASM],
      runtime: [...CPU, NEXT_CPU_WASM].sort(),
    },
    {
      case: 'the WebGPU build in use: only its files',
      before: { [ORT_RUNTIME_CACHE]: WEBGPU },
      fetched: [NEXT_WEBGPU_WASM],
      runtime: [...WEBGPU, NEXT_WEBGPU_WASM].sort(),
    },
    {
      case: 'an older version that precached the WebGPU build: it counts as used, and is copied where unchanged',
      before: { 'workbox-precache-v2-http://127.0.0.1:4173/': [...WEBGPU, '/assets/index-DQQFka8_.js'] },
      fetched: [NEXT_WEBGPU_WASM],
      runtime: [NEXT_WEBGPU_WASM, WEBGPU_MJS].sort(),
    },
    {
      case: 'the runtime cache in use wins over an older precache',
      before: { [ORT_RUNTIME_CACHE]: CPU, 'workbox-precache-v2-http://127.0.0.1:4173/': WEBGPU },
      fetched: [NEXT_CPU_WASM],
      runtime: [...CPU, NEXT_CPU_WASM].sort(),
    },
  ])('$case', async ({ before, fetched, runtime }) => {
    const { storage, urls } = fakeStorage(before);
    const network = recordingFetch();
    await refreshRuntimeFiles(NEXT, storage, network.fetchFile);
    expect(network.fetched).toEqual(fetched);
    expect(urls(ORT_RUNTIME_CACHE)).toEqual(runtime);
  });

  it('fails the install when a file cannot be fetched, naming it', async () => {
    const { storage, urls } = fakeStorage({ [ORT_RUNTIME_CACHE]: CPU });
    await expect(refreshRuntimeFiles(NEXT, storage, recordingFetch(404).fetchFile)).rejects.toThrow(
      `${ORIGIN}${NEXT_CPU_WASM}: the server answered 404`,
    );
    expect(urls(ORT_RUNTIME_CACHE)).toEqual(CPU);
  });
});

describe('dropOldRuntimeFiles (an update activated)', () => {
  it("keeps this version's runtime files and drops the others", async () => {
    const { storage, urls } = fakeStorage({ [ORT_RUNTIME_CACHE]: [...CPU, NEXT_CPU_WASM] });
    await dropOldRuntimeFiles(NEXT, storage);
    expect(urls(ORT_RUNTIME_CACHE)).toEqual([CPU_MJS, NEXT_CPU_WASM].sort());
  });
});
