/**
 * @file The persistent feature cache: vectors per text in IndexedDB (a database of its own, apart from the
 * experiments), implementing the orchestrator's `FeatureStore` port (core/experiment/feature-store.ts). Each
 * vector is keyed by its scope (model id, weights hash, dtype, layer, pooling) and the SHA-256 of the text the
 * model read, so a reload, another experiment or an overlapping dataset reuses it. A size budget is kept by
 * evicting the least recently used vectors; an entry that cannot be read as a vector (corrupted, foreign) is
 * ignored and removed. Nothing here ever fails a run: a full quota or a database that cannot be opened turns
 * into "not cached" with a `notice` saying so.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { FeatureScope, FeatureStore, StoredVector } from '../core/experiment/feature-store.ts';
import { sha256Hex } from '../core/hash/sha256.ts';
import { isQuotaError } from './errors.ts';

/** The database the app uses; tests may open another name. */
export const FEATURE_DATABASE_NAME = 'prompt-vs-finetune-features';
const VERSION = 1;
/** Default size budget: 256 MiB of vectors (about 130,000 vectors of 512 floats). */
export const DEFAULT_FEATURE_BUDGET_BYTES = 256 * 1024 * 1024;

/** What a vector is stored with, apart from its numbers (small, so the LRU scan never reads vectors). */
export interface FeatureEntry {
  /** Scope key + text hash. */
  key: string;
  /** JSON of the scope, for clearing one model's vectors and for checking what an entry is. */
  scope: string;
  /** Bytes of the vector. */
  bytes: number;
  /** Encoder time the vector cost. */
  ms: number;
  /** Last read or write, in milliseconds since the epoch: the least recent goes first. */
  usedAt: number;
}

interface FeatureSchema extends DBSchema {
  entries: { key: string; value: FeatureEntry; indexes: { byUsed: number } };
  /** The vector's float32 bytes, under the entry's key. */
  vectors: { key: string; value: ArrayBuffer };
}

/** How full the cache is. */
export interface FeatureCacheSize {
  entries: number;
  bytes: number;
}

export interface FeatureCacheOptions {
  name?: string;
  budgetBytes?: number;
  now?: () => number;
  /** A problem that made vectors go uncached (quota, no IndexedDB): shown to the user; the run goes on. */
  onNotice?: (message: string) => void;
  /** After every change of size (put, eviction, clear). */
  onSize?: (size: FeatureCacheSize) => void;
}

/** SHA-256 of a text's UTF-8 bytes, hex. */
export async function textHash(text: string): Promise<string> {
  return sha256Hex(new TextEncoder().encode(text));
}

/** The scope as a stable string: the same scope always gives the same key. */
export function scopeKey(scope: FeatureScope): string {
  return JSON.stringify([scope.modelId, scope.weightsHash, scope.dtype, scope.layer, scope.pooling]);
}

/** The key of one text's vector in one scope. */
export async function featureEntryKey(scope: FeatureScope, text: string): Promise<string> {
  return `${scopeKey(scope)}#${await textHash(text)}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A vector read back, or undefined when the stored value is not one (corrupted, written by something else). */
function vectorOf(entry: FeatureEntry | undefined, scope: string, buffer: unknown): StoredVector | undefined {
  if (entry === undefined || entry.scope !== scope) return undefined;
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0 || buffer.byteLength % 4 !== 0)
    return undefined;
  if (buffer.byteLength !== entry.bytes || !Number.isFinite(entry.ms) || entry.ms < 0) return undefined;
  const vector = new Float32Array(buffer.slice(0));
  if (!vector.every(Number.isFinite)) return undefined;
  return { vector, ms: entry.ms };
}

/** The IndexedDB feature cache. Opened lazily; every method resolves even when IndexedDB is unusable. */
export class IndexedDbFeatureCache implements FeatureStore {
  readonly name: string;
  readonly budgetBytes: number;
  readonly #now: () => number;
  readonly #onNotice: (message: string) => void;
  readonly #onSize: (size: FeatureCacheSize) => void;
  #database: Promise<IDBPDatabase<FeatureSchema> | undefined> | undefined;

  constructor(options: FeatureCacheOptions = {}) {
    this.name = options.name ?? FEATURE_DATABASE_NAME;
    this.budgetBytes = options.budgetBytes ?? DEFAULT_FEATURE_BUDGET_BYTES;
    this.#now = options.now ?? Date.now;
    this.#onNotice = options.onNotice ?? (() => undefined);
    this.#onSize = options.onSize ?? (() => undefined);
  }

  /** The stored vector of each text, refreshing their last use; undefined where none is (or it is unreadable). */
  async get(scope: FeatureScope, texts: readonly string[]): Promise<(StoredVector | undefined)[]> {
    const database = await this.#open();
    if (database === undefined) return texts.map(() => undefined);
    const keys = await Promise.all(texts.map((text) => featureEntryKey(scope, text)));
    const wanted = scopeKey(scope);
    const broken: string[] = [];
    const found: (StoredVector | undefined)[] = [];
    try {
      const transaction = database.transaction(['entries', 'vectors'], 'readwrite');
      // A failed request aborts the transaction before `done` is awaited below: observe it now, so that rejection
      // is not reported as unhandled (the await still sees it).
      transaction.done.catch(() => undefined);
      const entries = transaction.objectStore('entries');
      const vectors = transaction.objectStore('vectors');
      const usedAt = this.#now();
      const reads = keys.map(async (key) => {
        const [entry, buffer] = await Promise.all([entries.get(key), vectors.get(key)]);
        const vector = vectorOf(entry, wanted, buffer);
        if (vector === undefined && (entry !== undefined || buffer !== undefined)) broken.push(key);
        if (vector !== undefined && entry !== undefined) await entries.put({ ...entry, usedAt });
        return vector;
      });
      found.push(...(await Promise.all(reads)));
      for (const key of broken) {
        await Promise.all([entries.delete(key), vectors.delete(key)]);
      }
      await transaction.done;
    } catch (error) {
      // A read that fails (or a full quota refusing the last-use update) costs only the cache.
      this.#notice(error, 'read cached features');
      return found.length === texts.length ? found : texts.map(() => undefined);
    }
    if (broken.length > 0) await this.#reportSize(database);
    return found;
  }

  /** Stores the vectors, then evicts the least recently used ones beyond the budget. Never throws. */
  async put(scope: FeatureScope, texts: readonly string[], vectors: readonly StoredVector[]): Promise<void> {
    if (texts.length !== vectors.length) {
      throw new RangeError(`Got ${vectors.length} vectors for ${texts.length} texts.`);
    }
    const database = await this.#open();
    if (database === undefined || texts.length === 0) return;
    const keys = await Promise.all(texts.map((text) => featureEntryKey(scope, text)));
    const wanted = scopeKey(scope);
    const usedAt = this.#now();
    let aborter: { abort(): void } | undefined;
    try {
      const transaction = database.transaction(['entries', 'vectors'], 'readwrite');
      // A failed request aborts the transaction before `done` is awaited below: observe it now, so that rejection
      // is not reported as unhandled (the await still sees it).
      transaction.done.catch(() => undefined);
      aborter = transaction;
      const entries = transaction.objectStore('entries');
      const stored = transaction.objectStore('vectors');
      await Promise.all(
        keys.map(async (key, index) => {
          const { vector, ms } = vectors[index] as StoredVector;
          // A copy of exactly the vector's bytes (it may be a view into a larger buffer).
          const buffer = vector.slice().buffer as ArrayBuffer;
          await stored.put(buffer, key);
          await entries.put({ key, scope: wanted, bytes: buffer.byteLength, ms, usedAt });
        }),
      );
      await transaction.done;
    } catch (error) {
      // All or nothing: no entry without its vector.
      try {
        aborter?.abort();
      } catch {
        // Already finished.
      }
      this.#notice(error, 'store features');
      return;
    }
    await this.#evict(database);
  }

  /** Entries and bytes stored. */
  async size(): Promise<FeatureCacheSize> {
    const database = await this.#open();
    if (database === undefined) return { entries: 0, bytes: 0 };
    try {
      const all = await database.getAll('entries');
      return { entries: all.length, bytes: all.reduce((sum, entry) => sum + entry.bytes, 0) };
    } catch (error) {
      this.#notice(error, 'measure the feature cache');
      return { entries: 0, bytes: 0 };
    }
  }

  /** Deletes every stored vector. */
  async clear(): Promise<void> {
    const database = await this.#open();
    if (database === undefined) return;
    const transaction = database.transaction(['entries', 'vectors'], 'readwrite');
    // A failed request aborts the transaction before `done` is awaited below: observe it now, so that rejection
    // is not reported as unhandled (the await still sees it).
    transaction.done.catch(() => undefined);
    await Promise.all([
      transaction.objectStore('entries').clear(),
      transaction.objectStore('vectors').clear(),
    ]);
    await transaction.done;
    this.#onSize({ entries: 0, bytes: 0 });
  }

  /** Closes the connection (tests; another page load opens it again). */
  async close(): Promise<void> {
    const database = await this.#database;
    database?.close();
    this.#database = undefined;
  }

  /** Drops the least recently used vectors until the total fits the budget. */
  async #evict(database: IDBPDatabase<FeatureSchema>): Promise<void> {
    try {
      const transaction = database.transaction(['entries', 'vectors'], 'readwrite');
      // A failed request aborts the transaction before `done` is awaited below: observe it now, so that rejection
      // is not reported as unhandled (the await still sees it).
      transaction.done.catch(() => undefined);
      const entries = transaction.objectStore('entries');
      const vectors = transaction.objectStore('vectors');
      const all = await entries.index('byUsed').getAll();
      let total = all.reduce((sum, entry) => sum + entry.bytes, 0);
      let count = all.length;
      for (const entry of all) {
        if (total <= this.budgetBytes) break;
        await Promise.all([entries.delete(entry.key), vectors.delete(entry.key)]);
        total -= entry.bytes;
        count--;
      }
      await transaction.done;
      this.#onSize({ entries: count, bytes: total });
    } catch (error) {
      this.#notice(error, 'make room in the feature cache');
    }
  }

  async #reportSize(database: IDBPDatabase<FeatureSchema>): Promise<void> {
    try {
      const all = await database.getAll('entries');
      this.#onSize({ entries: all.length, bytes: all.reduce((sum, entry) => sum + entry.bytes, 0) });
    } catch {
      // The size shown is only informative.
    }
  }

  #notice(error: unknown, action: string): void {
    this.#onNotice(
      isQuotaError(error)
        ? "The browser's storage for this site is full, so these features were not cached: they are computed " +
            'again next time. Clear the feature cache or free space (delete experiments you no longer need).'
        : `Could not ${action} (${messageOf(error)}): features are computed without the cache.`,
    );
  }

  #open(): Promise<IDBPDatabase<FeatureSchema> | undefined> {
    this.#database ??= this.#connect();
    return this.#database;
  }

  async #connect(): Promise<IDBPDatabase<FeatureSchema> | undefined> {
    if (typeof indexedDB === 'undefined') {
      this.#onNotice('This browser offers no IndexedDB here, so features are not cached between page loads.');
      return undefined;
    }
    try {
      const database = await openDB<FeatureSchema>(this.name, VERSION, {
        upgrade(db) {
          const entries = db.createObjectStore('entries', { keyPath: 'key' });
          entries.createIndex('byUsed', 'usedAt');
          db.createObjectStore('vectors');
        },
        blocking() {
          database.close();
        },
      });
      return database;
    } catch (error) {
      this.#onNotice(
        `The feature cache could not be opened (${messageOf(error)}): features are computed without it.`,
      );
      return undefined;
    }
  }
}
