/**
 * @file What each kind of model source must say: how it is described, checked, read and configured. The entries
 * live one per module (folder.ts, served.ts, hub.ts, picked.ts) and meet in the table of index.ts.
 */
import type { Dtype, ModelSource } from '../../core/ports.ts';
import type { ByteReport } from './common.ts';

/** Where the hub lives and where its downloads are cached: transformers.js' `env` has these fields. */
export interface HubLocation {
  /** e.g. 'https://huggingface.co/'. */
  readonly remoteHost: string;
  /** e.g. '{model}/resolve/{revision}/'. */
  readonly remotePathTemplate: string;
  /** Name of the browser cache hub downloads go to. */
  readonly cacheKey: string;
}

/** How transformers.js is pointed at a source: which lookups it may make, and the name it loads. */
export interface SourceEnvironment {
  /** What transformers.js gets as "model name or path". */
  reference: string;
  /** Revision to ask the hub for, for hub models. */
  revision?: string;
  /** Whether transformers.js may download from the hub. */
  allowRemoteModels: boolean;
  /** Whether it may look under `localModelPath` (a folder in Node, a URL prefix in the browser). */
  allowLocalModels: boolean;
  /** Whether it may look in (and store downloads into) the browser cache. */
  useBrowserCache: boolean;
  /** The prefix it resolves `reference` under, when the source has one. */
  localModelPath?: string;
  /**
   * Answers every file request transformers.js makes through `env.fetch` (the one way it reads local files in a
   * browser), when the source's files are not behind any URL, or to see which files a load read.
   */
  fetch?: (url: string) => Promise<Response>;
}

/** One kind of model source: everything the loader needs to know about where the files live. */
export interface SourceKind<S extends ModelSource> {
  /** The model as messages name it: its folder, URL, hub id or picked folder. */
  describe(source: S): string;
  /** Where one file of the model lives, as messages name it. */
  fileLocation(source: S, file: string, hub: HubLocation): string;
  /** The id a loaded model reports. */
  modelId(source: S): string;
  /**
   * Checks that every file a load with `dtype` needs is there, so a missing one is named (with its full path or
   * URL, and what to do) before transformers.js gives a vaguer error.
   * @throws ModelFileMissingError naming the first missing file.
   */
  check(source: S, dtype: Dtype, hub: HubLocation): Promise<void>;
  /**
   * Reads one file (e.g. 'onnx/model.onnx') into memory, reporting its bytes as they arrive; `onSize` hears the
   * size before the bytes are read, when it is known.
   */
  read(
    source: S,
    file: string,
    hub: HubLocation,
    onBytes: ByteReport,
    onSize?: (bytes: number) => void,
  ): Promise<Uint8Array>;
  /** How transformers.js must be configured to load the source; nothing leaves the machine unless allowed. */
  configure(source: S): SourceEnvironment;
}

/** The source of kind `K`. */
export type SourceOf<K extends ModelSource['kind']> = Extract<ModelSource, { kind: K }>;
