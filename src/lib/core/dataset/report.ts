/**
 * @file Sentences for a dataset's validation report, shared by every view of it, so the app says the same
 * thing about the same rows wherever they are shown.
 */
import { MAX_CLASSES, type DroppedRows, type DropReason } from './build.ts';
import { formatCount } from './limits.ts';

const REASONS: Record<DropReason, string> = {
  'empty-text': 'the text is empty',
  'missing-label': 'the label is empty (or only spaces or invisible characters)',
  'duplicate-text': 'the same text is in an earlier row, which is kept',
};

/**
 * One line per drop reason, e.g. `2 rows dropped because the text is empty (rows 3 and 8).`, naming up to the
 * sampled row numbers (1-based data rows, header not counted) and how many more there are.
 */
export function describeDroppedRows(dropped: DroppedRows): string {
  const { count, sampleRows } = dropped;
  const rows = sampleRows.map(String);
  const more = count - sampleRows.length;
  const listed =
    more > 0
      ? `${rows.join(', ')} and ${formatCount(more)} more`
      : rows.length > 1
        ? `${rows.slice(0, -1).join(', ')} and ${rows[rows.length - 1] ?? ''}`
        : (rows[0] ?? '');
  const rowsWord = (n: number): string => (n === 1 ? 'row' : 'rows');
  return (
    `${formatCount(count)} ${rowsWord(count)} dropped because ${REASONS[dropped.reason]} ` +
    `(${rowsWord(count)} ${listed}).`
  );
}

/** The most classes a report's class table lists: every class of a usable dataset fits. */
export const CLASS_TABLE_ROWS = MAX_CLASSES;

/** One row of a report's class table. */
export interface ClassRow {
  label: string;
  count: number;
}

/** A report's class table: the classes listed and what is left out. */
export interface ClassTable {
  /**
   * Every class in label order when there are at most `maxRows`; otherwise the `maxRows` largest, largest first
   * (equal counts in label order).
   */
  rows: ClassRow[];
  /** Every class there is. */
  classes: number;
  /** What the rows leave out; undefined when every class is listed. */
  more?: { classes: number; examples: number; singletons: number };
}

/**
 * The class table of a report's `classCounts`. A label column with a distinct value per row (the
 * wrong column chosen, or an id) has as many classes as rows: listing 50,000 of them froze the page for seconds,
 * and the dataset is refused anyway for having over {@link MAX_CLASSES} classes. So at most `maxRows` are listed,
 * the largest first, and the rest are counted.
 */
export function classTable(
  classCounts: Readonly<Record<string, number>>,
  maxRows: number = CLASS_TABLE_ROWS,
): ClassTable {
  const entries = Object.entries(classCounts);
  // Sorted here: an object lists integer-like keys ("2", "10") before the others, whatever order they came in.
  if (entries.length <= maxRows) {
    return {
      rows: entries.map(([label, count]) => ({ label, count })).sort(byLabel),
      classes: entries.length,
    };
  }
  // The largest `maxRows` in one pass (sorting 50,000 labels took 70 ms of the page's time): most classes are
  // not larger than the smallest kept one and cost one comparison.
  const rows: ClassRow[] = [];
  let examples = 0;
  let singletons = 0;
  for (const [label, count] of entries) {
    examples += count;
    if (count === 1) singletons++;
    const row = { label, count };
    const last = rows[maxRows - 1];
    if (last !== undefined && !largerFirst(row, last)) continue;
    let at = rows.length;
    while (at > 0 && largerFirst(row, rows[at - 1] as ClassRow)) at--;
    rows.splice(at, 0, row);
    if (rows.length > maxRows) rows.pop();
  }
  const listed = rows.reduce((sum, row) => sum + row.count, 0);
  const listedSingletons = rows.filter((row) => row.count === 1).length;
  return {
    rows,
    classes: entries.length,
    more: {
      classes: entries.length - rows.length,
      examples: examples - listed,
      singletons: singletons - listedSingletons,
    },
  };
}

/** True when `a` comes before `b` in a table of the largest classes: larger, or as large and first by label. */
function largerFirst(a: ClassRow, b: ClassRow): boolean {
  return a.count > b.count || (a.count === b.count && byLabel(a, b) < 0);
}

/** Plain code-unit order, as `buildDataset` orders labels (the same in every browser and in Node). */
function byLabel(a: ClassRow, b: ClassRow): number {
  return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
}

/**
 * The sentence under a class table that leaves classes out, e.g. `49,950 more classes, one example each, not
 * listed.` or `12 more classes with 40 examples (3 of them with a single example), not listed.`
 */
export function describeMoreClasses(more: NonNullable<ClassTable['more']>): string {
  const classes = `${formatCount(more.classes)} more ${more.classes === 1 ? 'class' : 'classes'}`;
  if (more.classes > 1 && more.singletons === more.classes)
    return `${classes}, one example each, not listed.`;
  const examples = `${formatCount(more.examples)} ${more.examples === 1 ? 'example' : 'examples'}`;
  const singles =
    more.singletons > 0 && more.classes > 1
      ? ` (${formatCount(more.singletons)} of them with a single example)`
      : '';
  return `${classes} with ${examples}${singles}, not listed.`;
}
