/**
 * @file The head's training kernels on one float32 memory: the first layer's forward product, the gradient of its
 * weights, and an Adam update over all of them. In WebAssembly with SIMD (head-kernels.wat, compiled into
 * head-kernels-binary.ts) where the runtime has it; the same arithmetic in plain JS otherwise, in the same order and
 * rounded to float32 at each operation, so both give the same bits.
 *
 * Offsets and counts are in float32 values, not bytes. `values` views the memory; re-read it after `reserve`.
 * Matrices are row-major; a `stride` (values per row of the inputs and the weights) is a multiple of {@link LANES}.
 */
import { HEAD_KERNELS_WASM_BASE64 } from './head-kernels-binary.ts';

/** One Adam update's constants, Adam's bias corrections already folded into `stepSize` and `epsilon`. */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  stepSize: number;
  epsilon: number;
  /** Multiplies each updated parameter (decoupled weight decay); 1 for none. */
  decay: number;
}

/** What a row stride must be a multiple of: the products take sixteen values at a time. */
export const LANES = 16;

export interface HeadKernels {
  /** Which implementation runs: WebAssembly SIMD, or the plain-JS fallback. */
  readonly kind: 'wasm' | 'js';
  /** The kernels' memory, every offset below indexes it. Replaced by `reserve`. */
  readonly values: Float32Array;
  /** Grows the memory to hold at least `count` values, keeping what it holds. */
  reserve(count: number): void;
  /**
   * `out[r · units + u] = Σⱼ x[r · stride + j] · weights[u · stride + j]` for `rows` rows and `units` units, then
   * `max(0, ·)` when `relu`.
   */
  forward(
    x: number,
    weights: number,
    out: number,
    rows: number,
    units: number,
    stride: number,
    relu: boolean,
  ): void;
  /** `gradient[u · stride + j] = Σᵣ upstream[r · units + u] · x[r · stride + j]`, summed in row order. */
  backward(x: number, upstream: number, gradient: number, rows: number, units: number, stride: number): void;
  /**
   * One Adam step over `count` values, in place: `m = β1·m + (1 − β1)·g`, `v = β2·v + (1 − β2)·g²`,
   * `p = (p − stepSize·m / (√v + ε)) · decay`, in float32 arithmetic.
   */
  adam(
    gradient: number,
    firstMoment: number,
    secondMoment: number,
    parameters: number,
    count: number,
    constants: AdamConstants,
  ): void;
}

/** The module's exports: its memory, and the kernels of head-kernels.wat, which take byte offsets and plain numbers. */
type KernelExports = { memory: WebAssembly.Memory } & Record<
  'forward' | 'backward' | 'adam',
  (...values: number[]) => void
>;

const PAGE_BYTES = 65_536;

/**
 * The compiled module, once per process; null where the runtime cannot compile it (no WebAssembly SIMD, or a
 * Content-Security-Policy without 'wasm-unsafe-eval').
 */
let compiled: WebAssembly.Module | null | undefined;

function compiledKernels(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = null;
    if (typeof WebAssembly === 'object') {
      const bytes = Uint8Array.from(atob(HEAD_KERNELS_WASM_BASE64), (char) => char.charCodeAt(0));
      try {
        if (WebAssembly.validate(bytes)) compiled = new WebAssembly.Module(bytes);
      } catch {
        // A page whose Content-Security-Policy forbids compiling WebAssembly: the JS kernels run instead.
      }
    }
  }
  return compiled;
}

class WasmKernels implements HeadKernels {
  readonly kind = 'wasm';
  values: Float32Array;
  readonly #exports: KernelExports;

  constructor(module: WebAssembly.Module, count: number) {
    this.#exports = new WebAssembly.Instance(module).exports as unknown as KernelExports;
    this.values = new Float32Array(this.#exports.memory.buffer);
    this.reserve(count);
  }

  reserve(count: number): void {
    const memory = this.#exports.memory;
    const missing = count * 4 - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
    if (this.values.buffer !== memory.buffer) this.values = new Float32Array(memory.buffer);
  }

  forward(
    x: number,
    weights: number,
    out: number,
    rows: number,
    units: number,
    stride: number,
    relu: boolean,
  ): void {
    this.#exports.forward(x * 4, weights * 4, out * 4, rows, units, stride, relu ? 1 : 0);
  }

  backward(x: number, upstream: number, gradient: number, rows: number, units: number, stride: number): void {
    this.#exports.backward(x * 4, upstream * 4, gradient * 4, rows, units, stride);
  }

  adam(
    gradient: number,
    firstMoment: number,
    secondMoment: number,
    parameters: number,
    count: number,
    { beta1, beta2, stepSize, epsilon, decay }: AdamConstants,
  ): void {
    this.#exports.adam(
      gradient * 4,
      firstMoment * 4,
      secondMoment * 4,
      parameters * 4,
      count,
      beta1,
      beta2,
      stepSize,
      epsilon,
      decay,
    );
  }
}

class JsKernels implements HeadKernels {
  readonly kind = 'js';
  values: Float32Array;

  constructor(count: number) {
    this.values = new Float32Array(count);
  }

  reserve(count: number): void {
    if (count <= this.values.length) return;
    const grown = new Float32Array(count);
    grown.set(this.values);
    this.values = grown;
  }

  forward(
    x: number,
    weights: number,
    out: number,
    rows: number,
    units: number,
    stride: number,
    relu: boolean,
  ): void {
    const values = this.values;
    const f = Math.fround;
    // The WebAssembly kernel's sixteen running sums (four vectors of four lanes), then its order of adding them.
    const sums = new Float32Array(LANES);
    for (let row = 0; row < rows; row++) {
      for (let unit = 0; unit < units; unit++) {
        sums.fill(0);
        const xRow = x + row * stride;
        const wRow = weights + unit * stride;
        for (let column = 0; column < stride; column += LANES) {
          for (let lane = 0; lane < LANES; lane++) {
            const product = f(
              (values[xRow + column + lane] as number) * (values[wRow + column + lane] as number),
            );
            sums[lane] = (sums[lane] as number) + product;
          }
        }
        const lane = (index: number) =>
          f(
            f((sums[index] as number) + (sums[index + 4] as number)) +
              f((sums[index + 8] as number) + (sums[index + 12] as number)),
          );
        const sum = f(f(lane(0) + lane(1)) + f(lane(2) + lane(3)));
        values[out + row * units + unit] = relu ? Math.max(sum, 0) : sum;
      }
    }
  }

  backward(x: number, upstream: number, gradient: number, rows: number, units: number, stride: number): void {
    const values = this.values;
    const f = Math.fround;
    for (let unit = 0; unit < units; unit++) {
      for (let column = 0; column < stride; column++) {
        let sum = 0;
        for (let row = 0; row < rows; row++) {
          const value = values[upstream + row * units + unit] as number;
          if (value !== 0) sum = f(sum + f(value * (values[x + row * stride + column] as number)));
        }
        values[gradient + unit * stride + column] = sum;
      }
    }
  }

  adam(
    gradient: number,
    firstMoment: number,
    secondMoment: number,
    parameters: number,
    count: number,
    constants: AdamConstants,
  ): void {
    const values = this.values;
    const f = Math.fround;
    const beta1 = f(constants.beta1);
    const beta2 = f(constants.beta2);
    const rest1 = f(1 - beta1);
    const rest2 = f(1 - beta2);
    const stepSize = f(constants.stepSize);
    const epsilon = f(constants.epsilon);
    const decay = f(constants.decay);
    for (let index = 0; index < count; index++) {
      const g = values[gradient + index] as number;
      const m = f(f(beta1 * (values[firstMoment + index] as number)) + f(rest1 * g));
      const v = f(f(beta2 * (values[secondMoment + index] as number)) + f(rest2 * f(g * g)));
      values[firstMoment + index] = m;
      values[secondMoment + index] = v;
      const change = f(f(stepSize * m) / f(f(Math.sqrt(v)) + epsilon));
      values[parameters + index] = f(f((values[parameters + index] as number) - change) * decay);
    }
  }
}

/**
 * Kernels over a memory of at least `count` float32 values: WebAssembly SIMD where the runtime compiles it, else
 * plain JS (or plain JS when `implementation` asks for it).
 */
export function createHeadKernels(count: number, implementation: 'wasm' | 'js' = 'wasm'): HeadKernels {
  const module = implementation === 'wasm' ? compiledKernels() : null;
  return module ? new WasmKernels(module, count) : new JsKernels(count);
}
