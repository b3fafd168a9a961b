/**
 * @file The head's training step without tfjs's gradient tape: hand-written gradients of the class-weighted softmax
 * cross-entropy through an optional hidden ReLU layer (with a dropout mask), and Adam with decoupled weight decay
 * over one flat parameter vector. A step is 20 backend kernels for a linear head and about 40 for a hidden one
 * (reshapes and slices included) where `optimizer.minimize` ran about 65 plus the tape's bookkeeping; on a head this
 * small the per-kernel cost, not the arithmetic, is most of the training time.
 *
 * The flat vector holds each dense layer's kernel (row-major) followed by its bias: the first layer's kernel and bias
 * together are one `[inputSize + 1, units]` matrix, so inputs carry a trailing 1 and one matrix product gives both
 * that layer's output and, transposed, its kernel's and bias's gradients.
 */
import * as tf from '@tensorflow/tfjs';

/** The head's sizes: features in, hidden ReLU units (0 = linear head), classes out. */
export interface HeadLayout {
  inputSize: number;
  hidden: number;
  numClasses: number;
}

/** One mini-batch on the backend. */
export interface HeadBatch {
  /** Feature rows each followed by a 1 (the bias input): `[rows, inputSize + 1]`. */
  inputs: tf.Tensor2D;
  /**
   * The same rows transposed, `[inputSize + 1, rows]`: the kernel's gradient is `inputsᵀ · d`, and the WASM backend
   * multiplies a transposed left operand about 7× slower than one laid out so (XNNPACK has no such path).
   */
  inputsTransposed: tf.Tensor2D;
  /** One-hot targets times the row's class weight over the batch's row count: `[rows, numClasses]`. */
  targets: tf.Tensor2D;
  /** The row's class weight over the batch's row count: `[rows, 1]`. */
  rowWeights: tf.Tensor2D;
  /** Dropout multipliers of the hidden units, 0 or 1 / (1 − rate): `[rows, hidden]`; absent without dropout. */
  dropoutMask?: tf.Tensor2D;
}

/** Number of values in the flat parameter vector of `layout`. */
export function parameterCount({ inputSize, hidden, numClasses }: HeadLayout): number {
  return hidden > 0 ? (inputSize + 1) * hidden + (hidden + 1) * numClasses : (inputSize + 1) * numClasses;
}

/**
 * The multiplier that decoupled weight decay applies to each parameter after an Adam step:
 * `1 − learningRate · weightDecay` on kernel entries, 1 on biases (biases are not decayed).
 */
export function decayFactors(layout: HeadLayout, learningRate: number, weightDecay: number): Float32Array {
  const factors = new Float32Array(parameterCount(layout)).fill(1 - learningRate * weightDecay);
  const { inputSize, hidden, numClasses } = layout;
  const firstUnits = hidden > 0 ? hidden : numClasses;
  factors.fill(1, inputSize * firstUnits, (inputSize + 1) * firstUnits);
  if (hidden > 0) factors.fill(1, factors.length - numClasses);
  return factors;
}

/** Flattens dense layers' `[kernel, bias, kernel, bias…]` (as `LayersModel.getWeights()` gives them) into one vector. */
export function flattenWeights(weights: tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.concat(weights.map((weight) => tf.reshape(weight, [-1]))) as tf.Tensor1D);
}

/** The inverse of {@link flattenWeights}: `[kernel, bias…]` tensors of `layout`'s layers, for `setWeights`. */
export function unflattenWeights(parameters: tf.Tensor1D, layout: HeadLayout): tf.Tensor[] {
  const { inputSize, hidden, numClasses } = layout;
  const shapes: [number, number][] =
    hidden > 0
      ? [
          [inputSize, hidden],
          [hidden, numClasses],
        ]
      : [[inputSize, numClasses]];
  return tf.tidy(() => {
    const pieces: tf.Tensor[] = [];
    let offset = 0;
    for (const [rows, columns] of shapes) {
      pieces.push(tf.reshape(tf.slice(parameters, offset, rows * columns), [rows, columns]));
      offset += rows * columns;
      pieces.push(tf.slice(parameters, offset, columns));
      offset += columns;
    }
    return pieces;
  });
}

/** The flat vector's views: the first layer as `[inputSize + 1, units]`, and a hidden head's output layer. */
function views(
  parameters: tf.Tensor1D,
  { inputSize, hidden, numClasses }: HeadLayout,
): { first: tf.Tensor2D; second?: { kernel: tf.Tensor2D; bias: tf.Tensor1D } } {
  if (hidden === 0) return { first: tf.reshape(parameters, [inputSize + 1, numClasses]) };
  const firstSize = (inputSize + 1) * hidden;
  return {
    first: tf.reshape(tf.slice(parameters, 0, firstSize), [inputSize + 1, hidden]),
    second: {
      kernel: tf.reshape(tf.slice(parameters, firstSize, hidden * numClasses), [hidden, numClasses]),
      bias: tf.slice(parameters, firstSize + hidden * numClasses, numClasses),
    },
  };
}

/** The head's logits for `inputs` (rows with a trailing 1), without dropout: the evaluation forward pass. */
export function headLogits(parameters: tf.Tensor1D, layout: HeadLayout, inputs: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { first, second } = views(parameters, layout);
    if (!second) return tf.matMul(inputs, first);
    const hidden = tf.fused.matMul({ a: inputs, b: first, activation: 'relu' });
    return tf.fused.matMul({ a: hidden, b: second.kernel, bias: second.bias }) as tf.Tensor2D;
  });
}

/**
 * The gradient of the batch loss `Σ rowWeight · crossEntropy(softmax(logits), target)` with respect to the flat
 * parameters, and the batch's logits (before the update, with dropout) for the epoch's loss and accuracy.
 * With softmax and cross-entropy, d loss / d logits is `rowWeight · (probabilities − oneHot)`.
 */
export function headGradient(
  parameters: tf.Tensor1D,
  layout: HeadLayout,
  batch: HeadBatch,
): { gradient: tf.Tensor1D; logits: tf.Tensor2D } {
  return tf.tidy(() => {
    const { first, second } = views(parameters, layout);
    const { inputs, inputsTransposed, targets, rowWeights, dropoutMask } = batch;
    const logitsGradient = (logits: tf.Tensor2D) =>
      tf.sub(tf.mul(tf.softmax(logits), rowWeights), targets) as tf.Tensor2D;
    if (!second) {
      const logits = tf.matMul(inputs, first) as tf.Tensor2D;
      const gradient = tf.reshape(tf.matMul(inputsTransposed, logitsGradient(logits)), [-1]);
      return { gradient: gradient as tf.Tensor1D, logits };
    }
    const activated = tf.fused.matMul({ a: inputs, b: first, activation: 'relu' }) as tf.Tensor2D;
    // d hidden / d pre-activation: the ReLU's step, times the dropout multiplier.
    const gate = dropoutMask ? tf.mul(tf.step(activated), dropoutMask) : tf.step(activated);
    const hidden = dropoutMask ? tf.mul(activated, dropoutMask) : activated;
    const logits = tf.fused.matMul({ a: hidden, b: second.kernel, bias: second.bias }) as tf.Tensor2D;
    const outputGradient = logitsGradient(logits);
    const preGradient = tf.mul(tf.matMul(outputGradient, second.kernel, false, true), gate);
    const gradient = tf.concat([
      tf.reshape(tf.matMul(inputsTransposed, preGradient), [-1]),
      tf.reshape(tf.matMul(hidden, outputGradient, true, false), [-1]),
      tf.sum(outputGradient, 0),
    ]) as tf.Tensor1D;
    return { gradient, logits };
  });
}

/**
 * Sums over row groups in one backend pass: the class-weighted cross-entropy and the count of rows whose highest
 * logit is at their label. `groups` is `[groups, rows]` with 1 where a row belongs to a group; the result is
 * `[groups, 2]`: (Σ weight · crossEntropy, correct count) per group.
 * @param weightedTargets One-hot labels times each row's class weight: `[rows, numClasses]`.
 * @param labels Each row's class index (int32): `[rows]`.
 */
export function groupedLossAndCorrect(
  logits: tf.Tensor2D,
  weightedTargets: tf.Tensor2D,
  labels: tf.Tensor1D,
  groups: tf.Tensor2D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const losses = tf.neg(tf.sum(tf.mul(weightedTargets, tf.logSoftmax(logits)), 1));
    const correct = tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32');
    return tf.matMul(groups, tf.stack([losses, correct], 1));
  });
}

/** Adam's settings; the defaults are tfjs's `tf.train.adam`'s. */
export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Per-parameter multipliers applied after each step (decoupled weight decay, {@link decayFactors}). */
  decay?: Float32Array;
}

/**
 * Adam (with optional decoupled weight decay) over one flat parameter vector: the same update as
 * `tf.train.adam` followed by `kernel ← kernel · (1 − lr · weightDecay)`, in 13 kernels for all parameters.
 * Owns its tensors; `dispose()` frees them.
 */
export class FlatAdamW {
  #parameters: tf.Tensor1D;
  #firstMoment: tf.Tensor1D;
  #secondMoment: tf.Tensor1D;
  readonly #learningRate: number;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #epsilon: number;
  readonly #constants: { beta1: tf.Scalar; beta2: tf.Scalar; rest1: tf.Scalar; rest2: tf.Scalar };
  readonly #decay: tf.Tensor1D | undefined;
  #step = 0;

  /** Takes ownership of `initial`. */
  constructor(initial: tf.Tensor1D, settings: AdamSettings) {
    const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, decay } = settings;
    this.#parameters = initial;
    this.#learningRate = learningRate;
    this.#beta1 = beta1;
    this.#beta2 = beta2;
    this.#epsilon = epsilon;
    this.#firstMoment = tf.zerosLike(initial);
    this.#secondMoment = tf.zerosLike(initial);
    this.#constants = {
      beta1: tf.scalar(beta1),
      beta2: tf.scalar(beta2),
      rest1: tf.scalar(1 - beta1),
      rest2: tf.scalar(1 - beta2),
    };
    this.#decay = decay ? tf.tensor1d(decay) : undefined;
  }

  /** The current parameters (owned by the optimizer: clone to keep them past the next step). */
  get parameters(): tf.Tensor1D {
    return this.#parameters;
  }

  /** Replaces the parameters (e.g. with the best epoch's); takes ownership of `value`. */
  set parameters(value: tf.Tensor1D) {
    this.#parameters.dispose();
    this.#parameters = value;
  }

  /** One update with `gradient` (same shape as the parameters; not disposed). */
  step(gradient: tf.Tensor1D): void {
    this.#step++;
    // Bias corrections folded into the step size and epsilon: m̂ / (√v̂ + ε) = m·√c2/c1 / (√v + ε·√c2).
    const firstCorrection = 1 - this.#beta1 ** this.#step;
    const rootSecondCorrection = Math.sqrt(1 - this.#beta2 ** this.#step);
    const { beta1, beta2, rest1, rest2 } = this.#constants;
    const next = tf.tidy(() => {
      const firstMoment = tf.add(tf.mul(this.#firstMoment, beta1), tf.mul(gradient, rest1)) as tf.Tensor1D;
      const secondMoment = tf.add(
        tf.mul(this.#secondMoment, beta2),
        tf.mul(tf.square(gradient), rest2),
      ) as tf.Tensor1D;
      const stepSize = tf.scalar((this.#learningRate * rootSecondCorrection) / firstCorrection);
      const epsilon = tf.scalar(this.#epsilon * rootSecondCorrection);
      const update = tf.mul(tf.div(firstMoment, tf.add(tf.sqrt(secondMoment), epsilon)), stepSize);
      let parameters = tf.sub(this.#parameters, update) as tf.Tensor1D;
      if (this.#decay) parameters = tf.mul(parameters, this.#decay);
      return { firstMoment, secondMoment, parameters };
    });
    tf.dispose([this.#firstMoment, this.#secondMoment, this.#parameters]);
    this.#firstMoment = next.firstMoment;
    this.#secondMoment = next.secondMoment;
    this.#parameters = next.parameters;
  }

  /** Frees the parameters, moments and constants. */
  dispose(): void {
    tf.dispose([this.#parameters, this.#firstMoment, this.#secondMoment, ...Object.values(this.#constants)]);
    this.#decay?.dispose();
  }
}
