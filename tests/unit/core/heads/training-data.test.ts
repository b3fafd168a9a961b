import { describe, expect, it } from 'vitest';
import { classWeights, validationSplit } from '../../../../src/lib/core/heads/training-data.ts';

/** 30 examples of class 0, 10 of class 1, 4 of class 2, interleaved. */
const LABELS = Array.from({ length: 44 }, (_, index) => (index < 30 ? 0 : index < 40 ? 1 : 2));

describe('validationSplit', () => {
  it('holds out a stratified, seeded slice disjoint from what the head trains on', () => {
    const split = validationSplit(LABELS, 0.2, 7);
    expect(validationSplit(LABELS, 0.2, 7)).toEqual(split);
    expect(validationSplit(LABELS, 0.2, 8).validation).not.toEqual(split.validation);
    const held = new Set(split.validation);
    expect(split.train.filter((index) => held.has(index))).toEqual([]);
    expect([...split.train, ...split.validation].sort((a, b) => a - b)).toEqual(LABELS.map((_, i) => i));
    const perClass = (indices: number[]) =>
      [0, 1, 2].map((c) => indices.filter((i) => LABELS[i] === c).length);
    expect(perClass(split.validation)).toEqual([6, 2, 1]);
  });

  it.each([
    ['no validation', [0, 0, 1, 1], 0, { train: [0, 1, 2, 3], validation: [] }],
    ['a class of one stays in training', [0, 0, 1], 0.1, { train: [0, 2], validation: [1] }],
  ] as const)('%s', (_, labels, fraction, expected) => {
    const split = validationSplit(labels, fraction, 1);
    expect(split.train.length).toBe(expected.train.length);
    expect(split.validation.length).toBe(expected.validation.length);
    expect(split.train.filter((index) => labels[index] === 1)).toEqual(
      expected.train.filter((index) => labels[index] === 1),
    );
  });

  it.each([
    ['a fraction of 1', [0, 1], 1, /below 1/],
    ['a negative fraction', [0, 1], -0.1, /at least 0/],
    ['one example per class', [0, 1, 2], 0.2, /leaves no validation example/],
  ] as const)('refuses %s', (_, labels, fraction, message) => {
    expect(() => validationSplit(labels, fraction, 1)).toThrow(message);
  });
});

describe('classWeights', () => {
  it('is 1 for every class without weighting', () => {
    expect(classWeights(LABELS, 3, 'none')).toEqual([1, 1, 1]);
  });

  it('balances: every class carries the same total weight, a missing class none', () => {
    const weights = classWeights(LABELS, 4, 'balanced');
    const totals = [0, 1, 2].map((c) => (weights[c] as number) * LABELS.filter((l) => l === c).length);
    totals.forEach((total) => expect(total).toBeCloseTo(44 / 4, 10));
    expect(weights[3]).toBe(0);
  });
});
