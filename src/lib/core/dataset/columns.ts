/**
 * @file Guesses which columns of an uploaded table hold the text and the label, so most files need no
 * mapping at all: first by name (text, sentence, review… / label, class, category…), then by content (the
 * text column has the longest cells, the label column the fewest distinct values).
 */
import type { ColumnMapping } from './build.ts';
import type { Table } from './parse.ts';

/** Column names that usually hold the text, best first (compared ignoring case, spaces, `_` and `-`). */
export const TEXT_COLUMN_NAMES: readonly string[] = [
  'text',
  'sentence',
  'content',
  'message',
  'body',
  'review',
  'comment',
  'tweet',
  'document',
  'email',
  'utterance',
  'query',
  'question',
  'input',
  'description',
  'subject',
  'title',
];

/** Column names that usually hold the label, best first. */
export const LABEL_COLUMN_NAMES: readonly string[] = [
  'label',
  'labels',
  'class',
  'category',
  'target',
  'sentiment',
  'intent',
  'topic',
  'tag',
  'y',
  'gold',
  'output',
  'type',
];

/** Rows looked at when judging cell lengths and distinct values. */
const SAMPLE_ROWS = 1000;

function normalise(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '');
}

/** The first column named like one of `names` (in `names` order), then the first containing one of them. */
function byName(columns: readonly string[], names: readonly string[], exclude: string): string | undefined {
  const candidates = columns.filter((column) => column !== exclude);
  for (const name of names) {
    const match = candidates.find((column) => normalise(column) === name);
    if (match !== undefined) return match;
  }
  for (const name of names) {
    // Short names such as "y" would match too much by containment.
    if (name.length < 4) continue;
    const match = candidates.find((column) => normalise(column).includes(name));
    if (match !== undefined) return match;
  }
  return undefined;
}

function sampleCells(table: Table, column: string): string[] {
  return table.rows.slice(0, SAMPLE_ROWS).map((row) => (row[column] ?? '').trim());
}

function meanLength(cells: readonly string[]): number {
  return cells.length === 0 ? 0 : cells.reduce((sum, cell) => sum + cell.length, 0) / cells.length;
}

function distinctNonEmpty(cells: readonly string[]): number {
  return new Set(cells.filter((cell) => cell !== '')).size;
}

/**
 * Guesses the text and label columns of a table. With a single column, `label` is '' (nothing to choose);
 * otherwise the two are always different columns of the table.
 */
export function guessColumns(table: Table): ColumnMapping {
  const { columns } = table;
  if (columns.length === 0) return { text: '', label: '' };
  if (columns.length === 1) return { text: columns[0] as string, label: '' };
  let label = byName(columns, LABEL_COLUMN_NAMES, '');
  let text = byName(columns, TEXT_COLUMN_NAMES, label ?? '');
  if (text === undefined) {
    const rest = columns.filter((column) => column !== label);
    text = maxBy(rest, (column) => meanLength(sampleCells(table, column)));
  }
  if (label === undefined) {
    const rest = columns.filter((column) => column !== text);
    // Fewest distinct values, but at least two: a constant column (an id prefix, a source) is no label.
    label = maxBy(rest, (column) => {
      const distinct = distinctNonEmpty(sampleCells(table, column));
      return distinct < 2 ? -Infinity : -distinct;
    });
  }
  return { text, label };
}

/** The first item with the largest score; `items` must not be empty. */
function maxBy(items: readonly string[], score: (item: string) => number): string {
  let best = items[0] as string;
  let bestScore = -Infinity;
  for (const item of items) {
    const value = score(item);
    if (value > bestScore) {
      best = item;
      bestScore = value;
    }
  }
  return best;
}
