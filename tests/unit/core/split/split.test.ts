import { describe, expect, it } from 'vitest';
import type { Dataset, LabeledExample } from '../../../../src/lib/core/dataset/types.ts';
import { DatasetError } from '../../../../src/lib/core/errors.ts';
import { sampleShotsPerClass, stratifiedSplit } from '../../../../src/lib/core/split/split.ts';

function makeDataset(counts: Record<string, number>): Dataset {
  const examples: LabeledExample[] = [];
  let row = 0;
  // Interleave classes so "original order" is not the same as "grouped by class".
  const remaining = { ...counts };
  while (Object.values(remaining).some((count) => count > 0)) {
    for (const label of Object.keys(remaining)) {
      if ((remaining[label] ?? 0) > 0) {
        row++;
        examples.push({ id: `r${row}`, text: `${label} text ${row}`, label });
        remaining[label] = (remaining[label] ?? 0) - 1;
      }
    }
  }
  return { name: 'synthetic', labels: Object.keys(counts).sort(), examples };
}

const ids = (examples: LabeledExample[]): string[] => examples.map((example) => example.id);
const countOf = (examples: LabeledExample[], label: string): number =>
  examples.filter((example) => example.label === label).length;

describe('stratifiedSplit', () => {
  const dataset = makeDataset({ a: 20, b: 10, c: 7 });

  it('holds out round(n × test) of every class and keeps everything else for training', () => {
    const split = stratifiedSplit(dataset, { test: 0.3, seed: 42 });
    expect(countOf(split.test, 'a')).toBe(6);
    expect(countOf(split.test, 'b')).toBe(3);
    expect(countOf(split.test, 'c')).toBe(2);
    expect(split.train.length + split.test.length).toBe(dataset.examples.length);
  });

  it('rounds the per-class test count to the nearest whole example', () => {
    const split = stratifiedSplit(makeDataset({ a: 5, b: 9, c: 6 }), { test: 0.3, seed: 2 });
    // 5 × 0.3 = 1.5 -> 2, 9 × 0.3 = 2.7 -> 3, 6 × 0.3 = 1.8 -> 2
    expect([countOf(split.test, 'a'), countOf(split.test, 'b'), countOf(split.test, 'c')]).toEqual([2, 3, 2]);
  });

  it('never puts an example on both sides, and loses none', () => {
    const split = stratifiedSplit(dataset, { test: 0.5, seed: 1 });
    const trainIds = new Set(ids(split.train));
    expect(split.test.filter((example) => trainIds.has(example.id))).toEqual([]);
    expect([...ids(split.train), ...ids(split.test)].sort()).toEqual(ids(dataset.examples).sort());
  });

  it('keeps the original dataset order on both sides', () => {
    const split = stratifiedSplit(dataset, { test: 0.4, seed: 3 });
    const position = new Map(dataset.examples.map((example, index) => [example.id, index]));
    for (const side of [split.train, split.test]) {
      const positions = side.map((example) => position.get(example.id) ?? -1);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    }
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const first = stratifiedSplit(dataset, { test: 0.3, seed: 42 });
    const again = stratifiedSplit(dataset, { test: 0.3, seed: 42 });
    const other = stratifiedSplit(dataset, { test: 0.3, seed: 43 });
    expect(ids(again.test)).toEqual(ids(first.test));
    expect(ids(other.test)).not.toEqual(ids(first.test));
  });

  it('keeps at least one example of every class on each side, even at extreme fractions', () => {
    const small = makeDataset({ x: 2, y: 3, z: 40 });
    for (const test of [0.01, 0.99]) {
      const split = stratifiedSplit(small, { test, seed: 5 });
      for (const label of small.labels) {
        expect(countOf(split.train, label), `${label} train at ${test}`).toBeGreaterThanOrEqual(1);
        expect(countOf(split.test, label), `${label} test at ${test}`).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('refuses a test fraction outside (0, 1) and a non-integer seed', () => {
    for (const test of [0, 1, -0.2, 1.5, Number.NaN]) {
      expect(() => stratifiedSplit(dataset, { test, seed: 1 })).toThrow(/between 0 and 1/);
    }
    expect(() => stratifiedSplit(dataset, { test: 0.3, seed: 1.5 })).toThrow(/integer/);
  });

  it('refuses a class with a single example, naming it', () => {
    const tiny: Dataset = {
      name: 't',
      labels: ['a', 'b'],
      examples: [
        { id: 'r1', text: '1', label: 'a' },
        { id: 'r2', text: '2', label: 'a' },
        { id: 'r3', text: '3', label: 'b' },
      ],
    };
    expect(() => stratifiedSplit(tiny, { test: 0.5, seed: 1 })).toThrow(DatasetError);
    expect(() => stratifiedSplit(tiny, { test: 0.5, seed: 1 })).toThrow(/Class "b" has 1 example/);
  });
});

describe('sampleShotsPerClass', () => {
  const train = makeDataset({ a: 10, b: 6, c: 2 }).examples;
  const labels = ['a', 'b', 'c'];

  it('takes up to k examples per class, all of a class that has fewer, in original order', () => {
    const sample = sampleShotsPerClass(train, labels, 4, 7);
    expect(countOf(sample, 'a')).toBe(4);
    expect(countOf(sample, 'b')).toBe(4);
    expect(countOf(sample, 'c')).toBe(2);
    const position = new Map(train.map((example, index) => [example.id, index]));
    const positions = sample.map((example) => position.get(example.id) ?? -1);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
  });

  it('is deterministic, and a smaller sample is contained in a larger one for the same seed', () => {
    expect(ids(sampleShotsPerClass(train, labels, 3, 9))).toEqual(
      ids(sampleShotsPerClass(train, labels, 3, 9)),
    );
    const smaller = new Set(ids(sampleShotsPerClass(train, labels, 2, 9)));
    const larger = new Set(ids(sampleShotsPerClass(train, labels, 5, 9)));
    for (const id of smaller) expect(larger.has(id)).toBe(true);
    expect(ids(sampleShotsPerClass(train, labels, 2, 10))).not.toEqual(
      ids(sampleShotsPerClass(train, labels, 2, 9)),
    );
  });

  it('refuses a shot count that is not a positive integer', () => {
    expect(() => sampleShotsPerClass(train, labels, 0, 1)).toThrow(/at least 1/);
    expect(() => sampleShotsPerClass(train, labels, 2.5, 1)).toThrow(/whole number/);
  });
});
