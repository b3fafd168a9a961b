/**
 * @file Registers the service worker (src/sw.ts, built by vite-plugin-pwa) and exposes its update state to the UI:
 * "works offline now" after the first install, "a new version is ready" when an update waits.
 */
/// <reference types="vite-plugin-pwa/client" />
import { registerSW } from 'virtual:pwa-register';

/** Service-worker state for the update banner. */
export class ServiceWorkerState {
  /** The app and its WASM are cached: it will load with the network off. Set once, after the first install. */
  offlineReady = $state(false);
  /** A new version is installed and waits for the user to reload into it. */
  needRefresh = $state(false);
  /** Why the service worker could not be registered (the app still works online). */
  error = $state<string | undefined>(undefined);

  #activateUpdate: ((reloadPage?: boolean) => Promise<void>) | undefined;
  #reloading = false;

  /** Registers the worker once the page has loaded; does nothing where service workers are unavailable. */
  register(): void {
    if (!('serviceWorker' in navigator)) return;
    this.#activateUpdate = registerSW({
      onOfflineReady: () => (this.offlineReady = true),
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
    this.offlineReady = false;
    this.error = undefined;
  }
}
