import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import { adamModuleBytes, createSimdAdam, type AdamConstants } from '../../../src/lib/ml/adam-simd.ts';

/** Seeded values in [-scale, scale). */
function values(count: number, seed: number, scale: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => (rng() * 2 - 1) * scale);
}

const constants = (step: number): AdamConstants => {
  const rootSecondCorrection = Math.sqrt(1 - 0.999 ** step);
  return {
    beta1: 0.9,
    beta2: 0.999,
    rest1: 0.1,
    rest2: 0.001,
    stepSize: (0.01 * rootSecondCorrection) / (1 - 0.9 ** step),
    epsilon: 1e-7 * rootSecondCorrection,
  };
};

describe('Adam in WebAssembly SIMD', () => {
  it('is valid WebAssembly with SIMD, which Node has', () => {
    expect(WebAssembly.validate(adamModuleBytes())).toBe(true);
    expect(createSimdAdam([4])).toBeDefined();
  });

  it.each([
    { name: 'sizes that are multiples of 4', sizes: [8, 4] },
    { name: 'sizes with padding lanes, largest last', sizes: [5, 3, 130] },
    { name: 'a head-sized layer and a small one', sizes: [513 * 64, 65 * 2] },
  ])('$name: each matrix follows a float64 Adam over several steps', ({ sizes }) => {
    const adam = createSimdAdam(sizes);
    if (!adam) throw new Error('no WebAssembly SIMD');
    const reference = sizes.map((size, index) => ({
      parameters: Float64Array.from(values(size, index, 1)),
      first: new Float64Array(size),
      second: new Float64Array(size),
    }));
    let parameters = sizes.map((size, index) => values(size, index, 1));
    for (let step = 1; step <= 6; step++) {
      const settings = constants(step);
      // Matrices in turn, as a head's step does, with gradients of very different scales.
      parameters = parameters.map((current, index) => {
        const gradient = values(current.length, 100 * step + index, step % 2 === 0 ? 1 : 1e-3);
        const state = reference[index] as (typeof reference)[number];
        for (let entry = 0; entry < current.length; entry++) {
          const value = gradient[entry] as number;
          const first = (state.first[entry] = 0.9 * (state.first[entry] as number) + 0.1 * value);
          const second = (state.second[entry] =
            0.999 * (state.second[entry] as number) + 0.001 * value * value);
          state.parameters[entry] =
            (state.parameters[entry] as number) -
            (settings.stepSize * first) / (Math.sqrt(second) + settings.epsilon);
        }
        const before = current.slice();
        const next = adam.update(index, current, gradient, settings);
        expect(current.every((value, entry) => value === before[entry])).toBe(true);
        expect(next.length).toBe(current.length);
        return next;
      });
    }
    parameters.forEach((matrix, index) => {
      const state = reference[index] as (typeof reference)[number];
      const initial = values(matrix.length, index, 1);
      let gap = 0;
      let moved = 0;
      matrix.forEach((value, entry) => {
        gap = Math.max(gap, Math.abs(value - (state.parameters[entry] as number)));
        moved = Math.max(moved, Math.abs(value - (initial[entry] as number)));
      });
      expect(moved).toBeGreaterThan(0.01);
      expect(gap).toBeLessThanOrEqual(1e-6);
    });
  });

  it('rejects a matrix it was not made for, or of the wrong size', () => {
    const adam = createSimdAdam([4]);
    expect(() => adam?.update(1, new Float32Array(4), new Float32Array(4), constants(1))).toThrow(
      /no matrix 1/,
    );
    expect(() => adam?.update(0, new Float32Array(3), new Float32Array(3), constants(1))).toThrow(/4 values/);
  });
});
