/**
 * @file The README's bench section, generated from bench.json: a Markdown table of the goals (P1–P6) and the
 * tables of figures beside them, written between `<!-- bench:start -->` and `<!-- bench:end -->` in README.md.
 * Pure (strings in, strings out): unit-tested in tests/unit/bench.
 */
import type { GoalResult } from './stats.ts';

export const BENCH_START = '<!-- bench:start -->';
export const BENCH_END = '<!-- bench:end -->';

/** A table of figures shown under the goals (scaling, q8 vs fp32, load phases, worst long tasks). */
export interface FigureTable {
  title: string;
  header: string[];
  rows: string[][];
}

/** Escapes what would break a Markdown table cell (pipes, line breaks). */
export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A ratio as the table shows it: `0.93×`, or `—` when none was measured. */
export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '—';
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

function formatTarget(goal: GoalResult): string {
  return `${goal.direction === 'at-least' ? '≥' : '≤'} ${formatRatio(goal.target)}`;
}

function formatSpread(goal: GoalResult): string {
  if (goal.spread === null) return '—';
  return `${formatRatio(goal.spread.min)}–${formatRatio(goal.spread.max)} (n=${goal.spread.n})`;
}

/** A Markdown table: one header row, a separator, then the rows (every cell escaped). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** The goals table: id, what, ratio (median), range of the samples, target, pass/fail, note. */
export function goalsTable(goals: readonly GoalResult[]): string {
  return markdownTable(
    ['goal', 'what', 'ratio (median)', 'range', 'target', 'met', 'note'],
    goals.map((goal) => [
      goal.id,
      goal.title,
      formatRatio(goal.ratio),
      formatSpread(goal),
      formatTarget(goal),
      goal.ratio === null ? 'not measured' : goal.pass ? 'yes' : 'no',
      goal.note ?? '',
    ]),
  );
}

/** The whole generated block (without the markers): a provenance line, the goals, then each figure table. */
export function renderBenchSection(
  goals: readonly GoalResult[],
  tables: readonly FigureTable[],
  provenance: string,
): string {
  const parts = [provenance, goalsTable(goals)];
  for (const table of tables) parts.push(`**${table.title}**\n\n${markdownTable(table.header, table.rows)}`);
  return parts.join('\n\n');
}

/**
 * `readme` with the text between the bench markers replaced by `section`. Throws when the markers are missing,
 * repeated or out of order, so a README edited by hand never loses text silently.
 */
export function replaceBenchBlock(readme: string, section: string): string {
  const start = readme.indexOf(BENCH_START);
  const end = readme.indexOf(BENCH_END);
  if (start < 0 || end < 0) {
    throw new Error(`README.md has no ${BENCH_START} … ${BENCH_END} block for the bench table.`);
  }
  if (readme.indexOf(BENCH_START, start + 1) >= 0 || readme.indexOf(BENCH_END, end + 1) >= 0) {
    throw new Error('README.md has more than one bench block; keep exactly one.');
  }
  if (end < start) throw new Error(`README.md has ${BENCH_END} before ${BENCH_START}.`);
  return `${readme.slice(0, start + BENCH_START.length)}\n${section}\n${readme.slice(end)}`;
}
