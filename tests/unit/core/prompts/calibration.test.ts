import { describe, expect, it } from 'vitest';
import { calibrate, contentFreeBias } from '../../../../src/lib/core/prompts/calibration.ts';

describe('contextual calibration', () => {
  it('averages and renormalises the content-free scores into a bias', () => {
    expect(
      contentFreeBias([
        [0.8, 0.2],
        [0.6, 0.4],
      ]),
    ).toEqual([0.7, 0.30000000000000004]);
    expect(() => contentFreeBias([])).toThrow(/at least one content-free input/);
    expect(() => contentFreeBias([[0.5, 0.5], [1]])).toThrow(/expected 2/);
    expect(() => contentFreeBias([[Number.NaN, 1]])).toThrow(/not a probability/);
  });

  it('removes a bias toward one label: a borderline example flips to the other label', () => {
    const bias = [0.8, 0.2];
    const [row] = calibrate([[0.7, 0.3]], bias);
    // 0.7/0.8 = 0.875, 0.3/0.2 = 1.5 → [0.368…, 0.631…]
    expect(row?.[0]).toBeCloseTo(0.875 / 2.375, 12);
    expect(row?.[1]).toBeCloseTo(1.5 / 2.375, 12);
  });

  it('leaves scores alone under a uniform bias and never divides by zero', () => {
    expect(calibrate([[0.25, 0.75]], [0.5, 0.5])).toEqual([[0.25, 0.75]]);
    const [row] = calibrate([[0.5, 0.5]], [1, 0]);
    expect(row?.every(Number.isFinite)).toBe(true);
    expect(() => calibrate([[1, 0, 0]], [0.5, 0.5])).toThrow(/3 labels/);
  });
});
