import { describe, expect, it } from 'vitest';
import {
  batchCost,
  type BatchCost,
  batchCostFor,
  type BatchLimits,
  DEFAULT_BATCH_COST,
  planBatches,
  tokenBudgetFor,
} from '../../../../src/lib/core/models/batches.ts';

/** Only forward passes count: the fewest batches the limits allow. */
const CALLS: BatchCost = { perCall: 1, perToken: 0, perTokenPerLength: 0 };
/** Only padded tokens count: no padding at all, equal lengths together. */
const TOKENS: BatchCost = { perCall: 0, perToken: 1, perTokenPerLength: 0 };

/** Summed estimate of a plan. */
function planCost(lengths: readonly number[], batches: number[][], cost: BatchCost): number {
  return batches.reduce(
    (sum, batch) => sum + batchCost(batch.length, Math.max(...batch.map((i) => lengths[i] as number)), cost),
    0,
  );
}

/** Every way to split `items` into groups (Bell(n) of them: keep n small). */
function* partitions(items: number[]): Generator<number[][]> {
  if (items.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = items as [number, ...number[]];
  for (const partition of partitions(rest)) {
    yield [[first], ...partition];
    for (let k = 0; k < partition.length; k++) {
      yield partition.map((group, j) => (j === k ? [first, ...group] : group));
    }
  }
}

/** Deterministic pseudo-random integers in [0, max). */
function lcg(seed: number): (max: number) => number {
  let state = seed;
  return (max) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % max;
  };
}

describe('planBatches', () => {
  const cases: { name: string; lengths: number[]; limits: BatchLimits; expected: number[][] }[] = [
    {
      name: 'fewest calls: the row limit cuts, the shortest text left alone',
      lengths: [5, 1, 3, 1, 9],
      limits: { maxRows: 2, cost: CALLS },
      expected: [[1], [3, 2], [0, 4]],
    },
    {
      name: 'fewest calls: the token budget cuts, whatever the row limit',
      // Sorted 2, 2, 4, 10 with 10 padded tokens at most: [2,2,4] would be 12 and 10 is over on its own, so three
      // batches; on a tie the later batch is the bigger one.
      lengths: [10, 2, 4, 2],
      limits: { maxRows: 32, tokenBudget: 10, cost: CALLS },
      expected: [[1], [3, 2], [0]],
    },
    {
      name: 'a text longer than the budget gets a batch of its own',
      lengths: [50, 3],
      limits: { maxRows: 8, tokenBudget: 10, cost: CALLS },
      expected: [[1], [0]],
    },
    {
      name: 'fewest tokens: no padding, equal lengths share a batch in input order',
      lengths: [5, 1, 3, 1, 9, 3],
      limits: { maxRows: 32, cost: TOKENS },
      expected: [[1, 3], [2, 5], [0], [4]],
    },
    {
      name: 'a cheap call: one long text is not worth padding three short ones to it',
      // Together 50 + 4 × 100 = 450; apart 50 + 30 + 50 + 100 = 230.
      lengths: [10, 100, 10, 10],
      limits: { maxRows: 32, cost: { perCall: 50, perToken: 1, perTokenPerLength: 0 } },
      expected: [[0, 2, 3], [1]],
    },
    {
      name: 'a dear call: the same texts share one batch',
      // Together 1,000 + 400 = 1,400; apart 2,000 + 130 = 2,130.
      lengths: [10, 100, 10, 10],
      limits: { maxRows: 32, cost: { perCall: 1000, perToken: 1, perTokenPerLength: 0 } },
      expected: [[0, 2, 3, 1]],
    },
    {
      name: 'attention makes padding dearer the longer the batch',
      // perCall 60: 8 and 16 together cost 60 + 32 = 92 < 60 + 8 + 60 + 16 = 144 without attention; with 4 per
      // token-length, 60 + 32 × 65 = 2,140 against 60 + 8 × 33 + 60 + 16 × 65 = 1,424, so they part.
      lengths: [16, 8],
      limits: { maxRows: 32, cost: { perCall: 60, perToken: 1, perTokenPerLength: 4 } },
      expected: [[1], [0]],
    },
    {
      name: 'empty texts count as one token and batch together',
      lengths: [0, 0, 0],
      limits: { maxRows: 32 },
      expected: [[0, 1, 2]],
    },
    { name: 'no texts, no batches', lengths: [], limits: { maxRows: 4 }, expected: [] },
  ];

  it.each(cases)('$name', ({ lengths, limits, expected }) => {
    expect(planBatches(lengths, limits)).toEqual(expected);
  });

  it('finds the cheapest grouping of all, on small random sets (checked against every partition)', () => {
    const random = lcg(7);
    const costs: BatchCost[] = [
      DEFAULT_BATCH_COST,
      { perCall: 40, perToken: 1, perTokenPerLength: 0.05 },
      { perCall: 3, perToken: 1, perTokenPerLength: 0 },
    ];
    for (let trial = 0; trial < 24; trial++) {
      const lengths = Array.from({ length: 2 + random(6) }, () => random(130));
      const limits = { maxRows: 1 + random(4), tokenBudget: 128 + random(300), cost: costs[trial % 3] };
      const planned = planBatches(lengths, limits);
      let cheapest = Number.POSITIVE_INFINITY;
      for (const partition of partitions(lengths.map((_, i) => i))) {
        const allowed = partition.every(
          (group) =>
            group.length <= limits.maxRows &&
            (group.length === 1 ||
              group.length * Math.max(1, ...group.map((i) => lengths[i] as number)) <= limits.tokenBudget),
        );
        if (allowed) cheapest = Math.min(cheapest, planCost(lengths, partition, limits.cost as BatchCost));
      }
      expect(planCost(lengths, planned, limits.cost as BatchCost)).toBeCloseTo(cheapest, 6);
    }
  });

  it('holds every index exactly once within the limits, on a large mixed set with the default costs', () => {
    const lengths = Array.from({ length: 3000 }, (_, i) => (i * 37) % 513);
    for (const limits of [
      { maxRows: 16, tokenBudget: 512 },
      { maxRows: 32 },
      { maxRows: 1 },
    ]) {
      const batches = planBatches(lengths, limits);
      expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      for (const batch of batches) {
        const longest = Math.max(...batch.map((i) => lengths[i] as number));
        expect(batch.length).toBeLessThanOrEqual(limits.maxRows);
        if (batch.length > 1) expect(batch.length * longest).toBeLessThanOrEqual(limits.tokenBudget ?? 8192);
      }
    }
  });

  it('scales the cost model and the token budget with the model width', () => {
    expect(batchCostFor(384)).toEqual(DEFAULT_BATCH_COST);
    const narrow = batchCostFor(192);
    // A quarter of the matrix work per token, the same fixed cost per call, attention a 6 × width-th of a token.
    expect(narrow.perToken).toBeCloseTo(DEFAULT_BATCH_COST.perToken / 4, 9);
    expect(narrow.perCall).toBe(DEFAULT_BATCH_COST.perCall);
    expect(narrow.perTokenPerLength * 6 * 192).toBeCloseTo(narrow.perToken, 9);
    expect([32, 384, 512, 1024, 100_000].map(tokenBudgetFor)).toEqual([6144, 512, 384, 192, 1]);
    expect(() => batchCostFor(0)).toThrow(/width must be a positive integer/);
    expect(() => tokenBudgetFor(1.5)).toThrow(/width must be a positive integer/);
  });

  it('keeps long texts to small batches and short ones to full batches on a wide model', () => {
    // 32 texts cut at 128 tokens and 64 of 12 tokens, width 384 (all-MiniLM-L6-v2).
    const lengths = [...Array.from({ length: 32 }, () => 128), ...Array.from({ length: 64 }, () => 12)];
    const batches = planBatches(lengths, {
      maxRows: 32,
      tokenBudget: tokenBudgetFor(384),
      cost: batchCostFor(384),
    });
    expect(batches.map((batch) => batch.length)).toEqual([32, 32, 4, 4, 4, 4, 4, 4, 4, 4]);
  });

  it('refuses limits, costs and lengths that are not counts', () => {
    expect(() => planBatches([1], { maxRows: 0 })).toThrow(/maxRows must be a positive integer/);
    expect(() => planBatches([1], { maxRows: 2, tokenBudget: 1.5 })).toThrow(/tokenBudget/);
    expect(() => planBatches([1, -2], { maxRows: 2 })).toThrow(/Text 1 has an invalid token length/);
    expect(() => planBatches([1], { maxRows: 2, cost: { ...CALLS, perToken: -1 } })).toThrow(/perToken/);
    expect(() => planBatches([1], { maxRows: 2, cost: { ...CALLS, perCall: Number.NaN } })).toThrow(/perCall/);
  });
});
