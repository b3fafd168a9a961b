/**
 * @file Trains a classification head together with the top N encoder layers (see top-layers.ts), on cached
 * token-level hidden states of the layer below them. Seeded like the frozen-feature head (tfjs-head.ts): Glorot
 * initialisation from the seed, our own seeded shuffle and dropout masks, Adam over every head and layer weight.
 *
 * Every head setting means what it means for the frozen-feature head: dropout on the head's hidden layer; decoupled
 * weight decay (AdamW) on the head's kernels AND the unfrozen layers' matrices (every weight of rank 2 or more),
 * never on biases or layer-norm scales and shifts (rank 1), each group decayed by its own learning rate
 * (`1 − learningRate · weightDecay` for the head, `1 − layerLearningRate · weightDecay` for the layers, as AdamW
 * does per parameter group); the same seeded, stratified validation slice (core/heads/training-data.ts), never
 * trained on; early stopping that keeps the best epoch's weights of the head and the layers; class-weighted loss.
 */
import * as tf from '@tensorflow/tfjs';
import { HeadDivergedError } from '../../core/errors.ts';
import { classWeights, validationSplit } from '../../core/heads/training-data.ts';
import { createRng, shuffle } from '../../core/rng/rng.ts';
import type {
  EpochReport,
  HeadTrainingOptions,
  SerializedHead,
  TextTokenStates,
  UnfrozenLayersWeights,
} from '../../core/ports.ts';
import { assertPositiveInteger, dropoutMask, validateRegularisation } from '../head-regularisation.ts';
import {
  allFinite,
  loadUnfrozenWeights,
  type StatesBatch,
  type TopLayers,
  type UnfrozenWeightsInput,
  type WeightValues,
} from './top-layers.ts';

/** Texts per forward pass when predicting. */
const PREDICT_BATCH = 32;

/**
 * A head's weights with every array a Float32Array of its own (copied from the tensors, never a view of them): what
 * crosses between threads, its buffers transferred instead of millions of numbers cloned one by one. The same
 * fields as the core's `SerializedHead`.
 */
export interface PackedUnfrozenHead {
  inputSize: number;
  hidden: number;
  numClasses: number;
  layers: { kernel: Float32Array; kernelShape: [number, number]; bias: Float32Array }[];
  unfrozen: {
    fromLayer: number;
    toLayer: number;
    weights: { name: string; shape: number[]; values: Float32Array; layer?: number }[];
  };
}

/** A saved head to rebuild: the core's `SerializedHead`, or a packed one whose arrays are Float32Arrays. */
export interface UnfrozenHeadInput {
  inputSize: number;
  hidden: number;
  numClasses: number;
  layers: readonly { kernel: WeightValues; kernelShape: readonly [number, number]; bias: WeightValues }[];
  unfrozen?: UnfrozenWeightsInput;
}

/** `values` as a plain array (an indexed loop: much faster than `Array.from` on millions of values). */
function numbersOf(values: Float32Array): number[] {
  const numbers = new Array<number>(values.length);
  for (let index = 0; index < values.length; index++) numbers[index] = values[index] as number;
  return numbers;
}

/** A head trained with unfrozen layers: it reads token states of the layer below them, not pooled features. */
export interface UnfrozenHead {
  /** Every parameter training updated: head + unfrozen layers. */
  readonly parameterCount: number;
  readonly headParameterCount: number;
  readonly layerParameterCount: number;
  /** Class probabilities per text, in label-index order. */
  predict(texts: TextTokenStates[]): Promise<number[][]>;
  /** The head's weights (as a frozen-feature head's) plus the unfrozen layers' weights in `unfrozen`. */
  toJSON(): SerializedHead;
  /** The same weights as {@link toJSON}, as Float32Arrays: for `postMessage` with their buffers transferred. */
  toPacked(): PackedUnfrozenHead;
  dispose(): void;
}

/** Head weights as variables: one or two dense layers. */
interface HeadWeights {
  dense: { kernel: tf.Variable; bias: tf.Variable }[];
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('Training was cancelled.', 'AbortError');
}

function createHead(inputSize: number, hidden: number, numClasses: number, seed: number): HeadWeights {
  const shapes: [number, number][] =
    hidden > 0
      ? [
          [inputSize, hidden],
          [hidden, numClasses],
        ]
      : [[inputSize, numClasses]];
  // Same seeds per layer as tfjs-head.ts, so a linear head starts where the frozen one does.
  const firstIndex = hidden > 0 ? 0 : 1;
  return {
    dense: shapes.map(([rows, columns], i) => {
      // tf.variable keeps its own copy: the initial values are released here.
      const initial = tf.initializers
        .glorotUniform({ seed: seed * 7919 + firstIndex + i })
        .apply([rows, columns]);
      const zeros = tf.zeros([columns]);
      const weights = { kernel: tf.variable(initial, true), bias: tf.variable(zeros, true) };
      tf.dispose([initial, zeros]);
      return weights;
    }),
  };
}

/**
 * The head's logits; `dropout` (training only) multiplies the hidden layer's activations: `[rows, hidden]` of 0 or
 * 1 / (1 − rate).
 */
function headLogits(head: HeadWeights, features: tf.Tensor2D, dropout?: tf.Tensor2D): tf.Tensor2D {
  let x: tf.Tensor2D = features;
  head.dense.forEach(({ kernel, bias }, i) => {
    const out = tf.add(tf.matMul(x, kernel), bias) as tf.Tensor2D;
    if (i === head.dense.length - 1) {
      x = out;
    } else {
      const activated = tf.relu(out);
      x = dropout ? tf.mul(activated, dropout) : activated;
    }
  });
  return x;
}

/** Σ over rows of `rowWeights` · softmax cross-entropy of `logits` against `labels`. */
function weightedCrossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  rowWeights: tf.Tensor1D,
  numClasses: number,
): tf.Scalar {
  const losses = tf.neg(tf.sum(tf.mul(tf.oneHot(labels, numClasses), tf.logSoftmax(logits)), 1));
  return tf.sum(tf.mul(losses, rowWeights));
}

/** Pads the selected texts' states into one batch (at least one token wide). */
export function padBatch(texts: readonly TextTokenStates[], width: number): StatesBatch {
  const tokens = Math.max(1, ...texts.map((text) => text.ids.length));
  const states = new Float32Array(texts.length * tokens * width);
  const mask = new Int32Array(texts.length * tokens);
  const ids = new Int32Array(texts.length * tokens);
  texts.forEach((text, row) => {
    if (text.width !== width) {
      throw new RangeError(`Token states of width ${text.width} among states of width ${width}.`);
    }
    states.set(text.states, row * tokens * width);
    mask.fill(1, row * tokens, row * tokens + text.ids.length);
    ids.set(text.ids, row * tokens);
  });
  return {
    states: tf.tensor3d(states, [texts.length, tokens, width]),
    mask: tf.tensor2d(mask, [texts.length, tokens], 'int32'),
    ids: tf.tensor2d(ids, [texts.length, tokens], 'int32'),
  };
}

function disposeBatch(batch: StatesBatch): void {
  tf.dispose([batch.states, batch.mask, ...(batch.ids ? [batch.ids] : [])]);
}

function validate(
  texts: readonly TextTokenStates[],
  labelIndices: readonly number[],
  numClasses: number,
  options: HeadTrainingOptions,
): number {
  if (texts.length === 0) throw new RangeError('Training needs at least one labeled example; got none.');
  if (texts.length !== labelIndices.length) {
    throw new RangeError(
      `Training got ${texts.length} texts but ${labelIndices.length} labels; they must match.`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new RangeError(`Training needs at least 2 classes, got ${String(numClasses)}.`);
  }
  labelIndices.forEach((label, index) => {
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new RangeError(
        `Label index ${String(label)} of example ${index} is outside 0..${numClasses - 1}.`,
      );
    }
  });
  assertPositiveInteger(options.epochs, 'epochs');
  assertPositiveInteger(options.batchSize, 'batchSize');
  if (!Number.isInteger(options.hidden) || options.hidden < 0) {
    throw new RangeError(`Option "hidden" must be 0 or a positive integer, got ${String(options.hidden)}.`);
  }
  if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate)) {
    throw new RangeError(
      `Option "learningRate" must be a positive number, got ${String(options.learningRate)}.`,
    );
  }
  const layerRate = options.layerLearningRate;
  if (layerRate !== undefined && (!(layerRate > 0) || !Number.isFinite(layerRate))) {
    throw new RangeError(`Option "layerLearningRate" must be a positive number, got ${String(layerRate)}.`);
  }
  if (!Number.isFinite(options.seed)) {
    throw new RangeError(`Option "seed" must be a finite number, got ${String(options.seed)}.`);
  }
  validateRegularisation(options);
  return texts[0]?.width ?? 0;
}

/** Output width of the layers' features, found by running one text. */
function featureWidth(layers: TopLayers, sample: TextTokenStates): number {
  const batch = padBatch([sample], sample.width);
  try {
    const width = tf.tidy(() => layers.features(batch).shape[1]);
    return width ?? 0;
  } finally {
    disposeBatch(batch);
  }
}

/** The head's sizes; `width` is that of the token states it reads (taken from the first texts when unknown). */
interface HeadShape {
  inputSize: number;
  hidden: number;
  numClasses: number;
  width?: number;
}

class TrainedUnfrozenHead implements UnfrozenHead {
  readonly parameterCount: number;
  readonly headParameterCount: number;
  readonly layerParameterCount: number;
  readonly #layers: TopLayers;
  readonly #head: HeadWeights;
  readonly #shape: HeadShape;
  #disposed = false;

  constructor(layers: TopLayers, head: HeadWeights, shape: HeadShape) {
    this.#layers = layers;
    this.#head = head;
    this.#shape = shape;
    this.headParameterCount = head.dense.reduce((sum, { kernel, bias }) => sum + kernel.size + bias.size, 0);
    this.layerParameterCount = layers.parameterCount;
    this.parameterCount = this.headParameterCount + this.layerParameterCount;
  }

  async predict(texts: TextTokenStates[]): Promise<number[][]> {
    this.#assertUsable();
    const probabilities: number[][] = [];
    const width = this.#shape.width ?? texts[0]?.width ?? 0;
    for (let start = 0; start < texts.length; start += PREDICT_BATCH) {
      const batch = padBatch(texts.slice(start, start + PREDICT_BATCH), width);
      try {
        const output = tf.tidy(() => tf.softmax(headLogits(this.#head, this.#layers.features(batch))));
        probabilities.push(...((await output.array()) as number[][]));
        output.dispose();
      } finally {
        disposeBatch(batch);
      }
    }
    return probabilities;
  }

  toPacked(): PackedUnfrozenHead {
    this.#assertUsable();
    // `dataSync` may hand back the backend's own storage: each array is a copy, safe to transfer.
    const copy = (tensor: tf.Tensor) => new Float32Array(tensor.dataSync());
    return {
      inputSize: this.#shape.inputSize,
      hidden: this.#shape.hidden,
      numClasses: this.#shape.numClasses,
      layers: this.#head.dense.map(({ kernel, bias }) => ({
        kernel: copy(kernel),
        kernelShape: [kernel.shape[0] ?? 0, kernel.shape[1] ?? 0],
        bias: copy(bias),
      })),
      unfrozen: {
        fromLayer: this.#layers.fromLayer,
        toLayer: this.#layers.toLayer,
        weights: [...this.#layers.variables].map(([name, variable]) => {
          const layer = this.#layers.layerOf.get(name);
          return {
            name,
            shape: [...variable.shape],
            values: copy(variable),
            ...(layer === undefined ? {} : { layer }),
          };
        }),
      },
    };
  }

  toJSON(): SerializedHead {
    const packed = this.toPacked();
    const unfrozen: UnfrozenLayersWeights = {
      fromLayer: packed.unfrozen.fromLayer,
      toLayer: packed.unfrozen.toLayer,
      weights: packed.unfrozen.weights.map(({ values, ...weight }) => ({
        ...weight,
        values: numbersOf(values),
      })),
    };
    return {
      inputSize: packed.inputSize,
      hidden: packed.hidden,
      numClasses: packed.numClasses,
      layers: packed.layers.map(({ kernel, kernelShape, bias }) => ({
        kernel: numbersOf(kernel),
        kernelShape,
        bias: numbersOf(bias),
      })),
      unfrozen,
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose(this.#head.dense.flatMap(({ kernel, bias }) => [kernel, bias]));
    this.#layers.dispose();
  }

  #assertUsable(): void {
    if (this.#disposed) throw new Error('This head was disposed; train or import it again.');
  }
}

/** A variable shrunk after each step by decoupled weight decay: `variable ← variable · factor`. */
interface Decayed {
  variable: tf.Variable;
  factor: number;
}

/**
 * The variables weight decay shrinks, each by its group's factor: the head's kernels by `1 − learningRate · decay`,
 * the unfrozen layers' matrices (rank ≥ 2: attention, feed-forward and projection weights) by
 * `1 − layerLearningRate · decay`. Biases and layer-norm parameters (rank 1) are not decayed.
 */
function decayedVariables(
  head: HeadWeights,
  layerVariables: readonly tf.Variable[],
  options: HeadTrainingOptions,
): Decayed[] {
  const weightDecay = options.weightDecay ?? 0;
  if (weightDecay === 0) return [];
  const headFactor = 1 - options.learningRate * weightDecay;
  const layerFactor = 1 - (options.layerLearningRate ?? options.learningRate) * weightDecay;
  return [
    ...head.dense.map(({ kernel }) => ({ variable: kernel, factor: headFactor })),
    ...layerVariables
      .filter((variable) => variable.rank >= 2)
      .map((variable) => ({ variable, factor: layerFactor })),
  ];
}

/**
 * Σ class weight · cross-entropy and the count of correct rows over `indices`, in batches and without dropout: the
 * validation slice's loss and accuracy after an epoch.
 */
async function evaluate(
  layers: TopLayers,
  head: HeadWeights,
  data: { texts: readonly TextTokenStates[]; labels: readonly number[]; weights: readonly number[] },
  indices: readonly number[],
  width: number,
  numClasses: number,
): Promise<{ loss: number; correct: number }> {
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < indices.length; start += PREDICT_BATCH) {
    const chunk = indices.slice(start, start + PREDICT_BATCH);
    const batch = padBatch(
      chunk.map((index) => data.texts[index] as TextTokenStates),
      width,
    );
    try {
      const sums = tf.tidy(() => {
        const labels = tf.tensor1d(
          chunk.map((index) => data.labels[index] as number),
          'int32',
        );
        const rowWeights = tf.tensor1d(chunk.map((index) => data.weights[data.labels[index] as number] ?? 0));
        const logits = headLogits(head, layers.features(batch));
        const right = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
        return tf.stack([weightedCrossEntropy(logits, labels, rowWeights, numClasses), right]);
      });
      const values = await sums.data();
      sums.dispose();
      loss += values[0] ?? NaN;
      correct += values[1] ?? 0;
    } finally {
      disposeBatch(batch);
    }
  }
  return { loss, correct };
}

/**
 * Trains a head and the unfrozen `layers` together on cached token states of the layer below them, honouring every
 * setting of `options` as the frozen-feature head does (see the file's comment). The returned head owns `layers`
 * (its `dispose` releases them); on failure or cancel, `layers` is disposed too.
 * @throws RangeError for bad inputs, HeadDivergedError when the loss stops being finite, the signal's reason on
 *   cancel.
 */
export async function trainUnfrozen(
  layers: TopLayers,
  texts: TextTokenStates[],
  labelIndices: number[],
  numClasses: number,
  options: HeadTrainingOptions,
  onEpoch?: (report: EpochReport) => void,
  signal?: AbortSignal,
): Promise<UnfrozenHead> {
  let head: HeadWeights | undefined;
  // Two optimizers over one gradient computation: the pre-trained layers take smaller steps than the new head.
  const optimizer = tf.train.adam(options.learningRate);
  const layerOptimizer = tf.train.adam(options.layerLearningRate ?? options.learningRate);
  // The best epoch's values of every head and layer variable, kept for early stopping.
  let best: { loss: number; values: Map<tf.Variable, tf.Tensor> } | undefined;
  let succeeded = false;
  try {
    const width = validate(texts, labelIndices, numClasses, options);
    if (signal?.aborted) throw abortError(signal);
    const { dropout = 0, validation = 0, patience, classWeights: weighting = 'none' } = options;
    const slices = validationSplit(labelIndices, validation, options.seed);
    const trainCount = slices.train.length;
    const heldCount = slices.validation.length;
    const weightValues = classWeights(
      slices.train.map((index) => labelIndices[index] as number),
      numClasses,
      weighting,
    );
    const inputSize = featureWidth(layers, texts[0] as TextTokenStates);
    head = createHead(inputSize, options.hidden, numClasses, options.seed);
    const layerVariables = [...layers.variables.values()];
    const headVariables = head.dense.flatMap(({ kernel, bias }) => [kernel, bias]);
    const trainable = [...layerVariables, ...headVariables];
    const decayed = decayedVariables(head, layerVariables, options);
    const gradientsOf = (grads: tf.NamedTensorMap, variables: readonly tf.Variable[]) =>
      variables.map((variable) => ({ name: variable.name, tensor: grads[variable.name] as tf.Tensor }));
    // Offsets as in tfjs-head.ts: the shuffle and the dropout masks are streams of their own, from the seed only.
    const rng = createRng(options.seed + 1);
    const dropoutRng = dropout > 0 && options.hidden > 0 ? createRng(options.seed + 2) : undefined;
    let epochsWithoutImprovement = 0;
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      let lossSum = 0;
      let correctSum = 0;
      const epochOrder = shuffle(slices.train, rng);
      for (let start = 0; start < epochOrder.length; start += options.batchSize) {
        if (signal?.aborted) throw abortError(signal);
        const indices = epochOrder.slice(start, start + options.batchSize);
        const rows = indices.length;
        const batch = padBatch(
          indices.map((index) => texts[index] as TextTokenStates),
          width,
        );
        const labels = tf.tensor1d(
          indices.map((index) => labelIndices[index] ?? 0),
          'int32',
        );
        // The batch loss is the mean over rows of class weight · cross-entropy, as the frozen-feature head's.
        const rowWeights = tf.tensor1d(
          indices.map((index) => (weightValues[labelIndices[index] ?? 0] ?? 0) / rows),
        );
        const mask = dropoutRng
          ? tf.tensor2d(dropoutMask(dropoutRng, dropout, rows * options.hidden), [rows, options.hidden])
          : undefined;
        let correct: tf.Tensor | undefined;
        try {
          const currentHead = head;
          const { value: loss, grads } = optimizer.computeGradients(() => {
            const logits = headLogits(currentHead, layers.features(batch), mask);
            correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')));
            return weightedCrossEntropy(logits, labels, rowWeights, numClasses);
          }, trainable);
          optimizer.applyGradients(gradientsOf(grads, headVariables));
          layerOptimizer.applyGradients(gradientsOf(grads, layerVariables));
          tf.dispose(grads);
          // Decoupled weight decay: after the Adam step, independent of the gradient.
          for (const { variable, factor } of decayed) {
            tf.tidy(() => variable.assign(tf.mul(variable, factor)));
          }
          const value = (await loss.data())[0] ?? NaN;
          loss.dispose();
          if (!Number.isFinite(value))
            throw new HeadDivergedError(`the loss at epoch ${epoch}`, options.learningRate);
          lossSum += value * rows;
          correctSum += (await correct?.data())?.[0] ?? 0;
        } finally {
          correct?.dispose();
          disposeBatch(batch);
          tf.dispose([labels, rowWeights, ...(mask ? [mask] : [])]);
        }
        // Yield to the event loop between steps, so a cancel message is seen.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
      const report: EpochReport = { epoch, loss: lossSum / trainCount, accuracy: correctSum / trainCount };
      if (heldCount > 0) {
        const held = await evaluate(
          layers,
          head,
          { texts, labels: labelIndices, weights: weightValues },
          slices.validation,
          width,
          numClasses,
        );
        report.valLoss = held.loss / heldCount;
        report.valAccuracy = held.correct / heldCount;
      }
      onEpoch?.(report);
      if (patience !== undefined && report.valLoss !== undefined) {
        if (best === undefined || report.valLoss < best.loss) {
          if (best) tf.dispose([...best.values.values()]);
          best = {
            loss: report.valLoss,
            values: new Map(trainable.map((variable) => [variable, tf.clone(variable)])),
          };
          epochsWithoutImprovement = 0;
        } else if (++epochsWithoutImprovement >= patience) {
          break;
        }
      }
    }
    if (signal?.aborted) throw abortError(signal);
    if (best) {
      for (const [variable, value] of best.values) variable.assign(value);
    }
    succeeded = true;
    return new TrainedUnfrozenHead(layers, head, {
      inputSize,
      hidden: options.hidden,
      numClasses,
      width,
    });
  } finally {
    optimizer.dispose();
    layerOptimizer.dispose();
    if (best) tf.dispose([...best.values.values()]);
    if (!succeeded) {
      if (head) tf.dispose(head.dense.flatMap(({ kernel, bias }) => [kernel, bias]));
      layers.dispose();
    }
  }
}

/**
 * Rebuilds a head trained with unfrozen layers from its weights (`UnfrozenHead.toJSON()` or `toPacked()`) on freshly
 * built `layers` of the same model: the layers take the saved `unfrozen` weights, the head its dense layers. The
 * returned head owns `layers`; on failure they are disposed. `width` is that of the token states it will read; left out, it is
 * taken from the texts of each `predict`.
 * @throws TypeError naming what does not fit (shapes, missing layers' weights, non-finite values).
 */
export function unfrozenHeadFromJSON(
  layers: TopLayers,
  serialized: UnfrozenHeadInput,
  width?: number,
): UnfrozenHead {
  const created: tf.Variable[] = [];
  try {
    if (!serialized.unfrozen) throw new TypeError('Invalid head: it holds no unfrozen layers’ weights.');
    loadUnfrozenWeights(layers, serialized.unfrozen);
    const { inputSize, hidden, numClasses } = serialized;
    const shapes: [number, number][] =
      hidden > 0
        ? [
            [inputSize, hidden],
            [hidden, numClasses],
          ]
        : [[inputSize, numClasses]];
    if (serialized.layers.length !== shapes.length) {
      throw new TypeError(
        `Invalid head: ${serialized.layers.length} dense layers, expected ${shapes.length}.`,
      );
    }
    const dense = shapes.map(([rows, columns], i) => {
      const layer = serialized.layers[i] as UnfrozenHeadInput['layers'][number];
      if (
        layer.kernelShape[0] !== rows ||
        layer.kernelShape[1] !== columns ||
        layer.kernel.length !== rows * columns ||
        layer.bias.length !== columns
      ) {
        throw new TypeError(
          `Invalid head: dense layer ${i} is [${layer.kernelShape.join(', ')}], expected [${rows}, ${columns}].`,
        );
      }
      if (!allFinite(layer.kernel) || !allFinite(layer.bias)) {
        throw new TypeError(`Invalid head: dense layer ${i} holds non-finite values.`);
      }
      // tf.variable keeps its own copy: the values are released here.
      const values = [
        tf.tensor2d(layer.kernel as Float32Array | number[], [rows, columns]),
        tf.tensor1d(layer.bias as Float32Array | number[]),
      ] as const;
      const kernel = tf.variable(values[0], false);
      created.push(kernel);
      const bias = tf.variable(values[1], false);
      created.push(bias);
      tf.dispose([...values]);
      return { kernel, bias };
    });
    return new TrainedUnfrozenHead(
      layers,
      { dense },
      {
        inputSize,
        hidden,
        numClasses,
        ...(width === undefined ? {} : { width }),
      },
    );
  } catch (error) {
    tf.dispose(created);
    layers.dispose();
    throw error;
  }
}
