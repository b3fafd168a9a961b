/**
 * @file The app's Content-Security-Policy and isolation headers, built in one place for every place that
 * delivers them: the dev and preview servers (headers, scripts/vite/security-headers.ts), the built `index.html`
 * (a meta tag, for static hosts), the service worker (headers on what it serves, src/sw.ts) and the page itself
 * (a stricter meta tag when downloads are off, src/offline/startup-policy.ts).
 *
 * Pure string work: no DOM, no Node APIs, so Vite's config, the page and the service worker can all import it.
 *
 * How "the hub only when downloads are allowed" holds:
 * - Documents get the policy that allows the hub; at startup, before any worker exists, the page adds a second
 *   policy allowing connections to its own origin only when downloads are off (every policy is enforced).
 * - A dedicated worker does not inherit its page's policy: it gets the one on its own script response. Worker
 *   scripts are served with the no-hub policy unless their URL carries {@link WORKER_DOWNLOADS_PARAM}, which the
 *   page adds ({@link workerUrlWithDownloads}) only when the user has allowed downloads.
 */

/**
 * COOP + COEP make a page cross-origin isolated, so SharedArrayBuffer exists and onnxruntime-web runs WASM with
 * threads; CORP lets an isolated page of this origin embed the response. Servers send them (vite.config.ts) and
 * the service worker adds them to what it serves, so the app stays isolated offline and on static hosts.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** localStorage key of the "allow model downloads from the Hugging Face hub" setting: 'true', or absent for off. */
export const ALLOW_DOWNLOADS_KEY = 'pvf:allow-model-downloads';

/**
 * Where transformers.js downloads from: `https://huggingface.co/<id>/resolve/<rev>/<file>`, which redirects large
 * files to the hub's CDN and storage hosts (cdn-lfs.huggingface.co, cdn-lfs-us-1.hf.co, cas-bridge.xethub.hf.co).
 * A redirect target is checked against connect-src too, hence the wildcards.
 */
export const HUB_CONNECT_SOURCES = [
  'https://huggingface.co',
  'https://*.huggingface.co',
  'https://*.hf.co',
] as const;

/** Query parameter on a worker script URL that lets that worker reach the hub, and its only accepted value. */
export const WORKER_DOWNLOADS_PARAM = 'downloads';
export const WORKER_DOWNLOADS_ALLOWED = 'allowed';

/**
 * Same-origin path the dev and preview servers accept violation reports on (`report-uri`), printing them in the
 * terminal; `GET` lists those received. Static hosts have no such endpoint, so builds do not name it.
 */
export const CSP_REPORT_PATH = '/__csp-report';

/** Options of {@link contentSecurityPolicy}. */
export interface PolicyOptions {
  /** Allow connections to the Hugging Face hub (downloads allowed). */
  hub: boolean;
  /** Vite's dev server: it injects component CSS as `<style>` elements. Never set for a build. */
  dev?: boolean;
  /**
   * For a `<meta>` tag: header-only directives (frame-ancestors, report-uri) are left out, since a browser
   * ignores them there and logs an error saying so.
   */
  meta?: boolean;
  /** Where the browser reports violations (`report-uri`); headers only. */
  reportUri?: string;
}

/**
 * The app's policy: everything from its own origin, plus
 * - `script-src 'wasm-unsafe-eval'`: onnxruntime-web and tfjs compile WebAssembly (in the workers);
 * - `connect-src` the hub, when allowed;
 * - `img-src data: blob:` for generated images.
 * No inline scripts, no `<style>` elements (outside dev), no `blob:` scripts or workers: the model adapter turns
 * off transformers.js's `env.useWasmCache`, which would import onnxruntime's loader, and start its threads, from
 * a `blob:` URL. No inline `style="…"` attributes either: Svelte's `style:` directives set styles
 * through the CSSOM, which a policy does not restrict, but a static `style="…"` in a component template is
 * reported as a `style-src-attr` violation (use a class or a `style:` directive).
 */
export function contentSecurityPolicy(options: PolicyOptions): string {
  const directives: string[][] = [
    ['default-src', "'self'"],
    ['script-src', "'self'", "'wasm-unsafe-eval'"],
    ['worker-src', "'self'"],
    ['connect-src', "'self'", ...(options.hub ? HUB_CONNECT_SOURCES : [])],
    ['style-src', "'self'", ...(options.dev ? ["'unsafe-inline'"] : [])],
    ['img-src', "'self'", 'data:', 'blob:'],
    ['object-src', "'none'"],
    ['base-uri', "'self'"],
    ['form-action', "'self'"],
  ];
  if (!options.meta) {
    directives.push(['frame-ancestors', "'none'"]);
    if (options.reportUri) directives.push(['report-uri', options.reportUri]);
  }
  return directives.map((directive) => directive.join(' ')).join('; ');
}

/** The policy a page adds when downloads are off: connections to its own origin only. */
export const SELF_ONLY_CONNECT_POLICY = "connect-src 'self'";

/** Attribute marking the meta tag that carries {@link SELF_ONLY_CONNECT_POLICY} (added once, found by tests). */
export const OFFLINE_POLICY_ATTRIBUTE = 'data-pvf-offline-policy';

/** True when a worker script URL asks for hub access (see {@link workerUrlWithDownloads}). */
export function workerAllowsDownloads(url: URL): boolean {
  return url.searchParams.get(WORKER_DOWNLOADS_PARAM) === WORKER_DOWNLOADS_ALLOWED;
}

/**
 * A worker script URL that lets the worker reach the hub when `allowed` (and strips that permission otherwise).
 * Use it for the worker that downloads models, with a URL from Vite's `?worker&url` import:
 * `new Worker(workerUrlWithDownloads(modelWorkerUrl, allowed), { type: 'module' })`.
 */
export function workerUrlWithDownloads(url: string | URL, allowed: boolean, base?: string): URL {
  const result = new URL(url, base ?? (typeof location === 'undefined' ? undefined : location.href));
  if (allowed) result.searchParams.set(WORKER_DOWNLOADS_PARAM, WORKER_DOWNLOADS_ALLOWED);
  else result.searchParams.delete(WORKER_DOWNLOADS_PARAM);
  return result;
}

/** The downloads setting as stored; unreadable storage (blocked cookies, sandboxed frames) counts as off. */
export function downloadsAllowed(storage: Pick<Storage, 'getItem'> | undefined): boolean {
  try {
    return storage?.getItem(ALLOW_DOWNLOADS_KEY) === 'true';
  } catch {
    return false;
  }
}

/** A request as a server or the service worker sees it, for {@link policyForRequest}. */
export interface PolicyRequest {
  url: URL;
  /** `Sec-Fetch-Dest` header (server) or `Request.destination` (service worker). */
  destination: string | undefined;
  /** `Accept` header, for browsers that send no `Sec-Fetch-Dest`. */
  accept: string | undefined;
}

/**
 * The policy a response gets: documents the hub-allowing one (the page narrows it itself), everything else (worker
 * scripts above all) the hub only when the URL asks for it. Browsers ignore a policy on scripts, styles, models and
 * wasm, so giving them the strict one costs nothing.
 */
export function policyForRequest(
  request: PolicyRequest,
  options: Omit<PolicyOptions, 'hub' | 'meta'> = {},
): string {
  const hub = isDocumentRequest(request.destination, request.accept) || workerAllowsDownloads(request.url);
  return contentSecurityPolicy({ ...options, hub });
}

const DOCUMENT_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'embed', 'object']);

/** A navigation; without `Sec-Fetch-Dest` (older browsers), a request that accepts HTML. */
export function isDocumentRequest(destination: string | undefined, accept: string | undefined): boolean {
  if (destination) return DOCUMENT_DESTINATIONS.has(destination);
  return (accept ?? '').includes('text/html');
}

/** The `report-uri` of a policy header, so the service worker can keep the server's reporting endpoint. */
export function reportUriOf(policy: string | null): string | undefined {
  for (const directive of (policy ?? '').split(';')) {
    const [name, value] = directive.trim().split(/\s+/);
    if (name === 'report-uri' && value) return value;
  }
  return undefined;
}
