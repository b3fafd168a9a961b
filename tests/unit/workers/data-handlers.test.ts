import { describe, expect, it } from 'vitest';
import { dataHandlers } from '../../../src/lib/workers/data-handlers.ts';
import { postedCheck, tableColumns } from '../../../src/lib/core/dataset/build.ts';
import { parseTable } from '../../../src/lib/core/dataset/parse.ts';
import { PREVIEW_ROWS } from '../../../src/lib/core/dataset/read.ts';

const context = { signal: new AbortController().signal, emit: () => undefined };

/** `rows` data rows of a file with an id, the text, two more columns and the label. */
function csv(rows: number): Blob {
  const lines = ['id,text,source,lang,label'];
  for (let i = 1; i <= rows; i++)
    lines.push(`${i},message number ${i},web,${i % 2 ? 'en' : 'fr'},${i % 3 ? 'ham' : 'spam'}`);
  return new Blob([lines.join('\n')]);
}

describe('data worker handlers', () => {
  it('read a file and send the page a view (every column, the first rows, the guessed columns’ cells only) and their check', async () => {
    const handlers = dataHandlers(() => 0);
    const { reply } = await handlers['read-file'](
      { type: 'read-file', id: 1, file: csv(12), name: 'mail.csv' },
      context,
    );
    const view = reply.file;
    expect(view.columns).toEqual(['id', 'text', 'source', 'lang', 'label']);
    expect(view.rowCount).toBe(12);
    expect(view.guess).toEqual({ text: 'text', label: 'label' });
    expect([...view.cells.keys()]).toEqual(['text', 'label']);
    expect(view.cells.get('text')?.[11]).toBe('message number 12');
    expect(view.preview).toHaveLength(PREVIEW_ROWS);
    expect(view.preview[0]).toEqual({
      id: '1',
      text: 'message number 1',
      source: 'web',
      lang: 'en',
      label: 'ham',
    });
    // 12 rows: labels ham (8) and spam (4), every text kept.
    expect(reply.check.errors).toEqual([]);
    expect(reply.check.report.classCounts).toEqual({ ham: 8, spam: 4 });
    expect([...(reply.check.kept?.rows ?? [])]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect({ name: view.name, format: view.format, size: view.size }).toEqual({
      name: 'mail.csv',
      format: 'csv',
      size: csv(12).size,
    });
  });

  it('check another mapping and send the cells the page lacks, in row order', async () => {
    const handlers = dataHandlers(() => 0);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    const mapping = { text: 'text', label: 'lang' };
    const { reply } = await handlers['check-columns'](
      { type: 'check-columns', id: 2, name: 'mail.csv', mapping, send: ['lang', 'id'] },
      context,
    );
    expect([...reply.cells]).toEqual([
      ['lang', ['en', 'fr', 'en', 'fr']],
      ['id', ['1', '2', '3', '4']],
    ]);
    const table = parseTable(await csv(4).text(), 'csv');
    expect(reply.check).toEqual(postedCheck(tableColumns(table, ['text', 'lang']), mapping, 'mail.csv'));
    expect(reply.check.kept?.labels).toEqual(['en', 'fr']);
  });

  it.each([
    ['a column the file lacks', 'mail.csv', ['lang', 'topic'], '"mail.csv" has no column "topic".'],
    [
      'another file than the one held',
      'other.csv',
      ['lang'],
      '"other.csv" is no longer open in the data worker: choose the file again.',
    ],
  ])('refuse %s', async (_, name, send, message) => {
    const handlers = dataHandlers(() => 0);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    const mapping = { text: 'text', label: 'lang' };
    await expect(
      handlers['check-columns']({ type: 'check-columns', id: 2, name, mapping, send }, context),
    ).rejects.toThrow(message);
  });

  it('hold nothing after forget-file, nor after a file that could not be read', async () => {
    const handlers = dataHandlers(() => 0);
    const checkHeld = () =>
      handlers['check-columns'](
        {
          type: 'check-columns',
          id: 2,
          name: 'mail.csv',
          mapping: { text: 'text', label: 'id' },
          send: ['id'],
        },
        context,
      );
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    await handlers['forget-file']({ type: 'forget-file', id: 3 }, context);
    await expect(checkHeld()).rejects.toThrow(/no longer open/);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    await expect(checkHeld()).resolves.toMatchObject({ reply: { type: 'columns-checked' } });
    await expect(
      handlers['read-file']({ type: 'read-file', id: 1, file: new Blob(['']), name: 'mail.csv' }, context),
    ).rejects.toThrow(/empty/);
    await expect(checkHeld()).rejects.toThrow(/no longer open/);
  });
});
