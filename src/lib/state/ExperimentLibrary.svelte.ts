/**
 * @file Saved experiments behind the page's one open experiment: restores the last one on startup, and lists,
 * opens, creates, renames, duplicates, deletes, imports and exports experiments. Saving the open experiment
 * after each change is ExperimentAutosave's job; following other tabs is ExperimentSync's. Storage failures
 * never touch the work in memory: a full quota shows a message with an export offer, and saving resumes with
 * the next change.
 */
import type { Experiment, RunResult } from '../core/experiment/types.ts';
import { downloadText } from '../storage/download.ts';
import { StorageError, toStorageError } from '../storage/errors.ts';
import {
  exportExperiment,
  ImportError,
  readExperimentFile,
  type PickedFile,
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
import { ExperimentAutosave, type SaveStatus } from './ExperimentAutosave.svelte.ts';
import { snapshotExperiment } from './experiment-snapshot.svelte.ts';
import type { ExperimentState } from './ExperimentState.svelte.ts';
import { ExperimentSync, runIsLiveElsewhere } from './experiment-sync.ts';

export type { SaveStatus } from './ExperimentAutosave.svelte.ts';

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

/** The page's saved experiments; one instance per page, next to the ExperimentState it saves. */
export class ExperimentLibrary {
  readonly lab: ExperimentState;

  /** Saved experiments, most recently changed first. */
  entries = $state.raw<ExperimentMeta[]>([]);
  /** The id the open experiment is saved under; undefined when storage is unavailable. */
  currentId = $state<string | undefined>(undefined);
  /** The storage problem to show (full quota, unavailable…); the work in memory is unaffected. */
  storageError = $state.raw<StorageError | undefined>(undefined);
  /** Set after a reload that interrupted a run. */
  interrupted = $state<string | undefined>(undefined);
  importFailure = $state.raw<ImportFailure | undefined>(undefined);
  /** A failed list operation (rename, delete…): shown next to the list. */
  actionError = $state<string | undefined>(undefined);

  readonly #openOptions: OpenOptions;
  readonly #autosave: ExperimentAutosave;
  #store: ExperimentStore | undefined;
  #sync: ExperimentSync | undefined;

  constructor(lab: ExperimentState, openOptions: OpenOptions = {}) {
    this.lab = lab;
    this.#openOptions = openOptions;
    this.#autosave = new ExperimentAutosave(lab, {
      currentId: () => this.currentId,
      saved: (meta) => {
        this.entries = [meta, ...this.entries.filter((entry) => entry.id !== meta.id)];
        if (this.storageError?.kind === 'quota' || this.storageError?.kind === 'failed')
          this.storageError = undefined;
        this.#sync?.announce(meta.id);
      },
      failed: (error) => {
        this.storageError = error;
      },
    });
  }

  /** Whether the open experiment is saved. */
  get status(): SaveStatus {
    return this.#autosave.status;
  }

  /** When the open experiment was last saved (ms since the epoch). */
  get savedAt(): number | undefined {
    return this.#autosave.savedAt;
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
      this.#autosave.attach(store);
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
        this.currentId = meta.id;
        this.#autosave.markSaved(meta);
        this.entries = [meta];
      }
      this.#autosave.status = 'saved';
      if (this.currentId) await store.setLastOpened(this.currentId);
    } catch (error) {
      this.storageError = toStorageError(error, 'open your saved experiments');
      this.#autosave.status = 'error';
    }
    if (this.#store) this.#sync = this.#followOtherTabs(this.#store);
    this.#autosave.start();
  }

  /** Saves pending changes now (before leaving, or in tests). */
  async flush(): Promise<void> {
    await this.#autosave.flush();
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
      if (id === this.currentId) await this.#autosave.flush();
      const meta = await store.rename(id, name);
      this.#announce(id);
      if (id === this.currentId) {
        this.lab.experiment.name = meta.name;
        this.#autosave.markSaved(meta, this.lab.activity !== undefined);
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
        this.#autosave.cancel();
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
  async importFile(file: PickedFile): Promise<void> {
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
      this.currentId = meta.id;
      this.#autosave.markSaved(meta);
      this.#autosave.status = 'saved';
      await store.setLastOpened(meta.id);
      await this.#refresh();
      this.#announce(meta.id);
    });
  }

  /** After a conflict: drops this tab's unsaved changes and opens the saved version (or the next experiment). */
  async reloadSaved(): Promise<void> {
    await this.#act('open the saved version', async (store) => {
      this.#autosave.cancel();
      const stored = this.currentId ? await store.get(this.currentId) : undefined;
      this.storageError = undefined;
      await this.#refresh();
      const next = stored ?? (this.entries[0] ? await store.get(this.entries[0].id) : undefined);
      if (next) {
        this.#show(next);
        this.#autosave.status = 'saved';
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
    await this.#autosave.flush();
  }

  /** Stops watching and saving (page teardown); pending changes are flushed first when possible. */
  destroy(): void {
    this.#sync?.close();
    this.#autosave.destroy();
  }

  // ------------------------------------------------------------ internals

  /** The open experiment as plain data (its uploaded rows by reference). */
  #snapshot(): Experiment {
    return snapshotExperiment(this.lab.experiment);
  }

  /**
   * Saves before leaving the open experiment (opening, creating or importing another).
   * @throws StorageError when its changes could not be saved: leaving would lose them.
   */
  async #saveBeforeLeaving(): Promise<void> {
    await this.#autosave.saveBeforeLeaving(() => this.storageError?.message);
  }

  /** Puts a stored experiment on screen and marks it as saved. */
  #show(stored: StoredExperiment): void {
    this.currentId = stored.meta.id;
    this.lab.replaceExperiment(stored.experiment, stored.runs);
    this.#autosave.markSaved(stored.meta);
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
    this.#sync?.announce(id);
  }

  /**
   * Follows other tabs: their changes refresh the list, and the open experiment is reloaded when this tab has
   * nothing unsaved and nothing running (otherwise the next save reports the conflict instead of overwriting).
   */
  #followOtherTabs(store: ExperimentStore): ExperimentSync {
    return new ExperimentSync(store, {
      currentId: () => this.currentId,
      holdsWork: () => this.#autosave.changed || this.lab.busy || this.#autosave.busy,
      savedUpdatedAt: () => this.#autosave.savedUpdatedAt,
      refresh: () => this.#refresh(),
      show: (stored) => this.#show(stored),
      conflict: (error) => (this.storageError = error),
      failed: (message) => (this.actionError = message),
    });
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
