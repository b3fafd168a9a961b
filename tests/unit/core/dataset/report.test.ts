import { describe, expect, it } from 'vitest';
import { buildDataset } from '../../../../src/lib/core/dataset/build.ts';
import { parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import { describeDroppedRows } from '../../../../src/lib/core/dataset/report.ts';

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
