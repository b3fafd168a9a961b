import { describe, expect, it } from 'vitest';
import { analyzeDataset } from '../../../../src/lib/core/dataset/build.ts';
import {
  checkFileSize,
  formatCount,
  MAX_CELLS,
  MAX_COLUMNS,
  MAX_FILE_BYTES,
  MAX_ROWS,
} from '../../../../src/lib/core/dataset/limits.ts';
import { parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import { readDatasetFile } from '../../../../src/lib/core/dataset/read.ts';
import { DatasetError } from '../../../../src/lib/core/errors.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function datasetError(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

describe('limits', () => {
  it('formats counts the same in every locale', () => {
    expect(formatCount(50_000)).toBe('50,000');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(12)).toBe('12');
  });

  it('accepts a file at the size limit and refuses one byte more, from the size alone', () => {
    expect(() => checkFileSize(MAX_FILE_BYTES, 'ok.csv')).not.toThrow();
    const error = datasetError(() => checkFileSize(25_300_000, 'big.csv'));
    expect(error.code).toBe('file-too-large');
    expect(error.message).toBe(
      '"big.csv" is 25.3 MB; the app reads files up to 20 MB: keep a sample of the rows (at most 50,000) ' +
        'and choose that file.',
    );
    expect(datasetError(() => checkFileSize(MAX_FILE_BYTES + 1, 'edge.csv')).message).toMatch(
      /^"edge.csv" is 20,000,001 bytes; the app reads files up to 20 MB/,
    );
  });
});

describe('parseTable: row limit', () => {
  const csv = (rows: number): string =>
    `text,label\n${Array.from({ length: rows }, (_, i) => `t${i},l${i % 2}`).join('\n')}\n`;

  it('reads exactly maxRows rows and refuses one more, in every format', () => {
    expect(parseTable(csv(5), 'csv', { maxRows: 5 }).rows).toHaveLength(5);
    const expected =
      'The file has more than 5 data rows; the app reads at most 5: keep a sample of the rows and choose that file.';
    expect(datasetError(() => parseTable(csv(6), 'csv', { maxRows: 5 })).message).toBe(expected);
    const jsonl = Array.from({ length: 6 }, (_, i) => JSON.stringify({ text: `t${i}`, label: 'a' })).join(
      '\n',
    );
    expect(datasetError(() => parseTable(jsonl, 'jsonl', { maxRows: 5 })).code).toBe('too-many-rows');
    const json = JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ text: `t${i}`, label: 'a' })));
    expect(datasetError(() => parseTable(json, 'json', { maxRows: 5 })).code).toBe('too-many-rows');
  });

  it('defaults to MAX_ROWS', () => {
    expect(parseTable(csv(MAX_ROWS), 'csv').rows).toHaveLength(MAX_ROWS);
    expect(datasetError(() => parseTable(csv(MAX_ROWS + 1), 'csv')).message).toMatch(
      /^The file has more than 50,000 data rows/,
    );
  });
});

describe('parseTable: column limit', () => {
  const header = (columns: number): string => Array.from({ length: columns }, (_, i) => `c${i}`).join(',');
  const row = (columns: number): string => Array.from({ length: columns }, () => 'x').join(',');
  /** JSONL records with `text`, `label` and one field of their own each: columns = records + 2. */
  const ownFields = (records: number): string =>
    Array.from({ length: records }, (_, i) =>
      JSON.stringify({ text: `t${i}`, label: 'a', [`f${i}`]: 1 }),
    ).join('\n');

  it.each([
    ['a CSV header at the limit', () => parseTable(`${header(4)}\n${row(4)}\n`, 'csv', { maxColumns: 4 }), 4],
    ['JSON fields at the limit', () => parseTable(ownFields(2), 'jsonl', { maxColumns: 4 }), 4],
    [
      'the default limit',
      () => parseTable(`${header(MAX_COLUMNS)}\n${row(MAX_COLUMNS)}\n`, 'csv'),
      MAX_COLUMNS,
    ],
  ])('reads %s', (_, parse, columns) => {
    expect(parse().columns).toHaveLength(columns);
  });

  it.each([
    [
      'a CSV header one column over',
      () => parseTable(`${header(5)}\n${row(5)}\n`, 'csv', { maxColumns: 4 }),
      'The file has 5 columns in its header row; the app reads at most 4: save the text and label columns (and ' +
        'any others you need) as a new file and choose that.',
    ],
    [
      'a header of 20,000 repeated names (before renaming any)',
      () => parseTable(`${Array(20_000).fill('a').join(',')}\n${Array(20_000).fill('x').join(',')}\n`, 'csv'),
      'The file has 20,000 columns in its header row; the app reads at most 1,000: save the text and label ' +
        'columns (and any others you need) as a new file and choose that.',
    ],
    [
      'JSONL records whose own fields add up past the limit',
      () => parseTable(ownFields(5_000), 'jsonl'),
      'The file has 5,002 distinct fields across its records; the app reads at most 1,000: save the text and ' +
        'label columns (and any others you need) as a new file and choose that.',
    ],
    [
      'JSON records whose fields, given to every record, make too many cells',
      () => parseTable(`[${ownFields(5).split('\n').join(',')}]`, 'json', { maxCells: 30 }),
      "The file's 5 records use 7 distinct fields between them: as a table that is 35 cells, and the app reads " +
        'at most 30. Keep the text and label fields (and any others you need) in every record and drop the rest.',
    ],
  ])('refuses %s, saying why', (_, parse, message) => {
    const error = datasetError(parse);
    expect(error.code).toBe('too-many-columns');
    expect(error.message).toBe(message);
  });

  it('allows as many JSON cells as the largest CSV the size limit lets in', () => {
    expect(MAX_CELLS).toBe(MAX_FILE_BYTES / 2);
    const records = Math.floor(MAX_CELLS / MAX_COLUMNS) + 1;
    const wide = JSON.stringify(
      Object.fromEntries(Array.from({ length: MAX_COLUMNS }, (_, i) => [`f${i}`, 1])),
    );
    const error = datasetError(() => parseTable(Array(records).fill(wide).join('\n'), 'jsonl'));
    expect(error.message).toMatch(/^The file's 10,001 records use 1,000 distinct fields between them/);
  });
});

describe('parseTable: malformed JSON names the place, the same way in every engine', () => {
  it('gives the line and column of a syntax error in a JSON file', () => {
    const text = '[\n  {"text": "a", "label": "x"},\n  {"text": "b", "label": "y",}\n]';
    expect(datasetError(() => parseTable(text, 'json')).message).toBe(
      'The file is not valid JSON at line 3, column 30 (look for a missing comma, quote or bracket there). ' +
        'Fix the syntax, or save the data as JSONL (one object per line).',
    );
  });

  it('says when a JSON file ends too early', () => {
    expect(datasetError(() => parseTable('[{"text": "a", "label": "x"}', 'json')).message).toBe(
      'The file is not valid JSON: it ends before the JSON is complete (a missing ], } or closing quote?). ' +
        'Fix the syntax, or save the data as JSONL (one object per line).',
    );
  });

  it('gives the line and column of a broken JSONL line', () => {
    const text = '{"text": "a", "label": "x"}\n\n{"text": "b" "label": "y"}\n';
    expect(datasetError(() => parseTable(text, 'jsonl')).message).toBe(
      'Line 3 is not valid JSON (at column 14): JSONL needs one complete JSON object per line, ' +
        'e.g. {"text": "…", "label": "…"}.',
    );
    expect(datasetError(() => parseTable('{"text": "a"', 'jsonl')).message).toMatch(
      /^Line 1 is not valid JSON \(it ends too early\)/,
    );
  });

  it('points at the array inside an object that holds the rows', () => {
    const error = datasetError(() => parseTable('{"data": [{"text": "a", "label": "x"}], "n": 1}', 'json'));
    expect(error.message).toBe(
      'The JSON file holds an object: it must hold an array of objects, e.g. [{"text": "…", "label": "…"}]. ' +
        'The rows seem to be in its field "data": save that array alone as the file.',
    );
  });
});

describe('readDatasetFile', () => {
  it('reads a BOM + CRLF + semicolon CSV with quoted newlines and delimiters, and guesses the columns', () => {
    const content =
      '\ufeffid;Review;Sentiment\r\n1;"Great; really\r\ngreat";pos\r\n2;"Bad, sadly";neg\r\n3;Fine;pos\r\n';
    const file = readDatasetFile(utf8(content), 'reviews.csv');
    expect(file.format).toBe('csv');
    expect(file.size).toBe(utf8(content).length);
    expect(file.table.columns).toEqual(['id', 'Review', 'Sentiment']);
    expect(file.table.rows[0]).toEqual({ id: '1', Review: 'Great; really\r\ngreat', Sentiment: 'pos' });
    expect(file.guess).toEqual({ text: 'Review', label: 'Sentiment' });
  });

  it('reads TSV, JSONL and JSON by extension', () => {
    expect(readDatasetFile(utf8('text\tlabel\na, b\tx\n'), 'd.tsv').table.rows).toEqual([
      { text: 'a, b', label: 'x' },
    ]);
    expect(readDatasetFile(utf8('{"text":"a","label":"x"}\n'), 'd.jsonl').format).toBe('jsonl');
    expect(readDatasetFile(utf8('[{"text":"a","label":"x"}]'), 'd.json').guess).toEqual({
      text: 'text',
      label: 'label',
    });
  });

  it('checks the extension first, then the size, then the encoding', () => {
    expect(datasetError(() => readDatasetFile(new Uint8Array([0xff]), 'data.xlsx')).code).toBe(
      'unsupported-format',
    );
    expect(
      datasetError(() => readDatasetFile(utf8('text,label\na,b\n'), 'a.csv', { maxBytes: 4 })).code,
    ).toBe('file-too-large');
    expect(datasetError(() => readDatasetFile(new Uint8Array([0x61, 0xe9]), 'a.csv')).code).toBe('not-utf8');
  });

  it('leads to the header-only and one-column messages users see', () => {
    expect(datasetError(() => readDatasetFile(utf8('text,label\r\n'), 'h.csv')).message).toBe(
      'The file has a header row (columns: "text", "label") but no data rows: add at least one row below it.',
    );
    const single = readDatasetFile(utf8('text\nhello\nworld\n'), 'one.csv');
    expect(single.guess).toEqual({ text: 'text', label: '' });
    const analysis = analyzeDataset(single.table, single.guess, single.name);
    expect(analysis.errors.map((error) => error.message)).toEqual([
      'The file has only one column ("text"): labeled data needs a text column and a label column, e.g. a ' +
        'header row "text,label". Add the labels as a second column.',
    ]);
  });
});

describe('parseTable: JSON error positions from other engines', () => {
  it('reads "line L column C" (SpiderMonkey) and "position N (line L column C)" (newer V8) alike', () => {
    const realParse = JSON.parse;
    const text = '[{"text": "a"}\n, oops]';
    for (const message of [
      'JSON.parse: unexpected character at line 2 column 3 of the JSON data',
      'Unexpected token \'o\', "[{"text": "a"}\n, oops]" is not valid JSON at position 17 (line 2 column 3)',
    ]) {
      JSON.parse = () => {
        throw new SyntaxError(message);
      };
      try {
        expect(() => parseTable(text, 'json')).toThrow(/^The file is not valid JSON at line 2, column 3 /);
      } finally {
        JSON.parse = realParse;
      }
    }
  });

  it('tells the end of the text apart in every wording', () => {
    const realParse = JSON.parse;
    const text = '[{"text": "a"';
    for (const message of [
      'JSON.parse: end of data after property value in object at line 1 column 14 of the JSON data',
      "Expected ',' or '}' after property value in JSON at position 13 (line 1 column 14)",
    ]) {
      JSON.parse = () => {
        throw new SyntaxError(message);
      };
      try {
        expect(() => parseTable(text, 'json')).toThrow(/^The file is not valid JSON: it ends before/);
      } finally {
        JSON.parse = realParse;
      }
    }
  });
});

describe('parseTable: a column named __proto__', () => {
  it('is renamed with a warning instead of silently losing its cells', () => {
    const csv = parseTable('text,__proto__\nhello,a\n', 'csv');
    expect(csv.columns).toEqual(['text', '__proto__ (column 2)']);
    expect(csv.rows[0]).toEqual({ text: 'hello', '__proto__ (column 2)': 'a' });
    expect(csv.warnings).toEqual([
      'Column 2 cannot be called "__proto__"; it is called "__proto__ (column 2)".',
    ]);
    const jsonl = parseTable('{"text": "hi", "__proto__": "b"}\n{"text": "yo"}\n', 'jsonl');
    expect(jsonl.columns).toEqual(['text', '__proto__ (column 2)']);
    expect(jsonl.rows).toEqual([
      { text: 'hi', '__proto__ (column 2)': 'b' },
      { text: 'yo', '__proto__ (column 2)': '' },
    ]);
    expect(Object.getPrototypeOf(jsonl.rows[0])).toBeNull();
  });

  it.each([
    ['csv', 'text,constructor,toString\nhello,a,b\n'],
    ['tsv', 'text\tconstructor\ttoString\nhello\ta\tb\n'],
    ['jsonl', '{"text": "hello", "constructor": "a", "toString": "b"}\n'],
    ['json', '[{"text": "hello", "constructor": "a", "toString": "b"}]'],
  ] as const)(
    'gives %s rows with no prototype: inherited names are plain columns or absent',
    (format, content) => {
      const table = parseTable(content, format);
      const [row] = table.rows;
      expect(Object.getPrototypeOf(row)).toBeNull();
      expect(Object.keys(row ?? {})).toEqual(['text', 'constructor', 'toString']);
      expect(row?.constructor).toBe('a');
      expect(row?.toString).toBe('b');
      expect(row?.hasOwnProperty).toBeUndefined();
      expect(row?.valueOf).toBeUndefined();
    },
  );
});
