/**
 * @file Tells the page which model files (and onnxruntime-web runtime files, announced the same way) the model
 * worker read from the app's own server, so that files read before the service worker controlled the page (they
 * bypassed it, so nothing cached them) can be handed to it once it does, and "works offline" is said only when they
 * are cached (src/offline/service-worker.svelte.ts).
 *
 * A BroadcastChannel of this origin: the worker announces, the page listens. No DOM; a no-op where the channel
 * does not exist.
 */

/** Name of the channel the served model files are announced on. */
export const MODEL_FILE_CHANNEL = 'pvf-served-model-files';

/** Message the page posts to the service worker: cache these model files (absolute URLs) and say which are. */
export const CACHE_MODEL_FILES = 'PVF_CACHE_MODEL_FILES';

/** The message {@link CACHE_MODEL_FILES}. */
export interface CacheModelFilesMessage {
  type: typeof CACHE_MODEL_FILES;
  urls: string[];
}

/** The service worker's answer to {@link CacheModelFilesMessage}: which URLs are now in the model cache. */
export interface CacheModelFilesReply {
  cached: string[];
  /** One line per URL that could not be cached, with the reason. */
  failed: string[];
}

/** True when `data` is a well-formed {@link CacheModelFilesMessage}. */
export function isCacheModelFilesMessage(data: unknown): data is CacheModelFilesMessage {
  if (typeof data !== 'object' || data === null) return false;
  const { type, urls } = data as { type?: unknown; urls?: unknown };
  return type === CACHE_MODEL_FILES && Array.isArray(urls) && urls.every((url) => typeof url === 'string');
}

let channel: BroadcastChannel | undefined;

/**
 * Announces that the model file at `url` (resolved against this context's location) was read whole from the
 * app's server. Called by the model worker after each served file; never throws.
 */
export function announceServedModelFile(url: string): void {
  if (typeof BroadcastChannel === 'undefined' || typeof location === 'undefined') return;
  try {
    channel ??= new BroadcastChannel(MODEL_FILE_CHANNEL);
    channel.postMessage(new URL(url, location.href).href);
  } catch {
    // Announcing only helps the offline copy; loading the model must not fail over it.
  }
}

/** Calls `onFile` with the absolute URL of each served model file announced from now on; returns a stop function. */
export function listenForServedModelFiles(onFile: (url: string) => void): () => void {
  if (typeof BroadcastChannel === 'undefined') return () => undefined;
  const listener = new BroadcastChannel(MODEL_FILE_CHANNEL);
  listener.onmessage = (event: MessageEvent<unknown>) => {
    if (typeof event.data === 'string') onFile(event.data);
  };
  return () => listener.close();
}
