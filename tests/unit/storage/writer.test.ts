/**
 * @file What each autosave writes (ExperimentWriter, src/lib/storage/autosave.ts), in Node over fake-indexeddb:
 * an edit of an experiment with 50,000 uploaded rows writes the small record only (the rows are neither hashed,
 * serialised nor written again), runs are written only when they changed, a new dataset is written once, and a
 * save based on a version another tab has replaced is refused.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { Experiment, RunResult } from '../../../src/lib/core/experiment/types.ts';
import { defaultExperiment } from '../../../src/lib/state/defaults.ts';
import { ExperimentWriter, type Draft } from '../../../src/lib/storage/autosave.ts';
import type { Row } from '../../../src/lib/storage/hash.ts';
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

async function freshStore(): Promise<{ store: ExperimentStore; name: string }> {
  const name = `writer-test-${++databases}`;
  const store = await openExperimentStore({ name });
  open.push(store);
  return { store, name };
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const store of open.splice(0)) store.close();
});

const BIG = 50_000;

function rowsOf(count: number, label = 'food'): Row[] {
  return Array.from({ length: count }, (_, index) => ({ text: `text number ${index}`, label }));
}

function uploaded(rows: Row[]): Experiment {
  return { ...defaultExperiment(), dataset: { name: 'big.csv', rows, text: 'text', label: 'label' } };
}

/** Counts `put` calls per object store name (fake-indexeddb's IDBObjectStore). */
function countPuts(): Map<string, number> {
  const counts = new Map<string, number>();
  const prototype = globalThis.IDBObjectStore.prototype;
  const put = prototype.put;
  vi.spyOn(prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
    counts.set(this.name, (counts.get(this.name) ?? 0) + 1);
    return put.apply(this, args);
  });
  return counts;
}

describe('ExperimentWriter', () => {
  test('an edit with 50,000 uploaded rows writes the small record, never the rows again', async () => {
    const { store } = await freshStore();
    const rows = rowsOf(BIG);
    const experiment = uploaded(rows);
    const meta = await store.create(experiment);
    expect(store.rowsHashes.hashed).toBe(1);
    const writer = new ExperimentWriter(store);
    const runs: RunResult[] = [];
    writer.markSaved({
      id: meta.id,
      updatedAt: meta.updatedAt,
      revision: 0,
      runs,
      running: false,
      rowsHash: store.rowsHashes.known(rows),
    });
    const puts = countPuts();
    const stringify = vi.spyOn(JSON, 'stringify');

    for (let revision = 1; revision <= 3; revision++) {
      const edited: Experiment = {
        ...experiment,
        heads: [{ ...experiment.heads[0]!, epochs: 10 + revision }],
      };
      const draft: Draft = { id: meta.id, revision, experiment: edited, runs, running: null };
      await writer.write(draft);
    }

    expect(store.rowsHashes.hashed).toBe(1);
    expect(stringify).not.toHaveBeenCalled();
    expect(puts.get('rows') ?? 0).toBe(0);
    expect(puts.get('runs') ?? 0).toBe(0);
    expect(puts.get('documents')).toBe(3);
    const stored = await store.get(meta.id);
    expect(stored?.experiment.heads[0]?.epochs).toBe(13);
    expect(stored?.experiment.dataset).toEqual(experiment.dataset);
  });

  test('writes runs only when they are another array, and new rows once', async () => {
    const { store } = await freshStore();
    const meta = await store.create(defaultExperiment());
    const writer = new ExperimentWriter(store);
    const none: RunResult[] = [];
    writer.markSaved({
      id: meta.id,
      updatedAt: meta.updatedAt,
      revision: 0,
      runs: none,
      running: false,
      rowsHash: undefined,
    });
    const puts = countPuts();
    const rows = rowsOf(10);
    const draft = (revision: number, runs: RunResult[]): Draft => ({
      id: meta.id,
      revision,
      experiment: uploaded(rows),
      runs,
      running: null,
    });

    await writer.write(draft(1, none));
    expect([puts.get('rows'), puts.get('runs') ?? 0]).toEqual([1, 0]);
    const oneRun: RunResult[] = [
      {
        name: 'bare labels',
        kind: 'prompt',
        accuracy: 1,
        macroF1: 1,
        confusion: [[1]],
        predictions: [],
        cost: { adaptMs: 1, inferMs: 1, labeledExamples: 0, trainedParameters: 0 },
      },
    ];
    await writer.write(draft(2, oneRun));
    await writer.write(draft(3, oneRun));
    expect([puts.get('rows'), puts.get('runs')]).toEqual([1, 1]);
    expect(writer.differs({ id: meta.id, revision: 3, runs: oneRun, running: false })).toBe(false);
    expect(writer.differs({ id: meta.id, revision: 4, runs: oneRun, running: false })).toBe(true);
    expect(writer.differs({ id: meta.id, revision: 3, runs: [...oneRun], running: false })).toBe(true);
    expect(writer.differs({ id: meta.id, revision: 3, runs: oneRun, running: true })).toBe(true);
  });

  test('refuses to overwrite a save another tab made in between, and keeps what it saved last', async () => {
    const { store, name } = await freshStore();
    const meta = await store.create(defaultExperiment());
    const writer = new ExperimentWriter(store);
    const runs: RunResult[] = [];
    writer.markSaved({
      id: meta.id,
      updatedAt: meta.updatedAt,
      revision: 0,
      runs,
      running: false,
      rowsHash: undefined,
    });
    const otherTab = await openExperimentStore({ name });
    open.push(otherTab);
    await otherTab.save(meta.id, { ...builtinRecord(), name: 'saved in the other tab' });

    const edited = { ...defaultExperiment(), name: 'edited here' };
    await expect(
      writer.write({ id: meta.id, revision: 1, experiment: edited, runs, running: null }),
    ).rejects.toMatchObject({
      kind: 'conflict',
    });
    expect(writer.saved?.updatedAt).toBe(meta.updatedAt);
    await expect(store.get(meta.id)).resolves.toMatchObject({
      experiment: { name: 'saved in the other tab' },
    });
  });
});
