/**
 * @file The head's training step without tfjs's gradient tape: hand-written gradients of the class-weighted softmax
 * cross-entropy through an optional hidden ReLU layer (with a dropout mask), and Adam with decoupled weight decay.
 *
 * Where the time goes. On a head this small, tfjs's fixed cost per kernel (the engine's bookkeeping, uploading and
 * packing the operands of each product, reading results back) was most of a step; in Node it made head training cost
 * a quarter of the feature extraction it follows. So the first dense layer (the only one of a linear head), which
 * holds nearly all the parameters, trains in the head kernels' own memory (head-kernels.ts: WebAssembly SIMD): its
 * weights, Adam's moments and each batch stay there, and a step is three calls (forward product, the weights'
 * gradient, Adam) with no tensor made. A hidden head's output layer (`[hidden + 1, numClasses]`, a few hundred
 * values) and its Adam moments live in the same memory; its products, the softmax and the small gradients are plain
 * JS, and the same Adam kernel updates it. tfjs builds and initialises the head, runs the evaluation pass (once per
 * epoch) and predicts with the trained model.
 *
 * Layout. The first layer is `[units, stride]`: row u holds unit u's kernel column, then its bias, then zeros up to
 * a multiple of LANES. A batch's rows carry a trailing 1 (the bias input) and the same zero padding, so one product
 * gives the layer's output and one its kernel's and bias's gradients, and padding stays zero (its gradient is zero).
 */
import * as tf from '@tensorflow/tfjs';
import { createHeadKernels, LANES, type AdamConstants, type HeadKernels } from './head-kernels.ts';

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

/** A copy of the head's parameters (e.g. the best epoch's), for {@link HeadOptimizer.restore}. */
export interface HeadSnapshot {
  first: Float32Array;
  output: Float32Array | undefined;
}

/**
 * The head's parameters with their Adam state: the training step (forward pass, hand-written gradients, AdamW
 * update) and the evaluation forward pass. Owns its tensors; `dispose()` frees them.
 */
export class HeadOptimizer {
  readonly #layout: HeadLayout;
  /** The first layer's units: hidden, or numClasses for a linear head. */
  readonly #units: number;
  /** Values per row of the first layer's weights and of a batch's inputs: inputSize + 1, zero-padded to LANES. */
  readonly #stride: number;
  /**
   * The kernels' memory. For each layer, its gradient, Adam's two moments and its weights: the first layer's each
   * `[units, stride]` (row u: unit u's kernel column, its bias, zeros), then a hidden head's output layer's each
   * `[hidden + 1, numClasses]` (kernel rows, then the bias row). Then a step's batch (see {@link HeadOptimizer.step}).
   */
  readonly #kernels: HeadKernels;
  /** The first layer as a tensor `[units, inputSize + 1]` for the evaluation pass; built when asked, dropped on update. */
  #first: tf.Tensor2D | undefined;
  readonly #settings: Required<AdamSettings>;
  #step = 0;

  /**
   * @param weights The head's dense layers' `[kernel, bias…]`, as `LayersModel.getWeights()` gives them (not
   *   disposed).
   * @param kernels Which implementation of the kernels to use (tests compare both).
   */
  constructor(
    layout: HeadLayout,
    weights: tf.Tensor[],
    settings: AdamSettings,
    kernels: 'wasm' | 'js' = 'wasm',
  ) {
    const { inputSize, hidden, numClasses } = layout;
    const expected = hidden > 0 ? 4 : 2;
    if (weights.length !== expected) {
      throw new Error(`HeadOptimizer: expected ${expected} weight tensors, got ${weights.length}.`);
    }
    this.#layout = layout;
    this.#settings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, ...settings };
    const units = hidden > 0 ? hidden : numClasses;
    this.#units = units;
    this.#stride = Math.ceil((inputSize + 1) / LANES) * LANES;
    this.#kernels = createHeadKernels(this.#batchStart(), kernels);
    const values = this.#kernels.values;
    const parameters = this.#region('parameters', 'first');
    const kernel = (weights[0] as tf.Tensor).dataSync();
    const bias = (weights[1] as tf.Tensor).dataSync();
    for (let unit = 0; unit < units; unit++) {
      const row = parameters + unit * this.#stride;
      for (let input = 0; input < inputSize; input++)
        values[row + input] = kernel[input * units + unit] as number;
      values[row + inputSize] = bias[unit] as number;
    }
    if (hidden > 0) {
      const output = this.#region('parameters', 'output');
      values.set((weights[2] as tf.Tensor).dataSync(), output);
      values.set((weights[3] as tf.Tensor).dataSync(), output + hidden * numClasses);
    }
  }

  /**
   * One training step on `batch`: the gradient of its loss (the mean over rows of weight · cross-entropy), then one
   * AdamW update of every parameter. Returns the batch's logits before the update (with dropout), row-major
   * `[rows, numClasses]`, for the epoch's loss and accuracy.
   *
   * The batch's part of the kernels' memory: the first layer's output `[rows, units]`, its gradient (upstream)
   * `[rows, units]`, then the inputs `[rows, stride]`.
   */
  step(batch: HeadBatch): Float64Array {
    const { inputSize, hidden } = this.#layout;
    const width = inputSize + 1;
    const stride = this.#stride;
    const rows = batch.labels.length;
    const units = this.#units;
    const out = this.#batchStart();
    const upstream = out + rows * units;
    const inputs = upstream + rows * units;
    this.#kernels.reserve(inputs + rows * stride);
    const values = this.#kernels.values;
    for (let row = 0; row < rows; row++) {
      values.set(batch.inputs.subarray(row * width, (row + 1) * width), inputs + row * stride);
      values.fill(0, inputs + row * stride + width, inputs + (row + 1) * stride);
    }
    this.#kernels.forward(inputs, this.#region('parameters', 'first'), out, rows, units, stride, hidden > 0);
    const layerOutput = values.subarray(out, out + rows * units);
    // d loss / d (the first layer's pre-activation): `[rows, units]`.
    const upstreamValues = values.subarray(upstream, upstream + rows * units).fill(0);
    let logits: Float64Array;
    if (hidden > 0) {
      const { hiddenValues, logits: outputLogits } = this.#outputLayer(layerOutput, rows, batch.dropoutMask);
      logits = outputLogits;
      const logitsGradient = this.#logitsGradient(logits, batch);
      values.set(
        this.#outputGradient(hiddenValues, logitsGradient, rows),
        this.#region('gradient', 'output'),
      );
      this.#hiddenGradient(layerOutput, logitsGradient, batch.dropoutMask, rows, upstreamValues);
    } else {
      logits = Float64Array.from(layerOutput);
      upstreamValues.set(this.#logitsGradient(logits, batch));
    }
    this.#kernels.backward(inputs, upstream, this.#region('gradient', 'first'), rows, units, stride);
    this.#update();
    return logits;
  }

  /**
   * The head's logits without dropout (the evaluation forward pass), row-major `[rows, numClasses]`.
   * @param inputsTransposed Feature rows each followed by a 1, transposed: `[inputSize + 1, rows]`.
   */
  logits(inputsTransposed: tf.Tensor2D): Float64Array {
    const rows = inputsTransposed.shape[1];
    const layerOutput = this.#firstLayer(inputsTransposed);
    return this.#layout.hidden > 0
      ? this.#outputLayer(layerOutput, rows, undefined).logits
      : Float64Array.from(layerOutput);
  }

  /** A copy of the current parameters, for {@link restore}. */
  snapshot(): HeadSnapshot {
    const first = this.#region('parameters', 'first');
    return {
      first: this.#kernels.values.slice(first, first + this.#size('first')),
      output: this.#layout.hidden > 0 ? this.#outputWeights().slice() : undefined,
    };
  }

  /** Replaces the parameters with a snapshot's (e.g. the best epoch's). */
  restore(snapshot: HeadSnapshot): void {
    this.#kernels.values.set(snapshot.first, this.#region('parameters', 'first'));
    if (snapshot.output) this.#kernels.values.set(snapshot.output, this.#region('parameters', 'output'));
    this.#first?.dispose();
    this.#first = undefined;
  }

  /** The parameters as dense layers' `[kernel, bias…]` tensors, for `LayersModel.setWeights`; the caller disposes. */
  weights(): tf.Tensor[] {
    const { inputSize, hidden, numClasses } = this.#layout;
    const units = this.#units;
    const values = this.#kernels.values;
    const parameters = this.#region('parameters', 'first');
    const kernel = new Float32Array(inputSize * units);
    const bias = new Float32Array(units);
    for (let unit = 0; unit < units; unit++) {
      const row = parameters + unit * this.#stride;
      for (let input = 0; input < inputSize; input++)
        kernel[input * units + unit] = values[row + input] as number;
      bias[unit] = values[row + inputSize] as number;
    }
    const weights: tf.Tensor[] = [tf.tensor2d(kernel, [inputSize, units]), tf.tensor1d(bias)];
    if (hidden > 0) {
      const output = this.#outputWeights();
      weights.push(
        tf.tensor2d(output.slice(0, hidden * numClasses), [hidden, numClasses]),
        tf.tensor1d(output.slice(hidden * numClasses)),
      );
    }
    return weights;
  }

  /** Frees the first layer's tensor, if one was built (the kernels' memory is garbage-collected). */
  dispose(): void {
    this.#first?.dispose();
    this.#first = undefined;
  }

  /** Values in one region of `layer`: `[units, stride]` for the first, `[hidden + 1, numClasses]` (or none) else. */
  #size(layer: 'first' | 'output'): number {
    const { hidden, numClasses } = this.#layout;
    if (layer === 'first') return this.#units * this.#stride;
    return hidden > 0 ? (hidden + 1) * numClasses : 0;
  }

  /** Where one of `layer`'s regions of the kernels' memory starts (see `#kernels`). */
  #region(
    part: 'gradient' | 'firstMoment' | 'secondMoment' | 'parameters',
    layer: 'first' | 'output',
  ): number {
    const order = { gradient: 0, firstMoment: 1, secondMoment: 2, parameters: 3 } as const;
    return (layer === 'first' ? 0 : 4 * this.#size('first')) + order[part] * this.#size(layer);
  }

  /** Where the step's batch starts in the kernels' memory: after both layers' regions; it is sized per step. */
  #batchStart(): number {
    return 4 * (this.#size('first') + this.#size('output'));
  }

  /** A hidden head's output layer, `[hidden + 1, numClasses]`: a view of the kernels' memory (read it afresh). */
  #outputWeights(): Float32Array {
    const output = this.#region('parameters', 'output');
    return this.#kernels.values.subarray(output, output + this.#size('output'));
  }

  /** The first layer's output for the evaluation pass (after a hidden head's ReLU), row-major `[rows, units]`. */
  #firstLayer(inputsTransposed: tf.Tensor2D): Float32Array {
    const units = this.#units;
    if (!this.#first) {
      // The weights without their padding, `[units, inputSize + 1]`.
      const width = this.#layout.inputSize + 1;
      const compact = new Float32Array(units * width);
      const parameters = this.#region('parameters', 'first');
      for (let unit = 0; unit < units; unit++) {
        const row = parameters + unit * this.#stride;
        compact.set(this.#kernels.values.subarray(row, row + width), unit * width);
      }
      this.#first = tf.tensor2d(compact, [units, width]);
    }
    const output =
      this.#layout.hidden > 0
        ? (tf.fused.matMul({ a: this.#first, b: inputsTransposed, activation: 'relu' }) as tf.Tensor2D)
        : tf.matMul(this.#first, inputsTransposed);
    let transposed: Float32Array;
    try {
      transposed = output.dataSync() as Float32Array;
    } finally {
      output.dispose();
    }
    const rows = inputsTransposed.shape[1];
    const result = new Float32Array(rows * units);
    for (let unit = 0; unit < units; unit++) {
      for (let row = 0; row < rows; row++)
        result[row * units + unit] = transposed[unit * rows + row] as number;
    }
    return result;
  }

  /**
   * The output layer on the hidden units' values (`activated`, `[rows, hidden]`, times the dropout mask if any):
   * the hidden values it used (row-major `[rows, hidden]`) and the logits (`[rows, numClasses]`).
   */
  #outputLayer(
    activated: Float32Array,
    rows: number,
    mask: Float32Array | undefined,
  ): { hiddenValues: Float64Array; logits: Float64Array } {
    const { hidden, numClasses } = this.#layout;
    const output = this.#outputWeights();
    const hiddenValues = new Float64Array(rows * hidden);
    const logits = new Float64Array(rows * numClasses);
    for (let row = 0; row < rows; row++) {
      const offset = row * numClasses;
      for (let c = 0; c < numClasses; c++) logits[offset + c] = output[hidden * numClasses + c] as number;
      for (let unit = 0; unit < hidden; unit++) {
        let value = activated[row * hidden + unit] as number;
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
    const output = this.#outputWeights();
    for (let row = 0; row < rows; row++) {
      for (let unit = 0; unit < hidden; unit++) {
        if (!((activated[row * hidden + unit] as number) > 0)) continue;
        let sum = 0;
        for (let c = 0; c < numClasses; c++) {
          sum += (logitsGradient[row * numClasses + c] as number) * (output[unit * numClasses + c] as number);
        }
        target[row * hidden + unit] = mask ? sum * (mask[row * hidden + unit] as number) : sum;
      }
    }
  }

  /** One AdamW update of both layers, from their gradients in the kernels' memory. */
  #update(): void {
    const { learningRate, beta1, beta2, epsilon, weightDecay } = this.#settings;
    const { inputSize, hidden, numClasses } = this.#layout;
    this.#step++;
    // Bias corrections folded into the step size and epsilon: m̂ / (√v̂ + ε) = m·√c2/c1 / (√v + ε·√c2).
    const rootSecondCorrection = Math.sqrt(1 - beta2 ** this.#step);
    const decayed = {
      beta1,
      beta2,
      stepSize: (learningRate * rootSecondCorrection) / (1 - beta1 ** this.#step),
      epsilon: epsilon * rootSecondCorrection,
      decay: 1 - learningRate * weightDecay,
    };
    const kept = { ...decayed, decay: 1 };
    /** Adam over `count` values of `layer` from `offset`, with its constants. */
    const adam = (layer: 'first' | 'output', offset: number, count: number, constants: AdamConstants) =>
      this.#kernels.adam(
        this.#region('gradient', layer) + offset,
        this.#region('firstMoment', layer) + offset,
        this.#region('secondMoment', layer) + offset,
        this.#region('parameters', layer) + offset,
        count,
        constants,
      );
    const stride = this.#stride;
    if (weightDecay === 0) {
      adam('first', 0, this.#size('first'), kept);
      adam('output', 0, this.#size('output'), kept);
    } else {
      // Kernel entries decay; biases do not, nor the first layer's padding (zeros, with zero gradients).
      for (let unit = 0; unit < this.#units; unit++) {
        adam('first', unit * stride, inputSize, decayed);
        adam('first', unit * stride + inputSize, stride - inputSize, kept);
      }
      if (hidden > 0) {
        adam('output', 0, hidden * numClasses, decayed);
        adam('output', hidden * numClasses, numClasses, kept);
      }
    }
    this.#first?.dispose();
    this.#first = undefined;
  }
}
