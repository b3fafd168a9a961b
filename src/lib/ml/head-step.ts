/**
 * @file The head's training step without tfjs's gradient tape: hand-written gradients of the class-weighted softmax
 * cross-entropy through an optional hidden ReLU layer (with a dropout mask), and Adam with decoupled weight decay
 * over the head's layer matrices. On a head this small the per-kernel cost, not the arithmetic, is most of the
 * training time, so a step runs few kernels and no copies of the large first layer.
 *
 * Each dense layer's kernel and bias are one `[fanIn + 1, units]` matrix (the kernel's rows, then the bias), so
 * inputs carry a trailing 1 and one matrix product gives both the first layer's output and, transposed, its kernel's
 * and bias's gradients. Flattened row-major in turn, the matrices give Keras's `[kernel, bias…]` order.
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

/**
 * Flattens tensors into one vector, each row-major in turn: dense layers' `[kernel, bias…]` (as
 * `LayersModel.getWeights()` gives them) and the head's layer matrices give the same vector.
 */
export function flattenWeights(weights: tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.concat(weights.map((weight) => tf.reshape(weight, [-1]))) as tf.Tensor1D);
}

/**
 * The head's parameters as one `[fanIn + 1, units]` matrix per dense layer: its kernel's rows, then its bias as
 * the last row. Kept apart, not in one flat vector, because on the WASM backend every slice of a tensor copies the
 * whole source (three copies of all parameters per step, most of a hidden head's step).
 */
export type HeadParameters = tf.Tensor2D[];

/** Dense layers' `[kernel, bias…]` (as `LayersModel.getWeights()` gives them) as {@link HeadParameters}. */
export function layerMatrices(weights: tf.Tensor[]): HeadParameters {
  return tf.tidy(() => {
    const matrices: HeadParameters = [];
    for (let index = 0; index < weights.length; index += 2) {
      const kernel = weights[index] as tf.Tensor2D;
      const bias = tf.reshape(weights[index + 1] as tf.Tensor, [1, -1]);
      matrices.push(tf.concat([kernel, bias], 0) as tf.Tensor2D);
    }
    return matrices;
  });
}

/**
 * The inverse of {@link layerMatrices}: `[kernel, bias…]` tensors of the head's layers, for `setWeights`. Each bias
 * is sliced from a rank-1 view: the WASM backend's fused multiply checks a bias's stored shape, which a reshape of a
 * `[1, units]` slice would keep.
 */
export function layerWeights(parameters: HeadParameters): tf.Tensor[] {
  return tf.tidy(() =>
    parameters.flatMap((matrix) => {
      const [rows, columns] = matrix.shape;
      return [
        tf.slice(matrix, [0, 0], [rows - 1, columns]),
        tf.slice(tf.reshape(matrix, [-1]) as tf.Tensor1D, (rows - 1) * columns, columns),
      ];
    }),
  );
}

/** A hidden head's output layer as kernel and bias: slices of a `[hidden + 1, numClasses]` matrix, cheap to copy. */
function outputLayer(matrix: tf.Tensor2D): { kernel: tf.Tensor2D; bias: tf.Tensor1D } {
  const [rows, columns] = matrix.shape;
  return {
    kernel: tf.slice(matrix, [0, 0], [rows - 1, columns]),
    // Sliced from a rank-1 view, as in layerWeights.
    bias: tf.slice(tf.reshape(matrix, [-1]) as tf.Tensor1D, (rows - 1) * columns, columns),
  };
}

/** The head's logits for `inputs` (rows with a trailing 1), without dropout: the evaluation forward pass. */
export function headLogits(parameters: HeadParameters, inputs: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [first, second] = parameters as [tf.Tensor2D, tf.Tensor2D?];
    if (!second) return tf.matMul(inputs, first);
    const hidden = tf.fused.matMul({ a: inputs, b: first, activation: 'relu' });
    const { kernel, bias } = outputLayer(second);
    return tf.fused.matMul({ a: hidden, b: kernel, bias }) as tf.Tensor2D;
  });
}

/**
 * The gradient of the batch loss `Σ rowWeight · crossEntropy(softmax(logits), target)` with respect to each of the
 * head's layer matrices, and the batch's logits (before the update, with dropout) for the epoch's loss and accuracy.
 * With softmax and cross-entropy, d loss / d logits is `rowWeight · (probabilities − oneHot)`.
 */
export function headGradient(
  parameters: HeadParameters,
  batch: HeadBatch,
): { gradients: tf.Tensor2D[]; logits: tf.Tensor2D } {
  return tf.tidy(() => {
    const [first, second] = parameters as [tf.Tensor2D, tf.Tensor2D?];
    const { inputs, inputsTransposed, targets, rowWeights, dropoutMask } = batch;
    const logitsGradient = (logits: tf.Tensor2D) =>
      tf.sub(tf.mul(tf.softmax(logits), rowWeights), targets) as tf.Tensor2D;
    if (!second) {
      const logits = tf.matMul(inputs, first) as tf.Tensor2D;
      return { gradients: [tf.matMul(inputsTransposed, logitsGradient(logits))], logits };
    }
    const { kernel, bias } = outputLayer(second);
    const activated = tf.fused.matMul({ a: inputs, b: first, activation: 'relu' }) as tf.Tensor2D;
    // d hidden / d pre-activation: the ReLU's step, times the dropout multiplier.
    const gate = dropoutMask ? tf.mul(tf.step(activated), dropoutMask) : tf.step(activated);
    const hidden = dropoutMask ? tf.mul(activated, dropoutMask) : activated;
    const logits = tf.fused.matMul({ a: hidden, b: kernel, bias }) as tf.Tensor2D;
    const outputGradient = logitsGradient(logits);
    const preGradient = tf.mul(tf.matMul(outputGradient, kernel, false, true), gate);
    const gradients = [
      tf.matMul(inputsTransposed, preGradient),
      tf.concat([tf.matMul(hidden, outputGradient, true, false), tf.sum(outputGradient, 0, true)], 0),
    ] as tf.Tensor2D[];
    return { gradients, logits };
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
 * Adam (with optional decoupled weight decay) over the head's layer matrices: the same update as `tf.train.adam`
 * followed by `kernel ← kernel · (1 − lr · weightDecay)`, in 13 kernels per matrix. Owns its tensors; `dispose()`
 * frees them.
 */
export class AdamW {
  #parameters: tf.Tensor2D[];
  #firstMoments: tf.Tensor2D[];
  #secondMoments: tf.Tensor2D[];
  readonly #learningRate: number;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #epsilon: number;
  readonly #constants: { beta1: tf.Scalar; beta2: tf.Scalar; rest1: tf.Scalar; rest2: tf.Scalar };
  readonly #decay: tf.Tensor2D[] | undefined;
  #step = 0;

  /**
   * Takes ownership of `initial`.
   * @param settings `decay`, if given, is in the flat order of {@link flattenWeights} over `initial`.
   */
  constructor(initial: tf.Tensor2D[], settings: AdamSettings) {
    const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, decay } = settings;
    this.#parameters = initial;
    this.#learningRate = learningRate;
    this.#beta1 = beta1;
    this.#beta2 = beta2;
    this.#epsilon = epsilon;
    this.#firstMoments = initial.map((tensor) => tf.zerosLike(tensor));
    this.#secondMoments = initial.map((tensor) => tf.zerosLike(tensor));
    this.#constants = {
      beta1: tf.scalar(beta1),
      beta2: tf.scalar(beta2),
      rest1: tf.scalar(1 - beta1),
      rest2: tf.scalar(1 - beta2),
    };
    if (decay) {
      const total = initial.reduce((sum, tensor) => sum + tensor.size, 0);
      if (decay.length !== total)
        throw new Error(`AdamW: ${decay.length} decay factors for ${total} parameters.`);
      let offset = 0;
      this.#decay = initial.map((tensor) => {
        const factors = tf.tensor2d(decay.subarray(offset, offset + tensor.size), tensor.shape);
        offset += tensor.size;
        return factors;
      });
    }
  }

  /** The current layer matrices (owned by the optimizer: clone to keep them past the next step). */
  get parameters(): tf.Tensor2D[] {
    return this.#parameters;
  }

  /** Replaces the parameters (e.g. with the best epoch's); takes ownership of `value`. */
  set parameters(value: tf.Tensor2D[]) {
    tf.dispose(this.#parameters);
    this.#parameters = value;
  }

  /** One update with `gradients` (one per layer matrix, same shapes; not disposed). */
  step(gradients: tf.Tensor2D[]): void {
    this.#step++;
    // Bias corrections folded into the step size and epsilon: m̂ / (√v̂ + ε) = m·√c2/c1 / (√v + ε·√c2).
    const firstCorrection = 1 - this.#beta1 ** this.#step;
    const rootSecondCorrection = Math.sqrt(1 - this.#beta2 ** this.#step);
    const { beta1, beta2, rest1, rest2 } = this.#constants;
    const next = tf.tidy(() => {
      const stepSize = tf.scalar((this.#learningRate * rootSecondCorrection) / firstCorrection);
      const epsilon = tf.scalar(this.#epsilon * rootSecondCorrection);
      return this.#parameters.map((current, index) => {
        const gradient = gradients[index] as tf.Tensor2D;
        const firstMoment = tf.add(
          tf.mul(this.#firstMoments[index] as tf.Tensor2D, beta1),
          tf.mul(gradient, rest1),
        ) as tf.Tensor2D;
        const secondMoment = tf.add(
          tf.mul(this.#secondMoments[index] as tf.Tensor2D, beta2),
          tf.mul(tf.square(gradient), rest2),
        ) as tf.Tensor2D;
        const update = tf.mul(tf.div(firstMoment, tf.add(tf.sqrt(secondMoment), epsilon)), stepSize);
        let parameters = tf.sub(current, update) as tf.Tensor2D;
        const decay = this.#decay?.[index];
        if (decay) parameters = tf.mul(parameters, decay);
        return { firstMoment, secondMoment, parameters };
      });
    });
    tf.dispose([...this.#firstMoments, ...this.#secondMoments, ...this.#parameters]);
    this.#firstMoments = next.map((entry) => entry.firstMoment);
    this.#secondMoments = next.map((entry) => entry.secondMoment);
    this.#parameters = next.map((entry) => entry.parameters);
  }

  /** Frees the parameters, moments and constants. */
  dispose(): void {
    tf.dispose([
      ...this.#parameters,
      ...this.#firstMoments,
      ...this.#secondMoments,
      ...Object.values(this.#constants),
      ...(this.#decay ?? []),
    ]);
  }
}
