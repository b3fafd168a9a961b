/**
 * @file The experiments database (src/lib/storage/store.ts, schema.ts) in Node over fake-indexeddb: uploaded rows
 * are stored once under their content hash, shared by every experiment using them and deleted with the last one;
 * a version 2 database upgrades to version 3 with its rows moved out of the documents; a save whose rows are
 * missing writes nothing. The browser tests (tests/browser/storage-*.test.ts) check the same against Chromium.
 */
import { openDB } from 'idb';
import { afterEach, describe, expect, test } from 'vitest';
import type { Experiment, RunResult } from '../../../src/lib/core/experiment/types.ts';
import { defaultExperiment } from '../../../src/lib/state/defaults.ts';
import { StorageError } from '../../../src/lib/storage/errors.ts';
import { hashRows, rowsBytes, type Row } from '../../../src/lib/storage/hash.ts';
import type {
  ExperimentDocument,
  ExperimentDocumentV2,
  RowsRecord,
  StoredRowsRecord,
} from '../../../src/lib/storage/schema.ts';
import { toRecord } from '../../../src/lib/storage/rows.ts';
import type { ExperimentRecord } from '../../../src/lib/storage/schema.ts';
import { openExperimentStore, type ExperimentStore } from '../../../src/lib/storage/store.ts';
import { useFakeIndexedDB } from '../../helpers/fake-indexeddb.ts';

useFakeIndexedDB();

/** The default experiment (a built-in dataset) as a saved record. */
function builtinRecord(): ExperimentRecord {
  return toRecord(defaultExperiment(), undefined);
}

let databases = 0;
const open: ExperimentStore[] = [];

/** A fresh database of its own for each test. */
async function freshStore(name = `store-test-${++databases}`): Promise<ExperimentStore> {
  const store = await openExperimentStore({ name });
  open.push(store);
  return store;
}

afterEach(() => {
  for (const store of open.splice(0)) store.close();
});

function rowsOf(count: number, label = 'food'): Row[] {
  return Array.from({ length: count }, (_, index) => ({
    id: String(index + 1),
    text: `text ${index}`,
    label,
  }));
}

/** The default experiment on uploaded rows. */
function uploaded(name: string, rows: Row[]): Experiment {
  return {
    ...defaultExperiment(),
    name,
    dataset: { name: 'upload.csv', rows, text: 'text', label: 'label' },
  };
}

/** Every record of a store of the store's database, read with a second connection. */
async function records<T>(name: string, store: string): Promise<T[]> {
  const database = await openDB(name);
  try {
    return (await database.getAll(store)) as T[];
  } finally {
    database.close();
  }
}

describe('uploaded rows', () => {
  test('are stored once under their hash, and the document references them', async () => {
    const store = await freshStore();
    const rows = rowsOf(5);
    const meta = await store.create(uploaded('reviews', rows));
    const hash = await hashRows(rows);

    const [document] = await records<ExperimentDocument>(`store-test-${databases}`, 'documents');
    expect(document?.experiment.dataset).toEqual({
      name: 'upload.csv',
      rowsHash: hash,
      text: 'text',
      label: 'label',
    });
    // As the JSON bytes the hash is taken of, serialised once for both.
    await expect(records<StoredRowsRecord>(`store-test-${databases}`, 'rows')).resolves.toEqual([
      { hash, json: rowsBytes(rows) },
    ]);
    expect([store.rowsHashes.hashed, store.rowsHashes.serialisedToStore]).toEqual([1, 0]);

    const stored = await store.get(meta.id);
    expect(stored?.experiment).toEqual(uploaded('reviews', rows));
    expect(stored?.rowsHash).toBe(hash);
    expect(stored?.meta.datasetName).toBe('upload.csv');
    // Another page (no rows in memory) reads them back from the bytes.
    const other = await freshStore(`store-test-${databases}`);
    const reopened = await other.get(meta.id);
    expect(reopened?.experiment).toEqual(uploaded('reviews', rows));
    expect((reopened?.experiment.dataset as { rows?: Row[] }).rows).not.toBe(rows);
  });

  test('stored as bytes that are not a JSON array say the database is damaged', async () => {
    const store = await freshStore();
    const name = `store-test-${databases}`;
    const rows = rowsOf(2);
    const meta = await store.create(uploaded('reviews', rows));
    const hash = await hashRows(rows);
    const database = await openDB(name);
    await database.put('rows', { hash, json: new TextEncoder().encode('{"text":"a"}') });
    database.close();
    const other = await freshStore(name);
    await expect(other.get(meta.id)).rejects.toThrow(
      `Could not open the experiment: the rows stored under ${hash.slice(0, 12)}… are damaged; import the ` +
        'experiment again.',
    );
  });

  test('are shared by experiments with the same rows and deleted with the last one', async () => {
    const store = await freshStore();
    const name = `store-test-${databases}`;
    const first = await store.create(uploaded('first', rowsOf(4)));
    const second = await store.create(uploaded('second', rowsOf(4)));
    const copy = await store.duplicate(first.id);
    expect(await records(name, 'rows')).toHaveLength(1);

    await store.delete(first.id);
    await store.delete(copy.id);
    expect(await records(name, 'rows')).toHaveLength(1);
    await expect(store.get(second.id)).resolves.toMatchObject({ experiment: uploaded('second', rowsOf(4)) });

    await store.delete(second.id);
    expect(await records(name, 'rows')).toEqual([]);
  });

  test('no longer used after a change of dataset are deleted by that save', async () => {
    const store = await freshStore();
    const name = `store-test-${databases}`;
    const meta = await store.create(uploaded('reviews', rowsOf(3, 'food')));
    const { record, rows } = await store.rowsHashes.split(uploaded('reviews', rowsOf(3, 'sports')));
    await store.save(meta.id, record, { rows });
    await expect(records<StoredRowsRecord>(name, 'rows')).resolves.toEqual([
      { hash: rows?.hash, json: rowsBytes(rows?.rows ?? []) },
    ]);

    await store.save(meta.id, builtinRecord());
    await expect(records(name, 'rows')).resolves.toEqual([]);
  });

  test('missing from both the database and the save fail it, leaving the stored copy unchanged', async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    const { record } = await store.rowsHashes.split(uploaded('reviews', rowsOf(2)));
    const failure = store.save(meta.id, record);
    await expect(failure).rejects.toBeInstanceOf(StorageError);
    await expect(failure).rejects.toMatchObject({ kind: 'failed' });
    await expect(store.get(meta.id)).resolves.toMatchObject({ experiment: defaultExperiment(), meta });
  });
});

describe('saving', () => {
  const run: RunResult = {
    name: 'bare labels',
    kind: 'prompt',
    accuracy: 1,
    macroF1: 1,
    confusion: [[1]],
    predictions: [],
    cost: { adaptMs: 1, inferMs: 1, labeledExamples: 0, trainedParameters: 0 },
  };

  test('keeps the stored runs and run marker when the save leaves them out', async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment(), [run]);
    const marker = { kind: 'prompts' as const, name: 'bare labels', startedAt: 5 };
    await store.save(meta.id, builtinRecord(), { running: marker });
    const renamed = { ...defaultExperiment(), name: 'renamed' };
    const saved = await store.save(meta.id, toRecord(renamed, undefined));
    expect(saved.runCount).toBe(1);
    await expect(store.get(meta.id)).resolves.toMatchObject({
      runs: [run],
      running: marker,
      experiment: renamed,
    });
  });

  test('based on an older version than the stored one is a conflict and writes nothing', async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    await store.save(meta.id, { ...builtinRecord(), name: 'other tab' });
    const stale = store.save(
      meta.id,
      { ...builtinRecord(), name: 'this tab' },
      {
        expectedUpdatedAt: meta.updatedAt,
      },
    );
    await expect(stale).rejects.toMatchObject({ kind: 'conflict' });
    await expect(store.get(meta.id)).resolves.toMatchObject({ experiment: { name: 'other tab' } });
  });
});

describe('schema migration', () => {
  test('a version 2 database opens as version 3 with its rows moved out of the documents, once per content', async () => {
    const name = `store-test-${++databases}`;
    const rows = rowsOf(6);
    const documents: ExperimentDocumentV2[] = [
      { id: 'a', experiment: uploaded('first upload', rows) },
      { id: 'b', experiment: uploaded('same rows', rowsOf(6)) },
      { id: 'c', experiment: defaultExperiment() },
    ];
    const old = await openDB(name, 2, {
      upgrade(database) {
        database.createObjectStore('experiments', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt');
        database.createObjectStore('documents', { keyPath: 'id' });
        database.createObjectStore('runs', { keyPath: 'id' });
        database.createObjectStore('settings');
      },
    });
    for (const document of documents) {
      await old.put('documents', document);
      const times = { createdAt: 1, updatedAt: 1 };
      await old.put('experiments', {
        id: document.id,
        name: document.experiment.name,
        ...times,
        datasetName: '',
        runCount: 0,
      });
      await old.put('runs', { id: document.id, runs: [] });
    }
    old.close();

    const store = await freshStore(name);
    const hash = await hashRows(rows);
    await expect(records<RowsRecord>(name, 'rows')).resolves.toEqual([{ hash, rows }]);
    const migrated = await records<ExperimentDocument>(name, 'documents');
    expect(migrated.map((document) => document.experiment.dataset)).toEqual([
      { name: 'upload.csv', rowsHash: hash, text: 'text', label: 'label' },
      { name: 'upload.csv', rowsHash: hash, text: 'text', label: 'label' },
      defaultExperiment().dataset,
    ]);
    for (const document of documents) {
      await expect(store.get(document.id)).resolves.toMatchObject({ experiment: document.experiment });
    }
    // The index finds the users of the rows: deleting both deletes them.
    await store.delete('a');
    await store.delete('b');
    await expect(records(name, 'rows')).resolves.toEqual([]);
  });
});

describe('rows in memory', () => {
  test('opening an experiment whose rows are in memory reuses them instead of reading a copy', async () => {
    const store = await freshStore();
    const rows = rowsOf(3);
    const first = await store.create(uploaded('first', rows));
    const stored = await store.get(first.id);
    expect((stored?.experiment.dataset as { rows: Row[] }).rows).toBe(rows);

    // Another connection (another tab) has no rows in memory: it reads them from the database.
    const otherTab = await openExperimentStore({ name: `store-test-${databases}` });
    open.push(otherTab);
    const read = await otherTab.get(first.id);
    expect((read?.experiment.dataset as { rows: Row[] }).rows).not.toBe(rows);
    expect((read?.experiment.dataset as { rows: Row[] }).rows).toEqual(rows);
  });
});
