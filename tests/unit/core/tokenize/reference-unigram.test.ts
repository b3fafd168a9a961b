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
