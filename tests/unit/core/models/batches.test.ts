import { describe, expect, it } from 'vitest';
import { planBatches } from '../../../../src/lib/core/models/batches.ts';

describe('planBatches', () => {
  it('sorts by length (stable) and cuts at the row limit', () => {
    expect(planBatches([5, 1, 3, 1, 9], { maxRows: 2 })).toEqual([[1, 3], [2, 0], [4]]);
  });

  it('cuts where the padded batch would exceed the token budget, whatever the row limit', () => {
    // Sorted lengths 2, 2, 4, 10: [2,2] = 4 tokens, +4 → 3×4 = 12 > 10, so cut; [4] then +10 → 20 > 10, cut.
    expect(planBatches([10, 2, 4, 2], { maxRows: 32, tokenBudget: 10 })).toEqual([[1, 3], [2], [0]]);
  });

  it('gives a text longer than the budget a batch of its own', () => {
    expect(planBatches([50, 3], { maxRows: 8, tokenBudget: 10 })).toEqual([[1], [0]]);
  });

  it('holds every index exactly once', () => {
    const lengths = Array.from({ length: 300 }, (_, i) => (i * 37) % 129);
    const batches = planBatches(lengths, { maxRows: 16, tokenBudget: 512 });
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    for (const batch of batches) {
      const longest = Math.max(...batch.map((i) => lengths[i] as number));
      expect(batch.length).toBeLessThanOrEqual(16);
      if (batch.length > 1) expect(batch.length * longest).toBeLessThanOrEqual(512);
    }
    expect(planBatches([], { maxRows: 4 })).toEqual([]);
  });

  it('refuses limits and lengths that are not counts', () => {
    expect(() => planBatches([1], { maxRows: 0 })).toThrow(/maxRows must be a positive integer/);
    expect(() => planBatches([1], { maxRows: 2, tokenBudget: 1.5 })).toThrow(/tokenBudget/);
    expect(() => planBatches([1, -2], { maxRows: 2 })).toThrow(/Text 1 has an invalid token length/);
  });
});
