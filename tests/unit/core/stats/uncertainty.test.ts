import { describe, expect, it } from 'vitest';
import { createRng, randomInt } from '../../../../src/lib/core/rng/rng.ts';
import {
  BOOTSTRAP_DRAWS_CACHED,
  bootstrapIntervals,
  bootstrapIntervalsCooperative,
  compareRuns,
  exactMcNemarP,
  mcnemar,
  quantileSorted,
  runIntervals,
  runIntervalsCooperative,
} from '../../../../src/lib/core/stats/uncertainty.ts';

/** Hand-computed: 2·Σ_{i≤k} C(n,i) / 2ⁿ. */
const handP: [onlyA: number, onlyB: number, p: number][] = [
  [0, 0, 1],
  [1, 0, 1], // 2·(1)/2 = 1
  [5, 0, 2 / 32], // 2·1/32
  [0, 6, 2 / 64],
  [7, 2, (2 * (1 + 9 + 36)) / 512], // n=9, k=2
  [10, 3, (2 * (1 + 13 + 78 + 286)) / 8192], // n=13, k=3
  [4, 4, 1], // symmetric: capped at 1
  [12, 1, (2 * (1 + 13)) / 8192],
];

describe('exact McNemar', () => {
  it.each(handP)('onlyA %i, onlyB %i → p %f', (onlyA, onlyB, p) => {
    expect(exactMcNemarP(onlyA, onlyB)).toBeCloseTo(p, 12);
    expect(exactMcNemarP(onlyB, onlyA)).toBeCloseTo(p, 12);
  });

  it('stays finite and exact for thousands of discordant pairs', () => {
    // n = 2000, k = 900: far in the body of the binomial, no overflow; symmetric halves sum to ~ a known value.
    const p = exactMcNemarP(1100, 900);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-5);
    expect(exactMcNemarP(1000, 1000)).toBe(1);
  });

  it('refuses counts that are not counts', () => {
    expect(() => exactMcNemarP(-1, 2)).toThrow(/onlyA must be a count/);
    expect(() => exactMcNemarP(1, 0.5)).toThrow(/onlyB must be a count/);
  });

  it('counts discordant pairs from per-example correctness', () => {
    const a = [true, true, false, true, false, true];
    const b = [true, false, false, false, true, true];
    expect(mcnemar(a, b)).toEqual({ onlyA: 2, onlyB: 1, p: 1 });
    expect(() => mcnemar([true], [])).toThrow(/different examples/);
  });

  it('compares every pair of runs by name, a before b', () => {
    const test = [
      { id: '1', label: 'x' },
      { id: '2', label: 'y' },
      { id: '3', label: 'x' },
    ];
    const run = (name: string, labels: string[]) => ({
      name,
      predictions: labels.map((label, i) => ({ id: String(i + 1), label })),
    });
    const comparisons = compareRuns(
      [run('A', ['x', 'y', 'x']), run('B', ['y', 'y', 'y']), run('C', ['x', 'x', 'x'])],
      test,
    );
    expect(comparisons.map(({ a, b, onlyA, onlyB }) => [a, b, onlyA, onlyB])).toEqual([
      ['A', 'B', 2, 0],
      ['A', 'C', 1, 0],
      ['B', 'C', 1, 2],
    ]);
    // A run kept from another split (no prediction for some test example) is left out, never compared.
    expect(compareRuns([{ name: 'stale', predictions: [] }, run('A', ['x', 'y', 'x'])], test)).toEqual([]);
  });
});

/**
 * The bootstrap written the plain way (a fresh stream, one draw at a time, arrays of numbers sorted with a
 * comparator): the module's cached draws and typed arrays must give exactly these numbers.
 */
function plainBootstrap(
  truth: number[],
  predicted: number[],
  classes: number,
  seed: number,
  resamples: number,
) {
  const rng = createRng(seed);
  const n = truth.length;
  const accuracies: number[] = [];
  const f1s: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const cells = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
    for (let i = 0; i < n; i++) {
      const pick = randomInt(rng, n);
      (cells[truth[pick] as number] as number[])[predicted[pick] as number]! += 1;
    }
    let correct = 0;
    let sum = 0;
    let present = 0;
    for (let k = 0; k < classes; k++) {
      const row = cells[k] as number[];
      correct += row[k] as number;
      const actual = row.reduce((a, b) => a + b, 0);
      const predictedK = cells.reduce((a, other) => a + (other[k] as number), 0);
      if (actual + predictedK > 0) {
        sum += row[k] === 0 ? 0 : (2 * (row[k] as number)) / (actual + predictedK);
        present++;
      }
    }
    accuracies.push(correct / n);
    f1s.push(present === 0 ? 0 : sum / present);
  }
  const tail = (1 - 0.95) / 2;
  const interval = (values: number[]) => {
    values.sort((a, b) => a - b);
    return [quantileSorted(values, tail), quantileSorted(values, 1 - tail)];
  };
  return { accuracyCI: interval(accuracies), macroF1CI: interval(f1s) };
}

/** [test size, classes, seed, resamples]: cached streams, a repeat of one (served from the cache), one too long to keep. */
const streams: [n: number, classes: number, seed: number, resamples: number][] = [
  [45, 3, 20_211_231, 1000],
  [45, 3, 20_211_231, 1000],
  [7, 2, 1, 1000],
  [120, 4, 99, 250],
  [Math.ceil(BOOTSTRAP_DRAWS_CACHED / 50) + 1, 3, 5, 50],
];

describe('bootstrap intervals', () => {
  it.each(streams)(
    'n %i, %i classes, seed %i, %i resamples: the plain computation exactly',
    (n, classes, seed, resamples) => {
      const rng = createRng(n + seed);
      const truth = Array.from({ length: n }, () => randomInt(rng, classes));
      const predicted = truth.map((label) => (rng() < 0.3 ? randomInt(rng, classes) : label));
      expect(bootstrapIntervals(truth, predicted, classes, { seed, resamples })).toEqual(
        plainBootstrap(truth, predicted, classes, seed, resamples),
      );
    },
  );

  it.each(streams)(
    'n %i, %i classes, seed %i, %i resamples: cooperatively, in slices, the same numbers',
    async (n, classes, seed, resamples) => {
      const rng = createRng(n + seed);
      const truth = Array.from({ length: n }, () => randomInt(rng, classes));
      const predicted = truth.map((label) => (rng() < 0.3 ? randomInt(rng, classes) : label));
      await expect(
        bootstrapIntervalsCooperative(truth, predicted, classes, { seed, resamples }),
      ).resolves.toEqual(bootstrapIntervals(truth, predicted, classes, { seed, resamples }));
    },
  );

  it('gives the same numbers when cooperative computations share a stream and interleave', async () => {
    // A seed no other test uses, so the stream is drawn while both computations run.
    const options = { seed: 4242, resamples: 1000 };
    const truth = Array.from({ length: 300 }, (_, i) => i % 3);
    const first = truth.map((label, i) => (i % 5 === 0 ? (label + 1) % 3 : label));
    const second = truth.map((label, i) => (i % 3 === 0 ? (label + 2) % 3 : label));
    const [a, b] = await Promise.all([
      bootstrapIntervalsCooperative(truth, first, 3, options),
      bootstrapIntervalsCooperative(truth, second, 3, options),
    ]);
    expect(a).toEqual(plainBootstrap(truth, first, 3, options.seed, options.resamples));
    expect(b).toEqual(plainBootstrap(truth, second, 3, options.seed, options.resamples));
  });

  it('hands its result over in a task of its own, not in the task of its last slice', async () => {
    let taskBetween = false;
    // One slice computes all ten resamples; a task queued behind it runs before the result arrives.
    const result = bootstrapIntervalsCooperative([0, 1, 1, 0], [0, 1, 0, 0], 2, { seed: 5, resamples: 10 });
    setTimeout(() => (taskBetween = true), 0);
    await result;
    expect(taskBetween).toBe(true);
  });

  it('rejects cooperatively what it refuses synchronously, with the same messages', async () => {
    await expect(bootstrapIntervalsCooperative([], [], 2)).rejects.toThrow(/zero test examples/);
    await expect(bootstrapIntervalsCooperative([0, 1], [0, -1], 2)).rejects.toThrow(
      /out of range at example 1/,
    );
    const test = [{ id: 'a', label: 'x' }];
    await expect(runIntervalsCooperative(test, [{ id: 'a', label: 'z' }], ['x'])).rejects.toThrow(
      /prediction for "a" has a label/,
    );
    await expect(runIntervalsCooperative(test, [{ id: 'a', label: 'x' }], ['x'])).resolves.toEqual(
      runIntervals(test, [{ id: 'a', label: 'x' }], ['x']),
    );
  });

  it('interpolates quantiles between order statistics', () => {
    expect(quantileSorted([0, 10], 0.25)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(() => quantileSorted([], 0.5)).toThrow();
  });

  it('is seeded: the same inputs give the same interval, another seed another one', () => {
    const truth = Array.from({ length: 60 }, (_, i) => i % 3);
    const predicted = truth.map((label, i) => (i % 4 === 0 ? (label + 1) % 3 : label));
    const first = bootstrapIntervals(truth, predicted, 3);
    expect(bootstrapIntervals(truth, predicted, 3)).toEqual(first);
    expect(bootstrapIntervals(truth, predicted, 3, { seed: 7 })).not.toEqual(first);
    const [low, high] = first.accuracyCI;
    expect(low).toBeLessThan(0.75);
    expect(high).toBeGreaterThan(0.75);
    expect(first.macroF1CI[0]).toBeLessThan(first.macroF1CI[1]);
  });

  it('is a point when every prediction is right', () => {
    const truth = [0, 1, 0, 1, 1];
    expect(bootstrapIntervals(truth, truth, 2)).toEqual({ accuracyCI: [1, 1], macroF1CI: [1, 1] });
  });

  it('covers the true accuracy about 95% of the time (simulated classifier of known accuracy)', () => {
    // A classifier right with probability 0.7 on 100 examples; 200 simulated test sets.
    const rng = createRng(3);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const truth = Array.from({ length: 100 }, () => (rng() < 0.5 ? 0 : 1));
      const predicted = truth.map((label) => (rng() < 0.7 ? label : 1 - label));
      const [low, high] = bootstrapIntervals(truth, predicted, 2, { resamples: 400, seed: t }).accuracyCI;
      if (low <= 0.7 && 0.7 <= high) covered++;
    }
    // Binomial(200, 0.95) has sd ≈ 3.1 (1.5%); the percentile bootstrap runs slightly narrow at n = 100.
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThanOrEqual(0.99);
  });

  it('matches runs to test examples by id and names bad labels', () => {
    const test = [
      { id: 'a', label: 'x' },
      { id: 'b', label: 'y' },
    ];
    const intervals = runIntervals(
      test,
      [
        { id: 'b', label: 'y' },
        { id: 'a', label: 'x' },
      ],
      ['x', 'y'],
    );
    expect(intervals.accuracyCI).toEqual([1, 1]);
    expect(() =>
      runIntervals(
        test,
        [
          { id: 'a', label: 'z' },
          { id: 'b', label: 'y' },
        ],
        ['x', 'y'],
      ),
    ).toThrow(/prediction for "a" has a label/);
    expect(() => bootstrapIntervals([], [], 2)).toThrow(/zero test examples/);
    // Every index is checked before resampling, not only those a draw happens to pick.
    expect(() => bootstrapIntervals([0, 1, 2], [0, 1, 1], 2)).toThrow(/out of range at example 2/);
    expect(() => bootstrapIntervals([0, 1], [0.5, 1], 2)).toThrow(/out of range at example 0/);
    expect(() => bootstrapIntervals([0, 1], [0, -1], 2)).toThrow(/out of range at example 1/);
  });
});
