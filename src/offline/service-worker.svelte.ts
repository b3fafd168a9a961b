/**
 * @file Registers the service worker (src/sw.ts, built by vite-plugin-pwa) and exposes its update state to the UI:
 * "works offline now" after the first install once the model files the page read are cached too, "a new version
 * is ready" when an update waits.
 */
/// <reference types="vite-plugin-pwa/client" />
import { SvelteSet } from 'svelte/reactivity';
import { registerSW } from 'virtual:pwa-register';
import {
  CACHE_MODEL_FILES,
  listenForServedModelFiles,
  type CacheModelFilesMessage,
  type CacheModelFilesReply,
} from './model-file-log.ts';
import { OFFLINE_COPY_QUIET_MS, startWhenQuiet, type QuietStart } from './quiet-start.ts';

/** Service-worker state for the update banner. */
export class ServiceWorkerState {
  /**
   * Everything the page needs is cached: the app and tfjs's WASM (after the first install), the onnxruntime-web
   * build the model worker started and every model file it read from its server, including those read before the
   * service worker controlled the page.
   */
  get offlineReady(): boolean {
    return this.#appCached && this.#uncachedModelFiles.size === 0 && !this.#dismissed;
  }
  /** Model files that could not be kept for offline use, and why (the app still works online). */
  offlineProblem = $state<string | undefined>(undefined);
  /** A new version is installed and waits for the user to reload into it. */
  needRefresh = $state(false);
  /** Why the service worker could not be registered (the app still works online). */
  error = $state<string | undefined>(undefined);

  /** The first install finished: the app shell, chunks and WASM are precached. */
  #appCached = $state(false);
  #dismissed = $state(false);
  /** Absolute URLs of model files the page read that the model cache is not known to hold. */
  #uncachedModelFiles = new SvelteSet<string>();
  /** The registration, waiting for a quiet page. */
  #registration: QuietStart | undefined;
  #busy = false;
  /** Hand-overs to the service worker, one at a time. */
  #handOvers: Promise<void> = Promise.resolve();

  #activateUpdate: ((reloadPage?: boolean) => Promise<void>) | undefined;
  #reloading = false;

  /**
   * Registers the worker once the page has been quiet for {@link OFFLINE_COPY_QUIET_MS} (see {@link setBusy}), so
   * that its first install does not compete with a model load; does nothing where service workers are unavailable.
   * Model files the page reads meanwhile are noted now and handed over once the app is cached.
   */
  register(): void {
    if (!('serviceWorker' in navigator)) return;
    listenForServedModelFiles((url) => {
      this.#uncachedModelFiles.add(url);
      if (this.#appCached) this.#handOverModelFiles();
    });
    this.#registration = startWhenQuiet(() => this.#registerNow(), OFFLINE_COPY_QUIET_MS);
    this.#registration.setBusy(this.#busy);
  }

  /** Whether work the user asked for is going on (a model load, a run, training): registering waits for it. */
  setBusy(busy: boolean): void {
    this.#busy = busy;
    this.#registration?.setBusy(busy);
  }

  #registerNow(): void {
    this.#activateUpdate = registerSW({
      onOfflineReady: () => {
        this.#appCached = true;
        this.#handOverModelFiles();
      },
      onNeedRefresh: () => (this.needRefresh = true),
      onNeedReload: () => this.#reload(),
      onRegisterError: (error: unknown) => {
        // Offline, the browser's update check of sw.js fails too; the installed version keeps serving the app.
        if (!navigator.onLine) return;
        this.error =
          `Could not install the offline copy of the app (${error instanceof Error ? error.message : String(error)}). ` +
          'It works while online; reload to try again.';
      },
    });
  }

  /** Switches to the waiting version; the page reloads when it has taken over. */
  async update(): Promise<void> {
    this.needRefresh = false;
    // Workbox only reports the takeover of a version it saw being registered; one found by the browser's own
    // update check while the page was open takes over all the same, so listen for it directly too.
    navigator.serviceWorker.addEventListener('controllerchange', () => this.#reload(), { once: true });
    await this.#activateUpdate?.(true);
  }

  #reload(): void {
    if (this.#reloading) return;
    this.#reloading = true;
    window.location.reload();
  }

  /** Hides the notices. */
  dismiss(): void {
    this.#dismissed = true;
    this.error = undefined;
    this.offlineProblem = undefined;
  }

  /** Asks the controlling service worker to cache the model files not known to be cached (queued, never rejects). */
  #handOverModelFiles(): void {
    this.#handOvers = this.#handOvers.then(() => this.#handOverOnce());
  }

  async #handOverOnce(): Promise<void> {
    const urls = [...this.#uncachedModelFiles];
    if (urls.length === 0) return;
    try {
      const reply = await askToCache(await controllingWorker(), { type: CACHE_MODEL_FILES, urls });
      for (const url of reply.cached) this.#uncachedModelFiles.delete(url);
      this.offlineProblem =
        reply.failed.length === 0
          ? undefined
          : `The loaded model is not available offline yet: ${reply.failed.join('; ')}. ` +
            'Load it again while online to retry.';
    } catch (error) {
      this.offlineProblem = `The loaded model could not be kept for offline use (${error instanceof Error ? error.message : String(error)}).`;
    }
  }
}

/** The service worker controlling the page, once there is one (the first version claims the page on activation). */
async function controllingWorker(): Promise<ServiceWorker> {
  for (;;) {
    const controller = navigator.serviceWorker.controller;
    if (controller) return controller;
    await new Promise((resolve) =>
      navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
    );
  }
}

/** Posts `message` to `worker` and resolves with its reply on a dedicated channel. */
function askToCache(worker: ServiceWorker, message: CacheModelFilesMessage): Promise<CacheModelFilesReply> {
  const channel = new MessageChannel();
  return new Promise((resolve) => {
    channel.port1.onmessage = (event: MessageEvent<CacheModelFilesReply>) => {
      channel.port1.close();
      resolve(event.data);
    };
    worker.postMessage(message, [channel.port2]);
  });
}
