import { describe, expect, it } from 'vitest';
import {
  BENCH_END,
  BENCH_START,
  cell,
  formatRatio,
  goalsTable,
  renderBenchSection,
  replaceBenchBlock,
} from '../../../scripts/bench/readme-table.ts';
import { evaluateGoal, unmeasuredGoal } from '../../../scripts/bench/stats.ts';

const met = evaluateGoal(
  { id: 'P1-node', title: 'encoder / bare', direction: 'at-least', target: 0.95 },
  [0.97, 0.99, 0.96],
);
const missed = evaluateGoal(
  { id: 'P2', title: '8 variations | one', direction: 'at-most', target: 1.1 },
  [1.5, 1.4, 1.6],
  { note: 'fixture' },
);
const absent = unmeasuredGoal(
  { id: 'P5', title: 'long tasks', direction: 'at-most', target: 1 },
  'no browser',
);

describe('README bench table', () => {
  it.each([
    { ratio: null, text: '—' },
    { ratio: 0.954, text: '0.95×' },
    { ratio: 12.34, text: '12.3×' },
  ])('formats ratio $ratio as $text', ({ ratio, text }) => {
    expect(formatRatio(ratio)).toBe(text);
  });

  it('escapes pipes and line breaks inside cells', () => {
    expect(cell('a|b\nc')).toBe('a\\|b c');
  });

  it('renders one row per goal with ratio, range, target and verdict', () => {
    const lines = goalsTable([met, missed, absent]).split('\n');
    expect(lines[0]).toBe('| goal | what | ratio (median) | range | target | met | note |');
    expect(lines[1]).toBe('|---|---|---|---|---|---|---|');
    expect(lines[2]).toBe('| P1-node | encoder / bare | 0.97× | 0.96×–0.99× (n=3) | ≥ 0.95× | yes |  |');
    expect(lines[3]).toBe(
      '| P2 | 8 variations \\| one | 1.50× | 1.40×–1.60× (n=3) | ≤ 1.10× | no | fixture |',
    );
    expect(lines[4]).toBe('| P5 | long tasks | — | — | ≤ 1.00× | not measured | no browser |');
  });

  it('adds the figure tables after the goals', () => {
    const section = renderBenchSection(
      [met],
      [{ title: 'Scaling', header: ['texts', 'ms'], rows: [['150', '12']] }],
      'Measured today.',
    );
    expect(section.startsWith('Measured today.\n\n| goal |')).toBe(true);
    expect(section.endsWith('**Scaling**\n\n| texts | ms |\n|---|---|\n| 150 | 12 |')).toBe(true);
  });
});

describe('replaceBenchBlock', () => {
  const readme = `# Title\n\n${BENCH_START}\nold table\n${BENCH_END}\n\nafter\n`;

  it('replaces only what lies between the markers', () => {
    expect(replaceBenchBlock(readme, 'new table')).toBe(
      `# Title\n\n${BENCH_START}\nnew table\n${BENCH_END}\n\nafter\n`,
    );
  });

  it('is idempotent: writing the same section twice gives the same file', () => {
    const once = replaceBenchBlock(readme, 'new');
    expect(replaceBenchBlock(once, 'new')).toBe(once);
  });

  it.each([
    { text: '# no markers', error: /no <!-- bench:start -->/ },
    { text: `${BENCH_START}\n${BENCH_END}\n${BENCH_START}\n${BENCH_END}`, error: /more than one/ },
    { text: `${BENCH_END}\n${BENCH_START}`, error: /before/ },
  ])('refuses a README whose markers are wrong ($error)', ({ text, error }) => {
    expect(() => replaceBenchBlock(text, 'x')).toThrow(error);
  });
});
