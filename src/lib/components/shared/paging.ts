/**
 * @file Which slice of a long list one page shows: the arithmetic behind paged tables, kept out of the markup so
 * it can be tested on its own.
 */

/** One page of a list: its 0-based index, how many pages there are, and the slice `[start, end)` it shows. */
export interface PageWindow {
  page: number;
  pageCount: number;
  start: number;
  end: number;
}

/**
 * The page `requested` (0-based) of `count` items, `pageSize` per page, pulled back into range: a list that
 * shrank (a filter) shows its last page rather than an empty one, and an empty list has one, empty, page.
 */
export function pageWindow(count: number, pageSize: number, requested: number): PageWindow {
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`A page holds a whole number of items, at least 1; got ${pageSize}.`);
  }
  const items = Math.max(0, Math.floor(count));
  const pageCount = Math.max(1, Math.ceil(items / pageSize));
  const page = Math.min(Math.max(0, Math.floor(requested)), pageCount - 1);
  const start = page * pageSize;
  return { page, pageCount, start, end: Math.min(items, start + pageSize) };
}
