/**
 * @file Turns a parsed table into a labeled dataset, with a validation report a user can act on: which rows
 * were dropped and why, how the classes are balanced, and what stops the data from being usable.
 */
import { DatasetError, quoteList, type DatasetErrorCode } from '../errors.ts';
import type { Table } from './parse.ts';
import type { Dataset, LabeledExample } from './types.ts';
import { emptyRecord } from '../records.ts';
import { formatCount } from './limits.ts';

/** More classes than this make confusion matrices unreadable and few-shot runs meaningless. */
export const MAX_CLASSES = 50;
/** Above this, embedding every text in a browser tab takes too long to be a useful lab. */
export const MAX_EXAMPLES = 50_000;
/** A class this many times larger than the smallest one triggers an imbalance warning. */
export const IMBALANCE_RATIO = 3;

export interface DatasetLimits {
  maxClasses: number;
  maxExamples: number;
}

export const DEFAULT_DATASET_LIMITS: DatasetLimits = { maxClasses: MAX_CLASSES, maxExamples: MAX_EXAMPLES };

/** Which table columns hold the text and the label. */
export interface ColumnMapping {
  text: string;
  label: string;
}

export type DropReason = 'empty-text' | 'missing-label' | 'duplicate-text';

export interface DroppedRows {
  reason: DropReason;
  count: number;
  /** The first few 1-based data row numbers dropped for this reason, to help find them in the file. */
  sampleRows: number[];
}

export interface DatasetReport {
  /** Data rows in the table. */
  rowsRead: number;
  /** Rows kept as examples. */
  examples: number;
  /** Only reasons that dropped at least one row, in a fixed order: empty text, missing label, duplicate text. */
  dropped: DroppedRows[];
  /** Examples per label, labels in sorted order. */
  classCounts: Record<string, number>;
  warnings: string[];
}

export interface DatasetAnalysis {
  /** Present only when there are no errors. */
  dataset?: Dataset;
  report: DatasetReport;
  errors: DatasetError[];
}

const SAMPLE_ROWS = 5;
/** Labels with invisible characters named one by one in the warnings; more are counted. */
const MAX_INVISIBLE_LABEL_WARNINGS = 5;

/**
 * Characters that show nothing on screen: format characters (zero-width space, non-joiner, word joiner, byte
 * order mark, soft hyphen, bidirectional marks…) and the Hangul fillers. A zero-width joiner inside an emoji
 * sequence is visible work, so it is left alone when it joins two pictographs.
 */
const INVISIBLE = /[\p{Cf}\u034f\u115f\u1160\u3164\uffa0]/gu;
/** An emoji joiner (captured, kept) or any other invisible character (named). */
const INVISIBLE_OR_EMOJI_JOINER =
  /((?<=\p{Extended_Pictographic}[\p{M}\p{Emoji_Modifier}]*)\u200d(?=\p{Extended_Pictographic}))|[\p{Cf}\u034f\u115f\u1160\u3164\uffa0]/gu;

/** A trimmed label of printable ASCII only: neither blank nor holding invisible characters. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** `label` with each invisible character written as `<U+XXXX>`, so a report can show what the eye cannot. */
export function showInvisible(label: string): string {
  return label.replace(
    INVISIBLE_OR_EMOJI_JOINER,
    (char: string, joiner: string | undefined) =>
      joiner ?? `<U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

/** True when `label` has characters that show nothing, i.e. when {@link showInvisible} changes it. */
function hasInvisible(label: string): boolean {
  return showInvisible(label) !== label;
}

/** True when nothing of `label` would show: only whitespace and invisible characters. */
function isBlank(label: string): boolean {
  return label.replace(INVISIBLE, '').trim() === '';
}

/**
 * Example ids are the 1-based data row number (header and blank lines not counted), so the same file gives
 * the same ids in the browser and the CLI, and an id points a user back to the row.
 */
export function exampleIdForRow(rowNumber: number): string {
  return `r${rowNumber}`;
}

/**
 * The columns of a table a check reads, as one array of cells per column in row order. The page holds a file
 * read in the data worker this way: a structured clone of 50,000 row objects cost it 43 ms, two arrays of
 * strings 5 ms.
 */
export interface TableColumns {
  /** Every column of the file, in file order: the mapping is checked against these. */
  columns: readonly string[];
  /** Data rows in the file. */
  rowCount: number;
  /** Problems that did not stop reading the file; the report repeats them. */
  warnings: readonly string[];
  /** Cells of the columns at hand (not necessarily all), `rowCount` per column; a missing cell is ''. */
  cells: ReadonlyMap<string, readonly string[]>;
}

/** The cells of `wanted` columns of `table` (names it does not have are left out). */
export function tableColumns(table: Table, wanted: readonly string[]): TableColumns {
  const cells = new Map<string, string[]>();
  for (const column of wanted) {
    if (!cells.has(column) && table.columns.includes(column)) {
      cells.set(
        column,
        table.rows.map((row) => row[column] ?? ''),
      );
    }
  }
  return { columns: table.columns, rowCount: table.rows.length, warnings: table.warnings, cells };
}

/**
 * Validates a table as labeled data without throwing: returns the report, every error found, and the dataset
 * when there are no errors. Texts and labels are trimmed; a duplicate text keeps its first row.
 */
export function analyzeDataset(
  table: Table,
  columns: ColumnMapping,
  name: string,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): DatasetAnalysis {
  return analyzeColumns(tableColumns(table, [columns.text, columns.label]), columns, name, limits);
}

/**
 * {@link analyzeDataset} on a table's columns.
 * @throws Error when a mapped column is one of the file's but its cells are not at hand (a caller's mistake:
 *   read them first).
 */
export function analyzeColumns(
  table: TableColumns,
  columns: ColumnMapping,
  name: string,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): DatasetAnalysis {
  return analyzeInto(table, columns, name, limits, []);
}

/**
 * A check of a table's columns as the data worker posts it to the page: the report, the errors as code and
 * message, and, when the data is usable, the rows kept as examples (0-based, in order) and the labels. The page
 * turns it back into the analysis with {@link analysisOfPosted}, which costs it a fraction of the check itself.
 */
export interface PostedCheck {
  report: DatasetReport;
  errors: { code: DatasetErrorCode; message: string }[];
  kept?: { rows: Int32Array; labels: string[] };
}

/** {@link analyzeColumns}, in the form the data worker posts (see {@link PostedCheck}). */
export function postedCheck(
  table: TableColumns,
  columns: ColumnMapping,
  name: string,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): PostedCheck {
  const keptRows: number[] = [];
  const analysis = analyzeInto(table, columns, name, limits, keptRows);
  const errors = analysis.errors.map(({ code, message }) => ({ code, message }));
  if (analysis.dataset === undefined) return { report: analysis.report, errors };
  return {
    report: analysis.report,
    errors,
    kept: { rows: Int32Array.from(keptRows), labels: analysis.dataset.labels },
  };
}

/**
 * The analysis a {@link PostedCheck} of `table`'s `columns` describes: exactly what {@link analyzeColumns} gives,
 * the examples rebuilt from the kept rows' cells.
 * @throws Error when the mapped columns' cells are not at hand.
 */
export function analysisOfPosted(
  check: PostedCheck,
  table: TableColumns,
  columns: ColumnMapping,
  name: string,
): DatasetAnalysis {
  const errors = check.errors.map(({ code, message }) => new DatasetError(code, message));
  // A posted record arrives with a prototype: counts go back into one without, so a label such as
  // "constructor" stays an ordinary key.
  const classCounts = emptyRecord<number>();
  for (const [label, count] of Object.entries(check.report.classCounts)) classCounts[label] = count;
  const report = { ...check.report, classCounts };
  if (check.kept === undefined) return { report, errors };
  const texts = table.cells.get(columns.text);
  const labelCells = table.cells.get(columns.label);
  if (texts === undefined || labelCells === undefined) {
    throw new Error(
      `The cells of columns "${columns.text}" and "${columns.label}" are needed for the examples.`,
    );
  }
  const { rows, labels } = check.kept;
  const examples = new Array<LabeledExample>(rows.length);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as number;
    examples[index] = {
      id: exampleIdForRow(row + 1),
      text: (texts[row] ?? '').trim(),
      label: (labelCells[row] ?? '').trim(),
    };
  }
  return { dataset: { name, labels, examples }, report, errors };
}

/** The check; each row kept as an example has its index pushed onto `keptRows`. */
function analyzeInto(
  table: TableColumns,
  columns: ColumnMapping,
  name: string,
  limits: DatasetLimits,
  keptRows: number[],
): DatasetAnalysis {
  const report: DatasetReport = {
    rowsRead: table.rowCount,
    examples: 0,
    dropped: [],
    classCounts: emptyRecord<number>(),
    warnings: [...table.warnings],
  };
  if (table.columns.length === 1) {
    const message =
      `The file has only one column (${quoteList(table.columns)}): labeled data needs a text column and a ` +
      'label column, e.g. a header row "text,label". Add the labels as a second column.';
    return { report, errors: [new DatasetError('missing-column', message)] };
  }
  const missing = (['text', 'label'] as const).filter((role) => !table.columns.includes(columns[role]));
  if (missing.length > 0) {
    const errors = missing.map(
      (role) =>
        new DatasetError(
          'missing-column',
          columns[role] === ''
            ? `Choose the ${role} column: one of ${quoteList(table.columns)}.`
            : `The ${role} column "${columns[role]}" is not in the file: choose one of ${quoteList(table.columns)}.`,
        ),
    );
    return { report, errors };
  }
  const texts = table.cells.get(columns.text);
  const labelCells = table.cells.get(columns.label);
  if (texts === undefined || labelCells === undefined) {
    const absent = texts === undefined ? columns.text : columns.label;
    throw new Error(
      `The cells of column "${absent}" are not at hand: read them before checking the columns.`,
    );
  }
  if (columns.text === columns.label) {
    report.warnings.push(
      `The text and label columns are both "${columns.text}": every text is its own label.`,
    );
  }

  const dropped = new Map<DropReason, DroppedRows>();
  const drop = (reason: DropReason, rowNumber: number): void => {
    const entry = dropped.get(reason) ?? { reason, count: 0, sampleRows: [] };
    entry.count++;
    if (entry.sampleRows.length < SAMPLE_ROWS) entry.sampleRows.push(rowNumber);
    dropped.set(reason, entry);
  };

  const examples: LabeledExample[] = [];
  const firstLabelOfText = new Map<string, string>();
  let conflictingDuplicates = 0;
  // Per label: how many rows use it and the first few, kept in place (a copy per row was quadratic: 3.2 s for
  // 50,000 rows whose label held an invisible character).
  const invisibleLabelRows = new Map<string, { count: number; sampleRows: number[] }>();
  // Two Unicode regular expressions per row were a third of the time on a 50,000-row file with three labels:
  // printable ASCII needs neither, and any other label is checked once however often it repeats.
  const labelKinds = new Map<string, 'blank' | 'invisible' | 'plain'>();
  const kindOf = (label: string): 'blank' | 'invisible' | 'plain' => {
    if (PRINTABLE_ASCII.test(label)) return 'plain';
    let kind = labelKinds.get(label);
    if (kind === undefined) {
      kind = isBlank(label) ? 'blank' : hasInvisible(label) ? 'invisible' : 'plain';
      labelKinds.set(label, kind);
    }
    return kind;
  };
  for (let index = 0; index < table.rowCount; index++) {
    const rowNumber = index + 1;
    const text = (texts[index] ?? '').trim();
    const label = (labelCells[index] ?? '').trim();
    if (text === '') {
      drop('empty-text', rowNumber);
      continue;
    }
    const kind = kindOf(label);
    if (kind === 'blank') {
      drop('missing-label', rowNumber);
      continue;
    }
    if (kind === 'invisible') {
      const entry = invisibleLabelRows.get(label) ?? { count: 0, sampleRows: [] };
      entry.count++;
      if (entry.sampleRows.length < SAMPLE_ROWS) entry.sampleRows.push(rowNumber);
      invisibleLabelRows.set(label, entry);
    }
    const earlierLabel = firstLabelOfText.get(text);
    if (earlierLabel !== undefined) {
      if (earlierLabel !== label) conflictingDuplicates++;
      drop('duplicate-text', rowNumber);
      continue;
    }
    firstLabelOfText.set(text, label);
    examples.push({ id: exampleIdForRow(rowNumber), text, label });
    keptRows.push(index);
  }

  const order: DropReason[] = ['empty-text', 'missing-label', 'duplicate-text'];
  report.dropped = order.flatMap((reason) => dropped.get(reason) ?? []);
  report.examples = examples.length;
  if (conflictingDuplicates > 0) {
    report.warnings.push(
      `${conflictingDuplicates} duplicate texts had a different label than their first occurrence; the first label was kept.`,
    );
  }

  addInvisibleLabelWarnings(invisibleLabelRows, report.warnings);

  const counts = new Map<string, number>();
  for (const example of examples) counts.set(example.label, (counts.get(example.label) ?? 0) + 1);
  // Plain code-unit order: deterministic across browsers and Node, unlike locale-aware collation.
  const labels = [...counts.keys()].sort();
  for (const label of labels) report.classCounts[label] = counts.get(label) ?? 0;

  const errors = classErrors(examples.length, labels, counts, columns, limits);
  if (errors.length === 0) addImbalanceWarning(labels, counts, report.warnings);
  if (errors.length > 0) return { report, errors };
  return { dataset: { name, labels, examples }, report, errors };
}

function classErrors(
  exampleCount: number,
  labels: string[],
  counts: Map<string, number>,
  columns: ColumnMapping,
  limits: DatasetLimits,
): DatasetError[] {
  if (exampleCount === 0) {
    return [
      new DatasetError(
        'no-usable-rows',
        `No row has both a text (column "${columns.text}") and a label (column "${columns.label}"): ` +
          'check the column choice and that the cells are filled.',
      ),
    ];
  }
  const errors: DatasetError[] = [];
  if (exampleCount > limits.maxExamples) {
    errors.push(
      new DatasetError(
        'too-many-examples',
        `The dataset has ${formatCount(exampleCount)} usable rows; at most ${formatCount(limits.maxExamples)} are ` +
          'supported: use a sample.',
      ),
    );
  }
  if (labels.length === 1) {
    errors.push(
      new DatasetError(
        'single-class',
        `Every row has the label "${labels[0]}": a classifier needs at least two classes. ` +
          `Check that "${columns.label}" is the label column.`,
      ),
    );
  }
  if (labels.length > limits.maxClasses) {
    errors.push(
      new DatasetError(
        'too-many-classes',
        `The label column "${columns.label}" has ${formatCount(labels.length)} distinct values; at most ${limits.maxClasses} ` +
          'classes are supported: check that it is the label column, or merge rare classes.',
      ),
    );
  } else if (labels.length > 1) {
    const singletons = labels.filter((label) => counts.get(label) === 1);
    if (singletons.length > 0) {
      errors.push(
        new DatasetError(
          'class-too-small',
          `${singletons.length === 1 ? 'Class' : 'Classes'} ${quoteList(singletons)} ` +
            `${singletons.length === 1 ? 'has' : 'have'} a single example and cannot be split into train and test: ` +
            'add examples or remove those rows.',
        ),
      );
    }
  }
  return errors;
}

/** One warning per label holding invisible characters, shown as `<U+XXXX>`, with the rows that use it. */
function addInvisibleLabelWarnings(
  rowsByLabel: Map<string, { count: number; sampleRows: number[] }>,
  warnings: string[],
): void {
  const labels = [...rowsByLabel.keys()];
  for (const label of labels.slice(0, MAX_INVISIBLE_LABEL_WARNINGS)) {
    const { count, sampleRows } = rowsByLabel.get(label) ?? { count: 0, sampleRows: [] };
    const listed =
      count > SAMPLE_ROWS
        ? `${formatCount(count)} rows: ${sampleRows.join(', ')}, …`
        : `${count === 1 ? 'row' : 'rows'} ${sampleRows.join(', ')}`;
    warnings.push(
      `The label "${showInvisible(label)}" (${listed}) holds invisible ` +
        `characters, shown here as <U+…>: it is a different class from "${label.replace(INVISIBLE, '')}" typed ` +
        'without them. Remove them from the file unless they are meant.',
    );
  }
  if (labels.length > MAX_INVISIBLE_LABEL_WARNINGS) {
    warnings.push(`${labels.length - MAX_INVISIBLE_LABEL_WARNINGS} more labels hold invisible characters.`);
  }
}

function addImbalanceWarning(labels: string[], counts: Map<string, number>, warnings: string[]): void {
  let largest = labels[0] ?? '';
  let smallest = largest;
  for (const label of labels) {
    if ((counts.get(label) ?? 0) > (counts.get(largest) ?? 0)) largest = label;
    if ((counts.get(label) ?? 0) < (counts.get(smallest) ?? 0)) smallest = label;
  }
  const largestCount = counts.get(largest) ?? 0;
  const smallestCount = counts.get(smallest) ?? 0;
  if (smallestCount > 0 && largestCount / smallestCount > IMBALANCE_RATIO) {
    warnings.push(
      `The classes are imbalanced: "${largest}" has ${largestCount} examples, "${smallest}" only ${smallestCount}. ` +
        'Accuracy can look good by favouring the large class: compare macro-F1 too.',
    );
  }
}

/**
 * Builds a dataset from a table and reports what was dropped.
 * @throws DatasetError (the first one found; all of them are in the message) when the data is not usable.
 */
export function buildDataset(
  table: Table,
  columns: ColumnMapping,
  name: string,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): { dataset: Dataset; report: DatasetReport } {
  return buildDatasetFromColumns(tableColumns(table, [columns.text, columns.label]), columns, name, limits);
}

/** {@link buildDataset} on a table's columns (see {@link analyzeColumns}). */
export function buildDatasetFromColumns(
  table: TableColumns,
  columns: ColumnMapping,
  name: string,
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): { dataset: Dataset; report: DatasetReport } {
  const { dataset, report, errors } = analyzeColumns(table, columns, name, limits);
  const [first] = errors;
  if (first !== undefined) {
    if (errors.length === 1) throw first;
    throw new DatasetError(first.code, errors.map((error) => error.message).join('\n'));
  }
  if (dataset === undefined) throw new Error('analyzeColumns returned neither a dataset nor errors');
  return { dataset, report };
}
