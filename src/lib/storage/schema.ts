/**
 * @file The shape of the experiments database, version by version, and the migrations between versions.
 *
 * Version 3 (current) keeps each experiment in three stores under one id, so the list never loads big values,
 * and uploaded rows apart, stored once by content:
 * - `experiments`: metadata only (name, times, dataset name, run count), indexed by `updatedAt` for the list;
 * - `documents`: the experiment itself (the experiment-file object), except that an uploaded dataset's rows are
 *   replaced by their content hash (`dataset.rowsHash`, indexed, to find the last experiment using them);
 * - `rows`: uploaded rows by their SHA-256 content hash (hash.ts), written once when a dataset changes, shared by
 *   every experiment using the same rows (duplicates, re-imports), deleted with the last one referencing them;
 *   written as the JSON bytes the hash is taken of, read in that form or as row objects (records written before
 *   and the upgrade's), so the change of form needed no new version;
 * - `runs`: its finished runs, plus a marker while a run is in progress (to tell the user after a reload);
 * - `settings`: small key-value pairs, e.g. which experiment was open last.
 * Version 2 kept the rows inline in each document. Version 1 held one store, `experiments`, with the experiment
 * and its runs inline in each record.
 *
 * `MIGRATIONS[n]` turns a version n-1 database into version n inside the upgrade transaction, so a failed
 * migration aborts the upgrade and leaves the old data untouched. Opening runs every step above the stored
 * version in order: a new database runs them all, a version 1 database runs step 2 only.
 */
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { getBuiltinDataset } from '../core/dataset/builtin/registry.ts';
import type { DatasetRef, Experiment, InlineDatasetRef, RunResult } from '../core/experiment/types.ts';
import { hashRowsSync, type Row } from './hash.ts';

/** The database's version; bump it and add `MIGRATIONS[n]` to change the schema. */
export const SCHEMA_VERSION = 3;

/** The list entry of a saved experiment: everything needed to show it without loading it. */
export interface ExperimentMeta {
  id: string;
  name: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  /** What the dataset is, for the list: a built-in dataset's title, or a (dataset or uploaded) file's name. */
  datasetName: string;
  runCount: number;
}

/** An uploaded dataset as saved: its rows are in the `rows` store under `rowsHash`. */
export interface RowsRef {
  name: string;
  /** SHA-256 of the rows (hash.ts), their key in the `rows` store. */
  rowsHash: string;
  text: string;
  label: string;
}

/** A dataset reference as saved: built-in and file references as they are, uploaded rows by hash. */
export type StoredDatasetRef = Exclude<DatasetRef, InlineDatasetRef> | RowsRef;

/** An experiment as saved: the experiment file, with an uploaded dataset's rows replaced by their hash. */
export interface ExperimentRecord extends Omit<Experiment, 'dataset'> {
  dataset: StoredDatasetRef;
}

export interface ExperimentDocument {
  id: string;
  experiment: ExperimentRecord;
}

/** Uploaded rows under their content hash, as the page holds them. */
export interface RowsRecord {
  hash: string;
  rows: Row[];
}

/**
 * Uploaded rows as stored, once under their content hash: their JSON bytes, the very bytes the hash is taken of
 * (an IndexedDB write copies them in a millisecond where 50,000 row objects took the page 47 ms), or row objects
 * (records written before, and by the version 3 upgrade).
 */
export type StoredRowsRecord = RowsRecord | { hash: string; json: Uint8Array };

/** A version 2 document: the experiment with an uploaded dataset's rows inline. */
export interface ExperimentDocumentV2 {
  id: string;
  experiment: Experiment;
}

/** A run that was started and has not finished yet; if it is still here after a reload, the reload stopped it. */
export interface RunningMarker {
  kind: 'prompts' | 'head';
  /** The prompt variation or head being run. */
  name: string;
  startedAt: number;
}

export interface RunsRecord {
  id: string;
  runs: RunResult[];
  running?: RunningMarker;
}

/** Keys of the `settings` store. */
export const LAST_OPENED_KEY = 'lastOpenedId';

/** Store names of the current schema. */
export const STORES = {
  experiments: 'experiments',
  documents: 'documents',
  runs: 'runs',
  rows: 'rows',
  settings: 'settings',
} as const;

/** Index of `experiments` by `updatedAt`, for the most recently changed first. */
export const BY_UPDATED = 'updatedAt';

/** Index of `documents` by the hash of the uploaded rows they use. */
export const BY_ROWS = 'rowsHash';

/** The current schema, for idb's typed API. */
export interface ExperimentsSchema {
  experiments: { key: string; value: ExperimentMeta; indexes: { updatedAt: number } };
  documents: { key: string; value: ExperimentDocument; indexes: { rowsHash: string } };
  runs: { key: string; value: RunsRecord };
  rows: { key: string; value: StoredRowsRecord };
  settings: { key: string; value: unknown };
}

/** A version 1 record: the experiment and its runs in one value. */
export interface ExperimentRecordV1 {
  id: string;
  /** When it was last saved, milliseconds since the epoch. */
  savedAt: number;
  experiment: Experiment;
  runs: RunResult[];
}

/** How a dataset reference reads in the list. */
export function datasetName(dataset: DatasetRef | StoredDatasetRef): string {
  if ('builtin' in dataset && typeof dataset.builtin === 'string') {
    try {
      return getBuiltinDataset(dataset.builtin).title;
    } catch {
      return dataset.builtin;
    }
  }
  if ('path' in dataset && typeof dataset.path === 'string') return dataset.path.split(/[\\/]/).pop() ?? '';
  // Rows carried inside the experiment (an upload) are named after their file.
  const { name } = dataset as { name?: unknown };
  return typeof name === 'string' && name.trim() !== '' ? name : 'uploaded data';
}

/** The metadata of an experiment and its runs as saved at `updatedAt`. */
export function metaOf(
  id: string,
  experiment: Experiment | ExperimentRecord,
  runs: readonly RunResult[] | { length: number },
  times: { createdAt: number; updatedAt: number },
): ExperimentMeta {
  return {
    id,
    name: experiment.name,
    ...times,
    datasetName: datasetName(experiment.dataset),
    runCount: runs.length,
  };
}

/** A database and its upgrade transaction, whatever the schema they have reached so far. */
type UpgradeDatabase = IDBPDatabase<unknown>;
type UpgradeTransaction = IDBPTransaction<unknown, string[], 'versionchange'>;

/** One schema step: from version n-1 to n, using only the upgrade transaction. */
export type Migration = (database: UpgradeDatabase, transaction: UpgradeTransaction) => Promise<void>;

/** Schema steps by the version they produce. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {
  1: async (database) => {
    database.createObjectStore('experiments', { keyPath: 'id' });
  },
  2: async (database, transaction) => {
    database.createObjectStore(STORES.documents, { keyPath: 'id' });
    database.createObjectStore(STORES.runs, { keyPath: 'id' });
    database.createObjectStore(STORES.settings);
    const experiments = transaction.objectStore(STORES.experiments);
    experiments.createIndex(BY_UPDATED, 'updatedAt');
    const documents = transaction.objectStore(STORES.documents);
    const runs = transaction.objectStore(STORES.runs);
    // Each version 1 record is split in three; the metadata replaces it in place under the same id.
    let cursor = await experiments.openCursor();
    while (cursor) {
      const old = cursor.value as ExperimentRecordV1;
      const oldRuns = Array.isArray(old.runs) ? old.runs : [];
      await documents.put({ id: old.id, experiment: old.experiment } satisfies ExperimentDocumentV2);
      await runs.put({ id: old.id, runs: oldRuns } satisfies RunsRecord);
      await cursor.update(
        metaOf(old.id, old.experiment, oldRuns, { createdAt: old.savedAt, updatedAt: old.savedAt }),
      );
      cursor = await cursor.continue();
    }
  },
  3: async (database, transaction) => {
    database.createObjectStore(STORES.rows, { keyPath: 'hash' });
    const documents = transaction.objectStore(STORES.documents);
    documents.createIndex(BY_ROWS, 'experiment.dataset.rowsHash');
    const rows = transaction.objectStore(STORES.rows);
    // Uploaded rows move out of each document into the rows store, once per distinct content. The hash is
    // computed synchronously: awaiting WebCrypto here would let the upgrade transaction commit half done.
    let cursor = await documents.openCursor();
    while (cursor) {
      const old = cursor.value as ExperimentDocumentV2;
      const dataset = old.experiment.dataset as Partial<InlineDatasetRef>;
      if (Array.isArray(dataset.rows)) {
        const hash = hashRowsSync(dataset.rows);
        if ((await rows.count(hash)) === 0) await rows.put({ hash, rows: dataset.rows } satisfies RowsRecord);
        const { rows: _inline, ...rest } = dataset;
        await cursor.update({
          id: old.id,
          experiment: { ...old.experiment, dataset: { ...rest, rowsHash: hash } as RowsRef },
        } satisfies ExperimentDocument);
      }
      cursor = await cursor.continue();
    }
  },
};

/**
 * Runs every migration above `oldVersion` up to `newVersion`, in order, in the upgrade transaction.
 * @throws Error when a step is missing (a programming error: SCHEMA_VERSION was bumped without a migration).
 */
export async function migrate(
  database: UpgradeDatabase,
  transaction: UpgradeTransaction,
  oldVersion: number,
  newVersion: number,
): Promise<void> {
  for (let version = oldVersion + 1; version <= newVersion; version++) {
    const step = MIGRATIONS[version];
    if (!step) throw new Error(`No migration to experiments database version ${version}.`);
    await step(database, transaction);
  }
}
