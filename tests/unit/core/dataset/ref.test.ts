import { describe, expect, it } from 'vitest';
import { buildDataset, tableColumns } from '../../../../src/lib/core/dataset/build.ts';
import { parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import {
  buildDatasetFromRef,
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
