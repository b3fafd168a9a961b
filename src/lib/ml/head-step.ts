/**
 * @file The head's training step without tfjs's gradient tape: hand-written gradients of the class-weighted softmax
 * cross-entropy through an optional hidden ReLU layer (with a dropout mask), and Adam with decoupled weight decay.
 * On a head this small the per-kernel cost, not the arithmetic, is most of the training time, so a step runs three
 * backend kernels for its products and ten for Adam, and does everything small in plain JS.
 *
 * Layout. The first dense layer (the only one for a linear head) lives on the backend, transposed, as one
 * `[units, inputSize + 1]` matrix (its kernel's columns, then its bias): inputs carry a trailing 1, so one product
 * gives the layer's output and one its kernel's and bias's gradients. Transposed so the large matrix is the left
 * operand of both products: the WASM backend caches a product's packed right operand by tensor, so a right operand
 * that changes every step (the parameters after each update) would be repacked every step, and it multiplies a
 * transposed operand far slower than one laid out so. A hidden head's output layer (`[hidden + 1, numClasses]`, at
 * most a few thousand values) lives in JS, with its Adam moments: its products, softmax and gradients cost less in
 * JS than the fixed cost of a dozen small kernels.
 */
import * as tf from '@tensorflow/tfjs';

/** The head's sizes: features in, hidden ReLU units (0 = linear head), classes out. */
export interface HeadLayout {
  inputSize: number;
  hidden: number;
  numClasses: number;
}

/** One mini-batch, in JS. */
export interface HeadBatch {
  /** Feature rows each followed by a 1 (the bias input), row-major `[rows, inputSize + 1]`. */
  inputs: Float32Array;
  /** Each row's class index. */
  labels: Int32Array;
  /** Each row's class weight: the batch loss is the mean over rows of weight · cross-entropy. */
  weights: Float32Array;
  /** Dropout multipliers of the hidden units, 0 or 1 / (1 − rate), row-major `[rows, hidden]`; absent without. */
  dropoutMask?: Float32Array;
}

/** Number of values in the head's `[kernel, bias…]` weights for `layout`. */
export function parameterCount({ inputSize, hidden, numClasses }: HeadLayout): number {
  return hidden > 0 ? (inputSize + 1) * hidden + (hidden + 1) * numClasses : (inputSize + 1) * numClasses;
}

/**
 * The class-weighted cross-entropy summed over rows, and the count of rows whose highest logit (the first, on a tie,
 * as `tf.argMax`) is at their label.
 * @param logits Row-major `[rows, numClasses]`.
 */
export function lossAndCorrect(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number>,
  numClasses: number,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let row = 0; row < labels.length; row++) {
    const offset = row * numClasses;
    let best = 0;
    let max = logits[offset] as number;
    for (let c = 1; c < numClasses; c++) {
      const value = logits[offset + c] as number;
      if (value > max) {
        max = value;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp((logits[offset + c] as number) - max);
    const label = labels[row] as number;
    loss += (weights[row] as number) * (Math.log(sum) - ((logits[offset + label] as number) - max));
    if (best === label) correct++;
  }
  return { loss, correct };
}

/** Adam's settings; the defaults are tfjs's `tf.train.adam`'s. */
export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay: after each step, kernel entries (not biases) are multiplied by 1 − lr · weightDecay. */
  weightDecay?: number;
}

/** A snapshot of the head's parameters (e.g. the best epoch's), for {@link HeadOptimizer.restore}. */
export interface HeadSnapshot {
  first: tf.Tensor2D;
  output: Float32Array | undefined;
}

/** `values` (row-major `[rows, columns]`) transposed: row-major `[columns, rows]`. */
function transposed(values: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(values.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      result[column * rows + row] = values[row * columns + column] as number;
    }
  }
  return result;
}

/** A linear head's logits, `[rows, numClasses]`, from the first layer's transposed output. */
function transposedLogits(output: Float32Array, rows: number, numClasses: number): Float64Array {
  const logits = new Float64Array(rows * numClasses);
  for (let row = 0; row < rows; row++) {
    for (let c = 0; c < numClasses; c++) logits[row * numClasses + c] = output[c * rows + row] as number;
  }
  return logits;
}

/**
 * Adam over a Float32Array, in place: the same update as `tf.train.adam`, then `decay` (per-entry multipliers).
 * @param stepSize The learning rate with both bias corrections folded in: `lr · √(1 − β2ᵗ) / (1 − β1ᵗ)`.
 * @param epsilon ε with the second bias correction folded in: `ε · √(1 − β2ᵗ)`.
 */
function adamInPlace(
  parameters: Float32Array,
  firstMoment: Float32Array,
  secondMoment: Float32Array,
  gradient: ArrayLike<number>,
  constants: { beta1: number; beta2: number; stepSize: number; epsilon: number },
  decay: Float32Array | undefined,
): void {
  const { beta1, beta2, stepSize, epsilon } = constants;
  for (let index = 0; index < parameters.length; index++) {
    const g = gradient[index] as number;
    const m = (firstMoment[index] = beta1 * (firstMoment[index] as number) + (1 - beta1) * g);
    const v = (secondMoment[index] = beta2 * (secondMoment[index] as number) + (1 - beta2) * g * g);
    const updated = (parameters[index] as number) - (stepSize * m) / (Math.sqrt(v) + epsilon);
    parameters[index] = decay ? updated * (decay[index] as number) : updated;
  }
}

/**
 * The head's parameters with their Adam state: the training step (forward pass, hand-written gradients, AdamW
 * update) and the evaluation forward pass. Owns its tensors; `dispose()` frees them.
 */
export class HeadOptimizer {
  readonly #layout: HeadLayout;
  /** The first layer, transposed: `[units, inputSize + 1]`, units = hidden (or numClasses for a linear head). */
  #first: tf.Tensor2D;
  /** Adam's moments of `#first`, scaled: `m / (1 − β1)` and `v / (1 − β2)` (fewer kernels per update). */
  #firstMoments: [tf.Tensor2D, tf.Tensor2D];
  readonly #firstDecay: tf.Tensor2D | undefined;
  /** A hidden head's output layer, row-major `[hidden + 1, numClasses]` (kernel rows, then the bias), and Adam's. */
  #output: Float32Array | undefined;
  readonly #outputMoments: [Float32Array, Float32Array] | undefined;
  readonly #outputDecay: Float32Array | undefined;
  readonly #settings: Required<AdamSettings>;
  readonly #betas: [tf.Scalar, tf.Scalar];
  #step = 0;

  /**
   * @param weights The head's dense layers' `[kernel, bias…]`, as `LayersModel.getWeights()` gives them (not
   *   disposed).
   */
  constructor(layout: HeadLayout, weights: tf.Tensor[], settings: AdamSettings) {
    const { inputSize, hidden, numClasses } = layout;
    const expected = hidden > 0 ? 4 : 2;
    if (weights.length !== expected) {
      throw new Error(`HeadOptimizer: expected ${expected} weight tensors, got ${weights.length}.`);
    }
    this.#layout = layout;
    this.#settings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, ...settings };
    const units = hidden > 0 ? hidden : numClasses;
    const width = inputSize + 1;
    const kernel = (weights[0] as tf.Tensor).dataSync();
    const bias = (weights[1] as tf.Tensor).dataSync();
    const first = new Float32Array(units * width);
    for (let unit = 0; unit < units; unit++) {
      for (let input = 0; input < inputSize; input++) {
        first[unit * width + input] = kernel[input * units + unit] as number;
      }
      first[unit * width + inputSize] = bias[unit] as number;
    }
    this.#first = tf.tensor2d(first, [units, width]);
    this.#firstMoments = [tf.zeros([units, width]), tf.zeros([units, width])];
    const { learningRate, weightDecay, beta1, beta2 } = this.#settings;
    const factor = 1 - learningRate * weightDecay;
    if (weightDecay > 0) {
      const decay = new Float32Array(units * width).fill(factor);
      for (let unit = 0; unit < units; unit++) decay[unit * width + inputSize] = 1;
      this.#firstDecay = tf.tensor2d(decay, [units, width]);
    }
    if (hidden > 0) {
      const output = new Float32Array((hidden + 1) * numClasses);
      output.set((weights[2] as tf.Tensor).dataSync());
      output.set((weights[3] as tf.Tensor).dataSync(), hidden * numClasses);
      this.#output = output;
      this.#outputMoments = [new Float32Array(output.length), new Float32Array(output.length)];
      if (weightDecay > 0) {
        this.#outputDecay = new Float32Array(output.length).fill(factor).fill(1, hidden * numClasses);
      }
    }
    this.#betas = [tf.scalar(beta1), tf.scalar(beta2)];
  }

  /**
   * One training step on `batch`: the gradient of its loss (the mean over rows of weight · cross-entropy), then one
   * AdamW update of every parameter. Returns the batch's logits before the update (with dropout), row-major
   * `[rows, numClasses]`, for the epoch's loss and accuracy.
   */
  step(batch: HeadBatch): Float64Array {
    const { inputSize, hidden, numClasses } = this.#layout;
    const width = inputSize + 1;
    const rows = batch.labels.length;
    const units = hidden > 0 ? hidden : numClasses;
    const inputsTransposed = tf.tensor2d(transposed(batch.inputs, rows, width), [width, rows]);
    let firstGradient: tf.Tensor2D;
    let logits: Float64Array;
    let outputGradient: Float64Array | undefined;
    try {
      const layerOutput = this.#firstLayer(inputsTransposed);
      // d loss / d (the first layer's pre-activation): `[rows, units]`.
      const upstream = new Float32Array(rows * units);
      if (hidden > 0) {
        const { hiddenValues, logits: outputLogits } = this.#outputLayer(
          layerOutput,
          rows,
          batch.dropoutMask,
        );
        logits = outputLogits;
        const logitsGradient = this.#logitsGradient(logits, batch);
        outputGradient = this.#outputGradient(hiddenValues, logitsGradient, rows);
        this.#hiddenGradient(layerOutput, logitsGradient, batch.dropoutMask, rows, upstream);
      } else {
        logits = transposedLogits(layerOutput, rows, numClasses);
        upstream.set(this.#logitsGradient(logits, batch));
      }
      // inputsᵀ · upstream, then transposed: its right operand is small, so the WASM backend's packing of a new
      // right operand is cheap, unlike upstreamᵀ · inputs (a `[rows, inputSize + 1]` right operand).
      firstGradient = tf.tidy(() =>
        tf.transpose(tf.matMul(inputsTransposed, tf.tensor2d(upstream, [rows, units]))),
      );
    } finally {
      inputsTransposed.dispose();
    }
    try {
      this.#update(firstGradient, outputGradient);
    } finally {
      firstGradient.dispose();
    }
    return logits;
  }

  /**
   * The head's logits without dropout (the evaluation forward pass), row-major `[rows, numClasses]`.
   * @param inputsTransposed Feature rows each followed by a 1, transposed: `[inputSize + 1, rows]`.
   */
  logits(inputsTransposed: tf.Tensor2D): Float64Array {
    const rows = inputsTransposed.shape[1];
    const { hidden, numClasses } = this.#layout;
    const layerOutput = this.#firstLayer(inputsTransposed);
    return hidden > 0
      ? this.#outputLayer(layerOutput, rows, undefined).logits
      : transposedLogits(layerOutput, rows, numClasses);
  }

  /** A copy of the current parameters; the caller disposes `first` (or hands it to {@link restore}). */
  snapshot(): HeadSnapshot {
    return { first: tf.clone(this.#first), output: this.#output?.slice() };
  }

  /** Replaces the parameters with a snapshot's (e.g. the best epoch's); takes ownership of it. */
  restore(snapshot: HeadSnapshot): void {
    this.#first.dispose();
    this.#first = snapshot.first;
    this.#output = snapshot.output;
  }

  /** The parameters as dense layers' `[kernel, bias…]` tensors, for `LayersModel.setWeights`; the caller disposes. */
  weights(): tf.Tensor[] {
    const { inputSize, hidden, numClasses } = this.#layout;
    const units = hidden > 0 ? hidden : numClasses;
    const width = inputSize + 1;
    const first = this.#first.dataSync();
    const kernel = new Float32Array(inputSize * units);
    const bias = new Float32Array(units);
    for (let unit = 0; unit < units; unit++) {
      for (let input = 0; input < inputSize; input++) {
        kernel[input * units + unit] = first[unit * width + input] as number;
      }
      bias[unit] = first[unit * width + inputSize] as number;
    }
    const weights: tf.Tensor[] = [tf.tensor2d(kernel, [inputSize, units]), tf.tensor1d(bias)];
    const output = this.#output;
    if (output) {
      weights.push(
        tf.tensor2d(output.slice(0, hidden * numClasses), [hidden, numClasses]),
        tf.tensor1d(output.slice(hidden * numClasses)),
      );
    }
    return weights;
  }

  /** Frees the parameters, moments and constants. */
  dispose(): void {
    tf.dispose([this.#first, ...this.#firstMoments, ...this.#betas]);
    this.#firstDecay?.dispose();
  }

  /** The first layer's output (after the ReLU of a hidden head), transposed: `[units, rows]`. */
  #firstLayer(inputsTransposed: tf.Tensor2D): Float32Array {
    const output =
      this.#layout.hidden > 0
        ? (tf.fused.matMul({ a: this.#first, b: inputsTransposed, activation: 'relu' }) as tf.Tensor2D)
        : tf.matMul(this.#first, inputsTransposed);
    try {
      return output.dataSync() as Float32Array;
    } finally {
      output.dispose();
    }
  }

  /**
   * The output layer on the hidden units' values (`activated`, `[hidden, rows]`, times the dropout mask if any):
   * the hidden values it used (row-major `[rows, hidden]`) and the logits (`[rows, numClasses]`).
   */
  #outputLayer(
    activated: Float32Array,
    rows: number,
    mask: Float32Array | undefined,
  ): { hiddenValues: Float64Array; logits: Float64Array } {
    const { hidden, numClasses } = this.#layout;
    const output = this.#output as Float32Array;
    const hiddenValues = new Float64Array(rows * hidden);
    const logits = new Float64Array(rows * numClasses);
    for (let row = 0; row < rows; row++) {
      const offset = row * numClasses;
      for (let c = 0; c < numClasses; c++) logits[offset + c] = output[hidden * numClasses + c] as number;
      for (let unit = 0; unit < hidden; unit++) {
        let value = activated[unit * rows + row] as number;
        if (mask) value *= mask[row * hidden + unit] as number;
        hiddenValues[row * hidden + unit] = value;
        if (value === 0) continue;
        for (let c = 0; c < numClasses; c++) {
          logits[offset + c] =
            (logits[offset + c] as number) + value * (output[unit * numClasses + c] as number);
        }
      }
    }
    return { hiddenValues, logits };
  }

  /**
   * d loss / d logits for the batch loss `Σ (weight / rows) · crossEntropy(softmax(logits), label)`: with softmax and
   * cross-entropy, `(weight / rows) · (probabilities − oneHot)`.
   */
  #logitsGradient(logits: Float64Array, batch: HeadBatch): Float64Array {
    const { numClasses } = this.#layout;
    const rows = batch.labels.length;
    const gradient = new Float64Array(rows * numClasses);
    for (let row = 0; row < rows; row++) {
      const offset = row * numClasses;
      let max = -Infinity;
      for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[offset + c] as number);
      let sum = 0;
      for (let c = 0; c < numClasses; c++) {
        const value = Math.exp((logits[offset + c] as number) - max);
        gradient[offset + c] = value;
        sum += value;
      }
      const scale = (batch.weights[row] as number) / rows;
      for (let c = 0; c < numClasses; c++) {
        gradient[offset + c] = ((gradient[offset + c] as number) / sum) * scale;
      }
      const label = offset + (batch.labels[row] as number);
      gradient[label] = (gradient[label] as number) - scale;
    }
    return gradient;
  }

  /** The output layer's gradient, `[hidden + 1, numClasses]`: hiddenᵀ · d logits, then Σ over rows of d logits. */
  #outputGradient(hiddenValues: Float64Array, logitsGradient: Float64Array, rows: number): Float64Array {
    const { hidden, numClasses } = this.#layout;
    const gradient = new Float64Array((hidden + 1) * numClasses);
    for (let row = 0; row < rows; row++) {
      const offset = row * numClasses;
      for (let unit = 0; unit < hidden; unit++) {
        const value = hiddenValues[row * hidden + unit] as number;
        if (value === 0) continue;
        for (let c = 0; c < numClasses; c++) {
          gradient[unit * numClasses + c] =
            (gradient[unit * numClasses + c] as number) + value * (logitsGradient[offset + c] as number);
        }
      }
      for (let c = 0; c < numClasses; c++) {
        gradient[hidden * numClasses + c] =
          (gradient[hidden * numClasses + c] as number) + (logitsGradient[offset + c] as number);
      }
    }
    return gradient;
  }

  /**
   * d loss / d (the hidden layer's pre-activation), into `target` (`[rows, hidden]`): d logits ·
   * the output kernelᵀ, times the ReLU's step and the dropout multiplier.
   */
  #hiddenGradient(
    activated: Float32Array,
    logitsGradient: Float64Array,
    mask: Float32Array | undefined,
    rows: number,
    target: Float32Array,
  ): void {
    const { hidden, numClasses } = this.#layout;
    const output = this.#output as Float32Array;
    for (let unit = 0; unit < hidden; unit++) {
      for (let row = 0; row < rows; row++) {
        if (!((activated[unit * rows + row] as number) > 0)) continue;
        let sum = 0;
        for (let c = 0; c < numClasses; c++) {
          sum += (logitsGradient[row * numClasses + c] as number) * (output[unit * numClasses + c] as number);
        }
        target[row * hidden + unit] = mask ? sum * (mask[row * hidden + unit] as number) : sum;
      }
    }
  }

  /** One AdamW update of both layers. */
  #update(firstGradient: tf.Tensor2D, outputGradient: Float64Array | undefined): void {
    const { learningRate, beta1, beta2, epsilon } = this.#settings;
    this.#step++;
    // Bias corrections folded into the step size and epsilon: m̂ / (√v̂ + ε) = m·√c2/c1 / (√v + ε·√c2).
    const rootSecondCorrection = Math.sqrt(1 - beta2 ** this.#step);
    const stepSize = (learningRate * rootSecondCorrection) / (1 - beta1 ** this.#step);
    const stepEpsilon = epsilon * rootSecondCorrection;
    if (outputGradient && this.#output && this.#outputMoments) {
      adamInPlace(
        this.#output,
        this.#outputMoments[0],
        this.#outputMoments[1],
        outputGradient,
        { beta1, beta2, stepSize, epsilon: stepEpsilon },
        this.#outputDecay,
      );
    }
    // On the backend the moments are kept scaled, M = m / (1 − β1) and V = v / (1 − β2), so each is one multiply
    // and one add; the update m / (√v + ε) is then (1 − β1) / √(1 − β2) · M / (√V + ε / √(1 − β2)).
    const rootRest2 = Math.sqrt(1 - beta2);
    const [firstMoment, secondMoment] = this.#firstMoments;
    const [beta1Scalar, beta2Scalar] = this.#betas;
    const next = tf.tidy(() => {
      const moment = tf.add(tf.mul(firstMoment, beta1Scalar), firstGradient) as tf.Tensor2D;
      const second = tf.add(tf.mul(secondMoment, beta2Scalar), tf.square(firstGradient)) as tf.Tensor2D;
      const ratio = tf.div(moment, tf.add(tf.sqrt(second), tf.scalar(stepEpsilon / rootRest2)));
      let parameters = tf.sub(
        this.#first,
        tf.mul(ratio, tf.scalar((stepSize * (1 - beta1)) / rootRest2)),
      ) as tf.Tensor2D;
      if (this.#firstDecay) parameters = tf.mul(parameters, this.#firstDecay);
      return { moment, second, parameters };
    });
    tf.dispose([firstMoment, secondMoment, this.#first]);
    this.#firstMoments = [next.moment, next.second];
    this.#first = next.parameters;
  }
}
