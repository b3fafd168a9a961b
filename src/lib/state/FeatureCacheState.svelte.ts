/**
 * @file The persistent feature cache as the UI sees it: the IndexedDB store the orchestrator reads through
 * (storage/feature-cache.ts), its size, and the notice of anything that kept features from being cached. Where
 * the page can start workers the store runs in one (storage/worker-feature-cache.ts), so hashing texts and
 * IndexedDB requests never take the page's main thread.
 */
import {
  IndexedDbFeatureCache,
  type FeatureCacheOptions,
  type FeatureCacheSize,
} from '../storage/feature-cache.ts';
import { createFeatureCacheWorker, WorkerFeatureCache } from '../storage/worker-feature-cache.ts';

/** The feature cache of this page, with rune state for the panel that shows it. */
export class FeatureCacheState {
  /** Entries and bytes stored, once known. */
  size = $state.raw<FeatureCacheSize | undefined>(undefined);
  /** Why features were not cached (a full quota, no IndexedDB), until the cache is cleared. */
  notice = $state<string | undefined>(undefined);
  readonly store: IndexedDbFeatureCache | WorkerFeatureCache;

  /** A store with its own clock (`now`, tests) stays on this thread, as where no worker can start. */
  constructor(options: Omit<FeatureCacheOptions, 'onNotice' | 'onSize'> = {}) {
    const reports = {
      onNotice: (message: string) => {
        this.notice = message;
      },
      onSize: (size: FeatureCacheSize) => {
        this.size = size;
      },
    };
    const { now, ...workerOptions } = options;
    this.store =
      now !== undefined || typeof Worker !== 'function'
        ? new IndexedDbFeatureCache({ ...options, ...reports })
        : new WorkerFeatureCache({ ...workerOptions, ...reports, createWorker: createFeatureCacheWorker });
  }

  /** The size limit, in bytes. */
  get budgetBytes(): number {
    return this.store.budgetBytes;
  }

  /** Reads the size from the database (e.g. on page load). */
  async refresh(): Promise<void> {
    this.size = await this.store.size();
  }

  /** Reports a store failure the orchestrator caught: the run went on without the cache. */
  report(error: unknown): void {
    this.notice = `Features were not cached (${error instanceof Error ? error.message : String(error)}).`;
  }

  /** Deletes every stored vector. */
  async clear(): Promise<void> {
    try {
      await this.store.clear();
      this.notice = undefined;
    } catch (error) {
      this.report(error);
    }
    await this.refresh();
  }
}
