/**
 * @file Where the user is in the guided path, as the page keeps it between visits (storage/guide-progress.ts
 * writes it to localStorage): the step and whether the guide is open. Only this small record is kept; whether a
 * step is done is always derived from the experiment itself (steps.ts).
 */
import { GUIDE_STEP_IDS, isGuideStepId, type GuideStepId } from './steps.ts';

/** Version of the stored record; a record of another version starts the path again. */
export const GUIDE_PROGRESS_VERSION = 1;

/** The user's place in the guided path. */
export interface GuideProgress {
  /** The step the user is on. */
  step: GuideStepId;
  /** False once the user closed (skipped) the guide; the header's "Guided tour" button opens it again. */
  open: boolean;
}

/** A first visit: the guide open on its first step. */
export const FIRST_VISIT: GuideProgress = { step: GUIDE_STEP_IDS[0], open: true };

/** The stored record read back, and why it was not usable when it was not. */
export interface ReadProgress {
  progress: GuideProgress;
  /** Set when a stored record existed but could not be used (the path then starts again); plain words. */
  problem?: string;
}

const RESTART = 'The guided tour’s saved place could not be read, so it starts again at step 1.';

/** Reads a stored record (`null`: nothing stored, a first visit). Never throws: a bad record restarts the path. */
export function parseGuideProgress(text: string | null): ReadProgress {
  if (text === null) return { progress: { ...FIRST_VISIT } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { progress: { ...FIRST_VISIT }, problem: RESTART };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { progress: { ...FIRST_VISIT }, problem: RESTART };
  }
  const record = value as Record<string, unknown>;
  if (record['version'] !== GUIDE_PROGRESS_VERSION) return { progress: { ...FIRST_VISIT }, problem: RESTART };
  const step = record['step'];
  const open = record['open'];
  if (!isGuideStepId(step) || typeof open !== 'boolean') {
    return { progress: { ...FIRST_VISIT }, problem: RESTART };
  }
  return { progress: { step, open } };
}

/** The record to store for `progress`. */
export function serializeGuideProgress(progress: GuideProgress): string {
  return JSON.stringify({ version: GUIDE_PROGRESS_VERSION, step: progress.step, open: progress.open });
}
