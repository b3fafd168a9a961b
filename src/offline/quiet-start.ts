/**
 * @file Background work that waits for a quiet page. Storing the offline copy (the service worker's first install
 * downloads and writes the app's ~5 MB) ran beside the first model load, which a user starts a second after the
 * page opens: on a 2-core machine the default model was ready 2.8-3.4 s after Load instead of 2.0-2.5 s, and the
 * page's own tasks during the load were stretched past 50 ms by the wait for a core (scripted runs side by side).
 * Here it starts once nothing the user asked for (a model load, a run, training) has been going on for a while.
 */

/**
 * How long the page must have been quiet (no model load, run or training) before the offline copy is stored:
 * long enough to cover the moment between opening the page and pressing Load, and between the steps of a run.
 */
export const OFFLINE_COPY_QUIET_MS = 2000;

/** A start that waits for a quiet page: see {@link startWhenQuiet}. */
export interface QuietStart {
  /** Whether work the user asked for is going on now; when it ends, the quiet period starts over. */
  setBusy(busy: boolean): void;
  /** Gives up: `start` is not called. */
  cancel(): void;
}

/**
 * Calls `start` once, after `quietMs` in a row without work the user asked for: the wait begins now (nothing is
 * busy until {@link QuietStart.setBusy} says so), stops while something is busy and begins again when it ends.
 */
export function startWhenQuiet(start: () => void, quietMs: number): QuietStart {
  let busy = false;
  let settled = false;
  let handle: ReturnType<typeof setTimeout> | undefined;
  const wait = (): void => {
    clearTimeout(handle);
    handle = undefined;
    if (settled || busy) return;
    handle = setTimeout(() => {
      handle = undefined;
      settled = true;
      start();
    }, quietMs);
  };
  wait();
  return {
    setBusy(next) {
      if (settled || next === busy) return;
      busy = next;
      wait();
    },
    cancel() {
      settled = true;
      clearTimeout(handle);
      handle = undefined;
    },
  };
}
