/**
 * @file The table of model sources: for each place a model's files can live (a folder in Node, the app's server,
 * the Hugging Face hub, a folder picked in the browser) how it is described, checked, read and configured. The
 * loader (transformers-adapter.ts) asks this table and never switches on the kind itself. Fixture models are no
 * kind of their own: they are folders (Node) or served folders (`/models/fixtures/…`).
 */
import type { ModelSource } from '../../core/ports.ts';
import { folderSource } from './folder.ts';
import { hubSource } from './hub.ts';
import { pickedSource } from './picked.ts';
import { servedSource } from './served.ts';
import type { SourceKind, SourceOf } from './source-kind.ts';

export { cachedHubFiles } from './hub.ts';
export type { HubLocation, SourceEnvironment, SourceKind } from './source-kind.ts';

/** Every kind of model source, by `ModelSource['kind']`. */
export const MODEL_SOURCES: { readonly [K in ModelSource['kind']]: SourceKind<SourceOf<K>> } = {
  folder: folderSource,
  served: servedSource,
  hub: hubSource,
  files: pickedSource,
};

/** The table entry for `source`'s kind, typed for that source. */
export function sourceKindOf<S extends ModelSource>(source: S): SourceKind<S> {
  // The mapped table pairs each kind with its entry; TypeScript cannot follow that through the union.
  return MODEL_SOURCES[source.kind] as unknown as SourceKind<S>;
}
