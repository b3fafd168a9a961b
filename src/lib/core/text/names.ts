/**
 * @file Fresh names for new and copied items (prompt variations, heads), unique among the names already taken.
 */

/** `base`, or `base 2`, `base 3`… whichever is not in `taken`. */
export function uniqueName(base: string, taken: readonly string[]): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base} ${n}`)) return `${base} ${n}`;
}

/** A name ending in " copy" or " copy <n>": copying it again numbers the copy instead of adding "copy". */
const COPY_SUFFIX = / copy(?: \d+)?$/;

/**
 * The name of a copy of `name`: `name copy`, then `name copy 2`, `name copy 3`… whichever is free. A copy of a
 * copy is numbered (`a copy` → `a copy 2`), never `a copy copy`. Surrounding whitespace is ignored.
 */
export function copyName(name: string, taken: readonly string[]): string {
  const trimmed = name.trim();
  const stem = trimmed.replace(COPY_SUFFIX, '');
  return uniqueName(`${stem === '' ? trimmed : stem} copy`, taken);
}
