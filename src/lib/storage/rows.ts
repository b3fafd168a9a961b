/**
 * @file Uploaded rows kept apart from the experiment that uses them: an experiment with inline rows (what the UI
 * edits, what export writes) becomes a small record referencing the rows by content hash plus the rows themselves,
 * and back. `RowsHashes` remembers the hash of each rows array it has seen, so saving an experiment again after an
 * edit that left the dataset alone neither hashes nor serialises its rows.
 */
import type { Experiment } from '../core/experiment/types.ts';
import { hashRowsBytes, rowsBytes, type Row } from './hash.ts';
import type { ExperimentRecord, RowsRecord, RowsRef, StoredRowsRecord } from './schema.ts';

/** The inline rows of an experiment's dataset, if it carries any. */
export function inlineRows(dataset: Experiment['dataset'] | ExperimentRecord['dataset']): Row[] | undefined {
  const { rows } = dataset as { rows?: unknown };
  return Array.isArray(rows) ? (rows as Row[]) : undefined;
}

/** The hash an experiment record's dataset references, if its rows are stored apart. */
export function rowsHashOf(record: ExperimentRecord): string | undefined {
  const { rowsHash } = record.dataset as Partial<RowsRef>;
  return typeof rowsHash === 'string' ? rowsHash : undefined;
}

/**
 * The record to save for `experiment`: the same object with an uploaded dataset's rows replaced by `hash`
 * (a shallow copy; nothing else is copied). Experiments without inline rows come back as they are.
 */
export function toRecord(experiment: Experiment, hash: string | undefined): ExperimentRecord {
  const rows = inlineRows(experiment.dataset);
  if (!rows) return experiment as ExperimentRecord;
  if (hash === undefined) throw new Error('An experiment with uploaded rows needs their hash to be saved.');
  const { rows: _rows, ...rest } = experiment.dataset as {
    rows: Row[];
    name: string;
    text: string;
    label: string;
  };
  return { ...experiment, dataset: { ...rest, rowsHash: hash } };
}

/**
 * The experiment a record describes, with its rows inline again.
 * @throws Error when the record references rows that are not given (a damaged database).
 */
export function fromRecord(record: ExperimentRecord, rows: Row[] | undefined): Experiment {
  const hash = rowsHashOf(record);
  if (hash === undefined) return record as Experiment;
  if (!rows) {
    throw new Error(
      `the rows of "${record.name}" (${hash.slice(0, 12)}…) are missing from the database; import the ` +
        'experiment file again if you exported it.',
    );
  }
  const { rowsHash: _hash, ...rest } = record.dataset as RowsRef;
  return { ...record, dataset: { ...rest, rows } };
}

/**
 * The rows of a stored rows record, in either form it is stored in.
 * @throws Error when the stored JSON is not an array (a damaged database).
 */
export function rowsOfStored(record: StoredRowsRecord): Row[] {
  if ('rows' in record) return record.rows;
  const rows: unknown = JSON.parse(new TextDecoder().decode(record.json));
  if (!Array.isArray(rows)) {
    throw new Error(
      `the rows stored under ${record.hash.slice(0, 12)}… are damaged; import the experiment again.`,
    );
  }
  return rows as Row[];
}

/**
 * Remembers the content hash of each rows array by identity, so unchanged rows are never hashed twice, and the
 * rows still in memory by hash, so opening an experiment whose rows are already here does not read them again.
 * Rows arrays are never changed in place, so both directions stay true.
 */
export class RowsHashes {
  readonly #hashes = new WeakMap<readonly Row[], string>();
  readonly #rows = new Map<string, WeakRef<Row[]>>();
  /** The bytes of rows just hashed, until they are stored (the write then costs no second serialisation). */
  readonly #bytes = new WeakMap<readonly Row[], Uint8Array>();
  readonly #hash: (bytes: Uint8Array) => Promise<string>;
  /** How many times rows were hashed (each time serialising them): for tests and benchmarks. */
  hashed = 0;
  /** How many times rows were serialised to be stored (not kept from hashing them): for tests. */
  serialisedToStore = 0;

  constructor(hash: (bytes: Uint8Array) => Promise<string> = hashRowsBytes) {
    this.#hash = hash;
  }

  /** Notes that `rows` have hash `hash` (e.g. just loaded from the rows store under it). */
  remember(rows: readonly Row[], hash: string): void {
    this.#hashes.set(rows, hash);
    this.#rows.set(hash, new WeakRef(rows as Row[]));
  }

  /** Rows with content hash `hash` still in memory, if any. */
  inMemory(hash: string): Row[] | undefined {
    const rows = this.#rows.get(hash)?.deref();
    if (!rows) this.#rows.delete(hash);
    return rows;
  }

  /** The remembered hash of `rows`, if they were hashed or loaded before. */
  known(rows: readonly Row[]): string | undefined {
    return this.#hashes.get(rows);
  }

  /** The hash of `rows`: remembered, or computed once. */
  async of(rows: readonly Row[]): Promise<string> {
    const known = this.#hashes.get(rows);
    if (known !== undefined) return known;
    this.hashed++;
    const bytes = rowsBytes(rows);
    const hash = await this.#hash(bytes);
    this.remember(rows, hash);
    this.#bytes.set(rows, bytes);
    return hash;
  }

  /** Drops the bytes kept from hashing `rows` (they turned out to be stored already). */
  releaseBytes(rows: readonly Row[]): void {
    this.#bytes.delete(rows);
  }

  /** The record to write for `record`'s rows: their JSON bytes, kept from hashing them when they were. */
  toStored(record: RowsRecord): StoredRowsRecord {
    let bytes = this.#bytes.get(record.rows);
    if (bytes === undefined) {
      this.serialisedToStore++;
      bytes = rowsBytes(record.rows);
    }
    this.#bytes.delete(record.rows);
    return { hash: record.hash, json: bytes };
  }

  /**
   * The record to save for `experiment`, and its rows record when it carries inline rows. The rows record holds
   * the same array (no copy): writing it is the storage's business, and only when the hash is new there.
   */
  async split(experiment: Experiment): Promise<{ record: ExperimentRecord; rows?: RowsRecord }> {
    const rows = inlineRows(experiment.dataset);
    if (!rows) return { record: experiment as ExperimentRecord };
    const hash = await this.of(rows);
    return { record: toRecord(experiment, hash), rows: { hash, rows } };
  }
}
