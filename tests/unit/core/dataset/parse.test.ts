import { describe, expect, it } from 'vitest';
import { formatFromFileName, parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import { DatasetError } from '../../../../src/lib/core/errors.ts';

function datasetError(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

describe('parseTable: CSV and TSV', () => {
  it('reads a header row and data rows', () => {
    const table = parseTable('text,label\nhello there,greeting\nbye,farewell\n', 'csv');
    expect(table.columns).toEqual(['text', 'label']);
    expect(table.rows).toEqual([
      { text: 'hello there', label: 'greeting' },
      { text: 'bye', label: 'farewell' },
    ]);
    expect(table.warnings).toEqual([]);
  });

  it('strips a UTF-8 BOM so the first column keeps its name', () => {
    const table = parseTable('\ufefftext,label\r\nhi,a\r\n', 'csv');
    expect(table.columns).toEqual(['text', 'label']);
    expect(table.rows[0]).toEqual({ text: 'hi', label: 'a' });
  });

  it('handles CRLF line endings without leaving \\r in cells', () => {
    const table = parseTable('text,label\r\none,a\r\ntwo,b\r\n', 'csv');
    expect(table.rows).toEqual([
      { text: 'one', label: 'a' },
      { text: 'two', label: 'b' },
    ]);
  });

  it('keeps quoted newlines, delimiters and escaped quotes inside a cell', () => {
    const csv = 'text,label\n"first line\nsecond, with comma",a\n"she said ""hi""",b\n';
    const table = parseTable(csv, 'csv');
    expect(table.rows).toEqual([
      { text: 'first line\nsecond, with comma', label: 'a' },
      { text: 'she said "hi"', label: 'b' },
    ]);
  });

  it('detects semicolon-separated CSV (common in European spreadsheets)', () => {
    const table = parseTable('text;label\n"one; two";a\nthree, four;b\n', 'csv');
    expect(table.columns).toEqual(['text', 'label']);
    expect(table.rows).toEqual([
      { text: 'one; two', label: 'a' },
      { text: 'three, four', label: 'b' },
    ]);
  });

  it('reads TSV with commas inside cells', () => {
    const table = parseTable('text\tlabel\nred, green\tcolour\n', 'tsv');
    expect(table.rows).toEqual([{ text: 'red, green', label: 'colour' }]);
  });

  it('skips blank lines and fills missing cells with empty strings, warning about ragged rows', () => {
    const table = parseTable('text,label,source\n\nhello,a\n\nbye,b,web,extra\n', 'csv');
    expect(table.rows).toEqual([
      { text: 'hello', label: 'a', source: '' },
      { text: 'bye', label: 'b', source: 'web' },
    ]);
    expect(table.warnings).toHaveLength(2);
    expect(table.warnings[0]).toMatch(/Row 1 has 2 cells but the header has 3/);
    expect(table.warnings[1]).toMatch(/Row 2 has 4 cells.*extra cells are ignored/);
  });

  it('names blank headers and renames duplicate ones, with warnings', () => {
    const table = parseTable('text,,text\na,b,c\n', 'csv');
    expect(table.columns).toEqual(['text', 'column 2', 'text (2)']);
    expect(table.rows[0]).toEqual({ text: 'a', 'column 2': 'b', 'text (2)': 'c' });
    expect(table.warnings).toHaveLength(2);
  });

  it('caps header warnings at five of each kind and counts the rest, renaming repeats the same way', () => {
    const names = [...Array(8).fill('a'), 'a (3)', ...Array(7).fill(''), ...Array(6).fill('__proto__')];
    const cells = names.map((_, index) => `v${index}`);
    const table = parseTable(`${names.join(',')}\n${cells.join(',')}\n`, 'csv');
    expect(table.columns.slice(0, 9)).toEqual([
      'a',
      'a (2)',
      'a (3)',
      'a (4)',
      'a (5)',
      'a (6)',
      'a (7)',
      'a (8)',
      'a (3) (2)',
    ]);
    expect(new Set(table.columns).size).toBe(names.length);
    expect(table.columns[9]).toBe('column 10');
    expect(table.columns[16]).toBe('__proto__ (column 17)');
    expect(table.rows[0]?.['a (3) (2)']).toBe('v8');
    expect(table.warnings.filter((line) => line.startsWith('Column name "a'))).toHaveLength(5);
    expect(table.warnings.filter((line) => /has no name/.test(line))).toHaveLength(5);
    expect(table.warnings.filter((line) => /cannot be called/.test(line))).toHaveLength(5);
    expect(table.warnings.slice(-3)).toEqual([
      '2 more columns have no name in the header row and are called "column N".',
      '1 more column is called "__proto__" and was renamed.',
      '3 more columns repeat an earlier name and were given a number.',
    ]);
  });

  it('reads a single-column file', () => {
    const table = parseTable('text\nhello\nworld\n', 'csv');
    expect(table.columns).toEqual(['text']);
    expect(table.rows).toHaveLength(2);
  });

  it('refuses an empty or whitespace-only file', () => {
    for (const content of ['', '  \n\n', '\ufeff']) {
      const error = datasetError(() => parseTable(content, 'csv'));
      expect(error.code).toBe('empty-file');
      expect(error.message).toMatch(/empty/);
    }
  });

  it('refuses a header-only file, listing the columns it found', () => {
    const error = datasetError(() => parseTable('text,label\n', 'csv'));
    expect(error.code).toBe('no-rows');
    expect(error.message).toContain('"text", "label"');
    expect(error.message).toMatch(/no data rows/);
  });

  it('refuses an unterminated quote, naming the row', () => {
    const error = datasetError(() => parseTable('text,label\nok,a\n"broken,b\nmore,c\n', 'csv'));
    expect(error.code).toBe('malformed');
    expect(error.message).toMatch(/Row 2 .*never closed/);
  });
});

describe('parseTable: JSONL', () => {
  it('reads one object per line, skipping blank lines, with CRLF', () => {
    const table = parseTable('{"text":"a","label":"x"}\r\n\r\n{"text":"b","label":"y"}\r\n', 'jsonl');
    expect(table.columns).toEqual(['text', 'label']);
    expect(table.rows).toEqual([
      { text: 'a', label: 'x' },
      { text: 'b', label: 'y' },
    ]);
  });

  it('collects the union of keys and stringifies non-string values', () => {
    const table = parseTable(
      '{"text":"a","label":1}\n{"text":"b","label":true,"meta":{"k":1},"n":null}\n',
      'jsonl',
    );
    expect(table.columns).toEqual(['text', 'label', 'meta', 'n']);
    expect(table.rows).toEqual([
      { text: 'a', label: '1', meta: '', n: '' },
      { text: 'b', label: 'true', meta: '{"k":1}', n: '' },
    ]);
  });

  it('names the line that is not valid JSON', () => {
    const error = datasetError(() => parseTable('{"text":"a","label":"x"}\n{"text": oops}\n', 'jsonl'));
    expect(error.code).toBe('malformed');
    expect(error.message).toMatch(/^Line 2 is not valid JSON/);
  });

  it('names the line that holds something other than an object', () => {
    const error = datasetError(() => parseTable('{"text":"a"}\n\n["text","b"]\n', 'jsonl'));
    expect(error.message).toMatch(/^Line 3 is an array, not an object/);
  });
});

describe('parseTable: JSON', () => {
  it('reads an array of objects', () => {
    const table = parseTable('[{"text":"a","label":"x"},{"label":"y","text":"b"}]', 'json');
    expect(table.columns).toEqual(['text', 'label']);
    expect(table.rows[1]).toEqual({ text: 'b', label: 'y' });
  });

  it('explains malformed JSON', () => {
    const error = datasetError(() => parseTable('[{"text":"a",}]', 'json'));
    expect(error.code).toBe('malformed');
    expect(error.message).toMatch(/not valid JSON/);
  });

  it('refuses a top-level object or an array of non-objects', () => {
    expect(datasetError(() => parseTable('{"rows":[]}', 'json')).message).toMatch(
      /holds an object.*array of objects/,
    );
    expect(datasetError(() => parseTable('[{"text":"a"}, 3]', 'json')).message).toMatch(/Item 1 .*a number/);
  });

  it('refuses an empty array', () => {
    expect(datasetError(() => parseTable('[]', 'json')).code).toBe('no-rows');
  });
});

describe('formatFromFileName', () => {
  it('maps extensions case-insensitively', () => {
    expect(formatFromFileName('data/spam.CSV')).toBe('csv');
    expect(formatFromFileName('x.tsv')).toBe('tsv');
    expect(formatFromFileName('x.tab')).toBe('tsv');
    expect(formatFromFileName('x.jsonl')).toBe('jsonl');
    expect(formatFromFileName('x.ndjson')).toBe('jsonl');
    expect(formatFromFileName('my.data.json')).toBe('json');
  });

  it('lists the supported extensions for an unknown one', () => {
    const error = datasetError(() => formatFromFileName('sheet.xlsx'));
    expect(error.code).toBe('unsupported-format');
    expect(error.message).toContain('.csv, .tsv');
    expect(() => formatFromFileName('README')).toThrow(DatasetError);
  });
});
