/**
 * @file The datasets an experiment can name without reading a file: a built-in one, or rows carried inline
 * (an upload). Both become a table exactly as if read from a file, so validation, example ids and the split
 * are the same whatever the source, in the browser and in the CLI.
 */
import type { DatasetRef, InlineDatasetRef } from '../experiment/types.ts';
import { buildDataset, type ColumnMapping, type DatasetLimits, type DatasetReport } from './build.ts';
import { getBuiltinDataset } from './builtin/registry.ts';
import type { Table } from './parse.ts';
import type { Dataset } from './types.ts';
import { emptyRecord } from '../records.ts';

/** A dataset reference that needs no file: built-in or inline. */
export type InMemoryDatasetRef = Exclude<DatasetRef, { path: string }>;

/** True for `{ name, rows, text, label }`. */
export function isInlineDatasetRef(ref: DatasetRef): ref is InlineDatasetRef {
  return 'rows' in ref;
}

/** True for `{ path, text, label }`: the data is in a file next to the experiment. */
export function isFileDatasetRef(ref: DatasetRef): ref is Extract<DatasetRef, { path: string }> {
  return 'path' in ref;
}

/** The table, column mapping and display name of an in-memory dataset. */
export interface DatasetSource {
  name: string;
  table: Table;
  columns: ColumnMapping;
}

/**
 * The table behind a built-in or inline dataset reference.
 * @throws DatasetError for an unknown built-in id.
 */
export function datasetSource(ref: InMemoryDatasetRef): DatasetSource {
  if (isInlineDatasetRef(ref)) {
    const columns = ref.text === ref.label ? [ref.text] : [ref.text, ref.label];
    const rows = ref.rows.map((row) => {
      const cells = emptyRecord<string>();
      for (const column of columns) cells[column] = typeof row[column] === 'string' ? row[column] : '';
      return cells;
    });
    return {
      name: ref.name,
      table: { columns, rows, warnings: [] },
      columns: { text: ref.text, label: ref.label },
    };
  }
  const builtin = getBuiltinDataset(ref.builtin);
  return {
    name: builtin.title,
    table: builtin.table(),
    columns: { text: ref.text ?? builtin.textColumn, label: ref.label ?? builtin.labelColumn },
  };
}

/**
 * Builds the dataset of a built-in or inline reference.
 * @throws DatasetError when it is not usable labeled data (see `buildDataset`).
 */
export function buildDatasetFromRef(
  ref: InMemoryDatasetRef,
  limits?: DatasetLimits,
): { dataset: Dataset; report: DatasetReport } {
  const { name, table, columns } = datasetSource(ref);
  return buildDataset(table, columns, name, limits);
}

/**
 * The inline reference for data read from a file: every data row in file order (so ids stay row numbers), each
 * holding only the two mapped columns, which keeps an exported experiment small.
 */
export function inlineDatasetRef(name: string, table: Table, columns: ColumnMapping): InlineDatasetRef {
  const rows = table.rows.map((row) => {
    const cells: Record<string, string> = { [columns.text]: row[columns.text] ?? '' };
    cells[columns.label] = row[columns.label] ?? '';
    return cells;
  });
  return { name, rows, text: columns.text, label: columns.label };
}
