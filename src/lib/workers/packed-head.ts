/**
 * @file A trained head's weights as Float32Arrays ({@link PackedHead}) for the trip to the head worker: a
 * structured clone copies a `number[]` value by value (about a second for a 14 MB head file's 2.6 million values on
 * this machine), while a Float32Array's buffer is transferred whole. Heads are float32 throughout (tfjs), so packing
 * and unpacking give back the same numbers.
 */
import type { SerializedHead } from '../core/ports.ts';
import type { PackedHead } from './protocol.ts';

/** `values` as a plain array (an indexed loop: much faster than `Array.from` on millions of values). */
function numbersOf(values: Float32Array): number[] {
  const numbers = new Array<number>(values.length);
  for (let index = 0; index < values.length; index++) numbers[index] = values[index] as number;
  return numbers;
}

/** A head's weights as Float32Arrays, with their buffers for `postMessage`'s transfer list (each once). */
export function packHead(head: SerializedHead): { head: PackedHead; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const pack = (values: readonly number[]): Float32Array => {
    // An indexed loop: 2-4× faster here than the Float32Array constructor over a plain array.
    const packed = new Float32Array(values.length);
    for (let index = 0; index < values.length; index++) packed[index] = values[index] as number;
    transfer.push(packed.buffer);
    return packed;
  };
  const packed: PackedHead = {
    inputSize: head.inputSize,
    hidden: head.hidden,
    numClasses: head.numClasses,
    layers: head.layers.map((layer) => ({
      kernel: pack(layer.kernel),
      kernelShape: [layer.kernelShape[0], layer.kernelShape[1]],
      bias: pack(layer.bias),
    })),
  };
  if (head.unfrozen) {
    packed.unfrozen = {
      fromLayer: head.unfrozen.fromLayer,
      toLayer: head.unfrozen.toLayer,
      weights: head.unfrozen.weights.map(({ name, shape, values, layer }) => ({
        name,
        shape: [...shape],
        values: pack(values),
        ...(layer === undefined ? {} : { layer }),
      })),
    };
  }
  return { head: packed, transfer };
}

/** The buffers of a packed head's arrays, each once: the transfer list that moves them without copying. */
export function packedBuffers(head: PackedHead): ArrayBuffer[] {
  const arrays = [
    ...head.layers.flatMap((layer) => [layer.kernel, layer.bias]),
    ...(head.unfrozen?.weights.map((weight) => weight.values) ?? []),
  ];
  const buffers = new Set<ArrayBuffer>();
  for (const array of arrays) {
    if (array.buffer instanceof ArrayBuffer) buffers.add(array.buffer);
  }
  return [...buffers];
}

/** The head's weights as plain arrays again, as the core's head file and the tfjs adapter read them. */
export function unpackHead(packed: PackedHead): SerializedHead {
  const head: SerializedHead = {
    inputSize: packed.inputSize,
    hidden: packed.hidden,
    numClasses: packed.numClasses,
    layers: packed.layers.map((layer) => ({
      kernel: numbersOf(layer.kernel),
      kernelShape: [layer.kernelShape[0], layer.kernelShape[1]],
      bias: numbersOf(layer.bias),
    })),
  };
  if (packed.unfrozen) {
    head.unfrozen = {
      fromLayer: packed.unfrozen.fromLayer,
      toLayer: packed.unfrozen.toLayer,
      weights: packed.unfrozen.weights.map(({ name, shape, values, layer }) => ({
        name,
        shape: [...shape],
        values: numbersOf(values),
        ...(layer === undefined ? {} : { layer }),
      })),
    };
  }
  return head;
}

/** Values boxed per slice by {@link unpackHeadInSlices}: a few ms of work on a busy 2-core machine. */
export const UNPACK_SLICE_VALUES = 65_536;

/** Lets queued events run: a macrotask, unlike awaiting a resolved promise. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * {@link unpackHead} on the main thread without a long task: values are copied into plain arrays at most
 * `sliceValues` at a time, with `pause` (by default a macrotask) between slices. In one piece, the 2.6 million
 * values of one Universal Sentence Encoder Lite layer took about 200 ms on a busy 2-core machine.
 */
export async function unpackHeadInSlices(
  packed: PackedHead,
  sliceValues: number = UNPACK_SLICE_VALUES,
  pause: () => Promise<void> = nextTask,
): Promise<SerializedHead> {
  let sincePause = 0;
  const numbers = async (values: Float32Array): Promise<number[]> => {
    const plain = new Array<number>(values.length);
    let start = 0;
    while (start < values.length) {
      if (sincePause >= sliceValues) {
        await pause();
        sincePause = 0;
      }
      const end = Math.min(values.length, start + sliceValues - sincePause);
      for (let index = start; index < end; index++) plain[index] = values[index] as number;
      sincePause += end - start;
      start = end;
    }
    return plain;
  };
  const head: SerializedHead = {
    inputSize: packed.inputSize,
    hidden: packed.hidden,
    numClasses: packed.numClasses,
    layers: [],
  };
  for (const layer of packed.layers) {
    head.layers.push({
      kernel: await numbers(layer.kernel),
      kernelShape: [layer.kernelShape[0], layer.kernelShape[1]],
      bias: await numbers(layer.bias),
    });
  }
  if (packed.unfrozen) {
    const weights: NonNullable<SerializedHead['unfrozen']>['weights'] = [];
    for (const { name, shape, values, layer } of packed.unfrozen.weights) {
      weights.push({
        name,
        shape: [...shape],
        values: await numbers(values),
        ...(layer === undefined ? {} : { layer }),
      });
    }
    head.unfrozen = { fromLayer: packed.unfrozen.fromLayer, toLayer: packed.unfrozen.toLayer, weights };
  }
  return head;
}
