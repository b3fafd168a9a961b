import { describe, expect, it } from 'vitest';
import {
  analysisOfPosted,
  analyzeColumns,
  analyzeDataset,
  buildDataset,
  MAX_CLASSES,
  postedCheck,
  showInvisible,
  tableColumns,
} from '../../../../src/lib/core/dataset/build.ts';
import { parseTable, type Table } from '../../../../src/lib/core/dataset/parse.ts';
import { DatasetError } from '../../../../src/lib/core/errors.ts';

const columns = { text: 'text', label: 'label' };

function table(rows: [string, string][]): Table {
  return { columns: ['text', 'label'], rows: rows.map(([text, label]) => ({ text, label })), warnings: [] };
}

function buildError(
  t: Table,
  mapping = columns,
  limits?: { maxClasses: number; maxExamples: number },
): DatasetError {
  try {
    buildDataset(t, mapping, 'test', limits);
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

describe('buildDataset', () => {
  it('builds examples with row-number ids, trimmed cells and sorted labels', () => {
    const { dataset, report } = buildDataset(
      table([
        [' rain again ', 'weather '],
        ['goal!', 'sports'],
        ['sunny', 'weather'],
        ['match day', 'sports'],
      ]),
      columns,
      'mini.csv',
    );
    expect(dataset.name).toBe('mini.csv');
    expect(dataset.labels).toEqual(['sports', 'weather']);
    expect(dataset.examples).toEqual([
      { id: 'r1', text: 'rain again', label: 'weather' },
      { id: 'r2', text: 'goal!', label: 'sports' },
      { id: 'r3', text: 'sunny', label: 'weather' },
      { id: 'r4', text: 'match day', label: 'sports' },
    ]);
    expect(report).toEqual({
      rowsRead: 4,
      examples: 4,
      dropped: [],
      classCounts: { sports: 2, weather: 2 },
      warnings: [],
    });
  });

  it('drops empty texts, missing labels and duplicate texts (keeping the first), counting each reason', () => {
    const { dataset, report } = buildDataset(
      table([
        ['a', 'x'],
        ['  ', 'x'],
        ['b', ''],
        ['a', 'y'],
        ['c', 'y'],
        ['a', 'x'],
        ['d', 'y'],
        ['e', 'x'],
      ]),
      columns,
      'd',
    );
    expect(dataset.examples.map((example) => example.id)).toEqual(['r1', 'r5', 'r7', 'r8']);
    expect(report.rowsRead).toBe(8);
    expect(report.examples).toBe(4);
    expect(report.dropped).toEqual([
      { reason: 'empty-text', count: 1, sampleRows: [2] },
      { reason: 'missing-label', count: 1, sampleRows: [3] },
      { reason: 'duplicate-text', count: 2, sampleRows: [4, 6] },
    ]);
    expect(report.classCounts).toEqual({ x: 2, y: 2 });
    expect(report.warnings.join(' ')).toMatch(/1 duplicate texts had a different label/);
  });

  it.each([
    ['empty', ''],
    ['spaces and a tab', ' \t '],
    ['a no-break space', '\u00a0'],
    ['a zero-width space', '\u200b'],
    ['a byte order mark and a word joiner', '\ufeff\u2060'],
    ['a zero-width joiner between spaces', ' \u200d '],
  ])('drops a row whose label is %s, reporting it as a missing label', (_, blank) => {
    const { report } = analyzeDataset(
      table([
        ['a', 'x'],
        ['b', blank],
        ['c', 'y'],
      ]),
      columns,
      'd',
    );
    expect(report.dropped).toEqual([{ reason: 'missing-label', count: 1, sampleRows: [2] }]);
    expect(report.classCounts).toEqual({ x: 1, y: 1 });
  });

  it('warns about a label holding invisible characters, showing them and the rows that use it', () => {
    const { report } = analyzeDataset(
      table([
        ['a', 'cat'],
        ['b', 'cat\u200b'],
        ['c', 'dog'],
        ['d', 'cat\u200b'],
      ]),
      columns,
      'd',
    );
    expect(Object.keys(report.classCounts)).toEqual(['cat', 'cat\u200b', 'dog']);
    expect(report.warnings).toEqual([
      'The label "cat<U+200B>" (rows 2, 4) holds invisible characters, shown here as <U+…>: it is a different ' +
        'class from "cat" typed without them. Remove them from the file unless they are meant.',
    ]);
  });

  it('counts the rows of a label with invisible characters on many rows and lists the first five', () => {
    const rows = Array.from({ length: 50_000 }, (_, index): [string, string] => [
      `text ${index}`,
      index % 2 === 1 ? 'spam\u200b' : 'ham',
    ]);
    const { report, dataset } = analyzeDataset(table(rows), columns, 'd');
    expect(report.classCounts).toEqual({ ham: 25_000, 'spam\u200b': 25_000 });
    expect(dataset?.examples).toHaveLength(50_000);
    expect(report.warnings).toEqual([
      'The label "spam<U+200B>" (25,000 rows: 2, 4, 6, 8, 10, …) holds invisible characters, shown here as ' +
        '<U+…>: it is a different class from "spam" typed without them. Remove them from the file unless they ' +
        'are meant.',
    ]);
  });

  it('checks a repeated label beyond printable ASCII on every row it is on', () => {
    const { report } = analyzeDataset(
      table([
        ['a', 'n\u00e9gatif'],
        ['b', '\u3164'],
        ['c', '\u00e9t\u00e9\u200b'],
        ['d', 'n\u00e9gatif'],
        ['e', '\u3164'],
        ['f', '\u00e9t\u00e9\u200b'],
        ['g', 'tab\there'],
        ['h', 'tab\there'],
      ]),
      columns,
      'd',
    );
    expect(report.dropped).toEqual([{ reason: 'missing-label', count: 2, sampleRows: [2, 5] }]);
    expect(Object.entries(report.classCounts)).toEqual([
      ['n\u00e9gatif', 2],
      ['tab\there', 2],
      ['\u00e9t\u00e9\u200b', 2],
    ]);
    expect(report.warnings).toEqual([
      'The label "\u00e9t\u00e9<U+200B>" (rows 3, 6) holds invisible characters, shown here as <U+…>: it is a ' +
        'different class from "\u00e9t\u00e9" typed without them. Remove them from the file unless they are meant.',
    ]);
  });

  it.each([
    ['cat', 'cat'],
    ['c\u200bat', 'c<U+200B>at'],
    ['\u00adsoft', '<U+00AD>soft'],
    ['rtl\u200f', 'rtl<U+200F>'],
    ['\u{1F468}\u200d\u{1F469}\u200d\u{1F467}', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}'],
    ['\u{1F44D}\u{1F3FD}\u200d\u{1F525}', '\u{1F44D}\u{1F3FD}\u200d\u{1F525}'],
    ['a\u200db', 'a<U+200D>b'],
  ])('showInvisible(%j) is %j: emoji joiners stay, other invisible characters are named', (label, shown) => {
    expect(showInvisible(label)).toBe(shown);
  });

  it('keeps ids pointing at data rows when a CSV has blank lines and quoted newlines', () => {
    const parsed = parseTable('text,label\n"multi\nline",a\n\nsecond,b\nthird,a\nfourth,b\n', 'csv');
    const { dataset } = buildDataset(parsed, columns, 'f');
    expect(dataset.examples.map((example) => example.id)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(dataset.examples[0]?.text).toBe('multi\nline');
  });

  it('warns when the largest class is more than three times the smallest', () => {
    const rows: [string, string][] = [
      ...Array.from({ length: 7 }, (_, i): [string, string] => [`big ${i}`, 'big']),
      ['small 1', 'small'],
      ['small 2', 'small'],
    ];
    const { report } = buildDataset(table(rows), columns, 'd');
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/imbalanced: "big" has 7 examples, "small" only 2/);
    const balanced = buildDataset(table(rows.slice(1)), columns, 'd').report;
    expect(balanced.warnings).toEqual([]);
  });

  it('names a missing column and lists the available ones', () => {
    const error = buildError(table([['a', 'x']]), { text: 'body', label: 'label' });
    expect(error.code).toBe('missing-column');
    expect(error.message).toBe('The text column "body" is not in the file: choose one of "text", "label".');
  });

  it('reports both columns when both are missing', () => {
    const analysis = analyzeDataset(table([['a', 'x']]), { text: 'body', label: 'category' }, 'd');
    expect(analysis.dataset).toBeUndefined();
    expect(analysis.errors.map((error) => error.message)).toEqual([
      expect.stringContaining('text column "body"'),
      expect.stringContaining('label column "category"'),
    ]);
  });

  it('refuses a table without usable rows', () => {
    const error = buildError(
      table([
        ['', 'x'],
        ['b', ''],
      ]),
    );
    expect(error.code).toBe('no-usable-rows');
    expect(error.message).toMatch(/No row has both a text \(column "text"\) and a label \(column "label"\)/);
  });

  it('refuses a single class', () => {
    const error = buildError(
      table([
        ['a', 'spam'],
        ['b', 'spam'],
      ]),
    );
    expect(error.code).toBe('single-class');
    expect(error.message).toMatch(/Every row has the label "spam".*at least two classes/);
  });

  it('names the classes that have a single example', () => {
    const error = buildError(
      table([
        ['a', 'x'],
        ['b', 'x'],
        ['c', 'lonely'],
        ['d', 'alone'],
      ]),
    );
    expect(error.code).toBe('class-too-small');
    expect(error.message).toMatch(/Classes "alone", "lonely" have a single example and cannot be split/);
  });

  it('refuses more classes than the limit', () => {
    const rows = Array.from({ length: MAX_CLASSES + 1 }, (_, i): [string, string][] => [
      [`a${i}`, `class ${i}`],
      [`b${i}`, `class ${i}`],
    ]).flat();
    const error = buildError(table(rows));
    expect(error.code).toBe('too-many-classes');
    expect(error.message).toMatch(/has 51 distinct values; at most 50/);
    expect(() => buildDataset(table(rows.slice(2)), columns, 'd')).not.toThrow();
  });

  it('refuses more examples than the limit', () => {
    const rows = Array.from({ length: 6 }, (_, i): [string, string] => [`t${i}`, i % 2 ? 'a' : 'b']);
    const error = buildError(table(rows), columns, { maxClasses: 50, maxExamples: 5 });
    expect(error.code).toBe('too-many-examples');
  });

  it('returns every error and the report without throwing from analyzeDataset', () => {
    const analysis = analyzeDataset(
      table([
        ['a', 'x'],
        ['', 'x'],
      ]),
      columns,
      'd',
    );
    expect(analysis.dataset).toBeUndefined();
    expect(analysis.errors.map((error) => error.code)).toEqual(['single-class']);
    expect(analysis.report.dropped).toEqual([{ reason: 'empty-text', count: 1, sampleRows: [2] }]);
    expect(analysis.report.classCounts).toEqual({ x: 1 });
  });

  it('uses plain code-unit order for labels, independent of locale', () => {
    const { dataset } = buildDataset(
      table([
        ['1', 'b'],
        ['2', 'B'],
        ['3', 'a'],
        ['4', 'b'],
        ['5', 'B'],
        ['6', 'a'],
        ['7', '10'],
        ['8', '10'],
        ['9', '9'],
        ['10', '9'],
      ]),
      columns,
      'd',
    );
    expect(dataset.labels).toEqual(['10', '9', 'B', 'a', 'b']);
  });
});

describe('analyzeColumns: the check on a table held as columns', () => {
  const wide = parseTable(
    'id,text,source,label\n1,a,web,x\n2,,web,y\n3,b,mail,\n4,a,web,y\n5,c,mail,y\n6,d,web,x\n',
    'csv',
  );

  it('keeps only the wanted columns the table has, every cell in row order', () => {
    const held = tableColumns(wide, ['label', 'text', 'label', 'topic']);
    expect(held.columns).toEqual(['id', 'text', 'source', 'label']);
    expect(held.rowCount).toBe(6);
    expect([...held.cells]).toEqual([
      ['label', ['x', 'y', '', 'y', 'y', 'x']],
      ['text', ['a', '', 'b', 'a', 'c', 'd']],
    ]);
  });

  it.each([
    ['the file’s own columns', { text: 'text', label: 'label' }],
    ['a text column used as the label', { text: 'source', label: 'source' }],
    ['another label column', { text: 'text', label: 'source' }],
    ['a column the file lacks', { text: 'text', label: 'topic' }],
    ['no column chosen', { text: '', label: 'label' }],
  ])('gives what analyzeDataset gives for %s', (_, mapping) => {
    const held = tableColumns(wide, [mapping.text, mapping.label]);
    expect(analyzeColumns(held, mapping, 'wide.csv')).toEqual(analyzeDataset(wide, mapping, 'wide.csv'));
  });

  it('refuses to check a mapped column whose cells are not at hand', () => {
    const held = tableColumns(wide, ['text']);
    expect(() => analyzeColumns(held, { text: 'text', label: 'label' }, 'wide.csv')).toThrow(
      'The cells of column "label" are not at hand: read them before checking the columns.',
    );
  });

  it.each([
    [
      'a usable file with drops and warnings',
      'text,label\n a ,x \n,y\nb,\na,y\nc,y\nd,x\ne,x\nf,x\ng,x\nh,x\ni,x\n',
    ],
    [
      'labels named like Object members',
      'text,label\na,constructor\nb,__proto__\nc,constructor\nd,__proto__\ne,toString\nf,toString\n',
    ],
    ['integer-like labels', 'text,label\na,10\nb,9\nc,10\nd,9\n'],
    ['a refused file (a class of one)', 'text,label\na,x\nb,x\nc,y\n'],
    ['no usable row', 'text,label\n,x\n,y\n'],
  ])('posted to the page and rebuilt there, is the same analysis: %s', (_, content) => {
    const held = tableColumns(parseTable(content, 'csv'), ['text', 'label']);
    const mapping = { text: 'text', label: 'label' };
    const posted = structuredClone(postedCheck(held, mapping, 'posted.csv'));
    const rebuilt = analysisOfPosted(posted, held, mapping, 'posted.csv');
    const direct = analyzeColumns(held, mapping, 'posted.csv');
    expect(rebuilt).toEqual(direct);
    expect(Object.getPrototypeOf(rebuilt.report.classCounts)).toBeNull();
    expect(Object.keys(rebuilt.report.classCounts)).toEqual(Object.keys(direct.report.classCounts));
    expect(rebuilt.errors.map((error) => [error.name, error.code, error.message])).toEqual(
      direct.errors.map((error) => [error.name, error.code, error.message]),
    );
  });
});
