/**
 * @file The service worker: makes the app load and run with the network off after the first visit.
 *
 * - Precache (Workbox, list injected by vite-plugin-pwa at build): the app shell, every JS chunk and CSS file,
 *   the web manifest and icons, and tfjs's WASM (~1 MB). Precached rather than cached on first use: the app is
 *   useless without them, they change only with a new build (hashed names), and a new version is then installed
 *   whole, in the background, before it takes over.
 * - onnxruntime-web's runtime: of its two builds (WebGPU 27 MB, CPU-only 14 MB) a browser runs one, chosen by the
 *   model worker, so it is cached when first used instead (cache-first, this build's files only), and handed over
 *   like a model file when read before this worker controlled the page. A new version fetches, while it
 *   installs, its files of each build the cache holds, so it too takes over whole; older files are dropped when
 *   it activates.
 * - Model files under /models/: cache-first at run time, only complete (200), non-HTML answers, so a missing
 *   file (answered by a 404 or a dev server's index.html) is never stored. The adapter's HEAD check before each
 *   file goes to the server when it answers, and a cached copy that differs from the file the server now serves
 *   is dropped (so the GET that follows fetches the new one); offline, HEAD is answered from the cache. `/models/index.json` is network-first, so the list stays
 *   current online and is still there offline (a copy is taken at install, as the first page load came first).
 * - Every response it serves carries COOP/COEP/CORP (the page stays cross-origin isolated offline, and on static
 *   hosts that send no headers), and documents and worker scripts carry the app's Content-Security-Policy
 *   (src/offline/csp.ts): a copy stored at install time has whatever policy the server gave that fetch.
 * - Updates: a new version installs in the background and waits; the page offers "reload to update", which
 *   sends SKIP_WAITING. The first version takes control at once (clients.claim), so later model loads of the
 *   first visit are cached too. Model files the page read before that (they bypassed this worker) are handed
 *   over by the page once it is controlled (PVF_CACHE_MODEL_FILES, src/offline/model-file-log.ts): they are
 *   fetched and stored like any model file, and the reply names those now cached, so the page says "offline
 *   ready" only when they are. Requests to other origins are never handled here.
 */
import { CacheableResponsePlugin } from 'workbox-cacheable-response';
import { clientsClaim } from 'workbox-core';
import type { WorkboxPlugin } from 'workbox-core/types.js';
import {
  addPlugins,
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  precacheAndRoute,
  type PrecacheEntry,
} from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { CacheFirst, NetworkFirst } from 'workbox-strategies';
import { MODEL_FILES_CACHE, MODEL_INDEX_CACHE, ORT_RUNTIME_CACHE } from './offline/cache-names.ts';
import { ISOLATION_HEADERS, WORKER_DOWNLOADS_PARAM, policyForRequest, reportUriOf } from './offline/csp.ts';
import { isCacheModelFilesMessage, type CacheModelFilesReply } from './offline/model-file-log.ts';
import { dropOldRuntimeFiles, refreshRuntimeFiles, runtimeFileKind } from './offline/runtime-files.ts';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<PrecacheEntry | string> };

/** Message the page posts to activate a waiting new version. */
const SKIP_WAITING = 'SKIP_WAITING';

/** How long `/models/index.json` may take before the cached copy is used (a slow network looks offline). */
const MODEL_INDEX_TIMEOUT_SECONDS = 4;
/** How long a model file's HEAD check may take before the cached copy is trusted as it is. */
const MODEL_CHECK_TIMEOUT_MS = 4_000;

const scopePath = new URL(self.registration.scope).pathname;
const modelsPath = `${scopePath}models/`;
const modelIndexPath = `${modelsPath}index.json`;

/** Destinations whose response policy the browser applies (documents and workers). */
const POLICY_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'worker', 'sharedworker']);

/**
 * Adds the isolation headers a response lacks and sets the policy a document or worker script must carry.
 * Responses of other origins are returned untouched (their headers are not ours to change).
 */
function withSecurityHeaders(request: Request, response: Response): Response {
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || response.type === 'opaque' || response.status === 0) {
    return response;
  }
  const headers = new Headers(response.headers);
  let changed = false;
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) {
    if (!headers.has(name)) {
      headers.set(name, value);
      changed = true;
    }
  }
  if (POLICY_DESTINATIONS.has(request.destination)) {
    const served = headers.get('Content-Security-Policy');
    const policy = policyForRequest(
      { url, destination: request.destination, accept: request.headers.get('accept') ?? undefined },
      // Violations keep going where the server said (the dev and preview servers collect them).
      { reportUri: reportUriOf(served) },
    );
    if (served !== policy) {
      headers.set('Content-Security-Policy', policy);
      changed = true;
    }
  }
  if (!changed) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Workbox plugin applying {@link withSecurityHeaders} to whatever a strategy answers. The fetch event's request
 * is used when there is one: a navigation answered with the precached index.html is still a document.
 */
const securityHeadersPlugin: WorkboxPlugin = {
  handlerWillRespond: async ({ request, response, event }) =>
    withSecurityHeaders(event instanceof FetchEvent ? event.request : request, response),
};

/** Refuses to cache an HTML answer for a model file (a dev server's fallback page, a captive portal). */
const notHtmlPlugin: WorkboxPlugin = {
  cacheWillUpdate: async ({ response }) =>
    (response.headers.get('content-type') ?? '').includes('text/html') ? null : response,
};

function isSameOrigin(url: URL): boolean {
  return url.origin === self.location.origin;
}

function isModelFile(url: URL): boolean {
  return isSameOrigin(url) && url.pathname.startsWith(modelsPath) && url.pathname !== modelIndexPath;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Keeps a copy of the model list at install: the page fetched it before this worker controlled the page, so
 * without this the very first visit would not be enough to list models offline. Never fails the install (a
 * static host serves no /models/).
 */
async function cacheModelIndex(): Promise<void> {
  try {
    const response = await fetch(modelIndexPath, { cache: 'no-store' });
    const html = (response.headers.get('content-type') ?? '').includes('text/html');
    if (response.status === 200 && !html)
      await (await caches.open(MODEL_INDEX_CACHE)).put(modelIndexPath, response);
  } catch {
    // Offline or no server: the list is cached the next time the page loads it.
  }
}

const manifest = self.__WB_MANIFEST;
const entryUrl = (entry: PrecacheEntry | string) =>
  new URL(typeof entry === 'string' ? entry : entry.url, self.location.href).href;
/** This version's runtime files (absolute URLs): left out of the precache, cached when used. */
const runtimeFiles = new Set(manifest.map(entryUrl).filter((href) => runtimeFileKind(href) !== undefined));

function isRuntimeFile(url: URL): boolean {
  return isSameOrigin(url) && runtimeFiles.has(`${url.origin}${url.pathname}`);
}

// An update fetches its runtime files of each build in use while it installs, so it takes over whole; once it is
// the active version, the files of earlier ones go.
self.addEventListener('install', (event) =>
  event.waitUntil(
    Promise.all([
      cacheModelIndex(),
      refreshRuntimeFiles(runtimeFiles, caches, (href) => fetch(href, { cache: 'no-store' })),
    ]),
  ),
);
self.addEventListener('activate', (event) => event.waitUntil(dropOldRuntimeFiles(runtimeFiles, caches)));

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === SKIP_WAITING) void self.skipWaiting();
});

clientsClaim();
cleanupOutdatedCaches();
addPlugins([securityHeadersPlugin]);
precacheAndRoute(
  manifest.filter((entry) => !runtimeFiles.has(entryUrl(entry))),
  {
    // The downloads flag on a worker script URL changes its policy, not its contents.
    ignoreURLParametersMatching: [/^utm_/, /^fbclid$/, new RegExp(`^${WORKER_DOWNLOADS_PARAM}$`)],
  },
);

// Any other navigation inside the app (e.g. a query string) gets the precached shell.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    denylist: [new RegExp(`^${escapeRegExp(modelsPath)}`)],
  }),
);

registerRoute(
  ({ url }) => isSameOrigin(url) && url.pathname === modelIndexPath,
  new NetworkFirst({
    cacheName: MODEL_INDEX_CACHE,
    networkTimeoutSeconds: MODEL_INDEX_TIMEOUT_SECONDS,
    plugins: [new CacheableResponsePlugin({ statuses: [200] }), notHtmlPlugin, securityHeadersPlugin],
  }),
);

const modelFilesStrategy = new CacheFirst({
  cacheName: MODEL_FILES_CACHE,
  plugins: [new CacheableResponsePlugin({ statuses: [200] }), notHtmlPlugin, securityHeadersPlugin],
});

registerRoute(({ url }) => isModelFile(url), modelFilesStrategy);

const runtimeStrategy = new CacheFirst({
  cacheName: ORT_RUNTIME_CACHE,
  // Servers answer with `Vary: Origin`, and the loader's `import()` sends an Origin header that the copy stored from
  // a plain fetch lacks: matched with Vary, that import missed the cache and failed offline.
  matchOptions: { ignoreVary: true },
  plugins: [new CacheableResponsePlugin({ statuses: [200] }), notHtmlPlugin, securityHeadersPlugin],
});

registerRoute(({ url }) => isRuntimeFile(url), runtimeStrategy);

self.addEventListener('message', (event) => {
  if (!isCacheModelFilesMessage(event.data)) return;
  const port = event.ports[0];
  event.waitUntil(cacheModelFiles(event.data.urls, event).then((reply) => port?.postMessage(reply)));
});

/**
 * Fetches and stores model files (and runtime files) the page read before this worker controlled it, through the
 * same strategy as a request for them (so the same answers are refused), waiting until each is stored. Never
 * rejects: a file that could not be stored is named in `failed` with the reason.
 */
async function cacheModelFiles(urls: string[], event: ExtendableEvent): Promise<CacheModelFilesReply> {
  const cached: string[] = [];
  const failed: string[] = [];
  for (const href of urls) {
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      failed.push(`${href}: not a URL`);
      continue;
    }
    const strategy = isModelFile(url) ? modelFilesStrategy : isRuntimeFile(url) ? runtimeStrategy : undefined;
    if (!strategy) {
      failed.push(`${href}: not a model or runtime file of this app`);
      continue;
    }
    try {
      const [response, stored] = strategy.handleAll({ request: new Request(url.href), event });
      await response;
      await stored;
    } catch (error) {
      failed.push(`${href}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (await caches.match(url.href, { cacheName: strategy.cacheName })) cached.push(url.href);
    else failed.push(`${href}: not stored (the server did not answer with the file)`);
  }
  return { cached, failed };
}

// The adapter checks every model file with HEAD before reading it: asked online, the server also says whether the
// cached copy is still the file it serves; a copy that differs (a model fetched again, fixtures regenerated) is
// dropped, so the GET that follows fetches the new one. Offline, a cached file exists.
registerRoute(
  ({ url }) => isModelFile(url),
  async ({ request }) => {
    const cache = await caches.open(MODEL_FILES_CACHE);
    const cached = await cache.match(request.url);
    let answer: Response;
    try {
      answer = await fetchWithin(request, MODEL_CHECK_TIMEOUT_MS);
    } catch (error) {
      if (!cached) throw error;
      const { status, statusText, headers } = cached;
      return withSecurityHeaders(request, new Response(null, { status, statusText, headers }));
    }
    if (cached && answer.status === 200 && !sameFile(cached, answer)) await cache.delete(request.url);
    return withSecurityHeaders(request, answer);
  },
  'HEAD',
);

/** True when two answers for one URL describe the same file (validators the server sent both times agree). */
function sameFile(cached: Response, current: Response): boolean {
  for (const name of ['etag', 'last-modified', 'content-length']) {
    const before = cached.headers.get(name);
    const now = current.headers.get(name);
    if (before !== null && now !== null && before !== now) return false;
  }
  return true;
}

/** `fetch`, given up after `ms` (a network that hangs counts as offline). */
async function fetchWithin(request: Request, ms: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(request, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}
