/**
 * @file Autosave of the open experiment: every edit bumps a revision counter and schedules a debounced save;
 * the start and the end of a run are saved at once. An edit costs next to nothing however big the dataset: the
 * experiment is read without its uploaded rows (they are held by reference, never copied, proxied or
 * serialised), and a save writes the small experiment record, plus the runs or the rows only when they changed
 * (storage/autosave.ts). Storage failures never touch the work in memory: they are reported, and saving resumes
 * with the next change.
 */
import { untrack } from 'svelte';
import type { Experiment } from '../core/experiment/types.ts';
import { DebouncedSaver, ExperimentWriter } from '../storage/autosave.ts';
import { StorageError, toStorageError } from '../storage/errors.ts';
import { inlineRows } from '../storage/rows.ts';
import type { ExperimentMeta, RunningMarker } from '../storage/schema.ts';
import type { ExperimentStore } from '../storage/store.ts';
import type { Activity, ExperimentState } from './ExperimentState.svelte.ts';
import { snapshotExperiment } from './experiment-snapshot.svelte.ts';
import { holdRunLock } from './experiment-sync.ts';

/** Whether the open experiment is saved: shown next to its name. */
export type SaveStatus = 'restoring' | 'saved' | 'saving' | 'unsaved' | 'error';

function markerOf(activity: Activity, headName: string, startedAt: number): RunningMarker {
  // A layer probe trains the head's settings: recorded as the head's run.
  if (activity.kind !== 'prompts') return { kind: 'head', name: headName, startedAt };
  return { kind: activity.kind, name: activity.name, startedAt };
}

/** What the autosave needs from the library it saves for. */
export interface AutosaveHost {
  /** The id the open experiment is saved under; undefined when it must not be saved. */
  currentId(): string | undefined;
  /** A save landed: update the list, tell other tabs, clear a passing storage problem. */
  saved(meta: ExperimentMeta): void;
  /** A save failed: show why (the work stays in memory). */
  failed(error: StorageError): void;
}

/** Saves the open experiment of one ExperimentState after each edit and at the start and end of each run. */
export class ExperimentAutosave {
  status = $state<SaveStatus>('restoring');
  /** When the open experiment was last saved (ms since the epoch). */
  savedAt = $state<number | undefined>(undefined);
  /** Edits of the open experiment seen so far; a save records the revision it stored. */
  revision = 0;

  readonly #lab: ExperimentState;
  readonly #host: AutosaveHost;
  readonly #saver: DebouncedSaver;
  #store: ExperimentStore | undefined;
  #writer: ExperimentWriter | undefined;
  /** The open experiment as last seen, its rows by token: an effect run that finds it unchanged is no edit. */
  #seen = '';
  readonly #rowsTokens = new WeakMap<object, number>();
  #nextRowsToken = 0;
  #runStartedAt = 0;
  /** Ends the lock that tells other tabs a run of the open experiment is live in this one. */
  #releaseRunLock: (() => void) | undefined;
  #stopEffects: (() => void) | undefined;
  readonly #onPageHide = (): void => void this.flush();

  constructor(lab: ExperimentState, host: AutosaveHost) {
    this.#lab = lab;
    this.#host = host;
    this.#saver = new DebouncedSaver(() => this.#write());
  }

  /** Saves into `store` from now on. */
  attach(store: ExperimentStore): void {
    this.#store = store;
    this.#writer = new ExperimentWriter(store);
  }

  /** True while a save is scheduled or running. */
  get busy(): boolean {
    return this.#saver.busy;
  }

  /** True when the experiment, its runs or whether a run is going differ from what was last saved. */
  get changed(): boolean {
    if (!this.#writer) return false;
    return this.#writer.differs({
      id: this.#host.currentId(),
      revision: this.revision,
      runs: this.#lab.runs,
      running: this.#lab.activity !== undefined,
    });
  }

  /** The `updatedAt` of the version last saved or opened. */
  get savedUpdatedAt(): number | undefined {
    return this.#writer?.saved?.updatedAt;
  }

  /** Notes that the experiment on screen is stored as `meta` (just opened, created, renamed or copied). */
  markSaved(meta: ExperimentMeta, running = false): void {
    this.#seen = this.#fingerprint(this.#lab.experiment);
    const rows = inlineRows(this.#lab.experiment.dataset);
    this.savedAt = meta.updatedAt;
    this.#writer?.markSaved({
      id: meta.id,
      updatedAt: meta.updatedAt,
      revision: this.revision,
      runs: this.#lab.runs,
      running,
      rowsHash: rows && this.#store?.rowsHashes.known(rows),
    });
  }

  /** Starts watching edits and runs, and saving before the page goes away. */
  start(): void {
    this.#stopEffects = $effect.root(() => {
      $effect(() => {
        // Reads every field (its uploaded rows excepted), so any edit anywhere in the experiment reruns this.
        const fingerprint = this.#fingerprint(this.#lab.experiment);
        void this.#lab.runs;
        untrack(() => this.#noteEdit(fingerprint));
      });
      $effect(() => {
        const running = this.#lab.activity !== undefined;
        untrack(() => this.#noteRun(running));
      });
    });
    window.addEventListener('pagehide', this.#onPageHide);
    document.addEventListener('visibilitychange', this.#onPageHide);
  }

  /** Saves pending changes now; a failure is reported through the host, not thrown. */
  async flush(): Promise<void> {
    try {
      await this.#saver.flush();
    } catch {
      // #write has already reported the error; the work stays in memory.
    }
  }

  /**
   * Saves before leaving the open experiment (opening, creating or importing another).
   * @throws StorageError when its changes could not be saved: leaving would lose them.
   */
  async saveBeforeLeaving(problem: () => string | undefined): Promise<void> {
    await this.flush();
    if (this.#host.currentId() !== undefined && this.changed) {
      throw new StorageError(
        'failed',
        `The changes to "${this.#lab.experiment.name}" are not saved yet (${
          problem() ?? 'saving failed'
        }), so it stays open. Export it to a file, or resolve the problem above, then try again.`,
      );
    }
  }

  /** Drops a scheduled save (a save already running still finishes). */
  cancel(): void {
    this.#saver.cancel();
  }

  /** Stops watching and saving (page teardown); pending changes are flushed first when possible. */
  destroy(): void {
    this.#stopEffects?.();
    this.#stopEffects = undefined;
    this.#releaseRunLock?.();
    void this.flush();
    if (typeof window !== 'undefined') {
      window.removeEventListener('pagehide', this.#onPageHide);
      document.removeEventListener('visibilitychange', this.#onPageHide);
    }
  }

  /**
   * The experiment's fields as a string, read straight from the rune state (no copy), its uploaded rows as a
   * token per array (never serialised).
   */
  #fingerprint(experiment: Experiment): string {
    const rows = inlineRows(experiment.dataset);
    if (!rows) return JSON.stringify(experiment);
    let token = this.#rowsTokens.get(rows);
    if (token === undefined) {
      token = ++this.#nextRowsToken;
      this.#rowsTokens.set(rows, token);
    }
    return JSON.stringify(experiment, (_key, value: unknown) => (value === rows ? token : value));
  }

  #noteEdit(fingerprint: string): void {
    if (fingerprint !== this.#seen) {
      this.#seen = fingerprint;
      this.revision++;
    }
    if (this.changed) {
      this.status = 'unsaved';
      this.#saver.schedule();
    }
  }

  #noteRun(running: boolean): void {
    if (running && !this.#releaseRunLock) {
      this.#runStartedAt = Date.now();
      const id = this.#host.currentId();
      if (id) this.#releaseRunLock = holdRunLock(id);
    } else if (!running) {
      this.#releaseRunLock?.();
      this.#releaseRunLock = undefined;
    }
    // A run's start is written before it can be interrupted; its end together with its result.
    if (this.changed) void this.flush();
  }

  /** One save of the open experiment, as it is now. */
  async #write(): Promise<void> {
    const writer = this.#writer;
    const id = this.#host.currentId();
    if (!writer || !id || !this.changed) return;
    const lab = this.#lab;
    const activity = lab.activity;
    this.status = 'saving';
    try {
      const meta = await writer.write({
        id,
        revision: this.revision,
        experiment: snapshotExperiment(lab.experiment),
        runs: lab.runs,
        running: activity ? markerOf(activity, lab.headSpec.name, this.#runStartedAt) : null,
      });
      this.savedAt = meta.updatedAt;
      this.#host.saved(meta);
      this.status = this.changed ? 'unsaved' : 'saved';
    } catch (error) {
      const storageError = toStorageError(error, 'save the experiment');
      this.#host.failed(storageError);
      this.status = 'error';
      throw storageError;
    }
  }
}
