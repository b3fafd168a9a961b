/**
 * @file Adam's element-wise update in WebAssembly SIMD (four float32 lanes), for the head's hand-written step: on a
 * 513 × 64 layer a JS loop spends ~4 ns per parameter (float64 square root and division), several times what four
 * float32 lanes take. The module is a few hundred bytes written out below; where WebAssembly SIMD is missing,
 * {@link createSimdAdam} returns undefined and the caller keeps its JS loop.
 *
 * Its memory holds each matrix's two moments (they stay there across steps) and one scratch area for the
 * parameters, the gradient and the updated parameters of the matrix being updated.
 */

/** Adam's per-step constants, bias corrections folded in: see `AdamW.step`. */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  rest1: number;
  rest2: number;
  stepSize: number;
  epsilon: number;
}

/** Adam over a fixed set of matrices whose moments it keeps. */
export interface SimdAdam {
  /**
   * One update of matrix `index`: reads `parameters` and `gradient` (not changed), updates its moments and returns
   * the new parameters in a new array.
   */
  update(
    index: number,
    parameters: Float32Array,
    gradient: Float32Array,
    constants: AdamConstants,
  ): Float32Array;
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

/** `local.get index` */
const get = (index: number) => [0x20, index];
/** `local.set index` */
const set = (index: number) => [0x21, index];
/** A SIMD instruction: the 0xfd prefix and the opcode as unsigned LEB128. */
const simd = (opcode: number) =>
  opcode < 0x80 ? [0xfd, opcode] : [0xfd, (opcode & 0x7f) | 0x80, opcode >> 7];
const load = [...simd(0x00), 0, 0];
const store = [...simd(0x0b), 0, 0];
const splat = simd(0x13);
const sqrt = simd(0xe3);
const add = simd(0xe4);
const sub = simd(0xe5);
const mul = simd(0xe6);
const div = simd(0xe7);
/** `local.get base; local.get i; i32.add`: an address. */
const at = (base: number) => [...get(base), ...get(12), 0x6a];

/**
 * `adam(n, p, g, m, v, out, beta1, beta2, rest1, rest2, stepSize, epsilon)` over `n` floats (a multiple of 4) at
 * byte offsets p, g, m, v, out: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², out ← p − stepSize·m / (√v + ε).
 * Locals: 12 = byte index, 13–18 = the splatted constants, 19 = g, 20 = m, 21 = v.
 */
function adamBody(): number[] {
  const code = [
    ...[6, 7, 8, 9, 10, 11].flatMap((param) => [...get(param), ...splat, ...set(param + 7)]),
    // n ← n · 4 (bytes)
    ...get(0),
    0x41,
    2,
    0x74,
    ...set(0),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop
    ...get(12),
    ...get(0),
    0x4f, // i32.ge_u
    0x0d,
    1, // br_if to the block's end
    ...at(2),
    ...load,
    ...set(19),
    ...get(13),
    ...at(3),
    ...load,
    ...mul,
    ...get(15),
    ...get(19),
    ...mul,
    ...add,
    ...set(20),
    ...at(3),
    ...get(20),
    ...store,
    ...get(14),
    ...at(4),
    ...load,
    ...mul,
    ...get(16),
    ...get(19),
    ...get(19),
    ...mul,
    ...mul,
    ...add,
    ...set(21),
    ...at(4),
    ...get(21),
    ...store,
    ...at(5),
    ...at(1),
    ...load,
    ...get(17),
    ...get(20),
    ...mul,
    ...get(21),
    ...sqrt,
    ...get(18),
    ...add,
    ...div,
    ...sub,
    ...store,
    ...get(12),
    0x41,
    16,
    0x6a,
    ...set(12), // i += 16
    0x0c,
    0, // br to the loop's start
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  const locals = [2, 1, I32, 9, V128];
  return [...unsigned(locals.length + code.length), ...locals, ...code];
}

/** Unsigned LEB128. */
function unsigned(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

const section = (id: number, content: number[]) => [id, ...unsigned(content.length), ...content];
const name = (text: string) => [text.length, ...Array.from(text, (character) => character.charCodeAt(0))];

/** The module's bytes: one function `adam` and an exported, growable memory. */
export function adamModuleBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 12, ...Array<number>(6).fill(I32), ...Array<number>(6).fill(F32), 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]),
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('adam'), 0x00, 0]),
    ...section(10, [1, ...adamBody()]),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is not available. */
function adamModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = adamModuleBytes();
    try {
      compiled =
        typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

type AdamFunction = (
  n: number,
  parameters: number,
  gradient: number,
  firstMoments: number,
  secondMoments: number,
  output: number,
  beta1: number,
  beta2: number,
  rest1: number,
  rest2: number,
  stepSize: number,
  epsilon: number,
) => void;

/**
 * Adam in WebAssembly SIMD for matrices of `sizes` values (moments start at 0), or undefined where WebAssembly SIMD
 * is not available.
 */
export function createSimdAdam(sizes: number[]): SimdAdam | undefined {
  const module = adamModule();
  if (!module) return undefined;
  const instance = new WebAssembly.Instance(module);
  const memory = instance.exports.memory as WebAssembly.Memory;
  const adam = instance.exports.adam as AdamFunction;
  const padded = sizes.map((size) => Math.ceil(size / 4) * 4);
  const largest = Math.max(0, ...padded);
  // Float offsets: per matrix its two moments, then the scratch parameters, gradient and output.
  const moments = padded.map((_, index) => 2 * padded.slice(0, index).reduce((sum, size) => sum + size, 0));
  const scratch = 2 * padded.reduce((sum, size) => sum + size, 0);
  const bytes = (scratch + 3 * largest) * 4;
  const pages = Math.ceil(bytes / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  const heap = new Float32Array(memory.buffer);
  return {
    update(index, parameters, gradient, constants) {
      const size = sizes[index];
      const first = moments[index];
      const length = padded[index];
      if (size === undefined || first === undefined || length === undefined)
        throw new RangeError(`SimdAdam: no matrix ${index}.`);
      if (parameters.length !== size || gradient.length !== size)
        throw new RangeError(`SimdAdam: matrix ${index} has ${size} values.`);
      // Up to 3 padding lanes past `size` hold whatever was there: computed, never read.
      heap.set(parameters, scratch);
      heap.set(gradient, scratch + largest);
      const { beta1, beta2, rest1, rest2, stepSize, epsilon } = constants;
      adam(
        length,
        scratch * 4,
        (scratch + largest) * 4,
        first * 4,
        (first + length) * 4,
        (scratch + 2 * largest) * 4,
        beta1,
        beta2,
        rest1,
        rest2,
        stepSize,
        epsilon,
      );
      return heap.slice(scratch + 2 * largest, scratch + 2 * largest + size);
    },
  };
}
