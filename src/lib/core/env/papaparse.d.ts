/**
 * @file The part of papaparse's API that the core uses (parsing a string), typed without Node or DOM types.
 * `tsconfig.core.json` maps `papaparse` here because `@types/papaparse` pulls in all of `@types/node`, which
 * would hide any Node-only global used in the core. The main tsconfig still checks the real types.
 */

/** Options of {@link parse} for string input (a subset of papaparse's `ParseConfig`). */
export interface ParseConfig {
  header?: false;
  skipEmptyLines?: boolean | 'greedy';
  preview?: number;
  delimiter?: string;
  delimitersToGuess?: string[];
}

/** One problem papaparse met; `row` is its 0-based row index when it knows it. */
export interface ParseError {
  type: 'Quotes' | 'Delimiter' | 'FieldMismatch';
  code: string;
  message: string;
  row?: number;
}

/** The outcome of parsing a string. */
export interface ParseResult<T> {
  data: T[];
  errors: ParseError[];
}

/** Parses CSV text synchronously. */
export function parse<T>(input: string, config?: ParseConfig): ParseResult<T>;

declare const Papa: { parse: typeof parse };
export default Papa;
