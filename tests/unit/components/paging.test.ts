import { describe, expect, test } from 'vitest';
import { pageWindow, type PageWindow } from '../../../src/lib/components/shared/paging.ts';

describe('pageWindow', () => {
  test.each<[string, number, number, number, PageWindow]>([
    ['a list that fits on one page', 45, 50, 0, { page: 0, pageCount: 1, start: 0, end: 45 }],
    ['exactly one full page', 50, 50, 0, { page: 0, pageCount: 1, start: 0, end: 50 }],
    ['the first of three pages', 150, 50, 0, { page: 0, pageCount: 3, start: 0, end: 50 }],
    ['a middle page', 150, 50, 1, { page: 1, pageCount: 3, start: 50, end: 100 }],
    ['a short last page', 120, 50, 2, { page: 2, pageCount: 3, start: 100, end: 120 }],
    ['past the end: the last page', 120, 50, 9, { page: 2, pageCount: 3, start: 100, end: 120 }],
    ['before the start: the first page', 120, 50, -3, { page: 0, pageCount: 3, start: 0, end: 50 }],
    ['an empty list: one empty page', 0, 50, 4, { page: 0, pageCount: 1, start: 0, end: 0 }],
  ])('%s', (_name, count, pageSize, requested, expected) => {
    expect(pageWindow(count, pageSize, requested)).toEqual(expected);
  });

  test('every item is on exactly one page', () => {
    const count = 137;
    const seen: number[] = [];
    const { pageCount } = pageWindow(count, 20, 0);
    for (let page = 0; page < pageCount; page += 1) {
      const { start, end } = pageWindow(count, 20, page);
      for (let item = start; item < end; item += 1) seen.push(item);
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, item) => item));
  });

  test.each([0, -1, 2.5, Number.NaN])('refuses a page size of %s', (pageSize) => {
    expect(() => pageWindow(10, pageSize, 0)).toThrow(/whole number of items, at least 1/);
  });
});
