import { describe, expect, it } from 'vitest';
import {
  evaluateGoal,
  median,
  quantile,
  roundRatios,
  spread,
  unmeasuredGoal,
  type GoalSpec,
} from '../../../scripts/bench/stats.ts';

const speedGoal: GoalSpec = { id: 'P1-node', title: 'encoder / bare', direction: 'at-least', target: 0.95 };
const costGoal: GoalSpec = { id: 'P2', title: '8 variations / 1', direction: 'at-most', target: 1.1 };

describe('median and quantile', () => {
  it.each([
    { values: [3], expected: 3 },
    { values: [5, 1, 3], expected: 3 },
    { values: [4, 1, 3, 2], expected: 2.5 },
    { values: [2, 2, 9, 2], expected: 2 },
  ])('median of $values is $expected', ({ values, expected }) => {
    expect(median(values)).toBe(expected);
  });

  it('is NaN for no values, and never reorders the caller’s list', () => {
    expect(median([])).toBeNaN();
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it.each([
    { q: 0, expected: 1 },
    { q: 0.25, expected: 1.75 },
    { q: 0.5, expected: 2.5 },
    { q: 1, expected: 4 },
  ])('quantile $q of 1..4 interpolates to $expected', ({ q, expected }) => {
    expect(quantile([4, 2, 1, 3], q)).toBeCloseTo(expected, 12);
  });

  it('refuses a quantile outside [0, 1]', () => {
    expect(() => quantile([1], 1.5)).toThrow(/\[0, 1\]/);
  });

  it('spread gives median, extremes, IQR and count', () => {
    expect(spread([1, 2, 3, 4])).toEqual({ median: 2.5, min: 1, max: 4, iqr: 1.5, n: 4 });
  });
});

describe('roundRatios', () => {
  const rounds = [
    { a: 100, b: 50 },
    { a: 90, b: 60 },
  ];

  it('divides each round by its own partner, in either direction', () => {
    expect(roundRatios(rounds, 'a')).toEqual([2, 1.5]);
    expect(roundRatios(rounds, 'b')).toEqual([0.5, 60 / 90]);
  });

  it.each([
    { round: { a: 10, b: 0 }, why: 'zero' },
    { round: { a: 10, b: -1 }, why: 'negative' },
    { round: { a: Number.NaN, b: 1 }, why: 'NaN numerator' },
    { round: { a: 10, b: Number.POSITIVE_INFINITY }, why: 'infinite' },
  ])('refuses a $why time, naming the round', ({ round }) => {
    expect(() => roundRatios([{ a: 1, b: 1 }, round], 'a')).toThrow(/Round 2/);
  });
});

describe('evaluateGoal', () => {
  it.each([
    { spec: speedGoal, samples: [0.9, 0.96, 0.97], ratio: 0.96, pass: true },
    { spec: speedGoal, samples: [0.95], ratio: 0.95, pass: true },
    { spec: speedGoal, samples: [0.9, 0.94, 0.99], ratio: 0.94, pass: false },
    { spec: costGoal, samples: [1.2, 1.05, 1.0], ratio: 1.05, pass: true },
    { spec: costGoal, samples: [1.1], ratio: 1.1, pass: true },
    { spec: costGoal, samples: [1.3, 1.2, 1.0], ratio: 1.2, pass: false },
  ])('$spec.id on $samples: ratio $ratio, pass $pass', ({ spec, samples, ratio, pass }) => {
    const result = evaluateGoal(spec, samples);
    expect(result.ratio).toBe(ratio);
    expect(result.pass).toBe(pass);
    expect(result.target).toBe(spec.target);
    expect(result.samples).toHaveLength(samples.length);
  });

  it('rounds the samples and the spread for the file, and keeps the details', () => {
    const result = evaluateGoal(speedGoal, [1 / 3, 2 / 3], { details: { texts: 600 } });
    expect(result.samples).toEqual([0.333, 0.667]);
    expect(result.spread).toEqual({ median: 0.5, min: 0.333, max: 0.667, iqr: 0.167, n: 2 });
    expect(result.details).toEqual({ texts: 600 });
  });

  it('fails with a note, not a ratio, when there are no samples or one is not finite', () => {
    const empty = evaluateGoal(speedGoal, []);
    expect(empty).toMatchObject({ ratio: null, pass: false, spread: null, note: 'not measured' });
    const broken = evaluateGoal(speedGoal, [1, Number.NaN]);
    expect(broken).toMatchObject({ ratio: null, pass: false, note: 'a sample was not a finite number' });
    expect(unmeasuredGoal(costGoal, 'model missing')).toMatchObject({
      ratio: null,
      pass: false,
      note: 'model missing',
    });
  });
});
