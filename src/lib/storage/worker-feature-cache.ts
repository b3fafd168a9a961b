/**
 * @file The feature cache as the page uses it when it can start workers: the same surface as
 * `IndexedDbFeatureCache` (feature-cache.ts), answered by the feature-cache worker, so hashing the texts and the
 * IndexedDB work never run on the page's main thread. Like the IndexedDB cache, it never fails a run: a worker
 * that cannot start or crashes turns into "not cached" with a notice saying so.
 */
import type { FeatureScope, FeatureStore, StoredVector } from '../core/experiment/feature-store.ts';
import { RpcClient, type WorkerPort } from '../workers/rpc.ts';
import {
  DEFAULT_FEATURE_BUDGET_BYTES,
  FEATURE_DATABASE_NAME,
  type FeatureCacheOptions,
  type FeatureCacheSize,
} from './feature-cache.ts';
import {
  FEATURE_CACHE_EVENT_TYPES,
  type FeatureCacheMethods,
  type FeatureCacheReport,
  type FeatureDatabase,
} from './feature-cache-protocol.ts';

/** Options of {@link WorkerFeatureCache}: those of the IndexedDB cache, and how to start the worker. */
export interface WorkerFeatureCacheOptions extends Omit<FeatureCacheOptions, 'now'> {
  /** Starts the worker; called on first use. */
  createWorker: () => WorkerPort;
}

/** Starts the app's feature-cache worker. */
export function createFeatureCacheWorker(): WorkerPort {
  return new Worker(new URL('./feature-cache.worker.ts', import.meta.url), {
    type: 'module',
    name: 'feature-cache-worker',
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The feature cache behind a worker. Every method resolves even when the worker fails (except `clear`). */
export class WorkerFeatureCache implements FeatureStore {
  readonly name: string;
  readonly budgetBytes: number;
  readonly #database: FeatureDatabase;
  readonly #createWorker: () => WorkerPort;
  readonly #onNotice: (message: string) => void;
  readonly #onSize: (size: FeatureCacheSize) => void;
  #rpc: RpcClient<FeatureCacheMethods> | undefined;

  constructor(options: WorkerFeatureCacheOptions) {
    this.name = options.name ?? FEATURE_DATABASE_NAME;
    this.budgetBytes = options.budgetBytes ?? DEFAULT_FEATURE_BUDGET_BYTES;
    this.#database = { name: this.name, budgetBytes: this.budgetBytes };
    this.#createWorker = options.createWorker;
    this.#onNotice = options.onNotice ?? (() => undefined);
    this.#onSize = options.onSize ?? (() => undefined);
  }

  /** The stored vector of each text, refreshing their last use; undefined where none is (or it is unreadable). */
  async get(scope: FeatureScope, texts: readonly string[]): Promise<(StoredVector | undefined)[]> {
    try {
      const reply = await this.#client().call('features-get', {
        database: this.#database,
        scope,
        texts: [...texts],
      });
      this.#take(reply);
      if (reply.vectors.length !== texts.length) {
        throw new Error(`got ${reply.vectors.length} vectors for ${texts.length} texts`);
      }
      return reply.vectors;
    } catch (error) {
      this.#onNotice(`Could not read cached features (${messageOf(error)}): features are computed again.`);
      return texts.map(() => undefined);
    }
  }

  /** Stores the vectors, then evicts the least recently used ones beyond the budget. Throws only for a mismatch. */
  async put(scope: FeatureScope, texts: readonly string[], vectors: readonly StoredVector[]): Promise<void> {
    if (texts.length !== vectors.length) {
      throw new RangeError(`Got ${vectors.length} vectors for ${texts.length} texts.`);
    }
    if (texts.length === 0) return;
    try {
      this.#take(
        await this.#client().call('features-put', {
          database: this.#database,
          scope,
          texts: [...texts],
          vectors: [...vectors],
        }),
      );
    } catch (error) {
      this.#onNotice(`Could not store features (${messageOf(error)}): they are computed again next time.`);
    }
  }

  /** Entries and bytes stored. */
  async size(): Promise<FeatureCacheSize> {
    try {
      const reply = await this.#client().call('features-size', { database: this.#database });
      this.#take(reply);
      return reply.measured;
    } catch (error) {
      this.#onNotice(`Could not measure the feature cache (${messageOf(error)}).`);
      return { entries: 0, bytes: 0 };
    }
  }

  /** Deletes every stored vector. @throws when the worker could not do it. */
  async clear(): Promise<void> {
    this.#take(await this.#client().call('features-clear', { database: this.#database }));
  }

  /** Stops the worker (tests; the next call starts another). */
  async close(): Promise<void> {
    this.#rpc?.terminate();
    this.#rpc = undefined;
  }

  /** Passes on what the worker's cache reported. */
  #take(report: FeatureCacheReport): void {
    for (const notice of report.notices) this.#onNotice(notice);
    if (report.size !== undefined) this.#onSize(report.size);
  }

  #client(): RpcClient<FeatureCacheMethods> {
    if (this.#rpc === undefined) {
      const rpc = new RpcClient<FeatureCacheMethods>(
        this.#createWorker(),
        FEATURE_CACHE_EVENT_TYPES,
        'feature-cache worker',
        {
          onCrash: () => {
            // The next call starts a fresh worker.
            if (this.#rpc === rpc) this.#rpc = undefined;
          },
        },
      );
      this.#rpc = rpc;
    }
    return this.#rpc;
  }
}
