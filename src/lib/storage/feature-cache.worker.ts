/**
 * @file The feature-cache worker: the IndexedDB feature cache (feature-cache.ts) off the page's main thread. Hashing
 * each text (SHA-256) and the IndexedDB requests for every vector cost the page 60–170 ms tasks per run on a loaded
 * machine; here the page only posts the texts and receives the vectors.
 */
import { featureCacheHandlers } from './feature-cache-handlers.ts';
import type { FeatureCacheMethods } from './feature-cache-protocol.ts';
import { serveRpc } from '../workers/rpc.ts';

serveRpc<FeatureCacheMethods>(self as unknown as DedicatedWorkerGlobalScope, featureCacheHandlers());
