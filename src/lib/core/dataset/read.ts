/**
 * @file Reads an uploaded dataset file from its bytes: the size limit, the format from the file name, the text
 * encoding, the table, and a first guess at which columns hold the text and the label. Pure, so the data
 * worker runs it off the main thread and unit tests run it in Node.
 */
import type { ColumnMapping } from './build.ts';
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
