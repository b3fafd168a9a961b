import { describe, expect, it } from 'vitest';
import { analyzeDataset, buildDataset, MAX_CLASSES } from '../../../../src/lib/core/dataset/build.ts';
import { parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import {
  CLASS_TABLE_ROWS,
  classTable,
  describeDroppedRows,
  describeMoreClasses,
} from '../../../../src/lib/core/dataset/report.ts';

describe('describeDroppedRows', () => {
  it('names the reason and the rows, singular and plural', () => {
    expect(describeDroppedRows({ reason: 'empty-text', count: 1, sampleRows: [3] })).toBe(
      '1 row dropped because the text is empty (row 3).',
    );
    expect(describeDroppedRows({ reason: 'missing-label', count: 2, sampleRows: [3, 8] })).toBe(
      '2 rows dropped because the label is empty (or only spaces or invisible characters) (rows 3 and 8).',
    );
    expect(describeDroppedRows({ reason: 'duplicate-text', count: 1204, sampleRows: [2, 4, 6, 8, 10] })).toBe(
      '1,204 rows dropped because the same text is in an earlier row, which is kept ' +
        '(rows 2, 4, 6, 8, 10 and 1,199 more).',
    );
  });

  it('describes what buildDataset reports for a real file', () => {
    const csv = 'text,label\nhi,a\n,a\nhi,b\nyo,\nbye,b\nok,a\nok2,b\n';
    const { report } = buildDataset(parseTable(csv, 'csv'), { text: 'text', label: 'label' }, 'x.csv');
    expect(report.dropped.map(describeDroppedRows)).toEqual([
      '1 row dropped because the text is empty (row 2).',
      '1 row dropped because the label is empty (or only spaces or invisible characters) (row 4).',
      '1 row dropped because the same text is in an earlier row, which is kept (row 3).',
    ]);
  });
});

describe('classTable', () => {
  const counts = (entries: [string, number][]): Record<string, number> => {
    const record: Record<string, number> = Object.create(null);
    for (const [label, count] of entries) record[label] = count;
    return record;
  };

  it.each([
    {
      name: 'lists every class in label order when they fit',
      counts: counts([
        ['b', 1],
        ['a', 5],
        ['c', 2],
      ]),
      maxRows: 3,
      rows: [
        ['a', 5],
        ['b', 1],
        ['c', 2],
      ],
      more: undefined,
    },
    {
      name: 'orders integer-like labels as text, as buildDataset does',
      counts: counts([
        ['10', 2],
        ['9', 2],
        ['x', 2],
      ]),
      maxRows: 3,
      rows: [
        ['10', 2],
        ['9', 2],
        ['x', 2],
      ],
      more: undefined,
    },
    {
      name: 'lists the largest first and counts the rest when they do not fit',
      counts: counts([
        ['a', 1],
        ['b', 7],
        ['c', 3],
        ['d', 3],
        ['e', 1],
        ['f', 2],
      ]),
      maxRows: 3,
      rows: [
        ['b', 7],
        ['c', 3],
        ['d', 3],
      ],
      more: { classes: 3, examples: 4, singletons: 2 },
    },
    {
      name: 'breaks ties in label order',
      counts: counts([
        ['z', 1],
        ['m', 1],
        ['a', 1],
        ['k', 1],
      ]),
      maxRows: 2,
      rows: [
        ['a', 1],
        ['k', 1],
      ],
      more: { classes: 2, examples: 2, singletons: 2 },
    },
    {
      name: 'has no rows for no classes',
      counts: counts([]),
      maxRows: 3,
      rows: [],
      more: undefined,
    },
  ])('$name', ({ counts: classCounts, maxRows, rows, more }) => {
    const table = classTable(classCounts, maxRows);
    expect(table.rows.map((row) => [row.label, row.count])).toEqual(rows);
    expect(table.classes).toBe(Object.keys(classCounts).length);
    expect(table.more).toEqual(more);
  });

  it('lists at most 50 of the 50,000 classes of a label column with a distinct value per row', () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => `text ${i},id-${i}`);
    const { report, errors } = analyzeDataset(
      parseTable(`text,label\n${rows.join('\n')}\n`, 'csv'),
      { text: 'text', label: 'label' },
      'ids.csv',
    );
    expect(errors.map((error) => error.code)).toContain('too-many-classes');
    const table = classTable(report.classCounts);
    expect(table.rows).toHaveLength(CLASS_TABLE_ROWS);
    expect(table.rows.slice(0, 3).map((row) => row.label)).toEqual(['id-0', 'id-1', 'id-10']);
    expect(table.more).toEqual({ classes: 49_950, examples: 49_950, singletons: 49_950 });
    expect(describeMoreClasses(table.more ?? { classes: 0, examples: 0, singletons: 0 })).toBe(
      '49,950 more classes, one example each, not listed.',
    );
  });

  it('lists every class of a usable dataset', () => {
    expect(CLASS_TABLE_ROWS).toBe(MAX_CLASSES);
  });
});

describe('describeMoreClasses', () => {
  it.each([
    [{ classes: 1, examples: 1, singletons: 1 }, '1 more class with 1 example, not listed.'],
    [{ classes: 1, examples: 4, singletons: 0 }, '1 more class with 4 examples, not listed.'],
    [{ classes: 3, examples: 3, singletons: 3 }, '3 more classes, one example each, not listed.'],
    [{ classes: 12, examples: 40, singletons: 0 }, '12 more classes with 40 examples, not listed.'],
    [
      { classes: 1204, examples: 2500, singletons: 3 },
      '1,204 more classes with 2,500 examples (3 of them with a single example), not listed.',
    ],
  ])('%o', (more, sentence) => {
    expect(describeMoreClasses(more)).toBe(sentence);
  });
});

describe('classTable over the limit', () => {
  /** Deterministic pseudo-random class sizes (a linear congruential generator). */
  function randomCounts(classes: number, seed: number): Record<string, number> {
    const record: Record<string, number> = Object.create(null);
    let state = seed;
    for (let i = 0; i < classes; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      record[`c${state % 997}-${i}`] = 1 + (state % 9);
    }
    return record;
  }

  it.each([1, 2, 7, 50])('keeps the same rows as a full sort (%i rows)', (maxRows) => {
    for (const seed of [1, 2, 3]) {
      const counts = randomCounts(400, seed);
      const sorted = Object.entries(counts)
        .map(([label, count]) => ({ label, count }))
        .sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
      const table = classTable(counts, maxRows);
      expect(table.rows).toEqual(sorted.slice(0, maxRows));
      const left = sorted.slice(maxRows);
      expect(table.more).toEqual({
        classes: left.length,
        examples: left.reduce((sum, row) => sum + row.count, 0),
        singletons: left.filter((row) => row.count === 1).length,
      });
    }
  });
});
