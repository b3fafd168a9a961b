/**
 * @file Following other tabs (ExperimentSync, src/lib/state/experiment-sync.ts) in Node, over fake-indexeddb and
 * Node's own BroadcastChannel: a change announced by one tab refreshes the other's list and reloads its open
 * experiment only when that tab holds no work of its own; a deletion of the open experiment becomes a conflict
 * for the user to settle; a failure is reported, never thrown.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { defaultExperiment } from '../../../src/lib/state/defaults.ts';
import { ExperimentSync, type SyncHost } from '../../../src/lib/state/experiment-sync.ts';
import { StorageError } from '../../../src/lib/storage/errors.ts';
import { toRecord } from '../../../src/lib/storage/rows.ts';
import { openExperimentStore, type ExperimentStore } from '../../../src/lib/storage/store.ts';
import { useFakeIndexedDB } from '../../helpers/fake-indexeddb.ts';

useFakeIndexedDB();

let databases = 0;
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function freshStore(): Promise<ExperimentStore> {
  const store = await openExperimentStore({ name: `sync-test-${++databases}` });
  cleanups.push(() => store.close());
  return store;
}

/** A tab as the sync sees it: what it has open, whether it holds work, and what the sync did to it. */
function fakeHost(state: { currentId?: string; holdsWork?: boolean; savedUpdatedAt?: number }) {
  const host = {
    currentId: () => state.currentId,
    holdsWork: () => state.holdsWork ?? false,
    savedUpdatedAt: () => state.savedUpdatedAt,
    refresh: vi.fn(async () => undefined),
    show: vi.fn(),
    conflict: vi.fn(),
    failed: vi.fn(),
  } satisfies SyncHost;
  return host;
}

function sync(store: ExperimentStore, host: SyncHost): ExperimentSync {
  const instance = new ExperimentSync(store, host, undefined);
  cleanups.push(() => instance.close());
  return instance;
}

describe('ExperimentSync.follow', () => {
  test('reloads the open experiment saved by another tab when this tab holds no work', async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    const newer = await store.save(meta.id, { ...toRecord(defaultExperiment(), undefined), name: 'newer' });
    const host = fakeHost({ currentId: meta.id, savedUpdatedAt: meta.updatedAt });
    await sync(store, host).follow(meta.id);
    expect(host.refresh).toHaveBeenCalledOnce();
    expect(host.show).toHaveBeenCalledWith(expect.objectContaining({ meta: newer }));
    expect(host.conflict).not.toHaveBeenCalled();
  });

  test.each([
    ['this tab holds unsaved work', { holdsWork: true }],
    ['another experiment changed', { currentId: 'another' }],
    ['this tab already has that version', { useStoredTime: true }],
  ])('only refreshes the list when %s', async (_case, options) => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    const host = fakeHost({
      currentId: 'currentId' in options ? options.currentId : meta.id,
      holdsWork: 'holdsWork' in options ? options.holdsWork : false,
      savedUpdatedAt: 'useStoredTime' in options ? meta.updatedAt : meta.updatedAt - 1,
    });
    await sync(store, host).follow(meta.id);
    expect(host.refresh).toHaveBeenCalledOnce();
    expect(host.show).not.toHaveBeenCalled();
    expect(host.conflict).not.toHaveBeenCalled();
  });

  test('reports a conflict when the open experiment was deleted in another tab', async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    await store.delete(meta.id);
    const host = fakeHost({ currentId: meta.id, savedUpdatedAt: meta.updatedAt });
    await sync(store, host).follow(meta.id);
    expect(host.conflict).toHaveBeenCalledOnce();
    const [error] = host.conflict.mock.calls[0] as [StorageError];
    expect(error.kind).toBe('conflict');
    expect(error.message).toMatch(/^This experiment was deleted in another tab\./);
  });

  test('reports a storage failure as a message instead of throwing', async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    store.close();
    const host = fakeHost({ currentId: meta.id, savedUpdatedAt: meta.updatedAt - 1 });
    await expect(sync(store, host).follow(meta.id)).resolves.toBeUndefined();
    expect(host.failed).toHaveBeenCalledWith(expect.stringMatching(/^Could not open the experiment: /));
  });
});

describe('ExperimentSync between tabs', () => {
  test("one tab's announcement makes the other follow, over a BroadcastChannel", async () => {
    const store = await freshStore();
    const meta = await store.create(defaultExperiment());
    const listening = fakeHost({ currentId: 'another' });
    const channelName = `sync-test-channel-${databases}`;
    const first = new BroadcastChannel(channelName);
    const second = new BroadcastChannel(channelName);
    const telling = new ExperimentSync(store, fakeHost({}), first as never);
    const following = new ExperimentSync(store, listening, second as never);
    cleanups.push(
      () => telling.close(),
      () => following.close(),
    );
    telling.announce(meta.id);
    await vi.waitFor(() => expect(listening.refresh).toHaveBeenCalledOnce());
  });
});
