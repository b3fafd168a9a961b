/**
 * @file Debounced, serialised saving: many quick changes become one write shortly after the last of them,
 * and writes never overlap (a change during a write is saved by the next one), so the newest state always
 * ends up stored last. `ExperimentWriter` decides what each save of the open experiment writes.
 */
import type { Experiment, RunResult } from '../core/experiment/types.ts';
import type { ExperimentMeta, RunningMarker } from './schema.ts';
import type { ExperimentStore } from './store.ts';

/** Default quiet time before a scheduled save starts. */
export const AUTOSAVE_DELAY_MS = 300;

/**
 * Longest a scheduled save waits for the page to be idle after the quiet time: a page that is never idle (a long
 * run drawing its progress) still saves.
 */
export const AUTOSAVE_IDLE_TIMEOUT_MS = 1000;

/** Runs `run` once when the page has nothing more urgent to do; returns a function that cancels it. */
export type IdleScheduler = (run: () => void) => () => void;

/**
 * The browser's idle time (`requestIdleCallback`, bounded by {@link AUTOSAVE_IDLE_TIMEOUT_MS}): a scheduled save's
 * serialisation then never lands inside a frame the user is waiting for. Where there is none (Node), at once.
 */
export const whenIdle: IdleScheduler = (run) => {
  if (typeof requestIdleCallback !== 'function') {
    run();
    return () => undefined;
  }
  const handle = requestIdleCallback(run, { timeout: AUTOSAVE_IDLE_TIMEOUT_MS });
  return () => cancelIdleCallback(handle);
};

export class DebouncedSaver {
  readonly #write: () => Promise<void>;
  readonly #delayMs: number;
  readonly #idle: IdleScheduler;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Cancels the wait for idle time of a save whose quiet time is over. */
  #cancelIdle: (() => void) | undefined;
  /** The write in progress, if any. */
  #inFlight: Promise<void> | undefined;
  /** A change arrived while writing: write again afterwards. */
  #pending = false;

  /**
   * @param write Saves the current state (read when the write starts, not when it was scheduled). It should
   *   report its own errors: `flush` rejects with them, a scheduled save only stops.
   * @param idle Where a scheduled save waits after the quiet time ({@link whenIdle} by default); `flush` never waits.
   */
  constructor(write: () => Promise<void>, delayMs = AUTOSAVE_DELAY_MS, idle: IdleScheduler = whenIdle) {
    this.#write = write;
    this.#delayMs = delayMs;
    this.#idle = idle;
  }

  /** True while a save is scheduled or running. */
  get busy(): boolean {
    return this.#timer !== undefined || this.#cancelIdle !== undefined || this.#inFlight !== undefined;
  }

  /** Saves after the quiet time, once the page is idle; each call restarts the quiet time. */
  schedule(): void {
    this.cancel();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      let ran = false;
      const cancel = this.#idle(() => {
        ran = true;
        this.#cancelIdle = undefined;
        this.#start().catch(() => undefined);
      });
      if (!ran) this.#cancelIdle = cancel;
    }, this.#delayMs);
  }

  /** Saves now (whether or not anything was scheduled) and resolves once the newest state is stored. */
  async flush(): Promise<void> {
    this.cancel();
    await this.#start();
  }

  /** Drops a scheduled save (a write already running still finishes). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
  }

  async #start(): Promise<void> {
    if (this.#inFlight) {
      // The running loop writes again for this change; its outcome is this change's outcome.
      this.#pending = true;
      return this.#inFlight;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#pending = false;
          await this.#write();
        } while (this.#pending);
      } finally {
        this.#inFlight = undefined;
      }
    };
    this.#inFlight = run();
    return this.#inFlight;
  }
}

/** What the last save (or load) of the open experiment stored. */
export interface SavedVersion {
  id: string;
  /** The stored `updatedAt`, to notice when another tab saved the same experiment in between. */
  updatedAt: number;
  /** The edit count it reflects (see {@link Draft.revision}). */
  revision: number;
  /** The runs array it stored (compared by identity: runs are replaced, never mutated). */
  runs: readonly RunResult[];
  /** Whether a run was in progress. */
  running: boolean;
  /** The content hash of its uploaded rows, if it has any. */
  rowsHash: string | undefined;
}

/** The open experiment as it is now, to be saved. */
export interface Draft {
  id: string;
  /** Counts the edits of the open experiment: a save stores revision n, any later edit makes it n + 1. */
  revision: number;
  /** Plain data; uploaded rows by reference (they are hashed once per array, and written once per hash). */
  experiment: Experiment;
  /** Plain data (runs are replaced, never mutated, so identity tells whether they changed). */
  runs: readonly RunResult[];
  /** The run in progress, or null. */
  running: RunningMarker | null;
}

/**
 * Saves drafts of the open experiment, writing only what changed since the last save: the small experiment
 * record always, the runs when they are another array, the run marker when a run started or ended, the
 * uploaded rows only when the dataset changed (a new hash). Each save is checked against the `updatedAt` it
 * was based on, so another tab's save is reported as a conflict instead of being overwritten.
 */
export class ExperimentWriter {
  readonly #store: ExperimentStore;
  #saved: SavedVersion | undefined;

  constructor(store: ExperimentStore) {
    this.#store = store;
  }

  /** What the last save or load stored. */
  get saved(): SavedVersion | undefined {
    return this.#saved;
  }

  /** Notes that `version` is what is stored now (an experiment just opened, created or renamed). */
  markSaved(version: SavedVersion): void {
    this.#saved = version;
  }

  /** True when the open experiment (`id` at `revision`, with `runs`) differs from what was last stored. */
  differs(state: { id: string | undefined; revision: number; runs: readonly RunResult[]; running: boolean }) {
    const saved = this.#saved;
    if (!saved || saved.id !== state.id) return state.id !== undefined;
    return saved.revision !== state.revision || saved.runs !== state.runs || saved.running !== state.running;
  }

  /**
   * Saves `draft`.
   * @throws StorageError when it could not be saved (`conflict` when another tab saved or deleted it since);
   *   what was stored before is then unchanged, and so is `saved`.
   */
  async write(draft: Draft): Promise<ExperimentMeta> {
    const saved = this.#saved?.id === draft.id ? this.#saved : undefined;
    const { record, rows } = await this.#store.rowsHashes.split(draft.experiment);
    const running = draft.running !== null;
    const meta = await this.#store.save(draft.id, record, {
      runs: saved?.runs === draft.runs ? undefined : draft.runs,
      rows: rows && rows.hash !== saved?.rowsHash ? rows : undefined,
      running: saved?.running === running ? undefined : draft.running,
      expectedUpdatedAt: saved?.updatedAt,
    });
    this.#saved = {
      id: draft.id,
      updatedAt: meta.updatedAt,
      revision: draft.revision,
      runs: draft.runs,
      running,
      rowsHash: rows?.hash,
    };
    return meta;
  }
}
