/**
 * @file The tfjs adapter: trains and runs the classification head on frozen feature vectors.
 * This is the only module that imports `@tensorflow/tfjs` (and, lazily, its WASM backend).
 *
 * Training is deterministic for a given seed: seeded Glorot initialisation, our own seeded per-epoch shuffle and
 * dropout masks, and a hand-written step (head-step.ts: gradients and Adam without tfjs's tape, the first layer's
 * products and Adam in WebAssembly kernels; tfjs's per-kernel bookkeeping was most of the time on a head this small).
 */
import * as tf from '@tensorflow/tfjs';
import { HeadDivergedError } from '../core/errors.ts';
import { classWeights, validationSplit } from '../core/heads/training-data.ts';
import { createRng, shuffle } from '../core/rng/rng.ts';
import { assertPositiveInteger, dropoutMask, validateRegularisation } from './head-regularisation.ts';
import {
  HeadOptimizer,
  lossAndCorrect,
  type HeadBatch,
  type HeadLayout,
  type HeadSnapshot,
} from './head-step.ts';
import type {
  EpochReport,
  HeadTrainer,
  HeadTrainingOptions,
  SerializedHead,
  TrainedHead,
} from '../core/ports.ts';

/** Which tfjs backend runs the head: 'wasm' in the browser worker and the CLI, 'cpu' as the CLI's fallback. */
export type HeadBackend = 'cpu' | 'wasm';

export interface HeadBackendOptions {
  backend: HeadBackend;
  /**
   * Where the tfjs WASM binaries are served (backend 'wasm' only): a folder prefix ending in '/', or a map from
   * binary name (e.g. 'tfjs-backend-wasm-simd.wasm') to URL. Without it tfjs looks next to the script.
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * With backend 'wasm': when the WASM backend cannot start, train on 'cpu' instead and say so once, in one line,
   * to `onFallback` (the CLI prints it). Without it a WASM backend that cannot start is an error.
   */
  fallback?: { backend: 'cpu'; onFallback(message: string): void };
}

/** A {@link HeadTrainer} that can also rebuild an exported head on the same backend. */
export interface TfjsHeadTrainer extends HeadTrainer {
  /** The backend it trains on: the one asked for, or the fallback once that could not start. */
  readonly backend: HeadBackend;
  /** Rebuilds a head exported with `TrainedHead.toJSON()`; validates its shapes first. */
  fromJSON(serialized: unknown): Promise<TrainedHead>;
}

/** Rows per `predict` call, to bound the memory of one forward pass. */
const PREDICT_BATCH = 512;

/** The backend selected so far, and the promise that finishes switching to it. tfjs holds one global backend. */
let activeBackend: { name: HeadBackend; ready: Promise<void> } | undefined;

async function ensureBackend(options: HeadBackendOptions): Promise<void> {
  if (activeBackend?.name === options.backend) {
    await activeBackend.ready;
    if (tf.getBackend() === options.backend) return;
  }
  const ready = switchBackend(options);
  activeBackend = { name: options.backend, ready };
  try {
    await ready;
  } catch (error) {
    activeBackend = undefined;
    throw error;
  }
}

async function switchBackend(options: HeadBackendOptions): Promise<void> {
  if (options.backend === 'wasm') {
    // Imported lazily so Node (cpu) never registers the WASM backend, which would outrank cpu.
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Single-threaded. Threaded tfjs WASM starts its pthreads from blob: scripts (refused by the app's CSP; one is
    // the factory's minified source text) and caps its pool at half the cores; made to start with 2 threads (the
    // reverted scripts/vite/tfjs-wasm-threads.ts), it trained a hidden head 2.4x slower on the 2-core machine.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (options.wasmPaths !== undefined) {
      wasm.setWasmPaths(options.wasmPaths as Parameters<typeof wasm.setWasmPaths>[0]);
    }
  } else if (tf.env().getBool('IS_NODE')) {
    // Production mode silences the "install tfjs-node" banner, which is impossible to follow here
    // (tfjs-node needs a binary download); it only skips debug-time warnings.
    tf.enableProdMode();
  }
  let switched: boolean;
  try {
    switched = await tf.setBackend(options.backend);
  } catch (error) {
    throw new Error(
      `Could not start the tfjs "${options.backend}" backend for head training: ` +
        (error instanceof Error ? error.message : String(error)),
      { cause: error },
    );
  }
  if (!switched) {
    throw new Error(
      `Could not start the tfjs "${options.backend}" backend for head training.` +
        (options.backend === 'wasm'
          ? ' Check that the tfjs WASM files are served at the configured wasmPaths.'
          : ''),
    );
  }
  await tf.ready();
}

/** Like `signal.throwIfAborted()`: the signal's own reason when it is an error, else an AbortError. */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('Head training was cancelled.', 'AbortError');
}

function validateTrainingInputs(
  features: Float32Array[],
  labelIndices: number[],
  numClasses: number,
  options: HeadTrainingOptions,
): number {
  if (features.length === 0) {
    throw new RangeError('Head training needs at least one labeled example; got none.');
  }
  if (features.length !== labelIndices.length) {
    throw new RangeError(
      `Head training got ${features.length} feature vectors but ${labelIndices.length} labels; they must match.`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new RangeError(`Head training needs at least 2 classes, got ${String(numClasses)}.`);
  }
  const inputSize = features[0]?.length ?? 0;
  if (inputSize === 0) throw new RangeError('Head training got empty feature vectors.');
  features.forEach((vector, index) => {
    if (vector.length !== inputSize) {
      throw new RangeError(
        `Feature vector ${index} has ${vector.length} values but the first has ${inputSize}; all must match.`,
      );
    }
  });
  labelIndices.forEach((label, index) => {
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new RangeError(
        `Label index ${String(label)} of example ${index} is outside 0..${numClasses - 1}.`,
      );
    }
  });
  if (!Number.isInteger(options.hidden) || options.hidden < 0) {
    throw new RangeError(
      `Head option "hidden" must be 0 (linear) or a positive integer, got ${String(options.hidden)}.`,
    );
  }
  assertPositiveInteger(options.epochs, 'epochs');
  assertPositiveInteger(options.batchSize, 'batchSize');
  if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate)) {
    throw new RangeError(
      `Head option "learningRate" must be a positive number, got ${String(options.learningRate)}.`,
    );
  }
  if (!Number.isFinite(options.seed)) {
    throw new RangeError(`Head option "seed" must be a finite number, got ${String(options.seed)}.`);
  }
  validateRegularisation(options);
  return inputSize;
}

/** Builds the head: optional hidden ReLU layer, then softmax over the classes. `seed` fixes the initial weights. */
function buildModel(inputSize: number, hidden: number, numClasses: number, seed: number): tf.Sequential {
  const model = tf.sequential();
  // Distinct seeds per layer, so the two kernels are not drawn from the same stream.
  const initializer = (layerIndex: number) =>
    tf.initializers.glorotUniform({ seed: seed * 7919 + layerIndex });
  if (hidden > 0) {
    model.add(
      tf.layers.dense({
        inputShape: [inputSize],
        units: hidden,
        activation: 'relu',
        kernelInitializer: initializer(0),
        biasInitializer: 'zeros',
      }),
    );
  }
  model.add(
    tf.layers.dense({
      ...(hidden > 0 ? {} : { inputShape: [inputSize] }),
      units: numClasses,
      activation: 'softmax',
      kernelInitializer: initializer(1),
      biasInitializer: 'zeros',
    }),
  );
  return model;
}

/** Copies features into one row-major 2-D tensor. */
function stackFeatures(features: Float32Array[], inputSize: number): tf.Tensor2D {
  const flat = new Float32Array(features.length * inputSize);
  features.forEach((vector, row) => flat.set(vector, row * inputSize));
  return tf.tensor2d(flat, [features.length, inputSize]);
}

class TfjsTrainedHead implements TrainedHead {
  readonly parameterCount: number;
  readonly #model: tf.Sequential;
  readonly #inputSize: number;
  readonly #hidden: number;
  readonly #numClasses: number;
  #disposed = false;

  constructor(model: tf.Sequential, inputSize: number, hidden: number, numClasses: number) {
    this.#model = model;
    this.#inputSize = inputSize;
    this.#hidden = hidden;
    this.#numClasses = numClasses;
    this.parameterCount = model.countParams();
  }

  async predict(features: Float32Array[]): Promise<number[][]> {
    this.#assertUsable();
    features.forEach((vector, index) => {
      if (vector.length !== this.#inputSize) {
        throw new RangeError(
          `Feature vector ${index} has ${vector.length} values but this head expects ${this.#inputSize}.`,
        );
      }
    });
    const probabilities: number[][] = [];
    for (let start = 0; start < features.length; start += PREDICT_BATCH) {
      const chunk = features.slice(start, start + PREDICT_BATCH);
      const output = tf.tidy(() => this.#model.predict(stackFeatures(chunk, this.#inputSize)) as tf.Tensor2D);
      try {
        probabilities.push(...((await output.array()) as number[][]));
      } finally {
        output.dispose();
      }
    }
    return probabilities;
  }

  toJSON(): SerializedHead {
    this.#assertUsable();
    return {
      inputSize: this.#inputSize,
      hidden: this.#hidden,
      numClasses: this.#numClasses,
      layers: this.#model.layers.map((layer) => {
        const [kernel, bias] = layer.getWeights();
        if (!kernel || !bias) throw new Error(`Head layer "${layer.name}" has no kernel and bias.`);
        const [rows, columns] = kernel.shape;
        return {
          kernel: Array.from(kernel.dataSync()),
          kernelShape: [rows ?? 0, columns ?? 0],
          bias: Array.from(bias.dataSync()),
        };
      }),
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#model.dispose();
  }

  #assertUsable(): void {
    if (this.#disposed) throw new Error('This head was disposed; train or import it again.');
  }
}

/** Whether every weight of `model` is a finite number. */
async function weightsAreFinite(model: tf.LayersModel): Promise<boolean> {
  const allFinite = tf.tidy(() =>
    tf.stack(model.getWeights().map((weights) => tf.all(tf.isFinite(weights)))).all(),
  );
  try {
    return (await allFinite.data())[0] === 1;
  } finally {
    allFinite.dispose();
  }
}

/** How long training may run without yielding to the event loop, so a cancel message can arrive (ms). */
const YIELD_EVERY_MS = 50;

/** Lets queued events (a worker's cancel message) run; a macrotask, unlike awaiting a resolved promise. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Rows of the training or validation slice in JS: features each followed by a 1 (the bias input), labels, weights. */
interface Rows {
  inputs: Float32Array;
  labels: Int32Array;
  /** Each row's class weight. */
  weights: Float32Array;
}

function rowsOf(
  indices: number[],
  features: Float32Array[],
  labelIndices: number[],
  classWeightValues: number[],
  inputSize: number,
): Rows {
  const width = inputSize + 1;
  const rows: Rows = {
    inputs: new Float32Array(indices.length * width),
    labels: new Int32Array(indices.length),
    weights: new Float32Array(indices.length),
  };
  indices.forEach((index, row) => {
    const label = labelIndices[index] as number;
    rows.inputs.set(features[index] as Float32Array, row * width);
    rows.inputs[row * width + inputSize] = 1;
    rows.labels[row] = label;
    rows.weights[row] = classWeightValues[label] as number;
  });
  return rows;
}

/** One mini-batch, copied from the training rows `batch` (positions in `train`). */
function batchOf(
  train: Rows,
  batch: number[],
  layout: HeadLayout,
  dropout: { rate: number; rng: () => number } | undefined,
): HeadBatch {
  const width = layout.inputSize + 1;
  const rows = batch.length;
  const result: HeadBatch = {
    inputs: new Float32Array(rows * width),
    labels: new Int32Array(rows),
    weights: new Float32Array(rows),
  };
  batch.forEach((index, row) => {
    result.inputs.set(train.inputs.subarray(index * width, (index + 1) * width), row * width);
    result.labels[row] = train.labels[index] as number;
    result.weights[row] = train.weights[index] as number;
  });
  if (dropout) result.dropoutMask = dropoutMask(dropout.rng, dropout.rate, rows * layout.hidden);
  return result;
}

async function trainHead(
  features: Float32Array[],
  labelIndices: number[],
  numClasses: number,
  options: HeadTrainingOptions,
  onEpoch?: (report: EpochReport) => void,
  signal?: AbortSignal,
): Promise<TrainedHead> {
  const inputSize = validateTrainingInputs(features, labelIndices, numClasses, options);
  if (signal?.aborted) throw abortError(signal);
  const {
    dropout = 0,
    weightDecay = 0,
    validation = 0,
    patience,
    classWeights: weighting = 'none',
  } = options;
  const slices = validationSplit(labelIndices, validation, options.seed);
  const trainLabels = slices.train.map((index) => labelIndices[index] as number);
  const weightValues = classWeights(trainLabels, numClasses, weighting);
  const layout: HeadLayout = { inputSize, hidden: options.hidden, numClasses };
  // Training rows stay in JS and each batch is uploaded from them: cheaper than gathering rows on the backend
  // (the WASM backend's gather took a sixth of the training time).
  const train = rowsOf(slices.train, features, labelIndices, weightValues, inputSize);
  const held = rowsOf(slices.validation, features, labelIndices, weightValues, inputSize);
  const trainCount = slices.train.length;
  const heldCount = slices.validation.length;

  const model = buildModel(inputSize, options.hidden, numClasses, options.seed);
  let optimizer: HeadOptimizer | undefined;
  let heldInputs: tf.Tensor2D | undefined;
  // The best epoch's parameters, kept for early stopping.
  let best: { loss: number; snapshot: HeadSnapshot } | undefined;
  let succeeded = false;
  try {
    optimizer = new HeadOptimizer(layout, model.getWeights(), {
      learningRate: options.learningRate,
      weightDecay,
    });
    if (heldCount > 0) {
      // Transposed once, as the evaluation forward pass takes it.
      heldInputs = tf.tidy(() => tf.transpose(tf.tensor2d(held.inputs, [heldCount, inputSize + 1])));
    }
    // Offset so the shuffle stream differs from the initialiser's while still depending only on the seed.
    const rng = createRng(options.seed + 1);
    const dropoutMasks = dropout > 0 ? { rate: dropout, rng: createRng(options.seed + 2) } : undefined;
    const order = slices.train.map((_, index) => index);
    let lastYield = Date.now();
    let epochsWithoutImprovement = 0;
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const epochOrder = shuffle(order, rng);
      // The epoch's loss and accuracy come from the logits of its steps (before each update, with dropout, as
      // Keras reports them).
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < trainCount; start += options.batchSize) {
        if (signal?.aborted) throw abortError(signal);
        const batch = batchOf(
          train,
          epochOrder.slice(start, start + options.batchSize),
          layout,
          dropoutMasks,
        );
        const measured = lossAndCorrect(optimizer.step(batch), batch.labels, batch.weights, numClasses);
        lossSum += measured.loss;
        correct += measured.correct;
      }
      const loss = lossSum / trainCount;
      // A diverged head would go on to report chance accuracy with null scores as if it were a result.
      if (!Number.isFinite(loss))
        throw new HeadDivergedError(`the loss at epoch ${epoch}`, options.learningRate);
      const report: EpochReport = { epoch, loss, accuracy: correct / trainCount };
      if (heldInputs) {
        const measured = lossAndCorrect(optimizer.logits(heldInputs), held.labels, held.weights, numClasses);
        report.valLoss = measured.loss / heldCount;
        report.valAccuracy = measured.correct / heldCount;
      }
      onEpoch?.(report);
      if (patience !== undefined && report.valLoss !== undefined) {
        if (best === undefined || report.valLoss < best.loss) {
          best = { loss: report.valLoss, snapshot: optimizer.snapshot() };
          epochsWithoutImprovement = 0;
        } else if (++epochsWithoutImprovement >= patience) {
          break;
        }
      }
      if (Date.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
    }
    if (signal?.aborted) throw abortError(signal);
    if (best) {
      optimizer.restore(best.snapshot);
      best = undefined;
    }
    const weights = optimizer.weights();
    try {
      model.setWeights(weights);
    } finally {
      tf.dispose(weights);
    }
    // The loss is measured before each step, so the last step can still leave non-finite weights.
    if (!(await weightsAreFinite(model))) {
      throw new HeadDivergedError('its weights after the last epoch', options.learningRate);
    }
    succeeded = true;
    return new TfjsTrainedHead(model, inputSize, options.hidden, numClasses);
  } finally {
    heldInputs?.dispose();
    optimizer?.dispose();
    if (!succeeded) model.dispose();
  }
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item));
}

/** Checks an imported head's structure; throws naming the first field that is wrong. */
function validateSerializedHead(value: unknown): SerializedHead {
  const fail = (detail: string): never => {
    throw new TypeError(`Invalid head file: ${detail}`);
  };
  if (typeof value !== 'object' || value === null) fail('expected a JSON object.');
  const head = value as Record<string, unknown>;
  const { inputSize, hidden, numClasses, layers } = head;
  if (!Number.isInteger(inputSize) || (inputSize as number) < 1)
    fail('"inputSize" must be a positive integer.');
  if (!Number.isInteger(hidden) || (hidden as number) < 0) fail('"hidden" must be 0 or a positive integer.');
  if (!Number.isInteger(numClasses) || (numClasses as number) < 2)
    fail('"numClasses" must be an integer ≥ 2.');
  if (!Array.isArray(layers)) return fail('"layers" must be an array.');
  const expectedShapes: [number, number][] =
    (hidden as number) > 0
      ? [
          [inputSize as number, hidden as number],
          [hidden as number, numClasses as number],
        ]
      : [[inputSize as number, numClasses as number]];
  if (layers.length !== expectedShapes.length) {
    fail(
      `"layers" must hold ${expectedShapes.length} layer(s) for hidden = ${String(hidden)}, got ${layers.length}.`,
    );
  }
  expectedShapes.forEach(([rows, columns], index) => {
    const layer = layers[index] as Record<string, unknown> | null;
    const where = `layers[${index}]`;
    if (typeof layer !== 'object' || layer === null) return fail(`${where} must be an object.`);
    const shape = layer.kernelShape;
    if (!isNumberArray(shape) || shape[0] !== rows || shape[1] !== columns) {
      fail(`${where}.kernelShape must be [${rows}, ${columns}], got ${JSON.stringify(shape)}.`);
    }
    if (!isNumberArray(layer.kernel) || layer.kernel.length !== rows * columns) {
      fail(`${where}.kernel must hold ${rows * columns} finite numbers.`);
    }
    if (!isNumberArray(layer.bias) || layer.bias.length !== columns) {
      fail(`${where}.bias must hold ${columns} finite numbers.`);
    }
  });
  return head as unknown as SerializedHead;
}

async function rebuildHead(serialized: unknown): Promise<TrainedHead> {
  const head = validateSerializedHead(serialized);
  const model = buildModel(head.inputSize, head.hidden, head.numClasses, 0);
  const weights = head.layers.flatMap((layer) => [
    tf.tensor2d(layer.kernel, layer.kernelShape),
    tf.tensor1d(layer.bias),
  ]);
  try {
    model.setWeights(weights);
  } finally {
    tf.dispose(weights);
  }
  return new TfjsTrainedHead(model, head.inputSize, head.hidden, head.numClasses);
}

/**
 * Creates the head trainer on a tfjs backend: 'wasm' in the browser worker and the CLI (fastest in both; the CLI
 * falls back to 'cpu' with a notice), 'cpu' anywhere. tfjs keeps one global backend, so use a single backend per
 * process or worker.
 */
export function createHeadTrainer(options: HeadBackendOptions): TfjsHeadTrainer {
  let backend: HeadBackend = options.backend;
  let fellBack = false;
  const ready = async (): Promise<void> => {
    if (fellBack) return ensureBackend({ backend });
    try {
      await ensureBackend(options);
    } catch (error) {
      const fallback = options.fallback;
      if (fallback === undefined || options.backend === fallback.backend) throw error;
      await ensureBackend({ backend: fallback.backend });
      backend = fallback.backend;
      fellBack = true;
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      fallback.onFallback(
        `Training heads on tfjs's slower "${fallback.backend}" backend: the "${options.backend}" one could not ` +
          `start (${reason.replace(/\.$/, '')}).`,
      );
    }
  };
  return {
    get backend() {
      return backend;
    },
    async train(features, labelIndices, numClasses, trainingOptions, onEpoch, signal) {
      await ready();
      return trainHead(features, labelIndices, numClasses, trainingOptions, onEpoch, signal);
    },
    async fromJSON(serialized) {
      await ready();
      return rebuildHead(serialized);
    },
  };
}

/**
 * Rebuilds an exported head (`TrainedHead.toJSON()`), validating its shapes. Runs on the backend a trainer already
 * selected, or on `options.backend` (default 'cpu') when none has been chosen yet.
 */
export async function headFromJSON(
  serialized: unknown,
  options: HeadBackendOptions = activeBackend ? { backend: activeBackend.name } : { backend: 'cpu' },
): Promise<TrainedHead> {
  await ensureBackend(options);
  return rebuildHead(serialized);
}

/** Live tensor count of the tfjs engine, for leak checks in tests. */
export function liveTensorCount(): number {
  return tf.memory().numTensors;
}
