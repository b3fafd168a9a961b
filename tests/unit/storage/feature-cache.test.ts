/**
 * @file The IndexedDB feature cache (src/lib/storage/feature-cache.ts) over fake-indexeddb: what a vector is
 * keyed by, least-recently-used eviction within the size budget, corrupted entries ignored (and removed), a
 * reopened database keeping its vectors, and failures turned into notices instead of errors.
 */
import { openDB } from 'idb';
import { afterEach, describe, expect, test } from 'vitest';
import type { FeatureScope, StoredVector } from '../../../src/lib/core/experiment/feature-store.ts';
import {
  featureEntryKey,
  IndexedDbFeatureCache,
  type FeatureCacheOptions,
} from '../../../src/lib/storage/feature-cache.ts';
import { useFakeIndexedDB } from '../../helpers/fake-indexeddb.ts';

useFakeIndexedDB();

const SCOPE: FeatureScope = {
  modelId: 'fixtures/tiny-bert',
  weightsHash: 'a'.repeat(64),
  dtype: 'fp32',
  layer: 4,
  pooling: 'mean',
};

let databases = 0;
const open: IndexedDbFeatureCache[] = [];

function freshCache(options: FeatureCacheOptions = {}): IndexedDbFeatureCache {
  const cache = new IndexedDbFeatureCache({ name: `features-${++databases}`, ...options });
  open.push(cache);
  return cache;
}

afterEach(async () => {
  for (const cache of open.splice(0)) await cache.close();
});

/** A vector of `width` floats starting at `start`, with the encoder time it cost. */
function stored(start: number, width = 4, ms = 2): StoredVector {
  return { vector: Float32Array.from({ length: width }, (_, i) => start + i), ms };
}

describe('keys', () => {
  test.each<[string, Partial<FeatureScope>]>([
    ['model id', { modelId: 'fixtures/other' }],
    ['weights hash', { weightsHash: 'b'.repeat(64) }],
    ['dtype', { dtype: 'q8' }],
    ['layer', { layer: 3 }],
    ['pooling', { pooling: 'cls' }],
  ])('a different %s is a different vector', async (_, change) => {
    const cache = freshCache();
    await cache.put(SCOPE, ['the team won'], [stored(1)]);
    await expect(cache.get({ ...SCOPE, ...change }, ['the team won'])).resolves.toEqual([undefined]);
    const [same] = await cache.get({ ...SCOPE }, ['the team won']);
    expect(same?.vector).toEqual(Float32Array.from([1, 2, 3, 4]));
    expect(same?.ms).toBe(2);
  });

  test('is per text: a text in two datasets is stored once, an unseen text is missing', async () => {
    const cache = freshCache();
    await cache.put(SCOPE, ['a', 'b'], [stored(1), stored(5)]);
    await cache.put(SCOPE, ['b', 'c'], [stored(5), stored(9)]);
    const found = await cache.get(SCOPE, ['c', 'x', 'a']);
    expect(found.map((entry) => entry?.vector[0])).toEqual([9, undefined, 1]);
    await expect(cache.size()).resolves.toEqual({ entries: 3, bytes: 3 * 16 });
  });

  test('the text is hashed exactly: whitespace and case matter, a template changes the key', async () => {
    const keys = await Promise.all(
      ['a text', 'a text ', 'A text', 'query: a text'].map((text) => featureEntryKey(SCOPE, text)),
    );
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).toMatch(/#[0-9a-f]{64}$/);
    expect(keys[0]).toBe(await featureEntryKey({ ...SCOPE }, 'a text'));
  });

  test('a reopened database still has the vectors (a page reload)', async () => {
    const name = `features-${++databases}`;
    const first = new IndexedDbFeatureCache({ name });
    await first.put(SCOPE, ['kept'], [stored(7)]);
    await first.close();
    const second = freshCache({ name });
    const [found] = await second.get(SCOPE, ['kept']);
    expect(found?.vector[0]).toBe(7);
  });
});

describe('size budget', () => {
  test('evicts the least recently used vectors, counting a read as a use', async () => {
    let time = 0;
    const sizes: number[] = [];
    // Room for three 16-byte vectors.
    const cache = freshCache({
      budgetBytes: 48,
      now: () => ++time,
      onSize: (size) => sizes.push(size.bytes),
    });
    await cache.put(SCOPE, ['one'], [stored(1)]);
    await cache.put(SCOPE, ['two'], [stored(2)]);
    await cache.put(SCOPE, ['three'], [stored(3)]);
    await cache.get(SCOPE, ['one']);
    await cache.put(SCOPE, ['four'], [stored(4)]);
    const found = await cache.get(SCOPE, ['one', 'two', 'three', 'four']);
    expect(found.map((entry) => entry?.vector[0])).toEqual([1, undefined, 3, 4]);
    await expect(cache.size()).resolves.toEqual({ entries: 3, bytes: 48 });
    expect(sizes.at(-1)).toBe(48);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(48);
  });

  test('a batch larger than the budget keeps only what fits, the newest', async () => {
    let time = 0;
    const cache = freshCache({ budgetBytes: 40, now: () => ++time });
    await cache.put(SCOPE, ['old'], [stored(0)]);
    await cache.put(SCOPE, ['a', 'b'], [stored(1), stored(2)]);
    const found = await cache.get(SCOPE, ['old', 'a', 'b']);
    expect(found.map((entry) => entry?.vector[0])).toEqual([undefined, 1, 2]);
  });

  test('clear empties it and reports zero', async () => {
    const sizes: number[] = [];
    const cache = freshCache({ onSize: (size) => sizes.push(size.entries) });
    await cache.put(SCOPE, ['a', 'b'], [stored(1), stored(2)]);
    await cache.clear();
    await expect(cache.size()).resolves.toEqual({ entries: 0, bytes: 0 });
    await expect(cache.get(SCOPE, ['a'])).resolves.toEqual([undefined]);
    expect(sizes.at(-1)).toBe(0);
  });
});

describe('damaged entries and failures', () => {
  test.each<[string, (key: string) => { entry?: unknown; vector?: unknown }]>([
    ['a vector that is not an ArrayBuffer', () => ({ vector: 'not numbers' })],
    ['a vector of the wrong byte length', () => ({ vector: new ArrayBuffer(6) })],
    ['a vector with NaN', () => ({ vector: Float32Array.from([1, Number.NaN, 3, 4]).buffer })],
    [
      'an entry of another scope',
      (key) => ({ entry: { key, scope: '["other"]', bytes: 16, ms: 1, usedAt: 1 } }),
    ],
    ['an entry with no vector', () => ({ vector: undefined })],
    ['a negative time', (key) => ({ entry: { key, scope: '', bytes: 16, ms: -1, usedAt: 1 } })],
  ])('%s is ignored, removed, and computed again', async (_, damage) => {
    const name = `features-${++databases}`;
    const cache = freshCache({ name });
    await cache.put(SCOPE, ['good', 'bad'], [stored(1), stored(2)]);
    const key = await featureEntryKey(SCOPE, 'bad');
    const raw = await openDB(name);
    const change = damage(key);
    const entry = (await raw.get('entries', key)) as Record<string, unknown>;
    if ('entry' in change) {
      const replaced = change.entry as Record<string, unknown>;
      await raw.put('entries', { ...replaced, scope: replaced.scope === '' ? entry.scope : replaced.scope });
    }
    if ('vector' in change) {
      if (change.vector === undefined) await raw.delete('vectors', key);
      else await raw.put('vectors', change.vector, key);
    }
    raw.close();
    const found = await cache.get(SCOPE, ['good', 'bad']);
    expect(found[0]?.vector[0]).toBe(1);
    expect(found[1]).toBeUndefined();
    await expect(cache.size()).resolves.toEqual({ entries: 1, bytes: 16 });
  });

  test('without IndexedDB nothing is cached, with a notice, and nothing throws', async () => {
    const notices: string[] = [];
    const saved = globalThis.indexedDB;
    // The property is configurable in Node; the cache must not assume it exists.
    Reflect.deleteProperty(globalThis, 'indexedDB');
    try {
      const cache = freshCache({ onNotice: (message) => notices.push(message) });
      await cache.put(SCOPE, ['a'], [stored(1)]);
      await expect(cache.get(SCOPE, ['a'])).resolves.toEqual([undefined]);
      await expect(cache.size()).resolves.toEqual({ entries: 0, bytes: 0 });
    } finally {
      globalThis.indexedDB = saved;
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('not cached');
  });

  test('a full quota while storing is a notice, not an error', async () => {
    const notices: string[] = [];
    const cache = freshCache({ onNotice: (message) => notices.push(message) });
    const vector = stored(1);
    // A vector whose copy fails like a full disk would.
    const full = {
      ...vector,
      vector: Object.assign(Float32Array.from(vector.vector), {
        slice(): never {
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        },
      }),
    };
    await expect(cache.put(SCOPE, ['a'], [full])).resolves.toBeUndefined();
    expect(notices).toEqual([expect.stringContaining('storage for this site is full')]);
    await expect(cache.get(SCOPE, ['a'])).resolves.toEqual([undefined]);
  });
});
