import { describe, expect, it } from 'vitest';
import { guessColumns } from '../../../../src/lib/core/dataset/columns.ts';
import type { Table } from '../../../../src/lib/core/dataset/parse.ts';

function table(columns: string[], rows: string[][]): Table {
  return {
    columns,
    rows: rows.map((cells) => Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']))),
    warnings: [],
  };
}

describe('guessColumns', () => {
  it('prefers well-known names, ignoring case, spaces, _ and -', () => {
    expect(guessColumns(table(['id', 'Label', 'TEXT'], [['1', 'a', 'hello']]))).toEqual({
      text: 'TEXT',
      label: 'Label',
    });
    expect(guessColumns(table(['review_body', 'star-rating', 'Sentiment'], [['x', '5', 'pos']]))).toEqual({
      text: 'review_body',
      label: 'Sentiment',
    });
    expect(guessColumns(table(['Category', 'Message'], [['spam', 'win money']]))).toEqual({
      text: 'Message',
      label: 'Category',
    });
  });

  it('falls back to content: longest cells for the text, fewest distinct values for the label', () => {
    const t = table(
      ['a', 'b', 'c'],
      [
        ['1', 'the first rather long sentence', 'x'],
        ['2', 'another long sentence here', 'y'],
        ['3', 'and a third long sentence', 'x'],
      ],
    );
    expect(guessColumns(t)).toEqual({ text: 'b', label: 'c' });
  });

  it('never picks a constant column as the label when another one varies', () => {
    const t = table(
      ['source', 'sentence', 'kind'],
      [
        ['web', 'one sentence', 'p'],
        ['web', 'two sentence', 'q'],
        ['web', 'three sentence', 'r'],
      ],
    );
    expect(guessColumns(t)).toEqual({ text: 'sentence', label: 'kind' });
  });

  it('returns different columns, and no label for a one-column table', () => {
    expect(guessColumns(table(['text'], [['a']]))).toEqual({ text: 'text', label: '' });
    const both = guessColumns(table(['label', 'labels'], [['a', 'b']]));
    expect(both.text).not.toBe(both.label);
    expect(guessColumns(table([], []))).toEqual({ text: '', label: '' });
  });
});
