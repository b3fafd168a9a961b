/**
 * @file A small word-level diff for comparing two prompt texts side by side: both texts are cut into words and
 * the whitespace between them, the longest common subsequence of those pieces is kept, and the rest is marked as
 * removed (only in the first text) or added (only in the second). Prompt texts are short; past
 * {@link MAX_DIFF_CELLS} comparisons the differing middle is reported as one removal and one addition instead of
 * spending quadratic time on it.
 */

/** One run of text: in both texts, only in the first (`removed`), or only in the second (`added`). */
export interface DiffPart {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

/** The LCS table is (n + 1) × (m + 1) numbers: beyond this many, the middle is shown as replaced whole. */
export const MAX_DIFF_CELLS = 250_000;

/** Words and the whitespace runs between them, in order; joined they give `text` back exactly. */
export function wordPieces(text: string): string[] {
  return text.match(/\s+|[^\s]+/gu) ?? [];
}

/** Appends `text` to the last part when it has the same kind, so the result has no two neighbours alike. */
function push(parts: DiffPart[], kind: DiffPart['kind'], text: string): void {
  if (text === '') return;
  const last = parts.at(-1);
  if (last?.kind === kind) last.text += text;
  else parts.push({ kind, text });
}

/**
 * The word-level differences between `a` and `b`. Joining the `same` and `removed` parts gives `a`; joining the
 * `same` and `added` parts gives `b`. Within a changed stretch, removals come before additions.
 */
export function wordDiff(a: string, b: string): DiffPart[] {
  const x = wordPieces(a);
  const y = wordPieces(b);
  // The common head and tail cost nothing to find and shrink the table.
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (
    tail < x.length - head &&
    tail < y.length - head &&
    x[x.length - 1 - tail] === y[y.length - 1 - tail]
  ) {
    tail++;
  }
  const parts: DiffPart[] = [];
  push(parts, 'same', x.slice(0, head).join(''));
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  for (const part of middleDiff(xs, ys)) push(parts, part.kind, part.text);
  push(parts, 'same', x.slice(x.length - tail).join(''));
  return parts;
}

/** The diff of two piece lists that share no head or tail, by a longest-common-subsequence table. */
function middleDiff(x: readonly string[], y: readonly string[]): DiffPart[] {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0 || (n + 1) * (m + 1) > MAX_DIFF_CELLS) {
    return [
      { kind: 'removed', text: x.join('') },
      { kind: 'added', text: y.join('') },
    ];
  }
  // lcs[i * (m + 1) + j]: length of the LCS of x[i..] and y[j..].
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        x[i] === y[j]
          ? (lcs[(i + 1) * width + j + 1] as number) + 1
          : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
    }
  }
  const parts: DiffPart[] = [];
  let removed = '';
  let added = '';
  const flush = (): void => {
    push(parts, 'removed', removed);
    push(parts, 'added', added);
    removed = '';
    added = '';
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      flush();
      push(parts, 'same', x[i] as string);
      i++;
      j++;
    } else if ((lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number)) {
      removed += x[i] as string;
      i++;
    } else {
      added += y[j] as string;
      j++;
    }
  }
  removed += x.slice(i).join('');
  added += y.slice(j).join('');
  flush();
  return parts;
}
