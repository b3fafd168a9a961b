/**
 * @file Which of the build's files are onnxruntime-web's runtime (either WASM build and its loader), and how the
 * service worker (src/sw.ts), which caches only the build a browser uses, keeps the same builds across updates.
 * No service-worker globals here: the cache storage and `fetch` are passed in, so the rules run in Node tests.
 */
import { ORT_RUNTIME_CACHE } from './cache-names.ts';

/**
 * A runtime file as Vite names it, `<name>-<8-character hash>.<ext>`: `ort-wasm-simd-threaded-4byDm7i3.wasm`,
 * `ort-wasm-simd-threaded.asyncify-DXIbolS2.mjs`. The names are spelled out: a hash is any 8 of `[A-Za-z0-9_-]`, so
 * a looser name would read `ort-wasm-simd-threaded.wasm` itself as `ort-wasm-simd` hashed "threaded".
 */
const RUNTIME_FILE = /^(ort-wasm-simd-threaded(?:\.asyncify|\.jsep|\.jspi)?)-[\w-]{8}\.(wasm|mjs)$/;

/**
 * What a runtime file is without its hash (`ort-wasm-simd-threaded.asyncify.wasm`), the same in every build of the
 * app; undefined for any other URL (or text that is not a URL).
 */
export function runtimeFileKind(href: string): string | undefined {
  let name: string;
  try {
    name = new URL(href).pathname.split('/').at(-1) ?? '';
  } catch {
    return undefined;
  }
  const match = RUNTIME_FILE.exec(name);
  return match ? `${match[1]}.${match[2]}` : undefined;
}

/** The part of a `Cache` these rules use. */
export interface RuntimeCache {
  keys(): Promise<readonly Request[]>;
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(request: Request): Promise<boolean>;
}

/** The part of `CacheStorage` these rules use. */
export interface RuntimeCacheStorage {
  open(name: string): Promise<RuntimeCache>;
  keys(): Promise<string[]>;
  match(url: string): Promise<Response | undefined>;
}

/** Workbox's precache, where versions before {@link ORT_RUNTIME_CACHE} kept the WebGPU build. */
const PRECACHE_PREFIX = 'workbox-precache';

/**
 * Stores this version's runtime files (`runtimeFiles`, absolute URLs) of each kind the runtime cache holds, i.e. of
 * the build this browser used so far, so an update never needs the network to start the runtime. A file the update
 * did not rename is copied from whichever cache holds it; the others are fetched. When the runtime cache is empty,
 * the runtime files in Workbox's precache count as used (versions before this cache precached them). Rejects when
 * a file cannot be stored, which fails the install: the version in use keeps serving, and the browser tries the
 * update again later.
 */
export async function refreshRuntimeFiles(
  runtimeFiles: ReadonlySet<string>,
  storage: RuntimeCacheStorage,
  fetchFile: (href: string) => Promise<Response>,
): Promise<void> {
  const cache = await storage.open(ORT_RUNTIME_CACHE);
  const held = [...(await cache.keys())];
  if (held.length === 0) {
    for (const name of await storage.keys()) {
      if (name.startsWith(PRECACHE_PREFIX)) held.push(...(await (await storage.open(name)).keys()));
    }
  }
  const kinds = new Set(
    held.map((request) => runtimeFileKind(request.url)).filter((kind) => kind !== undefined),
  );
  for (const href of runtimeFiles) {
    if (!kinds.has(runtimeFileKind(href) ?? '') || (await cache.match(href))) continue;
    const response = (await storage.match(href)) ?? (await fetchFile(href));
    if (response.status !== 200) throw new Error(`${href}: the server answered ${response.status}`);
    await cache.put(href, response);
  }
}

/** Drops the runtime files of earlier versions: whatever the runtime cache holds that `runtimeFiles` does not. */
export async function dropOldRuntimeFiles(
  runtimeFiles: ReadonlySet<string>,
  storage: RuntimeCacheStorage,
): Promise<void> {
  const cache = await storage.open(ORT_RUNTIME_CACHE);
  for (const request of await cache.keys()) {
    if (!runtimeFiles.has(request.url)) await cache.delete(request);
  }
}
