/**
 * @file The head's training step without tfjs's gradient tape: hand-written gradients of the class-weighted softmax
 * cross-entropy through an optional hidden ReLU layer (with a dropout mask), and Adam with decoupled weight decay.
 *
 * Only the two large products run on the backend: the first layer's output and its gradient. Everything else is
 * small (a batch's hidden activations, logits and their gradients, the output layer) and runs in JS on typed arrays,
 * as does Adam: on the WASM backend each tfjs kernel costs a few µs of bookkeeping whatever its size, and a step used
 * to run about forty of them.
 *
 * Each dense layer's kernel and bias are one unit-major `[units, fanIn + 1]` matrix (each unit's weights, then its
 * bias), so inputs carry a trailing 1 and one plain product gives a layer's output and another its kernel's and
 * bias's gradients. Unit-major because the WASM backend (XNNPACK) packs a product's right operand at every call and
 * the weights change at every step: `first · inputsᵀ` packs the batch (`[fanIn + 1, rows]`), `inputs · firstᵀ` the
 * weights, about 2.5× slower; `tf.fused.matMul` too repacks its weights at each call.
 */
import * as tf from '@tensorflow/tfjs';
import { createSimdAdam, type AdamConstants, type SimdAdam } from './adam-simd.ts';

/** The head's sizes: features in, hidden ReLU units (0 = linear head), classes out. */
export interface HeadLayout {
  inputSize: number;
  hidden: number;
  numClasses: number;
}

/** One mini-batch: its inputs on the backend, its labels and masks in JS. */
export interface HeadBatch {
  /** Feature rows each followed by a 1 (the bias input): `[rows, inputSize + 1]`, for the gradient `dᵀ · inputs`. */
  inputs: tf.Tensor2D;
  /**
   * The same rows transposed, `[inputSize + 1, rows]`, for the output `first · inputsᵀ` (the WASM backend multiplies
   * a transposed operand several times slower than one laid out so).
   */
  inputsTransposed: tf.Tensor2D;
  /** Each row's class index. */
  labels: Int32Array;
  /** Each row's class weight; the batch loss is the mean over rows of weight · cross-entropy. */
  weights: Float32Array;
  /** Dropout multipliers of the hidden units, 0 or 1 / (1 − rate), row-major `[rows, hidden]`; absent without. */
  dropoutMask?: Float32Array;
}

/** Number of values in the flat parameter vector of `layout`. */
export function parameterCount({ inputSize, hidden, numClasses }: HeadLayout): number {
  return hidden > 0 ? (inputSize + 1) * hidden + (hidden + 1) * numClasses : (inputSize + 1) * numClasses;
}

/** Each layer matrix's `[units, fanIn + 1]`. */
export function matrixShapes({ inputSize, hidden, numClasses }: HeadLayout): [number, number][] {
  return hidden > 0
    ? [
        [hidden, inputSize + 1],
        [numClasses, hidden + 1],
      ]
    : [[numClasses, inputSize + 1]];
}

/**
 * The multiplier that decoupled weight decay applies to each parameter after an Adam step, in the flat order of the
 * head's layer matrices: `1 − learningRate · weightDecay` on kernel entries, 1 on biases (biases are not decayed).
 */
export function decayFactors(layout: HeadLayout, learningRate: number, weightDecay: number): Float32Array {
  const factors = new Float32Array(parameterCount(layout)).fill(1 - learningRate * weightDecay);
  let offset = 0;
  for (const [units, width] of matrixShapes(layout)) {
    for (let unit = 1; unit <= units; unit++) factors[offset + unit * width - 1] = 1;
    offset += units * width;
  }
  return factors;
}

/**
 * Flattens tensors into one vector, each row-major in turn: dense layers' `[kernel, bias…]` (as
 * `LayersModel.getWeights()` gives them) and the head's layer matrices give the same vector.
 */
export function flattenWeights(weights: tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.concat(weights.map((weight) => tf.reshape(weight, [-1]))) as tf.Tensor1D);
}

/**
 * The head's parameters (or a gradient of them) as one unit-major `[units, fanIn + 1]` matrix per dense layer, in
 * typed arrays: each unit's kernel column, then its bias.
 */
export type HeadMatrices = Float32Array[];

/** Dense layers' `[kernel, bias…]` (as `LayersModel.getWeights()` gives them) as {@link HeadMatrices}. */
export function layerMatrices(weights: tf.Tensor[]): HeadMatrices {
  const matrices: HeadMatrices = [];
  for (let index = 0; index < weights.length; index += 2) {
    const kernel = weights[index] as tf.Tensor;
    const values = kernel.dataSync();
    const bias = (weights[index + 1] as tf.Tensor).dataSync();
    const [fanIn = 0, units = 0] = kernel.shape;
    const width = fanIn + 1;
    const matrix = new Float32Array(units * width);
    for (let unit = 0; unit < units; unit++) {
      for (let input = 0; input < fanIn; input++)
        matrix[unit * width + input] = values[input * units + unit] as number;
      matrix[unit * width + fanIn] = bias[unit] as number;
    }
    matrices.push(matrix);
  }
  return matrices;
}

/** The inverse of {@link layerMatrices}: `[kernel, bias…]` tensors of the head's layers, for `setWeights`. */
export function layerWeights(layout: HeadLayout, matrices: HeadMatrices): tf.Tensor[] {
  return matrixShapes(layout).flatMap(([units, width], index) => {
    const matrix = matrices[index] as Float32Array;
    const fanIn = width - 1;
    const kernel = new Float32Array(fanIn * units);
    const bias = new Float32Array(units);
    for (let unit = 0; unit < units; unit++) {
      for (let input = 0; input < fanIn; input++)
        kernel[input * units + unit] = matrix[unit * width + input] as number;
      bias[unit] = matrix[unit * width + fanIn] as number;
    }
    return [tf.tensor2d(kernel, [fanIn, units]), tf.tensor1d(bias)];
  });
}

/**
 * The first layer's output on the backend, read back unit-major: `relu(first · inputsᵀ)` for a hidden head
 * (`[hidden, rows]`), the logits for a linear head (`[numClasses, rows]`).
 * @param first The first layer matrix on the backend (see {@link AdamW.first}).
 */
function firstLayer(first: tf.Tensor2D, inputsTransposed: tf.Tensor2D, hidden: boolean): Float32Array {
  const output = tf.tidy(() => {
    const product = tf.matMul(first, inputsTransposed);
    return hidden ? tf.relu(product) : product;
  });
  try {
    // A copy on the WASM backend; the cpu backend's own array, which it drops (not reuses) on dispose.
    return output.dataSync() as Float32Array;
  } finally {
    output.dispose();
  }
}

/**
 * The output layer's logits, row-major `[rows, units]`, from unit-major activations (`[fanIn, rows]`) and its
 * `[units, fanIn + 1]` matrix (or, with no matrix, the activations transposed: a linear head's logits).
 */
function outputLogits(
  activations: Float32Array,
  rows: number,
  units: number,
  matrix?: Float32Array,
): Float32Array {
  const logits = new Float32Array(rows * units);
  if (!matrix) {
    for (let unit = 0; unit < units; unit++)
      for (let row = 0; row < rows; row++)
        logits[row * units + unit] = activations[unit * rows + row] as number;
    return logits;
  }
  const width = matrix.length / units;
  const fanIn = width - 1;
  for (let row = 0; row < rows; row++) {
    for (let unit = 0; unit < units; unit++) {
      let sum = matrix[unit * width + fanIn] as number;
      for (let input = 0; input < fanIn; input++)
        sum += (activations[input * rows + row] as number) * (matrix[unit * width + input] as number);
      logits[row * units + unit] = sum;
    }
  }
  return logits;
}

/**
 * The head's logits, row-major `[rows, numClasses]`, for rows given transposed (`[inputSize + 1, rows]`, each row
 * with a trailing 1), without dropout: the evaluation forward pass.
 * @param first The first layer matrix on the backend, the same values as `matrices[0]`.
 */
export function headLogits(
  layout: HeadLayout,
  matrices: HeadMatrices,
  first: tf.Tensor2D,
  inputsTransposed: tf.Tensor2D,
): Float32Array {
  const rows = inputsTransposed.shape[1];
  const output = firstLayer(first, inputsTransposed, layout.hidden > 0);
  return outputLogits(output, rows, layout.numClasses, layout.hidden > 0 ? matrices[1] : undefined);
}

/** Sums over rows of a batch's logits: Σ weight · cross-entropy, and the rows whose highest logit is their label. */
export interface LossSums {
  loss: number;
  correct: number;
}

/**
 * Softmax cross-entropy over row-major `logits` (`[rows, numClasses]`): adds each row's `weight · crossEntropy` and
 * whether its highest logit (the first of equals) is at its label to `sums`. With `gradient`, also writes d loss /
 * d logits of the batch loss `mean over rows of weight · crossEntropy`: `weight / rows · (softmax − oneHot)`.
 * A non-finite logit makes the loss NaN.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Int32Array,
  weights: Float32Array,
  numClasses: number,
  sums: LossSums,
  gradient?: Float32Array,
): void {
  const rows = labels.length;
  for (let row = 0; row < rows; row++) {
    const offset = row * numClasses;
    const label = labels[row] as number;
    let best = 0;
    let max = logits[offset] as number;
    for (let column = 1; column < numClasses; column++) {
      const value = logits[offset + column] as number;
      if (value > max) {
        max = value;
        best = column;
      }
    }
    let total = 0;
    for (let column = 0; column < numClasses; column++)
      total += Math.exp((logits[offset + column] as number) - max);
    const weight = weights[row] as number;
    sums.loss += weight * (Math.log(total) + max - (logits[offset + label] as number));
    if (best === label && Number.isFinite(max)) sums.correct++;
    if (gradient) {
      const scale = weight / rows;
      for (let column = 0; column < numClasses; column++) {
        const probability = Math.exp((logits[offset + column] as number) - max) / total;
        gradient[offset + column] = scale * (probability - (column === label ? 1 : 0));
      }
    }
  }
}

/**
 * The gradient of the batch loss `mean over rows of weight · crossEntropy(softmax(logits), label)` with respect to
 * each of the head's layer matrices (same layout), with the batch's loss sums (from the logits before the update,
 * with dropout, as Keras reports them).
 * @param first The first layer matrix on the backend, the same values as `matrices[0]`.
 */
export function headGradient(
  layout: HeadLayout,
  matrices: HeadMatrices,
  first: tf.Tensor2D,
  batch: HeadBatch,
): { gradients: HeadMatrices; sums: LossSums } {
  const { hidden, numClasses } = layout;
  const { inputs, inputsTransposed, labels, weights, dropoutMask } = batch;
  const rows = labels.length;
  const sums: LossSums = { loss: 0, correct: 0 };
  const outputGradient = new Float32Array(rows * numClasses);
  /** `dᵀ · inputs` for the first layer's unit-major `[units, rows]` output gradient `dᵀ`, read back. */
  const firstGradient = (gradient: Float32Array, units: number) => {
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(gradient, [units, rows]), inputs));
    try {
      return product.dataSync() as Float32Array;
    } finally {
      product.dispose();
    }
  };
  if (hidden === 0) {
    const logits = outputLogits(firstLayer(first, inputsTransposed, false), rows, numClasses);
    softmaxCrossEntropy(logits, labels, weights, numClasses, sums, outputGradient);
    const transposed = new Float32Array(numClasses * rows);
    for (let row = 0; row < rows; row++)
      for (let column = 0; column < numClasses; column++)
        transposed[column * rows + row] = outputGradient[row * numClasses + column] as number;
    return { gradients: [firstGradient(transposed, numClasses)], sums };
  }
  const second = matrices[1] as Float32Array;
  const width = hidden + 1;
  // Unit-major [hidden, rows]; the dropout mask is row-major [rows, hidden].
  const activated = firstLayer(first, inputsTransposed, true);
  let hiddenOutput = activated;
  if (dropoutMask) {
    hiddenOutput = new Float32Array(activated.length);
    for (let unit = 0; unit < hidden; unit++)
      for (let row = 0; row < rows; row++)
        hiddenOutput[unit * rows + row] =
          (activated[unit * rows + row] as number) * (dropoutMask[row * hidden + unit] as number);
  }
  const logits = outputLogits(hiddenOutput, rows, numClasses, second);
  softmaxCrossEntropy(logits, labels, weights, numClasses, sums, outputGradient);
  // The output layer's gradient: per class, Σ rows of d · hidden (kernel), then Σ rows of d (bias).
  const secondGradient = new Float32Array(second.length);
  for (let column = 0; column < numClasses; column++) {
    let bias = 0;
    for (let row = 0; row < rows; row++) bias += outputGradient[row * numClasses + column] as number;
    secondGradient[column * width + hidden] = bias;
    for (let unit = 0; unit < hidden; unit++) {
      let sum = 0;
      for (let row = 0; row < rows; row++)
        sum +=
          (outputGradient[row * numClasses + column] as number) * (hiddenOutput[unit * rows + row] as number);
      secondGradient[column * width + unit] = sum;
    }
  }
  // d loss / d pre-activation, unit-major: (d · kernelᵀ) times the ReLU's step and the dropout multiplier.
  const preGradient = new Float32Array(hidden * rows);
  for (let unit = 0; unit < hidden; unit++) {
    for (let row = 0; row < rows; row++) {
      const index = unit * rows + row;
      if (!((activated[index] as number) > 0)) continue;
      let back = 0;
      for (let column = 0; column < numClasses; column++)
        back +=
          (outputGradient[row * numClasses + column] as number) * (second[column * width + unit] as number);
      preGradient[index] = dropoutMask ? back * (dropoutMask[row * hidden + unit] as number) : back;
    }
  }
  return { gradients: [firstGradient(preGradient, hidden), secondGradient], sums };
}

/** One Adam update of `parameters` into `next`, the moments in place (a plain function, so V8 optimises the loop). */
function adamUpdate(
  { beta1, beta2, rest1, rest2, stepSize, epsilon }: AdamConstants,
  parameters: Float32Array,
  gradient: Float32Array,
  firstMoments: Float32Array,
  secondMoments: Float32Array,
  next: Float32Array,
): void {
  for (let entry = 0; entry < parameters.length; entry++) {
    const value = gradient[entry] as number;
    const firstMoment = beta1 * (firstMoments[entry] as number) + rest1 * value;
    const secondMoment = beta2 * (secondMoments[entry] as number) + rest2 * value * value;
    firstMoments[entry] = firstMoment;
    secondMoments[entry] = secondMoment;
    next[entry] =
      (parameters[entry] as number) - (stepSize * firstMoment) / (Math.sqrt(secondMoment) + epsilon);
  }
}

/** Adam's settings; the defaults are tfjs's `tf.train.adam`'s. */
export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Per-parameter multipliers applied after each step (decoupled weight decay, {@link decayFactors}). */
  decay?: Float32Array;
  /** Whether to update in WebAssembly SIMD where available (the default), rather than in a JS loop. */
  simd?: boolean;
}

/**
 * Adam (with optional decoupled weight decay) over the head's layer matrices, in JS: the same update as
 * `tf.train.adam` followed by `kernel ← kernel · (1 − lr · weightDecay)`. Keeps a copy of the first layer matrix on
 * the backend for the large products; `dispose()` frees it.
 */
export class AdamW {
  #parameters: HeadMatrices;
  readonly #shapes: [number, number][];
  /** The moments of the JS update (empty with the SIMD one). */
  readonly #firstMoments: HeadMatrices;
  readonly #secondMoments: HeadMatrices;
  readonly #learningRate: number;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #epsilon: number;
  readonly #decay: HeadMatrices | undefined;
  /** Where available, the SIMD update, which keeps the moments itself. */
  readonly #simd: SimdAdam | undefined;
  #first: tf.Tensor2D | undefined;
  #step = 0;

  /**
   * Takes ownership of `initial`.
   * @param settings `decay`, if given, is in the flat order of the matrices ({@link decayFactors}).
   */
  constructor(layout: HeadLayout, initial: HeadMatrices, settings: AdamSettings) {
    const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, decay, simd = true } = settings;
    this.#shapes = matrixShapes(layout);
    this.#parameters = this.#checked(initial);
    this.#learningRate = learningRate;
    this.#beta1 = beta1;
    this.#beta2 = beta2;
    this.#epsilon = epsilon;
    this.#simd = simd ? createSimdAdam(initial.map((matrix) => matrix.length)) : undefined;
    this.#firstMoments = this.#simd ? [] : initial.map((matrix) => new Float32Array(matrix.length));
    this.#secondMoments = this.#simd ? [] : initial.map((matrix) => new Float32Array(matrix.length));
    if (decay) {
      const total = parameterCount(layout);
      if (decay.length !== total)
        throw new Error(`AdamW: ${decay.length} decay factors for ${total} parameters.`);
      let offset = 0;
      this.#decay = initial.map((matrix) => {
        const factors = decay.subarray(offset, offset + matrix.length);
        offset += matrix.length;
        return factors;
      });
    }
  }

  /** The current layer matrices (replaced by each step, never changed in place). */
  get parameters(): HeadMatrices {
    return this.#parameters;
  }

  /** Replaces the parameters (e.g. with the best epoch's); takes ownership of `value`. */
  set parameters(value: HeadMatrices) {
    this.#parameters = this.#checked(value);
    this.#first?.dispose();
    this.#first = undefined;
  }

  /** The first layer matrix on the backend (owned by the optimizer, replaced by a step). */
  get first(): tf.Tensor2D {
    // No copy: the cpu backend keeps the array it is given, but a step writes new arrays.
    this.#first ??= tf.tensor2d(this.#parameters[0] as Float32Array, this.#shapes[0] as [number, number]);
    return this.#first;
  }

  /** One update with `gradients` (one per layer matrix, same layout). */
  step(gradients: HeadMatrices): void {
    this.#step++;
    // Bias corrections folded into the step size and epsilon: m̂ / (√v̂ + ε) = m·√c2/c1 / (√v + ε·√c2).
    const rootSecondCorrection = Math.sqrt(1 - this.#beta2 ** this.#step);
    const stepSize = (this.#learningRate * rootSecondCorrection) / (1 - this.#beta1 ** this.#step);
    const epsilon = this.#epsilon * rootSecondCorrection;
    const beta1 = this.#beta1;
    const beta2 = this.#beta2;
    const rest1 = 1 - beta1;
    const rest2 = 1 - beta2;
    const constants: AdamConstants = { beta1, beta2, rest1, rest2, stepSize, epsilon };
    this.#parameters = this.#parameters.map((parameters, index) => {
      const gradient = gradients[index] as Float32Array;
      if (gradient.length !== parameters.length)
        throw new Error(
          `AdamW: a gradient of ${gradient.length} values for ${parameters.length} parameters.`,
        );
      let next: Float32Array;
      if (this.#simd) {
        next = this.#simd.update(index, parameters, gradient, constants);
      } else {
        next = new Float32Array(parameters.length);
        adamUpdate(
          constants,
          parameters,
          gradient,
          this.#firstMoments[index] as Float32Array,
          this.#secondMoments[index] as Float32Array,
          next,
        );
      }
      const decay = this.#decay?.[index];
      if (decay)
        for (let entry = 0; entry < next.length; entry++)
          next[entry] = (next[entry] as number) * (decay[entry] as number);
      return next;
    });
    this.#first?.dispose();
    this.#first = undefined;
  }

  /** Frees the backend copy of the first layer matrix. */
  dispose(): void {
    this.#first?.dispose();
    this.#first = undefined;
  }

  #checked(matrices: HeadMatrices): HeadMatrices {
    const sizes = this.#shapes.map(([rows, columns]) => rows * columns);
    if (matrices.length !== sizes.length || matrices.some((matrix, index) => matrix.length !== sizes[index]))
      throw new Error(
        `AdamW: matrices of ${matrices.map((matrix) => matrix.length).join(', ')} values for a head of ${sizes.join(', ')}.`,
      );
    return matrices;
  }
}
