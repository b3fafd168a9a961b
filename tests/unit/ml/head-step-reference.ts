/**
 * @file The hand-written head step (head-step.ts) against tfjs's own: `tf.train.adam` minimising the class-weighted
 * cross-entropy written plainly with tf ops (its gradients from tfjs's tape), then decoupled weight decay of the
 * kernels. Shared by head-step.test.ts (cpu backend) and head-step-paths.test.ts (WASM backend), since each test
 * process runs one tfjs backend.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import { HeadOptimizer, type HeadBatch, type HeadLayout } from '../../../src/lib/ml/head-step.ts';

export interface StepCase {
  name: string;
  layout: HeadLayout;
  dropout: number;
  weightDecay: number;
  /** Row counts of the successive batches (a short last batch as in an epoch). */
  batches: number[];
}

const INPUT_SIZE = 9;

export const STEP_CASES: StepCase[] = [
  {
    name: 'linear',
    layout: { inputSize: INPUT_SIZE, hidden: 0, numClasses: 3 },
    dropout: 0,
    weightDecay: 0,
    batches: [6, 6, 4],
  },
  {
    name: 'linear, weight decay',
    layout: { inputSize: INPUT_SIZE, hidden: 0, numClasses: 2 },
    dropout: 0,
    weightDecay: 0.1,
    batches: [5, 5, 5, 2],
  },
  {
    name: 'hidden',
    layout: { inputSize: INPUT_SIZE, hidden: 7, numClasses: 3 },
    dropout: 0,
    weightDecay: 0,
    batches: [6, 6, 4],
  },
  {
    name: 'hidden, dropout',
    layout: { inputSize: INPUT_SIZE, hidden: 7, numClasses: 3 },
    dropout: 0.3,
    weightDecay: 0,
    batches: [6, 6, 4],
  },
  {
    name: 'hidden, weight decay',
    layout: { inputSize: INPUT_SIZE, hidden: 5, numClasses: 2 },
    dropout: 0,
    weightDecay: 0.2,
    batches: [8, 8, 3],
  },
  {
    name: 'hidden, dropout and weight decay',
    layout: { inputSize: INPUT_SIZE, hidden: 6, numClasses: 4 },
    dropout: 0.5,
    weightDecay: 0.05,
    batches: [7, 7, 7, 1],
  },
];

const LEARNING_RATE = 0.05;

/** Seeded values in [-scale, scale). */
export function seededValues(count: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => (rng() * 2 - 1) * scale);
}

/** A dense head's `[kernel, bias…]` with seeded values; biases non-zero so their updates are checked too. */
export function seededLayers(layout: HeadLayout, seed: number): tf.Tensor[] {
  const sizes: [number, number][] =
    layout.hidden > 0
      ? [
          [layout.inputSize, layout.hidden],
          [layout.hidden, layout.numClasses],
        ]
      : [[layout.inputSize, layout.numClasses]];
  return sizes.flatMap(([rows, columns], index) => [
    tf.tensor2d(seededValues(rows * columns, seed + index, 0.6), [rows, columns]),
    tf.tensor1d(seededValues(columns, seed + 10 + index, 0.2)),
  ]);
}

/** A seeded batch: features with their trailing 1, labels, class weights, and a dropout mask when `dropout` > 0. */
export function seededBatch(layout: HeadLayout, rows: number, seed: number, dropout: number): HeadBatch {
  const { inputSize, hidden, numClasses } = layout;
  const rng = createRng(seed);
  const features = seededValues(rows * inputSize, seed + 1);
  const inputs = new Float32Array(rows * (inputSize + 1));
  for (let row = 0; row < rows; row++) {
    inputs.set(features.subarray(row * inputSize, (row + 1) * inputSize), row * (inputSize + 1));
    inputs[row * (inputSize + 1) + inputSize] = 1;
  }
  const labels = Int32Array.from({ length: rows }, () => Math.floor(rng() * numClasses));
  // Unequal class weights, as "balanced" gives them.
  const weights = Float32Array.from(labels, (label) => 0.5 + label * 0.75);
  const batch: HeadBatch = { inputs, labels, weights };
  if (dropout > 0) {
    batch.dropoutMask = Float32Array.from({ length: rows * hidden }, () =>
      rng() < dropout ? 0 : 1 / (1 - dropout),
    );
  }
  return batch;
}

/** The logits written plainly: dense layers on the features (without their trailing 1), ReLU, dropout mask. */
function referenceLogits(variables: tf.Tensor[], batch: HeadBatch, layout: HeadLayout): tf.Tensor2D {
  const rows = batch.labels.length;
  const withBias = tf.tensor2d(batch.inputs, [rows, layout.inputSize + 1]);
  let activation: tf.Tensor = tf.slice(withBias, [0, 0], [rows, layout.inputSize]);
  for (let index = 0; index < variables.length; index += 2) {
    activation = tf.add(
      tf.matMul(activation, variables[index] as tf.Tensor2D),
      variables[index + 1] as tf.Tensor,
    );
    if (index + 2 < variables.length) {
      activation = tf.relu(activation);
      if (batch.dropoutMask)
        activation = tf.mul(activation, tf.tensor2d(batch.dropoutMask, [rows, layout.hidden]));
    }
  }
  return activation as tf.Tensor2D;
}

/** The batch loss written plainly: the mean over rows of weight · cross-entropy. */
function referenceLoss(variables: tf.Tensor[], batch: HeadBatch, layout: HeadLayout): tf.Scalar {
  const rows = batch.labels.length;
  const logits = referenceLogits(variables, batch, layout);
  const targets = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), layout.numClasses);
  const crossEntropy = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1));
  return tf.div(tf.sum(tf.mul(crossEntropy, tf.tensor1d(batch.weights))), rows);
}

/**
 * Runs `testCase`'s batches through {@link HeadOptimizer} and through the reference from the same weights. Returns
 * the largest difference of the step logits and of the final weights, and how far the reference weights moved (so
 * a comparison of weights that did not move cannot pass for a check).
 */
export function compareWithReference(
  testCase: StepCase,
  kernels: 'wasm' | 'js' = 'wasm',
): {
  logitsGap: number;
  weightsGap: number;
  moved: number;
} {
  const { layout, dropout, weightDecay, batches } = testCase;
  const initial = seededLayers(layout, 3);
  const variables = initial.map((tensor) => tf.variable(tensor));
  const reference = tf.train.adam(LEARNING_RATE);
  const optimizer = new HeadOptimizer(layout, initial, { learningRate: LEARNING_RATE, weightDecay }, kernels);
  let logitsGap = 0;
  try {
    batches.forEach((rows, step) => {
      const batch = seededBatch(layout, rows, 100 + step, dropout);
      const expectedLogits = tf.tidy(() => referenceLogits(variables, batch, layout).dataSync());
      tf.tidy(() => {
        reference.minimize(() => referenceLoss(variables, batch, layout), false, variables);
      });
      variables.forEach((variable, index) => {
        if (index % 2 === 0)
          tf.tidy(() => variable.assign(tf.mul(variable, 1 - LEARNING_RATE * weightDecay)));
      });
      const logits = optimizer.step(batch);
      if (logits.length !== expectedLogits.length) throw new Error('Logits of different sizes.');
      logits.forEach((value, index) => {
        logitsGap = Math.max(logitsGap, Math.abs(value - (expectedLogits[index] as number)));
      });
    });
    const actual = optimizer.weights();
    let weightsGap = 0;
    let moved = 0;
    actual.forEach((tensor, index) => {
      const expected = (variables[index] as tf.Tensor).dataSync();
      const start = (initial[index] as tf.Tensor).dataSync();
      if (tensor.shape.join() !== (variables[index] as tf.Tensor).shape.join())
        throw new Error('Shapes differ.');
      tensor.dataSync().forEach((value, k) => {
        weightsGap = Math.max(weightsGap, Math.abs(value - (expected[k] as number)));
        moved = Math.max(moved, Math.abs((expected[k] as number) - (start[k] as number)));
      });
    });
    tf.dispose(actual);
    return { logitsGap, weightsGap, moved };
  } finally {
    optimizer.dispose();
    reference.dispose();
    tf.dispose([...variables, ...initial]);
  }
}

/**
 * The check both backends' tests make of a case: the reference weights moved, the step logits and final weights
 * match it within 1e-5, and no tensor is left behind.
 */
export function expectStepMatchesReference(testCase: StepCase, kernels: 'wasm' | 'js' = 'wasm'): void {
  const before = tf.memory().numTensors;
  const { logitsGap, weightsGap, moved } = compareWithReference(testCase, kernels);
  expect(moved).toBeGreaterThan(0.05);
  expect(logitsGap).toBeLessThanOrEqual(1e-5);
  expect(weightsGap).toBeLessThanOrEqual(1e-5);
  expect(tf.memory().numTensors).toBe(before);
}
