import { describe, expect, it } from 'vitest';
import { createRng, randomInt, shuffle } from '../../../../src/lib/core/rng/rng.ts';

describe('createRng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const draw = (seed: number): number[] => {
      const rng = createRng(seed);
      return Array.from({ length: 5 }, () => rng());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).not.toEqual(draw(1));
  });

  it('returns floats in [0, 1) spread over the interval', () => {
    const rng = createRng(7);
    const values = Array.from({ length: 10_000 }, () => rng());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });

  it('rejects a seed that is not a finite number', () => {
    expect(() => createRng(Number.NaN)).toThrow(/finite/);
  });

  it('randomInt stays within bounds and hits every value', () => {
    const rng = createRng(3);
    const seen = new Set(Array.from({ length: 500 }, () => randomInt(rng, 6)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('shuffle', () => {
  it('returns a permutation as a copy, leaving the input untouched', () => {
    const input = Array.from({ length: 20 }, (_, i) => i);
    const output = shuffle(input, createRng(1));
    expect(input).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(output).not.toBe(input);
    expect([...output].sort((a, b) => a - b)).toEqual(input);
    expect(output).not.toEqual(input);
  });

  it('is deterministic for a seed', () => {
    const input = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(shuffle(input, createRng(9))).toEqual(shuffle(input, createRng(9)));
  });

  it('puts every element in every position about equally often', () => {
    const rng = createRng(5);
    const firstCounts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) firstCounts[shuffle([0, 1, 2, 3], rng)[0] as number]!++;
    for (const count of firstCounts) expect(count).toBeGreaterThan(850);
  });

  it('handles empty and single-element arrays', () => {
    expect(shuffle([], createRng(1))).toEqual([]);
    expect(shuffle(['x'], createRng(1))).toEqual(['x']);
  });
});
