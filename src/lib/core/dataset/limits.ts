/**
 * @file How much data the app reads, checked as early as possible: the file size before a single byte is read,
 * the row count while parsing. The same limits hold in the browser and the CLI, so a file that works in one
 * works in the other.
 */
import { DatasetError } from '../errors.ts';
import { formatBytes, formatBytesOverLimit } from '../format.ts';

/** Largest dataset file read, in bytes (20 MB): parsing and embedding more in a browser tab is not a lab any more. */
export const MAX_FILE_BYTES = 20_000_000;
/** Most data rows read from one file (header and blank lines not counted). */
export const MAX_ROWS = 50_000;

/**
 * Most columns read from one file. Wider files exist (survey exports, feature tables), but the lab reads two
 * columns of them; reading thousands means a page with thousands of column choices and, for JSON records that
 * each bring fields of their own, a table of rows × columns cells that can exhaust the tab's memory.
 */
export const MAX_COLUMNS = 1_000;
/**
 * Most cells (rows × columns) of a JSON or JSONL file, whose records may each name different fields: every record
 * gets every column. A CSV at the size limit holds at most about this many (a one-character cell and its comma).
 */
export const MAX_CELLS = MAX_FILE_BYTES / 2;

/** `50000` → `"50,000"`, the same in every locale (messages must read the same in browser and CLI). */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Refuses a file larger than `maxBytes` from its size alone, before it is read.
 * @throws DatasetError `file-too-large` naming the file, its size and the limit.
 */
export function checkFileSize(size: number, fileName: string, maxBytes: number = MAX_FILE_BYTES): void {
  if (size > maxBytes) {
    throw new DatasetError(
      'file-too-large',
      `"${fileName}" is ${formatBytesOverLimit(size, maxBytes)}; the app reads files up to ${formatBytes(maxBytes)}: ` +
        `keep a sample of the rows (at most ${formatCount(MAX_ROWS)}) and choose that file.`,
    );
  }
}

/** The error for a file with more than `maxRows` data rows. */
export function tooManyRowsError(maxRows: number): DatasetError {
  return new DatasetError(
    'too-many-rows',
    `The file has more than ${formatCount(maxRows)} data rows; the app reads at most ${formatCount(maxRows)}: ` +
      'keep a sample of the rows and choose that file.',
  );
}

/** The error for a file with more than `maxColumns` columns (header cells, or distinct fields of JSON records). */
export function tooManyColumnsError(columns: number, maxColumns: number, what: string): DatasetError {
  return new DatasetError(
    'too-many-columns',
    `The file has ${formatCount(columns)} ${what}; the app reads at most ${formatCount(maxColumns)}: ` +
      'save the text and label columns (and any others you need) as a new file and choose that.',
  );
}

/** The error for JSON records whose distinct fields, given to every record, make more than `maxCells` cells. */
export function tooManyCellsError(records: number, columns: number, maxCells: number): DatasetError {
  return new DatasetError(
    'too-many-columns',
    `The file's ${formatCount(records)} records use ${formatCount(columns)} distinct fields between them: as a ` +
      `table that is ${formatCount(records * columns)} cells, and the app reads at most ${formatCount(maxCells)}. ` +
      'Keep the text and label fields (and any others you need) in every record and drop the rest.',
  );
}
