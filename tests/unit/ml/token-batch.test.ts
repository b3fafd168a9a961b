/**
 * @file Padded batches from texts tokenized once (src/lib/ml/token-batch.ts): cut and padded as the rules say, and
 * identical to the tokenizer's own `padding + truncation` batch call on the tiny-bert fixture.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBatchTokenizer } from '../../../src/lib/ml/transformers-adapter.ts';
import { padEncodings, type PaddingRule, type TextEncoding } from '../../../src/lib/ml/token-batch.ts';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/models/tiny-bert');

const encoding = (ids: number[], types?: number[]): TextEncoding => ({
  input_ids: ids,
  attention_mask: ids.map(() => 1),
  ...(types ? { token_type_ids: types } : {}),
});

const RIGHT: PaddingRule = { padTokenId: 9, side: 'right' };
const LEFT: PaddingRule = { padTokenId: 9, side: 'left' };

const cases: {
  name: string;
  encodings: TextEncoding[];
  maxLength: number;
  rule: PaddingRule;
  ids: number[][];
  mask: number[][];
  types?: number[][];
}[] = [
  {
    name: 'pads every row to the longest on the right',
    encodings: [encoding([1, 2, 3]), encoding([4])],
    maxLength: 10,
    rule: RIGHT,
    ids: [
      [1, 2, 3],
      [4, 9, 9],
    ],
    mask: [
      [1, 1, 1],
      [1, 0, 0],
    ],
  },
  {
    name: 'pads on the left when the tokenizer does',
    encodings: [encoding([1, 2, 3]), encoding([4])],
    maxLength: 10,
    rule: LEFT,
    ids: [
      [1, 2, 3],
      [9, 9, 4],
    ],
    mask: [
      [1, 1, 1],
      [0, 0, 1],
    ],
  },
  {
    name: 'cuts the end of a text longer than the limit',
    encodings: [encoding([1, 2, 3, 4, 5]), encoding([6, 7])],
    maxLength: 3,
    rule: RIGHT,
    ids: [
      [1, 2, 3],
      [6, 7, 9],
    ],
    mask: [
      [1, 1, 1],
      [1, 1, 0],
    ],
  },
  {
    name: 'keeps segment ids, padded with 0',
    encodings: [encoding([1, 2], [0, 1]), encoding([3], [1])],
    maxLength: 8,
    rule: RIGHT,
    ids: [
      [1, 2],
      [3, 9],
    ],
    mask: [
      [1, 1],
      [1, 0],
    ],
    types: [
      [0, 1],
      [1, 0],
    ],
  },
];

/** Rows of a row-major int64 array. */
function rows(data: BigInt64Array, width: number): number[][] {
  return Array.from({ length: data.length / width }, (_, row) =>
    Array.from(data.subarray(row * width, (row + 1) * width), Number),
  );
}

describe('padEncodings', () => {
  it.each(cases)('$name', ({ encodings, maxLength, rule, ids, mask, types }) => {
    const batch = padEncodings(encodings, maxLength, rule);
    const width = ids[0]?.length ?? 0;
    expect(batch.dims).toEqual([ids.length, width]);
    expect(rows(batch.input_ids, width)).toEqual(ids);
    expect(rows(batch.attention_mask, width)).toEqual(mask);
    if (types === undefined) expect(batch.token_type_ids).toBeUndefined();
    else expect(rows(batch.token_type_ids as BigInt64Array, width)).toEqual(types);
  });

  it('refuses an empty batch and a limit below one token', () => {
    expect(() => padEncodings([], 4, RIGHT)).toThrow(/at least one text/);
    expect(() => padEncodings([encoding([1])], 0, RIGHT)).toThrow(/maxLength must be at least 1/);
  });

  it("builds exactly the tokenizer's own padded, truncated batch from texts tokenized one by one", async () => {
    const tokenizer = await loadBatchTokenizer(FIXTURE);
    const texts = [
      'the football team scored a late goal',
      'sports',
      'rain and snow are in the forecast for tomorrow and the day after, with wind',
      '',
    ];
    for (const maxTokens of [128, 6]) {
      const reference = tokenizer.tokenize(texts, maxTokens);
      const alone = texts.map((text) => {
        const single = tokenizer.tokenize([text], 10_000);
        return {
          input_ids: Array.from(single.inputIds, Number),
          attention_mask: Array.from(single.attentionMask, Number),
          ...(single.tokenTypeIds ? { token_type_ids: Array.from(single.tokenTypeIds, Number) } : {}),
        };
      });
      // tiny-bert pads right with [PAD] = 0.
      const batch = padEncodings(alone, maxTokens, { padTokenId: 0, side: 'right' });
      expect(batch.dims).toEqual(reference.dims);
      expect(batch.input_ids).toEqual(reference.inputIds);
      expect(batch.attention_mask).toEqual(reference.attentionMask);
      expect(batch.token_type_ids).toEqual(reference.tokenTypeIds);
    }
  });
});
