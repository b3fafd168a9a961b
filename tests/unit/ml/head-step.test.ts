import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HeadOptimizer,
  lossAndCorrect,
  parameterCount,
  type HeadLayout,
} from '../../../src/lib/ml/head-step.ts';
import {
  expectStepMatchesReference,
  seededBatch,
  seededLayers,
  seededValues,
  STEP_CASES,
} from './head-step-reference.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('hand-written head step', () => {
  it.each(STEP_CASES)(
    '$name: step logits and weights after AdamW equal tf.train.adam on the tape-differentiated loss',
    (testCase) => expectStepMatchesReference(testCase),
  );

  it.each(STEP_CASES)(
    '$name: the same with the plain-JS kernels (runtimes without WebAssembly SIMD)',
    (testCase) => expectStepMatchesReference(testCase, 'js'),
  );

  it.each([
    { name: 'two classes', rows: 6, numClasses: 2, seed: 1 },
    { name: 'four classes', rows: 9, numClasses: 4, seed: 2 },
    { name: 'large logits', rows: 5, numClasses: 3, seed: 3, scale: 60 },
  ])(
    '$name: loss and correct count equal tf.logSoftmax and tf.argMax',
    ({ rows, numClasses, seed, scale }) => {
      const logits = seededValues(rows * numClasses, seed, scale ?? 3);
      const labels = Int32Array.from({ length: rows }, (_, row) => (row * 7 + seed) % numClasses);
      const weights = Float32Array.from(labels, (label) => 0.5 + label);
      const expected = tf.tidy(() => {
        const tensor = tf.tensor2d(logits, [rows, numClasses]);
        const crossEntropy = tf.neg(
          tf.sum(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses), tf.logSoftmax(tensor)), 1),
        );
        return {
          loss: tf.sum(tf.mul(crossEntropy, tf.tensor1d(weights))).dataSync()[0] as number,
          correct: tf
            .sum(tf.cast(tf.equal(tf.argMax(tensor, 1), tf.tensor1d(labels, 'int32')), 'int32'))
            .dataSync()[0] as number,
        };
      });
      const actual = lossAndCorrect(logits, labels, weights, numClasses);
      expect(expected.correct).toBeGreaterThan(0);
      expect(expected.correct).toBeLessThan(rows);
      expect(actual.correct).toBe(expected.correct);
      expect(Math.abs(actual.loss - expected.loss)).toBeLessThanOrEqual(1e-5 * expected.loss);
    },
  );

  it('counts a tie for the first class, as tf.argMax does', () => {
    expect(lossAndCorrect([1, 1], [0], [1], 2).correct).toBe(1);
    expect(lossAndCorrect([1, 1], [1], [1], 2).correct).toBe(0);
  });

  it.each([
    { name: 'linear', layout: { inputSize: 4, hidden: 0, numClasses: 3 } },
    { name: 'hidden', layout: { inputSize: 4, hidden: 5, numClasses: 2 } },
  ])(
    '$name: gives back its initial weights, and a snapshot restores the weights it was taken at',
    ({ layout }) => {
      const before = tf.memory().numTensors;
      const initial = seededLayers(layout as HeadLayout, 7);
      const optimizer = new HeadOptimizer(layout, initial, { learningRate: 0.1 });
      const read = (tensors: tf.Tensor[]) => tensors.map((tensor) => Array.from(tensor.dataSync()));
      const weights = optimizer.weights();
      expect(weights.map((tensor) => tensor.shape)).toEqual(initial.map((tensor) => tensor.shape));
      expect(read(weights)).toEqual(read(initial));
      expect(weights.reduce((sum, tensor) => sum + tensor.size, 0)).toBe(parameterCount(layout));
      const snapshot = optimizer.snapshot();
      optimizer.step(seededBatch(layout, 3, 11, 0));
      const stepped = optimizer.weights();
      expect(read(stepped)).not.toEqual(read(initial));
      optimizer.restore(snapshot);
      const restored = optimizer.weights();
      expect(read(restored)).toEqual(read(initial));
      tf.dispose([...initial, ...weights, ...stepped, ...restored]);
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('goes on from restored weights: a step after restore moves them, not the ones before it', () => {
    const layout = { inputSize: 4, hidden: 5, numClasses: 2 };
    const initial = seededLayers(layout, 7);
    const read = (tensors: tf.Tensor[]) => {
      const values = tensors.flatMap((tensor) => Array.from(tensor.dataSync()));
      tf.dispose(tensors);
      return values;
    };
    // A batch whose rows all weigh 0 has a zero gradient: the step then moves every weight by Adam's momentum
    // alone, the same amount from wherever the weights are.
    const still = { ...seededBatch(layout, 3, 12, 0), weights: new Float32Array(3) };
    const run = (restore: boolean) => {
      const optimizer = new HeadOptimizer(layout, initial, { learningRate: 0.1 });
      const snapshot = optimizer.snapshot();
      optimizer.step(seededBatch(layout, 3, 11, 0));
      const stepped = read(optimizer.weights());
      if (restore) optimizer.restore(snapshot);
      optimizer.step(still);
      const after = read(optimizer.weights());
      optimizer.dispose();
      return { stepped, after };
    };
    const start = read(initial.map((tensor) => tensor.clone()));
    const restored = run(true);
    const continued = run(false);
    const momentum = continued.after.map((value, index) => value - (continued.stepped[index] as number));
    expect(Math.max(...momentum.map(Math.abs))).toBeGreaterThan(1e-3);
    restored.after.forEach((value, index) => {
      expect(value).toBeCloseTo((start[index] as number) + (momentum[index] as number), 6);
    });
    tf.dispose(initial);
  });
});
