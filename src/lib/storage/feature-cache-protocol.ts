/**
 * @file Messages between the page and the feature-cache worker (feature-cache.worker.ts), which runs the IndexedDB
 * feature cache (feature-cache.ts) off the page's main thread. Every request names its database and size budget,
 * so one worker serves any cache the page opens. Every reply carries what the cache reported since the previous
 * reply (notices, its size), which the page shows.
 */
import type { FeatureScope, StoredVector } from '../core/experiment/feature-store.ts';
import type { Envelope } from '../workers/protocol.ts';
import type { FeatureCacheSize } from './feature-cache.ts';

/** Which database a request is for. */
export interface FeatureDatabase {
  name: string;
  budgetBytes: number;
}

/** What the cache reported while the worker answered: its notices, and its size when that changed. */
export interface FeatureCacheReport {
  notices: string[];
  size?: FeatureCacheSize;
}

/** The stored vectors of texts (`IndexedDbFeatureCache.get`). */
export interface FeatureGetRequest extends Envelope<'features-get'> {
  database: FeatureDatabase;
  scope: FeatureScope;
  texts: string[];
}

export interface FeatureGotReply extends Envelope<'features-got'>, FeatureCacheReport {
  /** One per text, undefined where none is stored; buffers transferred. */
  vectors: (StoredVector | undefined)[];
}

/** Stores vectors (`IndexedDbFeatureCache.put`). */
export interface FeaturePutRequest extends Envelope<'features-put'> {
  database: FeatureDatabase;
  scope: FeatureScope;
  texts: string[];
  vectors: StoredVector[];
}

export type FeatureStoredReply = Envelope<'features-stored'> & FeatureCacheReport;

/** Entries and bytes stored. */
export interface FeatureSizeRequest extends Envelope<'features-size'> {
  database: FeatureDatabase;
}

export interface FeatureSizedReply extends Envelope<'features-sized'>, FeatureCacheReport {
  measured: FeatureCacheSize;
}

/** Deletes every stored vector. */
export interface FeatureClearRequest extends Envelope<'features-clear'> {
  database: FeatureDatabase;
}

export type FeatureClearedReply = Envelope<'features-cleared'> & FeatureCacheReport;

/** The feature-cache worker's method table (see workers/rpc.ts). */
export interface FeatureCacheMethods {
  'features-get': { request: FeatureGetRequest; result: FeatureGotReply; event: never };
  'features-put': { request: FeaturePutRequest; result: FeatureStoredReply; event: never };
  'features-size': { request: FeatureSizeRequest; result: FeatureSizedReply; event: never };
  'features-clear': { request: FeatureClearRequest; result: FeatureClearedReply; event: never };
}

/** The feature-cache worker sends no events, only final replies. */
export const FEATURE_CACHE_EVENT_TYPES: ReadonlySet<string> = new Set();
