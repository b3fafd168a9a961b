import { describe, expect, it } from 'vitest';
import { ReferenceUnigram, type UnigramPiece } from '../../../../src/lib/core/tokenize/reference-unigram.ts';

/** A tiny vocabulary: 2 reserved entries (0 = unknown), then pieces with scores. */
const VOCAB: UnigramPiece[] = [
  { piece: '<unknown piece>', score: 0 },
  { piece: '<start of text>', score: 0 },
  { piece: '▁', score: -1 }, // 2
  { piece: '_', score: -2 }, // 3
  { piece: '__', score: -3 }, // 4
  { piece: '▁a', score: -1.5 }, // 5
  { piece: 'b', score: -2 }, // 6 (listed again as 11)
  { piece: 'ab', score: -5 }, // 7
  { piece: 'a', score: -2 }, // 8
  { piece: ':', score: 0 }, // 9: a zero score, like the pieces whose score is null in the real vocabulary
  { piece: '-', score: -4 }, // 10
  { piece: 'b', score: -7 }, // 11: a repeated piece keeps its last id and score
];

const tokenizer = new ReferenceUnigram(VOCAB, { reserved: 2, unknownId: 0 });

describe('ReferenceUnigram', () => {
  it.each([
    ['the best total score wins (▁ + ab = -6 over ▁a + b = -8.5)', '▁ab', [2, 7]],
    ['equal totals: the segmentation whose last piece is shortest wins', '▁___', [2, 4, 3]],
    ['an unmatched character is the unknown id', '▁a€b', [5, 0, 11]],
    ['runs of unknown characters fuse into one id', '▁€€€b', [2, 0, 11]],
    ['a best score of exactly 0 is replaced by the next candidate', ':-', [9, 10]],
    ['reserved entries are never matched', '<start of text>', [0, 8, 0]],
    ['a repeated piece keeps its last id', 'bb', [11, 11]],
    ['an empty text has no tokens', '', []],
  ])('%s', (_name, text, expected) => {
    expect(tokenizer.encode(text)).toEqual(expected);
  });
});

/**
 * The search written the plain way, as a lattice: every piece ending at each position collected, sorted by
 * start, then one pass over the ends. The class does it in one forward pass; both must pick the same ids.
 */
function latticeEncode(
  pieces: readonly UnigramPiece[],
  reserved: number,
  unknownId: number,
  text: string,
): number[] {
  const symbols = Array.from(text);
  const n = symbols.length;
  const candidates: [number, number, number][][] = Array.from({ length: n + 1 }, () => []);
  for (let start = 0; start < n; start++) {
    let matched = false;
    for (let end = start + 1; end <= n; end++) {
      const piece = symbols.slice(start, end).join('');
      let id = -1;
      for (let k = reserved; k < pieces.length; k++) if (pieces[k]!.piece === piece) id = k;
      if (id >= 0) {
        candidates[end]!.push([start, id, pieces[id]!.score]);
        matched = true;
      }
    }
    if (!matched) candidates[start + 1]!.push([start, unknownId, 0]);
  }
  for (const list of candidates) list.sort((a, b) => a[0] - b[0]);
  const best = new Float64Array(n + 1);
  const words = new Int32Array(n + 1);
  for (let end = 0; end <= n; end++) {
    for (const [start, id, score] of candidates[end]!) {
      const total = score + best[start]!;
      if (best[end] === 0 || total >= best[end]!) {
        best[end] = total;
        words[end] = id;
      }
    }
  }
  const reversed: number[] = [];
  for (let at = n; at > 0; at -= words[at] === unknownId ? 1 : pieces[words[at]!]!.piece.length) {
    reversed.push(words[at]!);
  }
  const ids: number[] = [];
  for (const id of reversed.reverse()) {
    if (id === unknownId && ids.at(-1) === unknownId) continue;
    ids.push(id);
  }
  return ids;
}

describe('ReferenceUnigram against the plain lattice search', () => {
  // Many ties (equal scores, zero scores), pieces of two UTF-16 units, unknown characters and a lone surrogate.
  const pieces: UnigramPiece[] = [
    ...VOCAB,
    { piece: 'a_', score: -2 }, // 12
    { piece: '_a', score: -2 }, // 13
    { piece: '▁_', score: -3 }, // 14
    { piece: '😀', score: -1 }, // 15
    { piece: '😀a', score: -3 }, // 16
    { piece: '-:', score: 0 }, // 17
    { piece: 'aba', score: -6 }, // 18
  ];
  const unigram = new ReferenceUnigram(pieces, { reserved: 2, unknownId: 0 });
  const alphabet = ['▁', '_', 'a', 'b', ':', '-', '€', '😀', '\uD800', 'ab', '__'];

  it('picks the same ids on 3,000 random texts', () => {
    let seed = 11;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const length = Math.floor(next() * 24);
      for (let k = 0; k < length; k++) text += alphabet[Math.floor(next() * alphabet.length)];
      expect(unigram.encode(text), JSON.stringify(text)).toEqual(latticeEncode(pieces, 2, 0, text));
      compared++;
    }
    expect(compared).toBe(3000);
  });
});
