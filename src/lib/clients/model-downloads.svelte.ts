/**
 * @file The user's "allow model downloads from the Hugging Face hub" setting. Off by default: while it is off, no
 * model request leaves the machine. Persisted in localStorage under {@link ALLOW_DOWNLOADS_KEY} ('true' or absent),
 * which the service worker's Content-Security-Policy also reads.
 */

import { ALLOW_DOWNLOADS_KEY } from '../../offline/csp.ts';

export { ALLOW_DOWNLOADS_KEY };

/** Where the setting is kept; tests pass a Map-backed one. */
export interface SettingStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function defaultStore(): SettingStore | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    // Storage can be blocked (e.g. some privacy modes): the setting then lasts for the page only.
    return undefined;
  }
}

/** The download permission as rune state, written through to storage. */
export class DownloadSetting {
  #allowed = $state(false);
  readonly #store: SettingStore | undefined;

  constructor(store: SettingStore | undefined = defaultStore()) {
    this.#store = store;
    this.#allowed = readSetting(store);
  }

  /** True when the user allows downloads from the hub. */
  get allowed(): boolean {
    return this.#allowed;
  }

  set allowed(value: boolean) {
    this.#allowed = value;
    try {
      if (value) this.#store?.setItem(ALLOW_DOWNLOADS_KEY, 'true');
      else this.#store?.removeItem(ALLOW_DOWNLOADS_KEY);
    } catch {
      // A full or blocked storage keeps the choice for this page only.
    }
  }
}

/** The stored setting: only the exact string 'true' allows downloads. */
export function readSetting(store: SettingStore | undefined): boolean {
  try {
    return store?.getItem(ALLOW_DOWNLOADS_KEY) === 'true';
  } catch {
    return false;
  }
}
