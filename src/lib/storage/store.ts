/**
 * @file The one module that reads and writes saved experiments (IndexedDB through `idb`). Every write is one
 * transaction over all the stores it touches, so it happens entirely or not at all: a failed save (a full
 * quota, a closed tab) leaves the previous copy exactly as it was. Values must be plain data (use
 * `$state.snapshot` on rune state): IndexedDB cannot clone proxies. Uploaded rows are stored apart, once per
 * content hash (rows.ts), and deleted with the last experiment referencing them.
 */
import { openDB, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { Experiment, RunResult } from '../core/experiment/types.ts';
import { StorageError, toStorageError } from './errors.ts';
import { fromRecord, RowsHashes, rowsHashOf, rowsOfStored } from './rows.ts';
import {
  BY_ROWS,
  BY_UPDATED,
  LAST_OPENED_KEY,
  metaOf,
  migrate,
  SCHEMA_VERSION,
  STORES,
  type ExperimentMeta,
  type ExperimentRecord,
  type ExperimentsSchema,
  type RowsRecord,
  type RunningMarker,
  type RunsRecord,
} from './schema.ts';
import { randomUuid } from './uuid.ts';

/** The database the app uses; tests may open another name. */
export const DATABASE_NAME = 'prompt-vs-finetune';

/** A saved experiment with everything needed to reopen it. */
export interface StoredExperiment {
  meta: ExperimentMeta;
  experiment: Experiment;
  runs: RunResult[];
  /** Set when a run was in progress at the last save and never finished (the page was reloaded or closed). */
  running: RunningMarker | undefined;
  /** The content hash of its uploaded rows (the array in `experiment.dataset.rows`), if it has any. */
  rowsHash: string | undefined;
}

/** What {@link ExperimentStore.save} writes besides the experiment record. */
export interface SaveOptions {
  /** The runs to store; omitted keeps the stored ones (they did not change). */
  runs?: readonly RunResult[];
  /**
   * The uploaded rows the record references, when they may not be stored yet (the dataset changed): written
   * only if no rows are stored under that hash.
   */
  rows?: RowsRecord;
  /** The run in progress to record, `null` to clear it; omitted keeps the stored one. */
  running?: RunningMarker | null;
  /**
   * The `updatedAt` this copy was based on: when the stored one differs (another tab saved since) or is gone
   * (deleted elsewhere), nothing is written and a `conflict` error is thrown.
   */
  expectedUpdatedAt?: number;
}

export interface OpenOptions {
  /** Database name; defaults to {@link DATABASE_NAME}. */
  name?: string;
  /** Clock in milliseconds since the epoch, for tests. */
  now?: () => number;
  /** Another tab holds an older version open and must be closed or reloaded before this one can upgrade. */
  onBlocked?: () => void;
  /** A newer version of the app opened the database in another tab; this connection was closed for it. */
  onReplaced?: () => void;
}

type Database = IDBPDatabase<ExperimentsSchema>;
type Store = StoreNames<ExperimentsSchema>;
type WriteTransaction = IDBPTransaction<ExperimentsSchema, Store[], 'readwrite'>;

const ALL_EXPERIMENT_STORES: Store[] = [STORES.experiments, STORES.documents, STORES.runs, STORES.rows];

/** The transaction's own error, once it failed; reading it never throws. */
function transactionError(transaction: { error: DOMException | null }): unknown {
  try {
    return transaction.error ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens (creating or upgrading) the experiments database.
 * @throws StorageError `unavailable` when IndexedDB cannot be used, `newer-version` when a newer app version
 *   saved it, `failed` when a migration failed (the old data stays as it was).
 */
export async function openExperimentStore(options: OpenOptions = {}): Promise<ExperimentStore> {
  const name = options.name ?? DATABASE_NAME;
  if (typeof indexedDB === 'undefined') {
    throw new StorageError(
      'unavailable',
      'This browser offers no IndexedDB here (private browsing or disabled site data?), so experiments ' +
        'cannot be saved. Your work stays in this tab until you close it: export it to a file to keep it.',
    );
  }
  let migrationError: unknown;
  let store: ExperimentStore | undefined;
  try {
    const database = await openDB<ExperimentsSchema>(name, SCHEMA_VERSION, {
      upgrade(db, oldVersion, newVersion, transaction) {
        // openDB reports a failed upgrade; its `done` must not also surface as an unhandled rejection.
        transaction.done.catch(() => undefined);
        // The upgrade callback cannot be async: run the steps on the upgrade transaction and abort it on
        // failure, which rejects openDB and rolls every step back.
        migrate(
          db as unknown as IDBPDatabase<unknown>,
          transaction as unknown as IDBPTransaction<unknown, string[], 'versionchange'>,
          oldVersion,
          newVersion ?? SCHEMA_VERSION,
        ).catch((error: unknown) => {
          migrationError = error;
          try {
            transaction.abort();
          } catch {
            // Already finished; openDB reports the failure.
          }
        });
      },
      blocked() {
        options.onBlocked?.();
      },
      blocking() {
        // Let the other tab's newer version upgrade; this tab must reload to use it.
        store?.close();
        options.onReplaced?.();
      },
    });
    store = new ExperimentStore(database, options.now ?? Date.now);
    return store;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'VersionError') {
      throw new StorageError(
        'newer-version',
        'Your saved experiments were written by a newer version of this app, which this version cannot ' +
          'read. Reload the page to get the newer version; nothing was changed.',
        { cause: error },
      );
    }
    if (migrationError !== undefined) {
      throw new StorageError(
        'failed',
        `Could not upgrade your saved experiments to this version of the app (${
          migrationError instanceof Error ? migrationError.message : String(migrationError)
        }). They were left as they were; export what is open and report the problem.`,
        { cause: migrationError },
      );
    }
    throw new StorageError(
      'unavailable',
      `Could not open the browser's storage for experiments (${
        error instanceof Error ? error.message : String(error)
      }). Your work stays in this tab until you close it: export it to a file to keep it.`,
      { cause: error },
    );
  }
}

/** Saved experiments: list, get, save, rename, duplicate, delete; plus which one was open last. */
export class ExperimentStore {
  /** Hashes of the rows arrays this store has read or written, so saving them again costs nothing. */
  readonly rowsHashes = new RowsHashes();
  readonly #database: Database;
  readonly #now: () => number;
  #closed = false;

  constructor(database: Database, now: () => number) {
    this.#database = database;
    this.#now = now;
  }

  /** Every saved experiment, most recently changed first. */
  async list(): Promise<ExperimentMeta[]> {
    const metas = await this.#read('list your saved experiments', (db) =>
      db.getAllFromIndex(STORES.experiments, BY_UPDATED),
    );
    return metas.reverse();
  }

  /** A saved experiment, or undefined when there is none with this id. */
  async get(id: string): Promise<StoredExperiment | undefined> {
    return this.#read('open the experiment', async (db) => {
      const transaction = db.transaction(ALL_EXPERIMENT_STORES, 'readonly');
      transaction.done.catch(() => undefined);
      // One after the other: a failure then leaves no second rejected request unobserved.
      const meta = await transaction.objectStore(STORES.experiments).get(id);
      const document = await transaction.objectStore(STORES.documents).get(id);
      const runs = await transaction.objectStore(STORES.runs).get(id);
      if (!meta || !document) return undefined;
      const rowsHash = rowsHashOf(document.experiment);
      // Rows already in memory (the same content, opened or saved before) are not read and copied again.
      const rows =
        rowsHash === undefined
          ? undefined
          : (this.rowsHashes.inMemory(rowsHash) ??
            (await transaction.objectStore(STORES.rows).get(rowsHash)));
      let experiment: Experiment;
      try {
        const held = rows === undefined || Array.isArray(rows) ? rows : rowsOfStored(rows);
        if (held && rowsHash !== undefined) this.rowsHashes.remember(held, rowsHash);
        experiment = fromRecord(document.experiment, held);
      } catch (error) {
        throw new StorageError('failed', `Could not open the experiment: ${(error as Error).message}`);
      }
      return { meta, experiment, runs: runs?.runs ?? [], running: runs?.running, rowsHash };
    });
  }

  /**
   * Saves an experiment record under `id` (created when new), all or nothing. Only what is given is written: the
   * small record always, the runs and the rows only when passed (and the rows only when new to the database).
   * Rows the previous version referenced and no experiment uses any more are deleted.
   * @throws StorageError, `quota` when the storage is full, `conflict` (see `expectedUpdatedAt`), `failed` when
   *   the record references rows that are neither stored nor given; the previous copy is then unchanged.
   */
  async save(id: string, record: ExperimentRecord, options: SaveOptions = {}): Promise<ExperimentMeta> {
    return this.#write('save the experiment', ALL_EXPERIMENT_STORES, async (transaction) => {
      const now = this.#now();
      const existing = await transaction.objectStore(STORES.experiments).get(id);
      const expected = options.expectedUpdatedAt;
      if (expected !== undefined && existing?.updatedAt !== expected) throw conflict(existing === undefined);
      const runsStore = transaction.objectStore(STORES.runs);
      const { running } = options;
      // The runs record (which can be large) is read only when it must be rewritten around what is kept.
      const rewriteRuns = options.runs !== undefined || running !== undefined || existing === undefined;
      const keep = rewriteRuns && (options.runs === undefined || running === undefined);
      const stored = keep ? await runsStore.get(id) : undefined;
      const runs = options.runs ?? stored?.runs;
      const meta = metaOf(
        id,
        record,
        { length: runs?.length ?? existing?.runCount ?? 0 },
        {
          createdAt: existing?.createdAt ?? now,
          // Strictly increasing, so another tab's check sees every save even within one clock tick.
          updatedAt: Math.max(now, (existing?.updatedAt ?? 0) + 1),
        },
      );
      if (rewriteRuns) {
        const marker = running === undefined ? stored?.running : (running ?? undefined);
        const runsRecord: RunsRecord = {
          id,
          runs: [...(runs ?? [])],
          ...(marker ? { running: marker } : {}),
        };
        await runsStore.put(runsRecord);
      }
      const documents = transaction.objectStore(STORES.documents);
      const previousHash = await documents
        .get(id)
        .then((document) => document && rowsHashOf(document.experiment));
      const hash = rowsHashOf(record);
      // Rows the stored version already references are there; others are checked (and written when given).
      if (hash !== undefined && hash !== previousHash) await this.#putRows(transaction, hash, options.rows);
      await transaction.objectStore(STORES.experiments).put(meta);
      await documents.put({ id, experiment: record });
      if (previousHash !== undefined && previousHash !== hash) await collectRows(transaction, previousHash);
      return meta;
    });
  }

  /** Saves a new experiment (rows inline, split off here) under a fresh id. */
  async create(experiment: Experiment, runs: readonly RunResult[] = []): Promise<ExperimentMeta> {
    const { record, rows } = await this.rowsHashes.split(experiment);
    return this.save(randomUuid(), record, { runs, rows, running: null });
  }

  /** Writes `rows` under `hash` unless rows are stored there already. */
  async #putRows(transaction: WriteTransaction, hash: string, rows: RowsRecord | undefined): Promise<void> {
    const store = transaction.objectStore(STORES.rows);
    if ((await store.count(hash)) > 0) {
      if (rows) this.rowsHashes.releaseBytes(rows.rows);
      return;
    }
    if (rows?.hash !== hash) {
      throw new StorageError(
        'failed',
        'Could not save the experiment: its uploaded rows are missing from the database. Export it to a ' +
          'file, then import that file again.',
      );
    }
    await store.put(this.rowsHashes.toStored(rows));
  }

  /**
   * Records that a run started (`marker`) or ended (`undefined`), without touching anything else.
   * @throws StorageError `not-found` when the experiment is not saved.
   */
  async setRunning(id: string, marker: RunningMarker | undefined): Promise<void> {
    await this.#write('note the running experiment', [STORES.runs], async (transaction) => {
      const runs = transaction.objectStore(STORES.runs);
      const record = await runs.get(id);
      if (!record) throw notFound(id);
      const { running: _previous, ...rest } = record;
      await runs.put(marker ? { ...rest, running: marker } : rest);
    });
  }

  /**
   * Renames a saved experiment (its metadata and the experiment's own `name`).
   * @throws StorageError `not-found`, or `failed` for an empty name.
   */
  async rename(id: string, name: string): Promise<ExperimentMeta> {
    const trimmed = name.trim();
    if (trimmed === '') throw new StorageError('failed', 'An experiment needs a name: type one.');
    return this.#write('rename the experiment', ALL_EXPERIMENT_STORES, async (transaction) => {
      const metas = transaction.objectStore(STORES.experiments);
      const documents = transaction.objectStore(STORES.documents);
      const [meta, document] = [await metas.get(id), await documents.get(id)];
      if (!meta || !document) throw notFound(id);
      const renamed: ExperimentMeta = {
        ...meta,
        name: trimmed,
        updatedAt: Math.max(this.#now(), meta.updatedAt + 1),
      };
      await metas.put(renamed);
      await documents.put({ id, experiment: { ...document.experiment, name: trimmed } });
      return renamed;
    });
  }

  /**
   * Copies a saved experiment and its runs under a new id and name ("<name> (copy)", numbered if taken).
   * @throws StorageError `not-found` when there is nothing to copy.
   */
  async duplicate(id: string): Promise<ExperimentMeta> {
    return this.#write('duplicate the experiment', ALL_EXPERIMENT_STORES, async (transaction) => {
      const metas = transaction.objectStore(STORES.experiments);
      const document = await transaction.objectStore(STORES.documents).get(id);
      const runs = (await transaction.objectStore(STORES.runs).get(id))?.runs ?? [];
      if (!document) throw notFound(id);
      const names = (await metas.getAll()).map((meta) => meta.name);
      const copyId = randomUuid();
      const experiment = {
        ...document.experiment,
        name: unusedName(`${document.experiment.name} (copy)`, names),
      };
      const now = this.#now();
      const meta = metaOf(copyId, experiment, runs, { createdAt: now, updatedAt: now });
      await metas.put(meta);
      // The copy references the same stored rows: nothing big is copied.
      await transaction.objectStore(STORES.documents).put({ id: copyId, experiment });
      await transaction.objectStore(STORES.runs).put({ id: copyId, runs });
      return meta;
    });
  }

  /**
   * Deletes a saved experiment and its runs, and its uploaded rows unless another experiment uses them; forgets
   * it as the last opened one.
   */
  async delete(id: string): Promise<void> {
    await this.#write(
      'delete the experiment',
      [...ALL_EXPERIMENT_STORES, STORES.settings],
      async (transaction) => {
        const documents = transaction.objectStore(STORES.documents);
        const document = await documents.get(id);
        await transaction.objectStore(STORES.experiments).delete(id);
        await documents.delete(id);
        await transaction.objectStore(STORES.runs).delete(id);
        const hash = document && rowsHashOf(document.experiment);
        if (hash !== undefined) await collectRows(transaction, hash);
        const settings = transaction.objectStore(STORES.settings);
        if ((await settings.get(LAST_OPENED_KEY)) === id) await settings.delete(LAST_OPENED_KEY);
      },
    );
  }

  /** The id of the experiment open last, if any. */
  async lastOpened(): Promise<string | undefined> {
    const id = await this.#read('read which experiment was open', (db) =>
      db.get(STORES.settings, LAST_OPENED_KEY),
    );
    return typeof id === 'string' ? id : undefined;
  }

  /** Remembers which experiment is open, to reopen it after a reload. */
  async setLastOpened(id: string): Promise<void> {
    await this.#write('remember the open experiment', [STORES.settings], async (transaction) => {
      await transaction.objectStore(STORES.settings).put(id, LAST_OPENED_KEY);
    });
  }

  /** Closes the connection; later calls fail. */
  close(): void {
    this.#closed = true;
    this.#database.close();
  }

  async #read<T>(action: string, body: (database: Database) => Promise<T>): Promise<T> {
    this.#assertOpen(action);
    try {
      return await body(this.#database);
    } catch (error) {
      throw toStorageError(error, action);
    }
  }

  /**
   * Runs `body` in one read-write transaction. On any error the transaction is aborted, so writes made before
   * the error are rolled back too, and the error is classified (a quota error may only show as the
   * transaction's own `error` behind an `AbortError`).
   */
  async #write<T>(
    action: string,
    stores: Store[],
    body: (transaction: WriteTransaction) => Promise<T>,
  ): Promise<T> {
    this.#assertOpen(action);
    let transaction: WriteTransaction;
    try {
      transaction = this.#database.transaction(stores, 'readwrite');
    } catch (error) {
      throw toStorageError(error, action);
    }
    const done = transaction.done;
    // Observed at once: a failed commit must not surface as an unhandled rejection besides our own error.
    done.catch(() => undefined);
    try {
      const result = await body(transaction);
      await done;
      return result;
    } catch (error) {
      try {
        transaction.abort();
      } catch {
        // It had already committed or aborted.
      }
      await done.catch(() => undefined);
      throw toStorageError(error, action, transactionError(transaction));
    }
  }

  #assertOpen(action: string): void {
    if (this.#closed) {
      throw new StorageError(
        'unavailable',
        `Could not ${action}: the app was updated in another tab and this tab's storage connection was ` +
          'closed. Export your work to a file if it has unsaved changes, then reload the page.',
      );
    }
  }
}

/** Deletes the rows stored under `hash` when no experiment references them any more. */
async function collectRows(transaction: WriteTransaction, hash: string): Promise<void> {
  const users = await transaction.objectStore(STORES.documents).index(BY_ROWS).count(hash);
  if (users === 0) await transaction.objectStore(STORES.rows).delete(hash);
}

function conflict(deleted: boolean): StorageError {
  return new StorageError(
    'conflict',
    deleted
      ? 'This experiment was deleted in another tab, so this tab stopped saving it. Your work here is intact: ' +
          'keep it as a new experiment, or export it to a file.'
      : 'This experiment was changed in another tab after this tab opened it. Nothing was overwritten: keep ' +
          "this tab's version as a new experiment, or open the saved version (this tab's unsaved changes are " +
          'then dropped).',
  );
}

function notFound(id: string): StorageError {
  return new StorageError(
    'not-found',
    `The experiment ${id} is no longer saved (deleted in another tab?). Reload the list of experiments.`,
  );
}

/** `name`, or `name 2`, `name 3`… whichever is not in `taken`. */
export function unusedName(name: string, taken: readonly string[]): string {
  if (!taken.includes(name)) return name;
  for (let n = 2; ; n++) if (!taken.includes(`${name} ${n}`)) return `${name} ${n}`;
}
