/**
 * @file Reads an uploaded dataset file from its bytes: the size limit, the format from the file name, the text
 * encoding, the table, and a first guess at which columns hold the text and the label. Pure, so the data
 * worker runs it off the main thread and unit tests run it in Node.
 */
import { tableColumns, type ColumnMapping, type TableColumns } from './build.ts';
import { guessColumns } from './columns.ts';
import { decodeDatasetBytes } from './decode.ts';
import { checkFileSize, MAX_FILE_BYTES, MAX_ROWS } from './limits.ts';
import { formatFromFileName, parseTable, type Table, type TableFormat } from './parse.ts';

/** A dataset file read into a table, not yet validated as labeled data (see `analyzeDataset`). */
export interface DatasetFile {
  /** The file's name, e.g. "reviews.csv". */
  name: string;
  format: TableFormat;
  /** Size in bytes. */
  size: number;
  table: Table;
  /** The columns most likely to hold the text and the label. */
  guess: ColumnMapping;
}

/** Rows of a file the page shows in full, every column (the preview). */
export const PREVIEW_ROWS = 5;

/**
 * What the page holds of a file read in the data worker: every column's name, the first rows in full and the
 * cells of the columns in use. The worker keeps the whole table and sends other columns when they are chosen:
 * a 50,000-row file with 10 columns took the page 114 ms to receive as row objects, its two mapped columns 5 ms.
 */
export interface DatasetFileView extends TableColumns {
  name: string;
  format: TableFormat;
  /** Size in bytes. */
  size: number;
  /** The first {@link PREVIEW_ROWS} rows, every column. */
  preview: Record<string, string>[];
  /** The columns most likely to hold the text and the label. */
  guess: ColumnMapping;
}

/** The view of a read file with the cells of `columns` (the guessed text and label when not given). */
export function viewOfFile(
  file: DatasetFile,
  columns: readonly string[] = [file.guess.text, file.guess.label],
): DatasetFileView {
  return {
    ...tableColumns(file.table, columns),
    name: file.name,
    format: file.format,
    size: file.size,
    preview: file.table.rows.slice(0, PREVIEW_ROWS),
    guess: file.guess,
  };
}

/** Limits of {@link readDatasetFile}. */
export interface ReadLimits {
  maxBytes?: number;
  maxRows?: number;
}

/**
 * Reads a dataset file. Check the size with `checkFileSize` before loading the bytes when they come from disk;
 * it is checked here again for callers that already hold them.
 * @throws DatasetError with a message for the user: unsupported extension, file too large, binary or
 *   non-UTF-8 content, empty or header-only file, malformed CSV/JSON (naming the row or line), too many rows.
 */
export function readDatasetFile(bytes: Uint8Array, fileName: string, limits: ReadLimits = {}): DatasetFile {
  const format = formatFromFileName(fileName);
  checkFileSize(bytes.length, fileName, limits.maxBytes ?? MAX_FILE_BYTES);
  const text = decodeDatasetBytes(bytes, fileName);
  const table = parseTable(text, format, { maxRows: limits.maxRows ?? MAX_ROWS });
  return { name: fileName, format, size: bytes.length, table, guess: guessColumns(table) };
}
