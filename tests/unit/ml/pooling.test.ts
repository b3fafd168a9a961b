/**
 * @file Pooling (src/lib/ml/pooling.ts): mean, first and last token over the attention mask, on a hand-made batch
 * whose answers can be read off: padding never counts, whether the mask holds numbers or bigints.
 */
import { describe, expect, it } from 'vitest';
import { POOLINGS } from '../../../src/lib/core/experiment/schema.ts';
import type { Pooling } from '../../../src/lib/core/experiment/types.ts';
import {
  assertPooling,
  poolBatch,
  TOKEN_POOLINGS,
  type TokenPooling,
  type TokenStates,
} from '../../../src/lib/ml/pooling.ts';

/**
 * Two texts, three token slots, two dimensions. Text 0 has three real tokens; text 1 has two and one padding slot
 * whose vector (99, 99) must never show up in a result.
 */
const STATES: TokenStates = {
  data: Float32Array.from([1, 10, 2, 20, 6, 60, 3, 30, 5, 50, 99, 99]),
  dims: [2, 3, 2],
  mask: [1, 1, 1, 1, 1, 0],
};

describe('poolBatch', () => {
  it.each<[TokenPooling, number[][]]>([
    [
      'mean',
      [
        [3, 30],
        [4, 40],
      ],
    ],
    [
      'cls',
      [
        [1, 10],
        [3, 30],
      ],
    ],
    [
      'last',
      [
        [6, 60],
        [5, 50],
      ],
    ],
  ])('%s pooling gives one vector per text from its real tokens only', (pooling, expected) => {
    expect(poolBatch(STATES, pooling).map((vector) => [...vector])).toEqual(expected);
  });

  it('reads a bigint mask (as int64 tensors hold it) the same as a number mask', () => {
    const bigintMask = { ...STATES, mask: BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 0n]) };
    for (const pooling of TOKEN_POOLINGS)
      expect(poolBatch(bigintMask, pooling)).toEqual(poolBatch(STATES, pooling));
  });

  it('gives the same mean however much padding the batch added', () => {
    const alone = poolBatch(
      { data: Float32Array.from([0.1, 0.7, 0.2, 0.9]), dims: [1, 2, 2], mask: [1, 1] },
      'mean',
    );
    const padded = poolBatch(
      { data: Float32Array.from([0.1, 0.7, 0.2, 0.9, 5, 5, 7, 7]), dims: [1, 4, 2], mask: [1, 1, 0, 0] },
      'mean',
    );
    expect(padded).toEqual(alone);
  });

  it('returns zeros, not NaN, for a text whose mask has no real token', () => {
    const [vector] = poolBatch({ data: Float32Array.from([4, 8]), dims: [1, 1, 2], mask: [0] }, 'mean');
    expect([...(vector ?? [])]).toEqual([0, 0]);
  });

  it('returns fresh vectors that do not alias the model output', () => {
    const data = Float32Array.from([1, 2]);
    const [vector] = poolBatch({ data, dims: [1, 1, 2], mask: [1] }, 'cls');
    data[0] = 42;
    expect(vector?.[0]).toBe(1);
  });

  it('refuses data or a mask that do not fit the dims', () => {
    expect(() => poolBatch({ ...STATES, dims: [2, 3, 3] }, 'mean')).toThrow(/do not fit dims \[2, 3, 3\]/);
    expect(() => poolBatch({ ...STATES, mask: [1, 1, 1] }, 'mean')).toThrow(RangeError);
  });
});

describe('assertPooling', () => {
  it('accepts every listed pooling and names them all for an unknown one', () => {
    for (const pooling of POOLINGS) expect(() => assertPooling(pooling)).not.toThrow();
    expect(() => assertPooling('max' as Pooling)).toThrow(
      'Unknown pooling "max". Use one of: "mean", "cls", "last", "sentence".',
    );
  });

  it('computes every pooling but the model’s own sentence embedding from token vectors', () => {
    expect(TOKEN_POOLINGS).toEqual(POOLINGS.filter((pooling) => pooling !== 'sentence'));
    expect(() => poolBatch(STATES, 'sentence' as TokenPooling)).toThrow(/not computed from token vectors/);
  });
});
