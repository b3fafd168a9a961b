/**
 * @file The feature-cache worker's handlers (feature-cache-protocol.ts), apart from the worker's global scope so
 * that tests serve them over a MessageChannel. One `IndexedDbFeatureCache` per database name; what the caches
 * report (notices, sizes) is collected and handed out with the next reply.
 */
import type { Handlers } from '../workers/rpc.ts';
import { IndexedDbFeatureCache, type FeatureCacheSize } from './feature-cache.ts';
import type { FeatureCacheMethods, FeatureCacheReport, FeatureDatabase } from './feature-cache-protocol.ts';

/** Handlers serving every database the requests name, each opened on its first request. */
export function featureCacheHandlers(): Handlers<FeatureCacheMethods> {
  const caches = new Map<string, IndexedDbFeatureCache>();
  const notices: string[] = [];
  let size: FeatureCacheSize | undefined;

  const cacheFor = (database: FeatureDatabase): IndexedDbFeatureCache => {
    let cache = caches.get(database.name);
    if (cache === undefined) {
      cache = new IndexedDbFeatureCache({
        name: database.name,
        budgetBytes: database.budgetBytes,
        onNotice: (message) => notices.push(message),
        onSize: (next) => {
          size = next;
        },
      });
      caches.set(database.name, cache);
    }
    return cache;
  };
  /** What was reported since the last reply; clears it. */
  const report = (): FeatureCacheReport => {
    const drained: FeatureCacheReport = { notices: notices.splice(0) };
    if (size !== undefined) drained.size = size;
    size = undefined;
    return drained;
  };

  return {
    async 'features-get'({ database, scope, texts }) {
      const vectors = await cacheFor(database).get(scope, texts);
      // Each vector was read into a buffer of its own: hand them over instead of copying.
      const transfer = new Set(
        vectors.flatMap((stored) => (stored ? [stored.vector.buffer as ArrayBuffer] : [])),
      );
      return { reply: { type: 'features-got', vectors, ...report() }, transfer: [...transfer] };
    },
    async 'features-put'({ database, scope, texts, vectors }) {
      await cacheFor(database).put(scope, texts, vectors);
      return { reply: { type: 'features-stored', ...report() } };
    },
    async 'features-size'({ database }) {
      const measured = await cacheFor(database).size();
      return { reply: { type: 'features-sized', measured, ...report() } };
    },
    async 'features-clear'({ database }) {
      await cacheFor(database).clear();
      return { reply: { type: 'features-cleared', ...report() } };
    },
  };
}
