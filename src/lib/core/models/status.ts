/**
 * @file Whether a catalog model is ready to run with a given dtype, from what a storage reports about each of its
 * files (the models/ folder in Node, the browser cache in the app). Pure: the caller looks at the storage.
 */
import type { Dtype } from '../ports.ts';
import { filesForDtype, modelDtypes, type CatalogFile, type CatalogModel } from './catalog.ts';

/**
 * What a storage holds for one file: the finished file under its final name (`complete`), an interrupted download
 * (`partial`, resumable), or nothing. `bytes` is what is stored so far.
 */
export type StoredFile = { state: 'complete'; bytes: number } | { state: 'partial'; bytes: number } | { state: 'absent' };

/** Looks up one file of a model by its path inside the model folder, e.g. `onnx/model.onnx`. */
export type StoredFileLookup = (path: string) => StoredFile;

/**
 * `complete`: every file is there under its final name (downloads are verified before they get that name);
 * `partial`: some files or interrupted downloads are there; `missing`: nothing is.
 */
export type ModelState = 'complete' | 'partial' | 'missing';

export interface FileStatus extends CatalogFile {
  stored: StoredFile;
}

export interface ModelDtypeStatus {
  dtype: Dtype;
  state: ModelState;
  files: FileStatus[];
  /** Paths not yet complete, in catalog order. */
  missingPaths: string[];
  /** Bytes stored, complete and partial files together. */
  storedBytes: number;
  /** Approximate total size (catalog estimate) of the files this dtype needs. */
  approxBytes: number;
}

function storedBytes(file: StoredFile): number {
  return file.state === 'absent' ? 0 : file.bytes;
}

function stateOf(files: readonly FileStatus[]): ModelState {
  if (files.every((file) => file.stored.state === 'complete')) return 'complete';
  if (files.some((file) => file.stored.state !== 'absent')) return 'partial';
  return 'missing';
}

/** The status of `model` with `dtype` (which it must offer) given what `lookup` reports for each file. */
export function modelDtypeStatus(model: CatalogModel, dtype: Dtype, lookup: StoredFileLookup): ModelDtypeStatus {
  const files = filesForDtype(model, dtype).map((file) => ({ ...file, stored: lookup(file.path) }));
  return {
    dtype,
    state: stateOf(files),
    files,
    missingPaths: files.filter((file) => file.stored.state !== 'complete').map((file) => file.path),
    storedBytes: files.reduce((total, file) => total + storedBytes(file.stored), 0),
    approxBytes: files.reduce((total, file) => total + file.approxBytes, 0),
  };
}

/** The status of every dtype the model offers, in catalog dtype order. */
export function modelStatuses(model: CatalogModel, lookup: StoredFileLookup): ModelDtypeStatus[] {
  return modelDtypes(model).map((dtype) => modelDtypeStatus(model, dtype, lookup));
}
