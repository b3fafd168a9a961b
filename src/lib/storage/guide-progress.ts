/**
 * @file The guided path's place (step, open or closed) in localStorage under {@link GUIDE_PROGRESS_KEY}. Kept
 * apart from the experiments in IndexedDB: the guide only reads the experiment, so nothing it stores can cost
 * experiment state. Blocked or full storage keeps the place for this page only.
 */
import {
  FIRST_VISIT,
  parseGuideProgress,
  serializeGuideProgress,
  type GuideProgress,
  type ReadProgress,
} from '../core/guide/progress.ts';

/** localStorage key of the guided path's place. */
export const GUIDE_PROGRESS_KEY = 'pvf:guide';

/** Where the place is kept; tests pass a Map-backed one. */
export interface GuideStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** The page's localStorage, or undefined where reading it throws (storage blocked). */
export function pageStore(): GuideStore | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/** Reads the stored place; a first visit, blocked storage or a bad record gives the first step, guide open. */
export function loadGuideProgress(store: GuideStore | undefined): ReadProgress {
  try {
    return parseGuideProgress(store?.getItem(GUIDE_PROGRESS_KEY) ?? null);
  } catch {
    return { progress: { ...FIRST_VISIT } };
  }
}

/** Stores the place; a full or blocked storage is ignored (the place then lasts for this page). */
export function saveGuideProgress(store: GuideStore | undefined, progress: GuideProgress): void {
  try {
    store?.setItem(GUIDE_PROGRESS_KEY, serializeGuideProgress(progress));
  } catch {
    // Nothing else to do: the guide keeps working from memory.
  }
}
