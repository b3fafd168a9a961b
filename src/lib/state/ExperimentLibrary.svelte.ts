/**
 * @file Saved experiments behind the page's one open experiment: restores the last one on startup, saves every
 * change (debounced) and the start and end of every run at once, and lists, opens, creates, renames, duplicates,
 * deletes, imports and exports experiments. Storage failures never touch the work in memory: a full quota
 * shows a message with an export offer, and saving resumes with the next change.
 */
import { untrack } from 'svelte';
import type { Experiment, RunResult } from '../core/experiment/types.ts';
import { DebouncedSaver } from '../storage/autosave.ts';
import { downloadText } from '../storage/download.ts';
import { StorageError, toStorageError } from '../storage/errors.ts';
import {
  exportExperiment,
  ImportError,
  readExperimentFile,
  type TextFile,
} from '../storage/experiment-file.ts';
import type { ExperimentMeta, RunningMarker } from '../storage/schema.ts';
import {
  openExperimentStore,
  unusedName,
  type ExperimentStore,
  type OpenOptions,
  type StoredExperiment,
} from '../storage/store.ts';
import { defaultExperiment } from './defaults.ts';
import type { Activity, ExperimentState } from './ExperimentState.svelte.ts';

export type SaveStatus = 'restoring' | 'saved' | 'saving' | 'unsaved' | 'error';

/** A failed import: which file, the message, and the offending field's path (empty for the whole file). */
export interface ImportFailure {
  fileName: string;
  message: string;
  path: string;
}

/** What a running activity is called in the "interrupted" notice. */
function describeRun(marker: RunningMarker): string {
  return marker.kind === 'head'
    ? `training the head "${marker.name}"`
    : `running the prompt variation "${marker.name}"`;
}

function markerOf(activity: Activity, headName: string, startedAt: number): RunningMarker {
  return { kind: activity.kind, name: activity.kind === 'head' ? headName : activity.name, startedAt };
}

/** Tabs of the app tell each other about saved changes on this channel. */
const CHANNEL_NAME = 'prompt-vs-finetune:experiments';

interface ChangeMessage {
  /** Id of the experiment that was saved, renamed, created or deleted. */
  changed: string;
}

const runLockName = (id: string): string => `prompt-vs-finetune:running:${id}`;

/**
 * Holds a Web Lock named after the experiment while one of its runs is live in this tab; the lock ends with
 * the returned function or with the page. Without Web Locks it does nothing.
 */
function holdRunLock(id: string): () => void {
  if (typeof navigator === 'undefined' || !navigator.locks) return () => undefined;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  void navigator.locks.request(runLockName(id), () => held).catch(() => undefined);
  return release;
}

/** True when another tab holds the run lock of experiment `id` (its run is going on, not interrupted). */
async function runIsLiveElsewhere(id: string): Promise<boolean> {
  if (typeof navigator === 'undefined' || !navigator.locks) return false;
  const { held = [] } = await navigator.locks.query();
  return held.some((lock) => lock.name === runLockName(id));
}

/** The page's saved experiments; one instance per page, next to the ExperimentState it saves. */
export class ExperimentLibrary {
  readonly lab: ExperimentState;

  /** Saved experiments, most recently changed first. */
  entries = $state.raw<ExperimentMeta[]>([]);
  /** The id the open experiment is saved under; undefined when storage is unavailable. */
  currentId = $state<string | undefined>(undefined);
  status = $state<SaveStatus>('restoring');
  /** When the open experiment was last saved (ms since the epoch). */
  savedAt = $state<number | undefined>(undefined);
  /** The storage problem to show (full quota, unavailable…); the work in memory is unaffected. */
  storageError = $state.raw<StorageError | undefined>(undefined);
  /** Set after a reload that interrupted a run. */
  interrupted = $state<string | undefined>(undefined);
  importFailure = $state.raw<ImportFailure | undefined>(undefined);
  /** A failed list operation (rename, delete…): shown next to the list. */
  actionError = $state<string | undefined>(undefined);

  readonly #openOptions: OpenOptions;
  #store: ExperimentStore | undefined;
  readonly #saver: DebouncedSaver;
  /**
   * What the last save (or load) stored: to skip saves when nothing changed, and `updatedAt` to notice when
   * another tab saved the same experiment in between.
   */
  #saved:
    { id: string; updatedAt: number; experiment: string; runs: RunResult[]; running: boolean } | undefined;
  #runStartedAt = 0;
  /** Ends the lock that tells other tabs a run of the open experiment is live in this one. */
  #releaseRunLock: (() => void) | undefined;
  #channel: BroadcastChannel | undefined;
  #stopEffects: (() => void) | undefined;
  readonly #onPageHide = (): void => void this.#saveNow();

  constructor(lab: ExperimentState, openOptions: OpenOptions = {}) {
    this.lab = lab;
    this.#openOptions = openOptions;
    this.#saver = new DebouncedSaver(() => this.#write());
  }

  /** The open experiment's list entry. */
  get current(): ExperimentMeta | undefined {
    return this.entries.find((entry) => entry.id === this.currentId);
  }

  /** True when saving is impossible or failing, so the UI offers to export instead. */
  get offerExport(): boolean {
    return this.storageError !== undefined && this.storageError.kind !== 'not-found';
  }

  /** True when another tab changed or deleted the open experiment and this tab holds different work. */
  get conflicted(): boolean {
    return this.storageError?.kind === 'conflict';
  }

  /**
   * Opens the database, reopens the experiment open last (or the most recent, or saves the current one as the
   * first), then starts saving changes. Without storage the app keeps working in memory.
   */
  async start(): Promise<void> {
    try {
      this.#store = await openExperimentStore({
        ...this.#openOptions,
        onBlocked: () => {
          this.storageError = new StorageError(
            'blocked',
            'Another tab runs an older version of this app and keeps your saved experiments open. Close or ' +
              'reload that tab; this one opens them as soon as it is free.',
          );
        },
        onReplaced: () => {
          this.storageError = new StorageError(
            'unavailable',
            'This app was updated in another tab, so this tab can no longer save. Export your work if it has ' +
              'unsaved changes, then reload the page.',
          );
        },
      });
      if (this.storageError?.kind === 'blocked') this.storageError = undefined;
      const store = this.#store;
      const entries = await store.list();
      const lastId = await store.lastOpened();
      const candidate = entries.find((entry) => entry.id === lastId) ?? entries[0];
      const stored = candidate ? await store.get(candidate.id) : undefined;
      if (stored) {
        this.#show(stored);
        this.entries = entries;
        // A marker left behind means the run died with its page, unless another tab is running it right now.
        if (stored.running && !(await runIsLiveElsewhere(stored.meta.id))) {
          this.interrupted =
            `The page was reloaded or closed while ${describeRun(stored.running)}, so that run stopped and ` +
            'was not saved. Everything finished before it is here; run it again once the model is loaded.';
          await store.setRunning(stored.meta.id, undefined);
        }
      } else {
        const meta = await store.create(this.#snapshot(), $state.snapshot(this.lab.runs) as RunResult[]);
        this.#markSaved(meta, false);
        this.entries = [meta];
      }
      this.status = 'saved';
      if (this.currentId) await store.setLastOpened(this.currentId);
    } catch (error) {
      this.storageError = toStorageError(error, 'open your saved experiments');
      this.status = 'error';
    }
    this.#listen();
    this.#watch();
  }

  /** Saves pending changes now (before leaving, or in tests). */
  async flush(): Promise<void> {
    await this.#saveNow();
  }

  /** Opens a saved experiment, after saving the current one. */
  async open(id: string): Promise<void> {
    if (id === this.currentId) return;
    await this.#act('open the experiment', async (store) => {
      await this.#saveBeforeLeaving();
      const stored = await store.get(id);
      if (!stored)
        throw new StorageError('not-found', 'That experiment is no longer saved; the list was reloaded.');
      this.#show(stored);
      this.interrupted = undefined;
      await store.setLastOpened(id);
    });
  }

  /** Starts a new experiment with the defaults (the current model kept), saved at once and opened. */
  async create(): Promise<void> {
    const experiment = defaultExperiment();
    experiment.model = this.lab.experiment.model;
    experiment.name = unusedName(
      'New experiment',
      this.entries.map((entry) => entry.name),
    );
    await this.#add('create an experiment', experiment, []);
  }

  /** Renames a saved experiment (the open one's name changes in place). */
  async rename(id: string, name: string): Promise<void> {
    await this.#act('rename the experiment', async (store) => {
      if (id === this.currentId) await this.#saveNow();
      const meta = await store.rename(id, name);
      this.#announce(id);
      if (id === this.currentId) {
        this.lab.experiment.name = meta.name;
        this.#markSaved(meta, this.lab.activity !== undefined);
      }
      await this.#refresh();
    });
  }

  /** Copies a saved experiment with its runs, and opens the copy. */
  async duplicate(id: string): Promise<void> {
    await this.#act('duplicate the experiment', async (store) => {
      if (id === this.currentId) await this.#saveBeforeLeaving();
      const copy = await store.duplicate(id);
      this.#announce(copy.id);
      await this.#refresh();
      await this.open(copy.id);
    });
  }

  /** Deletes a saved experiment; deleting the open one opens the next, or a new one when none is left. */
  async remove(id: string): Promise<void> {
    await this.#act('delete the experiment', async (store) => {
      const wasOpen = id === this.currentId;
      if (wasOpen) {
        // No save may recreate it: pending saves are dropped and later ones have no id to write to.
        this.#saver.cancel();
        this.lab.cancelTraining();
        this.currentId = undefined;
      }
      try {
        await store.delete(id);
      } catch (error) {
        if (wasOpen) this.currentId = id;
        throw error;
      }
      this.#announce(id);
      await this.#refresh();
      if (!wasOpen) return;
      const next = this.entries[0] ? await store.get(this.entries[0].id) : undefined;
      if (!next) {
        await this.create();
        return;
      }
      this.#show(next);
      this.interrupted = undefined;
      await store.setLastOpened(next.meta.id);
    });
  }

  /**
   * Imports an experiment file: validated first; on success added as a new experiment (never replacing one;
   * the name gets a number when taken) and opened. On failure `importFailure` says why and nothing changes.
   */
  async importFile(file: TextFile): Promise<void> {
    this.importFailure = undefined;
    let experiment: Experiment;
    try {
      experiment = await readExperimentFile(file);
    } catch (error) {
      if (!(error instanceof ImportError)) throw error;
      this.importFailure = { fileName: error.fileName, message: error.message, path: error.path };
      return;
    }
    experiment.name = unusedName(
      experiment.name,
      this.entries.map((entry) => entry.name),
    );
    await this.#add('import the experiment', experiment, []);
  }

  /**
   * After a conflict: saves this tab's version (experiment and runs) as a new experiment and opens it, so both
   * versions are kept.
   */
  async keepAsCopy(): Promise<void> {
    const experiment = this.#snapshot();
    experiment.name = unusedName(
      `${experiment.name} (this tab)`,
      this.entries.map((entry) => entry.name),
    );
    const runs = this.lab.runs;
    await this.#act('keep this version', async (store) => {
      const meta = await store.create(experiment, $state.snapshot(runs) as RunResult[]);
      this.lab.experiment.name = experiment.name;
      this.storageError = undefined;
      this.#markSaved(meta, false);
      this.status = 'saved';
      await store.setLastOpened(meta.id);
      await this.#refresh();
      this.#announce(meta.id);
    });
  }

  /** After a conflict: drops this tab's unsaved changes and opens the saved version (or the next experiment). */
  async reloadSaved(): Promise<void> {
    await this.#act('open the saved version', async (store) => {
      this.#saver.cancel();
      const stored = this.currentId ? await store.get(this.currentId) : undefined;
      this.storageError = undefined;
      await this.#refresh();
      const next = stored ?? (this.entries[0] ? await store.get(this.entries[0].id) : undefined);
      if (next) {
        this.#show(next);
        this.status = 'saved';
        await store.setLastOpened(next.meta.id);
      } else {
        this.currentId = undefined;
        await this.create();
      }
    });
  }

  /** Downloads the open experiment as an experiment file; returns why it would not run, if it would not. */
  exportCurrent(): string | undefined {
    const file = exportExperiment(this.#snapshot());
    downloadText(file.fileName, file.text);
    return file.problem;
  }

  /** Retries a failed save now. */
  async retrySave(): Promise<void> {
    await this.#saveNow();
  }

  /** Stops watching and saving (page teardown); pending changes are flushed first when possible. */
  destroy(): void {
    this.#stopEffects?.();
    this.#stopEffects = undefined;
    this.#channel?.close();
    this.#releaseRunLock?.();
    void this.#saveNow();
    if (typeof window !== 'undefined') {
      window.removeEventListener('pagehide', this.#onPageHide);
      document.removeEventListener('visibilitychange', this.#onPageHide);
    }
  }

  // ------------------------------------------------------------ internals

  /** Saves changes of the experiment and its runs after a quiet time, and run starts and ends at once. */
  #watch(): void {
    this.#stopEffects = $effect.root(() => {
      $effect(() => {
        // Read deeply, so any edit anywhere in the experiment is a change.
        $state.snapshot(this.lab.experiment);
        void this.lab.runs;
        untrack(() => {
          if (this.#changed()) {
            this.status = 'unsaved';
            this.#saver.schedule();
          }
        });
      });
      $effect(() => {
        const running = this.lab.activity !== undefined;
        untrack(() => {
          if (running && !this.#releaseRunLock) {
            this.#runStartedAt = Date.now();
            if (this.currentId) this.#releaseRunLock = holdRunLock(this.currentId);
          } else if (!running) {
            this.#releaseRunLock?.();
            this.#releaseRunLock = undefined;
          }
          // A run's start is written before it can be interrupted; its end together with its result.
          if (this.#changed()) void this.#saveNow();
        });
      });
    });
    window.addEventListener('pagehide', this.#onPageHide);
    document.addEventListener('visibilitychange', this.#onPageHide);
  }

  #snapshot(): Experiment {
    return $state.snapshot(this.lab.experiment) as Experiment;
  }

  /** True when the experiment, its runs or whether a run is going differ from what was last saved. */
  #changed(): boolean {
    const saved = this.#saved;
    if (!saved || saved.id !== this.currentId) return this.currentId !== undefined;
    return (
      saved.runs !== this.lab.runs ||
      saved.running !== (this.lab.activity !== undefined) ||
      saved.experiment !== JSON.stringify(this.#snapshot())
    );
  }

  async #saveNow(): Promise<void> {
    try {
      await this.#saver.flush();
    } catch {
      // #write has already shown the error; the work stays in memory.
    }
  }

  /**
   * Saves before leaving the open experiment (opening, creating or importing another).
   * @throws StorageError when its changes could not be saved: leaving would lose them.
   */
  async #saveBeforeLeaving(): Promise<void> {
    await this.#saveNow();
    if (this.currentId !== undefined && this.#changed()) {
      throw new StorageError(
        'failed',
        `The changes to "${this.lab.experiment.name}" are not saved yet (${
          this.storageError?.message ?? 'saving failed'
        }), so it stays open. Export it to a file, or resolve the problem above, then try again.`,
      );
    }
  }

  /** One save of the open experiment, as it is now. */
  async #write(): Promise<void> {
    const store = this.#store;
    const id = this.currentId;
    if (!store || !id || !this.#changed()) return;
    const experiment = this.#snapshot();
    const runs = this.lab.runs;
    const activity = this.lab.activity;
    const running = activity ? markerOf(activity, this.lab.headSpec.name, this.#runStartedAt) : null;
    const expectedUpdatedAt = this.#saved?.id === id ? this.#saved.updatedAt : undefined;
    this.status = 'saving';
    try {
      const meta = await store.save(id, experiment, $state.snapshot(runs) as RunResult[], {
        running,
        expectedUpdatedAt,
      });
      this.#saved = {
        id,
        updatedAt: meta.updatedAt,
        experiment: JSON.stringify(experiment),
        runs,
        running: running !== null,
      };
      this.savedAt = meta.updatedAt;
      this.entries = [meta, ...this.entries.filter((entry) => entry.id !== id)];
      if (this.storageError?.kind === 'quota' || this.storageError?.kind === 'failed')
        this.storageError = undefined;
      this.status = this.#changed() ? 'unsaved' : 'saved';
      this.#announce(id);
    } catch (error) {
      this.storageError = toStorageError(error, 'save the experiment');
      this.status = 'error';
      throw this.storageError;
    }
  }

  /** Puts a stored experiment on screen and marks it as saved. */
  #show(stored: StoredExperiment): void {
    this.currentId = stored.meta.id;
    this.lab.replaceExperiment(stored.experiment, stored.runs);
    this.#markSaved(stored.meta, false);
  }

  #markSaved(meta: ExperimentMeta, running: boolean): void {
    this.currentId = meta.id;
    this.savedAt = meta.updatedAt;
    this.#saved = {
      id: meta.id,
      updatedAt: meta.updatedAt,
      experiment: JSON.stringify(this.#snapshot()),
      runs: this.lab.runs,
      running,
    };
  }

  /** Saves a new experiment and opens it; nothing changes when saving fails. Without storage, opens it in memory. */
  async #add(action: string, experiment: Experiment, runs: RunResult[]): Promise<void> {
    if (!this.#store) {
      this.lab.replaceExperiment(experiment, runs);
      this.interrupted = undefined;
      return;
    }
    await this.#act(action, async (store) => {
      await this.#saveBeforeLeaving();
      const meta = await store.create(experiment, runs);
      this.#announce(meta.id);
      await this.#refresh();
      const stored = await store.get(meta.id);
      if (!stored) throw new StorageError('not-found', 'The new experiment vanished right after saving it.');
      this.#show(stored);
      this.interrupted = undefined;
      await store.setLastOpened(meta.id);
    });
  }

  async #refresh(): Promise<void> {
    if (this.#store) this.entries = await this.#store.list();
  }

  /** Tells other tabs that an experiment changed, so their lists (and open experiment) follow. */
  #announce(id: string): void {
    this.#channel?.postMessage({ changed: id } satisfies ChangeMessage);
  }

  /**
   * Follows other tabs: their changes refresh the list, and the open experiment is reloaded when this tab has
   * nothing unsaved and nothing running (otherwise the next save reports the conflict instead of overwriting).
   */
  #listen(): void {
    if (!this.#store || typeof BroadcastChannel === 'undefined') return;
    this.#channel = new BroadcastChannel(CHANNEL_NAME);
    this.#channel.onmessage = (event: MessageEvent<ChangeMessage>) => {
      void this.#followOtherTab(event.data.changed);
    };
  }

  async #followOtherTab(id: string): Promise<void> {
    const store = this.#store;
    if (!store) return;
    try {
      await this.#refresh();
      if (id !== this.currentId || this.#changed() || this.lab.busy || this.#saver.busy) return;
      const stored = await store.get(id);
      if (stored && stored.meta.updatedAt !== this.#saved?.updatedAt) this.#show(stored);
      if (!stored) {
        this.storageError = new StorageError(
          'conflict',
          'This experiment was deleted in another tab. Your work here is intact: keep it as a new experiment, ' +
            'or export it to a file.',
        );
      }
    } catch (error) {
      this.actionError = toStorageError(error, 'follow changes made in another tab').message;
    }
  }

  /** Runs a list operation, showing its failure as `actionError` (or the quota message) without throwing. */
  async #act(action: string, body: (store: ExperimentStore) => Promise<void>): Promise<void> {
    this.actionError = undefined;
    const store = this.#store;
    if (!store) {
      this.actionError = `Cannot ${action}: ${this.storageError?.message ?? 'storage is not ready yet.'}`;
      return;
    }
    try {
      await body(store);
    } catch (error) {
      const storageError = toStorageError(error, action);
      if (storageError.kind === 'quota' || storageError.kind === 'conflict') this.storageError = storageError;
      else this.actionError = storageError.message;
      if (storageError.kind === 'not-found') await this.#refresh().catch(() => undefined);
    }
  }
}
