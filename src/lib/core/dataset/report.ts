/**
 * @file Sentences for a dataset's validation report, shared by every view of it, so the app says the same
 * thing about the same rows wherever they are shown.
 */
import type { DroppedRows, DropReason } from './build.ts';
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
