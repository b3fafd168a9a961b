/**
 * @file Reads tabular text (CSV, TSV, JSONL, JSON) into a plain table of string cells. Parsing is the same in
 * the browser and in Node, so a file gives the same rows (and the same example ids) everywhere.
 */
import Papa from 'papaparse';
import { DatasetError, quoteList } from '../errors.ts';
import {
  MAX_CELLS,
  MAX_COLUMNS,
  MAX_ROWS,
  tooManyCellsError,
  tooManyColumnsError,
  tooManyRowsError,
} from './limits.ts';
import { emptyRecord } from '../records.ts';

export type TableFormat = 'csv' | 'tsv' | 'jsonl' | 'json';

export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'tsv', 'jsonl', 'json'];

/** A parsed file: column names in file order and one record per data row, every cell a string. */
export interface Table {
  columns: string[];
  /**
   * Data rows in file order (blank lines skipped). Cells missing from a row are ''. Rows have no prototype, so a
   * column called `constructor` or `toString` is just a column and a name that is not a column reads `undefined`.
   */
  rows: Record<string, string>[];
  /** Problems that did not stop parsing, e.g. a row with more cells than the header. */
  warnings: string[];
}

const EXTENSION_FORMATS: Record<string, TableFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'json',
};

/** Warnings per kind are capped so a broken file does not produce thousands of lines. */
const MAX_WARNINGS_PER_KIND = 5;

/**
 * The table format implied by a file name's extension (case-insensitive).
 * @throws DatasetError listing the supported extensions when the extension is unknown.
 */
export function formatFromFileName(fileName: string): TableFormat {
  const match = /\.([^./\\]+)$/.exec(fileName.trim());
  const extension = match?.[1]?.toLowerCase();
  const format = extension === undefined ? undefined : EXTENSION_FORMATS[extension];
  if (format === undefined) {
    throw new DatasetError(
      'unsupported-format',
      `Cannot tell the format of "${fileName}" from its extension: use one of ` +
        `${Object.keys(EXTENSION_FORMATS)
          .map((ext) => `.${ext}`)
          .join(', ')}.`,
    );
  }
  return format;
}

/** Options of {@link parseTable}. */
export interface ParseOptions {
  /** Most data rows accepted; more is a `too-many-rows` error. Default {@link MAX_ROWS}. */
  maxRows?: number;
  /** Most columns accepted; more is a `too-many-columns` error. Default {@link MAX_COLUMNS}. */
  maxColumns?: number;
  /** Most cells (records × distinct fields) of JSON(L) records; more is a `too-many-columns` error. */
  maxCells?: number;
}

type Limits = Required<ParseOptions>;

/**
 * Parses file content into a table. CSV/TSV need a header row; CSV auto-detects `,` `;` `|` or tab as delimiter.
 * JSONL needs one JSON object per line; JSON needs an array of objects. Non-string values become strings
 * (null becomes '', nested values their JSON).
 * @throws DatasetError for an empty file, a file without data rows, more rows than `maxRows`, more columns than
 *   `maxColumns` (or JSON records whose fields make more than `maxCells` cells), or malformed content (naming
 *   the row, or the line and column).
 */
export function parseTable(content: string, format: TableFormat, options: ParseOptions = {}): Table {
  const limits: Limits = {
    maxRows: options.maxRows ?? MAX_ROWS,
    maxColumns: options.maxColumns ?? MAX_COLUMNS,
    maxCells: options.maxCells ?? MAX_CELLS,
  };
  // A BOM is common in files saved by spreadsheet programs; it would otherwise stick to the first column name.
  const text = content.startsWith('\ufeff') ? content.slice(1) : content;
  if (text.trim() === '') {
    throw new DatasetError('empty-file', 'The file is empty: choose a file with a header row and data rows.');
  }
  switch (format) {
    case 'csv':
      return parseDelimited(text, undefined, limits);
    case 'tsv':
      return parseDelimited(text, '\t', limits);
    case 'jsonl':
      return parseJsonLines(text, limits);
    case 'json':
      return parseJsonArray(text, limits);
    default:
      throw new DatasetError(
        'unsupported-format',
        `Unknown table format "${String(format)}": use one of ${quoteList(TABLE_FORMATS)}.`,
      );
  }
}

function parseDelimited(text: string, delimiter: string | undefined, { maxRows, maxColumns }: Limits): Table {
  const parsed = Papa.parse<string[]>(text, {
    header: false,
    skipEmptyLines: true,
    // The header, the allowed rows and one more to tell "too many" apart; the rest is never parsed.
    preview: maxRows + 2,
    ...(delimiter === undefined ? { delimitersToGuess: [',', ';', '\t', '|'] } : { delimiter }),
  });
  const quoteError = parsed.errors.find((error) => error.type === 'Quotes');
  if (quoteError !== undefined) {
    throw new DatasetError(
      'malformed',
      `Row ${describeRow(quoteError.row)} has a quoted field that is never closed: ` +
        'check that every opening " has a closing " (a literal quote inside a field is written "").',
    );
  }
  const [headerCells, ...dataCells] = parsed.data;
  if (headerCells === undefined) {
    throw new DatasetError('empty-file', 'The file is empty: choose a file with a header row and data rows.');
  }
  if (headerCells.length > maxColumns) {
    throw tooManyColumnsError(headerCells.length, maxColumns, 'columns in its header row');
  }
  const warnings: string[] = [];
  const columns = uniqueColumnNames(headerCells, warnings);
  if (dataCells.length === 0) {
    throw new DatasetError(
      'no-rows',
      `The file has a header row (columns: ${quoteList(columns)}) but no data rows: add at least one row below it.`,
    );
  }
  if (dataCells.length > maxRows) throw tooManyRowsError(maxRows);
  let tooMany = 0;
  let tooFew = 0;
  const rows = dataCells.map((cells, index) => {
    if (cells.length > columns.length) {
      tooMany++;
      if (tooMany <= MAX_WARNINGS_PER_KIND) {
        warnings.push(
          `Row ${index + 1} has ${cells.length} cells but the header has ${columns.length}: the extra cells are ignored.`,
        );
      }
    } else if (cells.length < columns.length) {
      tooFew++;
      if (tooFew <= MAX_WARNINGS_PER_KIND) {
        warnings.push(
          `Row ${index + 1} has ${cells.length} cells but the header has ${columns.length}: missing cells are empty.`,
        );
      }
    }
    const row = emptyRecord<string>();
    columns.forEach((column, columnIndex) => {
      row[column] = cells[columnIndex] ?? '';
    });
    return row;
  });
  addOverflowWarning(warnings, tooMany, 'more cells than the header');
  addOverflowWarning(warnings, tooFew, 'fewer cells than the header');
  return { columns, rows, warnings };
}

/** Papaparse counts the header as row 0, so its row index is the 1-based data row number. */
function describeRow(row: number | undefined): string {
  return row === undefined ? '(unknown)' : String(row);
}

function addOverflowWarning(warnings: string[], count: number, what: string): void {
  if (count > MAX_WARNINGS_PER_KIND) {
    warnings.push(`${count - MAX_WARNINGS_PER_KIND} more rows have ${what}.`);
  }
}

/**
 * Trims header names, names blank ones and makes duplicates unique, warning about each change (the first
 * {@link MAX_WARNINGS_PER_KIND} of each kind, then how many more).
 */
function uniqueColumnNames(headerCells: string[], warnings: string[]): string[] {
  const seen = new Set<string>();
  // The next suffix to try per repeated name: a header of one name repeated stays linear.
  const nextSuffix = new Map<string, number>();
  const kinds = { unnamed: 0, reserved: 0, repeated: 0 };
  const warn = (kind: keyof typeof kinds, message: string): void => {
    kinds[kind]++;
    if (kinds[kind] <= MAX_WARNINGS_PER_KIND) warnings.push(message);
  };
  const names = headerCells.map((cell, index) => {
    let name = cell.trim();
    if (name === '') {
      name = `column ${index + 1}`;
      warn('unnamed', `Column ${index + 1} has no name in the header row; it is called "${name}".`);
    }
    if (name === RESERVED_KEY) {
      name = renamedReserved(index);
      warn('reserved', `Column ${index + 1} cannot be called "${RESERVED_KEY}"; it is called "${name}".`);
    }
    if (seen.has(name)) {
      let suffix = nextSuffix.get(name) ?? 2;
      while (seen.has(`${name} (${suffix})`)) suffix++;
      nextSuffix.set(name, suffix + 1);
      const renamed = `${name} (${suffix})`;
      warn(
        'repeated',
        `Column name "${name}" appears more than once; column ${index + 1} is called "${renamed}".`,
      );
      name = renamed;
    }
    seen.add(name);
    return name;
  });
  const more = (count: number, one: string, many: string): void => {
    const left = count - MAX_WARNINGS_PER_KIND;
    if (left > 0) warnings.push(`${left} more ${left === 1 ? `column ${one}` : `columns ${many}`}.`);
  };
  more(
    kinds.unnamed,
    'has no name in the header row and is called "column N"',
    'have no name in the header row and are called "column N"',
  );
  more(
    kinds.reserved,
    `is called "${RESERVED_KEY}" and was renamed`,
    `are called "${RESERVED_KEY}" and were renamed`,
  );
  more(
    kinds.repeated,
    'repeats an earlier name and was given a number',
    'repeat an earlier name and were given a number',
  );
  return names;
}

function parseJsonLines(text: string, limits: Limits): Table {
  const { maxRows } = limits;
  const records: Record<string, unknown>[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const lineNumber = index + 1;
    if (records.length === maxRows) throw tooManyRowsError(maxRows);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const where = jsonErrorPosition(line, error);
      throw new DatasetError(
        'malformed',
        `Line ${lineNumber} is not valid JSON` +
          `${where === undefined ? '' : where.atEnd ? ' (it ends too early)' : ` (at column ${where.column})`}: ` +
          'JSONL needs one complete JSON object per line, e.g. {"text": "…", "label": "…"}.',
      );
    }
    if (!isPlainObject(value)) {
      throw new DatasetError(
        'malformed',
        `Line ${lineNumber} is ${describeJsonValue(value)}, not an object: JSONL needs one object per line, ` +
          'e.g. {"text": "…", "label": "…"}.',
      );
    }
    records.push(value);
  });
  return tableFromRecords(records, limits);
}

function parseJsonArray(text: string, limits: Limits): Table {
  const { maxRows } = limits;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const where = jsonErrorPosition(text, error);
    const place =
      where === undefined
        ? ''
        : where.atEnd
          ? ': it ends before the JSON is complete (a missing ], } or closing quote?)'
          : ` at line ${where.line}, column ${where.column} (look for a missing comma, quote or bracket there)`;
    throw new DatasetError(
      'malformed',
      `The file is not valid JSON${place}. Fix the syntax, or save the data as JSONL (one object per line).`,
    );
  }
  if (!Array.isArray(value)) {
    const holder = isPlainObject(value) ? value : {};
    const rowsKey = Object.keys(holder).find((key) => {
      const field = holder[key];
      return Array.isArray(field) && field.some(isPlainObject);
    });
    throw new DatasetError(
      'malformed',
      `The JSON file holds ${describeJsonValue(value)}: it must hold an array of objects, ` +
        'e.g. [{"text": "…", "label": "…"}]' +
        (rowsKey === undefined
          ? '.'
          : `. The rows seem to be in its field "${rowsKey}": save that array alone as the file.`),
    );
  }
  if (value.length > maxRows) throw tooManyRowsError(maxRows);
  const records = value.map((item: unknown, index) => {
    if (!isPlainObject(item)) {
      throw new DatasetError(
        'malformed',
        `Item ${index} of the JSON array is ${describeJsonValue(item)}: every item must be an object with one field per column.`,
      );
    }
    return item;
  });
  return tableFromRecords(records, limits);
}

/**
 * Columns are the union of keys, in order of first appearance; every record gets every column. Checked before
 * any row is built: a few thousand records that each bring one field of their own would otherwise make billions
 * of cells.
 */
function tableFromRecords(records: Record<string, unknown>[], { maxColumns, maxCells }: Limits): Table {
  if (records.length === 0) {
    throw new DatasetError(
      'no-rows',
      'The file holds no records: add at least one object with a text and a label.',
    );
  }
  const columnSet = new Set<string>();
  for (const record of records) {
    for (const key of Object.keys(record)) columnSet.add(key);
  }
  if (columnSet.size > maxColumns) {
    throw tooManyColumnsError(columnSet.size, maxColumns, 'distinct fields across its records');
  }
  if (records.length * columnSet.size > maxCells) {
    throw tooManyCellsError(records.length, columnSet.size, maxCells);
  }
  const keys = [...columnSet];
  const warnings: string[] = [];
  const columns = keys.map((key, index) => {
    if (key !== RESERVED_KEY) return key;
    const name = renamedReserved(index);
    warnings.push(`The field "${RESERVED_KEY}" cannot be a column name; it is called "${name}".`);
    return name;
  });
  const rows = records.map((record) => {
    const row = emptyRecord<string>();
    keys.forEach((key, index) => {
      row[columns[index] as string] = cellToString(Object.hasOwn(record, key) ? record[key] : undefined);
    });
    return row;
  });
  return { columns, rows, warnings };
}

/** Assigning this key on a plain object would set its prototype instead of a cell: such a column is renamed. */
const RESERVED_KEY = '__proto__';

function renamedReserved(index: number): string {
  return `${RESERVED_KEY} (column ${index + 1})`;
}

function cellToString(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * Where `JSON.parse` stopped, from its message: engines word it differently, but V8 says "at position N" (or
 * "Unexpected end"), SpiderMonkey "at line L column C". Undefined when the message says neither.
 */
function jsonErrorPosition(
  text: string,
  error: unknown,
): { line: number; column: number; atEnd: boolean } | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (/unexpected end/i.test(message)) return { line: 0, column: 0, atEnd: true };
  // Newer V8 adds "(line L column C)" after the position: the position alone tells the end of the text apart.
  const position = /position (\d+)/.exec(message);
  if (position) {
    const offset = Number(position[1]);
    if (offset >= text.trimEnd().length) return { line: 0, column: 0, atEnd: true };
    const before = text.slice(0, offset);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { line: before.split('\n').length, column: offset - lineStart + 1, atEnd: false };
  }
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (!lineColumn) return undefined;
  const line = Number(lineColumn[1]);
  const column = Number(lineColumn[2]);
  const lines = text.trimEnd().split('\n');
  const atEnd = line > lines.length || (line === lines.length && column > (lines[line - 1] ?? '').length);
  return { line, column, atEnd };
}
