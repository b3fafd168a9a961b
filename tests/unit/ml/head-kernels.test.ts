import { describe, expect, it } from 'vitest';
import { compileHeadKernels } from '../../../scripts/wasm/head-kernels.ts';
import { HEAD_KERNELS_WASM_BASE64 } from '../../../src/lib/ml/head-kernels-binary.ts';
import { createHeadKernels, type AdamConstants } from '../../../src/lib/ml/head-kernels.ts';
import { seededValues } from './head-step-reference.ts';

const IMPLEMENTATIONS = ['wasm', 'js'] as const;

/** Adam as written in the kernels' contract, in float64: the reference both implementations are held to. */
function referenceAdam(
  gradient: Float32Array,
  first: Float32Array,
  second: Float32Array,
  parameters: Float32Array,
  { beta1, beta2, stepSize, epsilon, decay }: AdamConstants,
): Float64Array[] {
  const m = Float64Array.from(
    first,
    (value, index) => beta1 * value + (1 - beta1) * (gradient[index] as number),
  );
  const v = Float64Array.from(
    second,
    (value, index) => beta2 * value + (1 - beta2) * (gradient[index] as number) ** 2,
  );
  const p = Float64Array.from(
    parameters,
    (value, index) =>
      (value - (stepSize * (m[index] as number)) / (Math.sqrt(v[index] as number) + epsilon)) * decay,
  );
  return [m, v, p];
}

describe('head kernels', () => {
  it('the committed binary is head-kernels.wat compiled (run `npm run wasm` after editing it)', async () => {
    const compiled = await compileHeadKernels();
    expect(Buffer.from(HEAD_KERNELS_WASM_BASE64, 'base64').equals(Buffer.from(compiled))).toBe(true);
  });

  it('runs the WebAssembly kernels in Node, the JS ones on request', () => {
    expect(createHeadKernels(16).kind).toBe('wasm');
    expect(createHeadKernels(16, 'js').kind).toBe('js');
  });

  it.each(IMPLEMENTATIONS)(
    "%s: the forward product (with and without ReLU) and the weights' gradient match float64 sums",
    (implementation) => {
      for (const [rows, units, stride] of [
        [1, 1, 16],
        [3, 5, 32],
        [7, 2, 48],
        [32, 64, 528],
      ] as const) {
        const x = seededValues(rows * stride, rows + stride);
        const weights = seededValues(units * stride, units + 1);
        const upstream = seededValues(rows * units, rows * units);
        // A ReLU that was off: the backward kernel skips these rows, which must change nothing.
        for (let index = 0; index < upstream.length; index += 3) upstream[index] = 0;
        const at = { x: 1, weights: 1 + rows * stride, upstream: 2 + (rows + units) * stride };
        const out = at.upstream + rows * units;
        const gradient = out + rows * units;
        const kernels = createHeadKernels(gradient + units * stride, implementation);
        kernels.values.set(x, at.x);
        kernels.values.set(weights, at.weights);
        kernels.values.set(upstream, at.upstream);
        for (const relu of [false, true]) {
          kernels.forward(at.x, at.weights, out, rows, units, stride, relu);
          for (let row = 0; row < rows; row++) {
            for (let unit = 0; unit < units; unit++) {
              let sum = 0;
              for (let j = 0; j < stride; j++) {
                sum += (x[row * stride + j] as number) * (weights[unit * stride + j] as number);
              }
              const want = relu ? Math.max(sum, 0) : sum;
              const actual = kernels.values[out + row * units + unit] as number;
              expect(Math.abs(actual - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
            }
          }
        }
        kernels.backward(at.x, at.upstream, gradient, rows, units, stride);
        for (let unit = 0; unit < units; unit++) {
          for (let j = 0; j < stride; j++) {
            let sum = 0;
            for (let row = 0; row < rows; row++) {
              sum += (upstream[row * units + unit] as number) * (x[row * stride + j] as number);
            }
            const actual = kernels.values[gradient + unit * stride + j] as number;
            expect(Math.abs(actual - sum)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(sum)));
          }
        }
      }
    },
  );

  it.each(IMPLEMENTATIONS)(
    '%s: one Adam step matches the update in float64, over vectors and a 1–3 value tail',
    (implementation) => {
      for (const count of [1, 3, 4, 13, 64]) {
        const constants = { beta1: 0.9, beta2: 0.999, stepSize: 0.003, epsilon: 1e-7, decay: 0.99 };
        const inputs = [1, 2, 3, 4].map((seed) => seededValues(count, seed * 10 + count));
        const [gradient, first, second, parameters] = inputs as [
          Float32Array,
          Float32Array,
          Float32Array,
          Float32Array,
        ];
        second.forEach((value, index) => (second[index] = Math.abs(value)));
        // Offsets that are not multiples of four values, so vector loads are unaligned.
        const at = [1, 2 + count, 3 + 2 * count, 5 + 3 * count];
        const kernels = createHeadKernels(6 + 4 * count, implementation);
        [gradient, first, second, parameters].forEach((values, index) =>
          kernels.values.set(values, at[index]),
        );
        const [g, m, v, p] = at as [number, number, number, number];
        kernels.adam(g, m, v, p, count, constants);
        const expected = referenceAdam(gradient, first, second, parameters, constants);
        [m, v, p].forEach((offset, which) => {
          const actual = kernels.values.slice(offset, offset + count);
          actual.forEach((value, index) => {
            const want = expected[which]?.[index] as number;
            expect(Math.abs(value - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
          });
        });
        // The parameters moved, so a kernel that did nothing cannot pass.
        const moved = kernels.values
          .slice(p, p + count)
          .reduce((most, value, index) => Math.max(most, Math.abs(value - (parameters[index] as number))), 0);
        expect(moved).toBeGreaterThan(1e-3);
        expect(kernels.values.slice(g, g + count)).toEqual(gradient);
      }
    },
  );

  it('WebAssembly and JS kernels agree to the bit (same operations, same order, each rounded to float32)', () => {
    const count = 1027;
    const values = [1, 2, 3, 4].map((seed) => seededValues(count, seed));
    values[2]?.forEach((value, index, array) => (array[index] = Math.abs(value)));
    const results = IMPLEMENTATIONS.map((implementation) => {
      const kernels = createHeadKernels(6 * count, implementation);
      values.forEach((array, index) => kernels.values.set(array, index * count));
      for (let step = 1; step <= 3; step++) {
        kernels.adam(0, count, 2 * count, 3 * count, count, {
          beta1: 0.9,
          beta2: 0.999,
          stepSize: 0.01 / step,
          epsilon: 1e-7,
          decay: 0.999,
        });
      }
      // 13 rows of 48 inputs (the first 624 values), 21 units (624 onwards), into [13, 21] and [21, 48].
      kernels.forward(0, 624, 4 * count, 13, 21, 48, true);
      kernels.backward(0, 4 * count, 4 * count + 273, 13, 21, 48);
      return kernels.values.slice(count, 6 * count);
    });
    expect(results[0]).toEqual(results[1]);
  });

  it.each(IMPLEMENTATIONS)('%s: reserve grows the memory and keeps what it holds', (implementation) => {
    const kernels = createHeadKernels(8, implementation);
    kernels.values.set([1, 2, 3], 5);
    kernels.reserve(100_000);
    expect(kernels.values.length).toBeGreaterThanOrEqual(100_000);
    expect(Array.from(kernels.values.slice(5, 8))).toEqual([1, 2, 3]);
  });
});
