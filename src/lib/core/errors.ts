/**
 * @file Error types of the core. Each one says what went wrong and what to do about it, so the CLI can print
 * `error.message` as is and the UI can show it without rewording.
 */

/**
 * An invalid experiment file or object. `path` names the offending field the way a user would find it in the
 * JSON, e.g. `prompts[1].descriptions.spam` or `heads[0].epochs`; an empty path means the whole document.
 */
export class ExperimentError extends Error {
  override readonly name = 'ExperimentError';
  /** Where in the experiment the problem is, e.g. `heads[0].learningRate`. */
  readonly path: string;
  /** The problem without the path prefix, for UIs that show the path separately. */
  readonly detail: string;

  constructor(path: string, detail: string) {
    super(path === '' ? detail : `${path}: ${detail}`);
    this.path = path;
    this.detail = detail;
  }
}

/** What kind of dataset problem occurred, so a UI can react (e.g. highlight the column picker). */
export type DatasetErrorCode =
  | 'empty-file'
  | 'no-rows'
  | 'malformed'
  | 'unsupported-format'
  | 'missing-column'
  | 'no-usable-rows'
  | 'single-class'
  | 'class-too-small'
  | 'too-many-classes'
  | 'too-many-examples'
  | 'unknown-builtin'
  | 'split'
  | 'file-too-large'
  | 'too-many-rows'
  | 'too-many-columns'
  | 'not-utf8'
  | 'binary-file';

/** A dataset that cannot be read or used as labeled data. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly code: DatasetErrorCode;

  constructor(code: DatasetErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Quotes each value and joins them for "allowed values" lists in messages: `"a", "b", "c"`. */
export function quoteList(values: readonly string[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

/**
 * Appends a key to a field path the way it would be written in JavaScript: `prompts[1].descriptions.spam`,
 * or `descriptions["not spam"]` when the key is not a plain identifier; numbers become `[index]`.
 */
export function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

/**
 * Head training that diverged: a loss or an output became NaN or infinite, so any accuracy it would report is
 * meaningless. The message says what to change (a smaller learning rate).
 */
export class HeadDivergedError extends Error {
  override readonly name = 'HeadDivergedError';
  /** What became non-finite. */
  readonly what: string;
  readonly learningRate: number;

  /**
   * @param what what became non-finite, e.g. `"the loss at epoch 1"` or `"its predicted probabilities"`.
   * @param learningRate the learning rate used, named in the advice.
   * @param head the head's name, when known.
   */
  constructor(what: string, learningRate: number, head?: string) {
    const suggested = Math.min(0.01, learningRate / 10);
    super(
      `${head === undefined ? 'Head training' : `Head "${head}"`} diverged: ${what} became NaN or infinite ` +
        `with learning rate ${String(learningRate)}. Lower "learningRate" (e.g. ${String(suggested)}) and run again.`,
    );
    this.what = what;
    this.learningRate = learningRate;
  }
}
