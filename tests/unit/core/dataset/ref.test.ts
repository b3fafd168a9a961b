import { describe, expect, it } from 'vitest';
import { analyzeColumns, buildDataset, tableColumns } from '../../../../src/lib/core/dataset/build.ts';
import { parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import {
  buildDatasetFromRef,
  checkedInlineDataset,
  datasetSource,
  inlineDatasetRef,
  isFileDatasetRef,
  isInlineDatasetRef,
} from '../../../../src/lib/core/dataset/ref.ts';

const CSV =
  'id,comment,topic,extra\n1,Rain again,weather,x\n2,Goal!,sports,y\n3,,sports,z\n4,Sunny,weather,w\n5,Rain again,weather,v\n6,Match day,sports,u\n';

describe('inline dataset references', () => {
  it('keep every row in file order with only the mapped columns', () => {
    const table = parseTable(CSV, 'csv');
    const ref = inlineDatasetRef('mini.csv', table, { text: 'comment', label: 'topic' });
    expect(ref.name).toBe('mini.csv');
    expect(ref.text).toBe('comment');
    expect(ref.label).toBe('topic');
    expect(ref.rows).toHaveLength(6);
    expect(ref.rows[2]).toEqual({ comment: '', topic: 'sports' });
    expect(isInlineDatasetRef(ref)).toBe(true);
    expect(isFileDatasetRef(ref)).toBe(false);
  });

  it('are the same made from the mapped columns alone (as the page holds an upload)', () => {
    const table = parseTable(CSV, 'csv');
    const columns = { text: 'comment', label: 'topic' };
    const held = tableColumns(table, ['topic', 'comment']);
    expect(inlineDatasetRef('mini.csv', held, columns)).toEqual(inlineDatasetRef('mini.csv', table, columns));
    expect(() => inlineDatasetRef('mini.csv', tableColumns(table, ['comment']), columns)).toThrow(
      /cells of columns "comment" and "topic" are needed/,
    );
  });

  it('build the same dataset, ids and report as the file they came from', () => {
    const table = parseTable(CSV, 'csv');
    const columns = { text: 'comment', label: 'topic' };
    const fromFile = buildDataset(table, columns, 'mini.csv');
    const fromInline = buildDatasetFromRef(inlineDatasetRef('mini.csv', table, columns));
    expect(fromInline.dataset).toEqual(fromFile.dataset);
    expect(fromInline.dataset.examples.map((example) => example.id)).toEqual(['r1', 'r2', 'r4', 'r6']);
    expect(fromInline.report.dropped).toEqual(fromFile.report.dropped);
    expect(fromInline.report.dropped.map((entry) => entry.reason)).toEqual(['empty-text', 'duplicate-text']);
  });

  it('treat a missing or non-string cell as empty (data validation then drops the row)', () => {
    const source = datasetSource({
      name: 'x',
      rows: [{ text: 'a' }, { text: 'b', label: 3 as unknown as string }],
      text: 'text',
      label: 'label',
    });
    expect(source.table.rowCount).toBe(2);
    expect([...source.table.cells]).toEqual([
      ['text', ['a', 'b']],
      ['label', ['', '']],
    ]);
  });

  it('resolve a built-in reference with its own or the given columns', () => {
    const source = datasetSource({ builtin: 'topics' });
    expect(source.name).toBe('Topics: food, sports, weather');
    expect(source.columns).toEqual({ text: 'text', label: 'label' });
    expect(() => buildDatasetFromRef({ builtin: 'nope' })).toThrow(/There is no built-in dataset "nope"/);
  });
});

describe('checkedInlineDataset: the dataset of an upload from the check it just had', () => {
  const many = (count: number, label: (index: number) => string): string =>
    Array.from({ length: count }, (_, index) => `text ${index},${label(index)},x`).join('\n');
  // Each with the warnings its report must carry, so no case passes by having no dataset at all.
  const cases: [string, string, { text: string; label: string }, RegExp[]][] = [
    ['a plain file', CSV, { text: 'comment', label: 'topic' }, []],
    [
      'ragged rows and an unnamed column (reading warnings)',
      'text,label,\na,x\nb,y,1,2\nc,x,3\nd,y,4\n',
      { text: 'text', label: 'label' },
      [],
    ],
    [
      'duplicates with other labels, empty texts and labels',
      'text,label,n\na,x,1\na,y,2\n,x,3\nb, ,4\nc,y,5\nd,x,6\ne,y,7\n',
      { text: 'text', label: 'label' },
      [/^1 duplicate texts had a different label/],
    ],
    [
      'a label with an invisible character, imbalanced',
      `text,label,n\n${many(40, (i) => (i % 10 === 0 ? 'rare\u200b' : 'common'))}\n`,
      { text: 'text', label: 'label' },
      [/holds invisible characters/, /imbalanced/],
    ],
  ];

  it.each(cases)('gives what buildDatasetFromRef gives for %s', (_, content, columns, warnings) => {
    const table = tableColumns(parseTable(content, 'csv'), [columns.text, columns.label]);
    const checked = checkedInlineDataset(
      'upload.csv',
      table,
      columns,
      analyzeColumns(table, columns, 'upload.csv'),
    );
    expect(checked?.ref).toEqual(inlineDatasetRef('upload.csv', table, columns));
    expect(checked?.built).toEqual(buildDatasetFromRef(checked?.ref ?? { builtin: 'none' }));
    expect(checked?.built.report.warnings).toHaveLength(warnings.length);
    warnings.forEach((pattern, index) => expect(checked?.built.report.warnings[index]).toMatch(pattern));
  });

  it('leaves out only the warnings about reading the file', () => {
    const table = tableColumns(parseTable('text,label,\na,x\nb,y,1,2\nc,x,3\nd,y,4\n', 'csv'), [
      'text',
      'label',
    ]);
    expect(table.warnings).toHaveLength(3);
    const analysis = analyzeColumns(table, { text: 'text', label: 'label' }, 'upload.csv');
    expect(analysis.report.warnings.slice(0, 3)).toEqual(table.warnings);
    const checked = checkedInlineDataset('upload.csv', table, { text: 'text', label: 'label' }, analysis);
    expect(checked?.built.report.warnings).toEqual([]);
  });

  it('has no dataset to give when the check found errors, or text and label are one column', () => {
    const table = tableColumns(parseTable(CSV, 'csv'), ['comment', 'topic', 'id']);
    const same = { text: 'comment', label: 'comment' };
    expect(
      checkedInlineDataset('mini.csv', table, same, analyzeColumns(table, same, 'mini.csv')),
    ).toBeUndefined();
    const ids = { text: 'comment', label: 'id' };
    const refused = analyzeColumns(table, ids, 'mini.csv');
    expect(refused.errors).not.toEqual([]);
    expect(checkedInlineDataset('mini.csv', table, ids, refused)).toBeUndefined();
  });
});
