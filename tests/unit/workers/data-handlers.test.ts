import { describe, expect, it } from 'vitest';
import { dataHandlers } from '../../../src/lib/workers/data-handlers.ts';
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
  it('read a file and send the page a view: every column, the first rows, the guessed columns’ cells only', async () => {
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
    expect({ name: view.name, format: view.format, size: view.size }).toEqual({
      name: 'mail.csv',
      format: 'csv',
      size: csv(12).size,
    });
  });

  it('send other columns of the file they hold, in row order', async () => {
    const handlers = dataHandlers(() => 0);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    const { reply } = await handlers['read-columns'](
      { type: 'read-columns', id: 2, name: 'mail.csv', columns: ['lang', 'id'] },
      context,
    );
    expect([...reply.cells]).toEqual([
      ['lang', ['en', 'fr', 'en', 'fr']],
      ['id', ['1', '2', '3', '4']],
    ]);
  });

  it.each([
    ['a column the file lacks', 'mail.csv', ['lang', 'topic'], '"mail.csv" has no column "topic".'],
    [
      'another file than the one held',
      'other.csv',
      ['lang'],
      '"other.csv" is no longer open in the data worker: choose the file again.',
    ],
  ])('refuse %s', async (_, name, columns, message) => {
    const handlers = dataHandlers(() => 0);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    await expect(
      handlers['read-columns']({ type: 'read-columns', id: 2, name, columns }, context),
    ).rejects.toThrow(message);
  });

  it('hold nothing after forget-file, nor after a file that could not be read', async () => {
    const handlers = dataHandlers(() => 0);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    await handlers['forget-file']({ type: 'forget-file', id: 3 }, context);
    await expect(
      handlers['read-columns']({ type: 'read-columns', id: 2, name: 'mail.csv', columns: ['id'] }, context),
    ).rejects.toThrow(/no longer open/);
    await handlers['read-file']({ type: 'read-file', id: 1, file: csv(4), name: 'mail.csv' }, context);
    await expect(
      handlers['read-file']({ type: 'read-file', id: 1, file: new Blob(['']), name: 'mail.csv' }, context),
    ).rejects.toThrow(/empty/);
    await expect(
      handlers['read-columns']({ type: 'read-columns', id: 2, name: 'mail.csv', columns: ['id'] }, context),
    ).rejects.toThrow(/no longer open/);
  });
});
