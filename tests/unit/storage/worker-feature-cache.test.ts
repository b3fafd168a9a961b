/**
 * @file The feature cache behind a worker (src/lib/storage/worker-feature-cache.ts) against the worker's real
 * handlers (feature-cache-handlers.ts) over a MessageChannel and fake-indexeddb: vectors stored through it come
 * back exactly and reach the same database as the in-page cache; the cache's notices and size reach the page;
 * a worker that crashes or cannot start costs only the cache, and the next call starts a fresh worker.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import type { FeatureScope, StoredVector } from '../../../src/lib/core/experiment/feature-store.ts';
import { IndexedDbFeatureCache, type FeatureCacheSize } from '../../../src/lib/storage/feature-cache.ts';
import { featureCacheHandlers } from '../../../src/lib/storage/feature-cache-handlers.ts';
import type { FeatureCacheMethods } from '../../../src/lib/storage/feature-cache-protocol.ts';
import { WorkerFeatureCache } from '../../../src/lib/storage/worker-feature-cache.ts';
import { serveRpc, type WorkerPort, type WorkerScope } from '../../../src/lib/workers/rpc.ts';
import { useFakeIndexedDB } from '../../helpers/fake-indexeddb.ts';

useFakeIndexedDB();

const SCOPE: FeatureScope = {
  modelId: 'fixtures/tiny-bert',
  weightsHash: 'a'.repeat(64),
  dtype: 'fp32',
  layer: 4,
  pooling: 'mean',
};

const openPorts: MessagePort[] = [];
const openCaches: { close(): Promise<void> }[] = [];
let databases = 0;

afterEach(async () => {
  for (const cache of openCaches.splice(0)) await cache.close();
  for (const port of openPorts.splice(0)) port.close();
});

/** A "worker": the real handlers served on one end of a MessageChannel; `started` counts the workers made. */
function workerFactory(): { create: () => WorkerPort; started: () => number; crash: () => void } {
  const workers: MessagePort[] = [];
  const create = (): WorkerPort => {
    const { port1, port2 } = new MessageChannel();
    openPorts.push(port1, port2);
    const scope: WorkerScope = {
      postMessage: (message, transfer) => port2.postMessage(message, transfer as never),
      addEventListener: (type, listener) => port2.addEventListener(type, listener as never),
    };
    serveRpc<FeatureCacheMethods>(scope, featureCacheHandlers());
    port2.start();
    port1.start();
    workers.push(port1);
    return {
      postMessage: (message, transfer) => port1.postMessage(message, transfer as never),
      addEventListener: (type: string, listener: (event: never) => void) =>
        port1.addEventListener(type as 'message', listener as never),
      terminate: () => port1.close(),
    };
  };
  return {
    create,
    started: () => workers.length,
    // What a crashed worker does to the page: an error event on its Worker object.
    crash: () => workers.at(-1)?.dispatchEvent(new Event('error')),
  };
}

function cacheWith(
  create: () => WorkerPort,
  name = `worker-features-${++databases}`,
): { cache: WorkerFeatureCache; notices: string[]; sizes: FeatureCacheSize[] } {
  const notices: string[] = [];
  const sizes: FeatureCacheSize[] = [];
  const cache = new WorkerFeatureCache({
    name,
    createWorker: create,
    onNotice: (message) => notices.push(message),
    onSize: (size) => sizes.push(size),
  });
  openCaches.push(cache);
  return { cache, notices, sizes };
}

function stored(start: number, width = 4, ms = 2): StoredVector {
  return { vector: Float32Array.from({ length: width }, (_, i) => start + i), ms };
}

describe('WorkerFeatureCache', () => {
  test('vectors stored through the worker come back exactly, and the size reaches the page', async () => {
    const { cache, sizes } = cacheWith(workerFactory().create);
    await cache.put(SCOPE, ['a', 'b'], [stored(1), stored(5, 4, 7)]);
    expect(sizes.at(-1)).toEqual({ entries: 2, bytes: 32 });
    const found = await cache.get(SCOPE, ['b', 'missing', 'a']);
    expect(found[0]).toEqual({ vector: Float32Array.from([5, 6, 7, 8]), ms: 7 });
    expect(found[1]).toBeUndefined();
    expect(found[2]?.vector).toEqual(Float32Array.from([1, 2, 3, 4]));
    await expect(cache.size()).resolves.toEqual({ entries: 2, bytes: 32 });
    await cache.clear();
    expect(sizes.at(-1)).toEqual({ entries: 0, bytes: 0 });
    await expect(cache.get(SCOPE, ['a'])).resolves.toEqual([undefined]);
  });

  test('writes the same database as the in-page cache (a reload finds the vectors either way)', async () => {
    const name = `worker-features-${++databases}`;
    const { cache } = cacheWith(workerFactory().create, name);
    await cache.put(SCOPE, ['the team won'], [stored(3)]);
    const inPage = new IndexedDbFeatureCache({ name });
    openCaches.push(inPage);
    const [found] = await inPage.get(SCOPE, ['the team won']);
    expect(found?.vector).toEqual(Float32Array.from([3, 4, 5, 6]));
  });

  test('vectors that are views into one larger buffer are stored as themselves', async () => {
    const { cache } = cacheWith(workerFactory().create);
    const batch = Float32Array.from({ length: 8 }, (_, i) => i);
    await cache.put(
      SCOPE,
      ['x', 'y'],
      [
        { vector: batch.subarray(0, 4), ms: 1 },
        { vector: batch.subarray(4, 8), ms: 1 },
      ],
    );
    const found = await cache.get(SCOPE, ['y', 'x']);
    expect(found.map((entry) => [...(entry?.vector ?? [])])).toEqual([
      [4, 5, 6, 7],
      [0, 1, 2, 3],
    ]);
  });

  test('a budget smaller than the batch keeps only what fits, as the in-page cache does', async () => {
    const worker = workerFactory();
    const notices: string[] = [];
    const cache = new WorkerFeatureCache({
      name: `worker-features-${++databases}`,
      budgetBytes: 32,
      createWorker: worker.create,
      onNotice: (message) => notices.push(message),
    });
    openCaches.push(cache);
    await cache.put(SCOPE, ['a', 'b', 'c'], [stored(1), stored(5), stored(9)]);
    await expect(cache.size()).resolves.toEqual({ entries: 2, bytes: 32 });
    expect(notices).toEqual([]);
  });

  test('mismatched texts and vectors are a RangeError, before anything is sent', async () => {
    const worker = workerFactory();
    const { cache } = cacheWith(worker.create);
    await expect(cache.put(SCOPE, ['a', 'b'], [stored(1)])).rejects.toThrow(RangeError);
    expect(worker.started()).toBe(0);
  });

  test('a crashed worker costs only the cache, with a notice; the next call starts a fresh worker', async () => {
    const worker = workerFactory();
    const { cache, notices } = cacheWith(worker.create);
    await cache.put(SCOPE, ['a'], [stored(1)]);
    const reading = cache.get(SCOPE, ['a']);
    worker.crash();
    await expect(reading).resolves.toEqual([undefined]);
    expect(notices).toEqual([expect.stringContaining('feature-cache worker crashed')]);
    const [again] = await cache.get(SCOPE, ['a']);
    expect(again?.vector).toEqual(Float32Array.from([1, 2, 3, 4]));
    expect(worker.started()).toBe(2);
  });

  test('a worker that cannot start: nothing cached, a notice per attempt, and only clear throws', async () => {
    const { cache, notices } = cacheWith(() => {
      throw new Error('Workers are blocked here');
    });
    await expect(cache.put(SCOPE, ['a'], [stored(1)])).resolves.toBeUndefined();
    await expect(cache.get(SCOPE, ['a'])).resolves.toEqual([undefined]);
    await expect(cache.size()).resolves.toEqual({ entries: 0, bytes: 0 });
    await expect(cache.clear()).rejects.toThrow('Workers are blocked here');
    expect(notices).toHaveLength(3);
    expect(notices.every((notice) => notice.includes('Workers are blocked here'))).toBe(true);
  });
});
