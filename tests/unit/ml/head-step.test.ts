import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import {
  AdamW,
  decayFactors,
  flattenWeights,
  headGradient,
  headLogits,
  parameterCount,
  layerMatrices,
  layerWeights,
  type HeadLayout,
} from '../../../src/lib/ml/head-step.ts';

const ROWS = 5;
const INPUT_SIZE = 7;
const CLASSES = 3;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Seeded values in [-scale, scale). */
function values(count: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => (rng() * 2 - 1) * scale);
}

/** A dense head's `[kernel, bias…]` with seeded values; biases non-zero so their gradients are checked too. */
function layers(layout: HeadLayout, seed: number): tf.Tensor[] {
  const sizes: [number, number][] =
    layout.hidden > 0
      ? [
          [layout.inputSize, layout.hidden],
          [layout.hidden, layout.numClasses],
        ]
      : [[layout.inputSize, layout.numClasses]];
  return sizes.flatMap(([rows, columns], index) => [
    tf.tensor2d(values(rows * columns, seed + index, 0.6), [rows, columns]),
    tf.tensor1d(values(columns, seed + 10 + index, 0.2)),
  ]);
}

/** The batch loss written plainly with tf ops on the un-flattened layers: Σ rowWeight · cross-entropy. */
function referenceLoss(
  weights: tf.Tensor[],
  inputs: tf.Tensor2D,
  labels: number[],
  rowWeights: number[],
  mask: tf.Tensor2D | undefined,
): tf.Scalar {
  let activation: tf.Tensor = inputs;
  for (let index = 0; index < weights.length; index += 2) {
    activation = tf.add(
      tf.matMul(activation, weights[index] as tf.Tensor2D),
      weights[index + 1] as tf.Tensor,
    );
    if (index + 2 < weights.length) {
      activation = tf.relu(activation);
      if (mask) activation = tf.mul(activation, mask);
    }
  }
  const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const crossEntropy = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(activation)), 1));
  return tf.sum(tf.mul(crossEntropy, tf.tensor1d(rowWeights)));
}

function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

const cases: { name: string; layout: HeadLayout; dropout: boolean }[] = [
  { name: 'linear', layout: { inputSize: INPUT_SIZE, hidden: 0, numClasses: CLASSES }, dropout: false },
  { name: 'hidden', layout: { inputSize: INPUT_SIZE, hidden: 6, numClasses: CLASSES }, dropout: false },
  {
    name: 'hidden with dropout',
    layout: { inputSize: INPUT_SIZE, hidden: 6, numClasses: CLASSES },
    dropout: true,
  },
];

describe('hand-written head step', () => {
  it.each(cases)(
    '$name: gradient and logits equal tf.grads of the class-weighted loss',
    ({ layout, dropout }) => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const features = values(ROWS * INPUT_SIZE, 1);
        const labels = [0, 2, 1, 2, 2];
        // Class weights as "balanced" gives them for these labels (1 / (3 · share)), over the batch's row count.
        const classWeight = [5 / 3, 5 / 3, 5 / 9];
        const rowWeights = labels.map((label) => (classWeight[label] as number) / ROWS);
        const inputs = tf.tensor2d(features, [ROWS, INPUT_SIZE]);
        const withBias = tf.concat([inputs, tf.ones([ROWS, 1])], 1) as tf.Tensor2D;
        const mask = dropout
          ? tf.tensor2d(
              Array.from({ length: ROWS * layout.hidden }, (_, index) =>
                index % 3 === 0 ? 0 : 1 / (1 - 0.3),
              ),
              [ROWS, layout.hidden],
            )
          : undefined;
        const weights = layers(layout, 3);
        const parameters = layerMatrices(weights);
        expect(flattenWeights(parameters).size).toBe(parameterCount(layout));

        const { gradients, logits } = headGradient(parameters, {
          inputs: withBias,
          inputsTransposed: tf.transpose(withBias),
          targets: tf.mul(
            tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES),
            tf.tensor2d(rowWeights, [ROWS, 1]),
          ),
          rowWeights: tf.tensor2d(rowWeights, [ROWS, 1]),
          ...(mask ? { dropoutMask: mask } : {}),
        });
        const expected = flattenWeights(
          tf.grads((...tensors: tf.Tensor[]) => referenceLoss(tensors, inputs, labels, rowWeights, mask))(
            weights,
          ),
        );
        // Non-trivial: every part of the vector (kernels and biases of each layer) has a gradient to compare.
        expect(tf.max(tf.abs(expected)).dataSync()[0]).toBeGreaterThan(1e-2);
        expect(maxAbsDifference(flattenWeights(gradients), expected)).toBeLessThanOrEqual(1e-5);

        const referenceLogits = tf.tidy(() => {
          let activation: tf.Tensor = inputs;
          for (let index = 0; index < weights.length; index += 2) {
            activation = tf.add(
              tf.matMul(activation, weights[index] as tf.Tensor2D),
              weights[index + 1] as tf.Tensor,
            );
            if (index + 2 < weights.length) activation = tf.relu(activation);
            if (index + 2 < weights.length && mask) activation = tf.mul(activation, mask);
          }
          return activation;
        });
        expect(maxAbsDifference(logits, referenceLogits)).toBeLessThanOrEqual(1e-5);
        if (!mask)
          expect(maxAbsDifference(headLogits(parameters, withBias), referenceLogits)).toBeLessThanOrEqual(
            1e-5,
          );
      });
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it.each(cases.filter((entry) => !entry.dropout))(
    '$name: AdamW with weight decay matches tf.train.adam then kernel decay, biases not decayed',
    ({ layout }) => {
      const before = tf.memory().numTensors;
      const learningRate = 0.05;
      const weightDecay = 0.1;
      const initial = layers(layout, 5);
      const variables = initial.map((tensor) => tf.variable(tensor));
      const reference = tf.train.adam(learningRate);
      const optimizer = new AdamW(layerMatrices(initial), {
        learningRate,
        decay: decayFactors(layout, learningRate, weightDecay),
      });
      try {
        for (let step = 0; step < 6; step++) {
          const gradients = variables.map((variable, index) =>
            tf.tensor(values(variable.size, 100 * step + index, step % 2 === 0 ? 1 : 1e-3), variable.shape),
          );
          reference.applyGradients(
            variables.map((variable, index) => ({
              name: variable.name,
              tensor: gradients[index] as tf.Tensor,
            })),
          );
          variables.forEach((variable, index) => {
            if (index % 2 === 0)
              tf.tidy(() => variable.assign(tf.mul(variable, 1 - learningRate * weightDecay)));
          });
          const matrices = layerMatrices(gradients);
          optimizer.step(matrices);
          tf.dispose([...gradients, ...matrices]);
        }
        const expected = flattenWeights(variables);
        const moved = tf.tidy(
          () => tf.max(tf.abs(tf.sub(expected, flattenWeights(initial)))).dataSync()[0] as number,
        );
        expect(moved).toBeGreaterThan(0.1);
        const actual = flattenWeights(optimizer.parameters);
        expect(maxAbsDifference(actual, expected)).toBeLessThanOrEqual(1e-5);
        const pieces = layerWeights(optimizer.parameters);
        expect(pieces.map((piece) => piece.shape)).toEqual(variables.map((variable) => variable.shape));
        tf.dispose([expected, actual, ...pieces]);
      } finally {
        optimizer.dispose();
        reference.dispose();
        tf.dispose([...variables, ...initial]);
      }
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('decays kernel entries only, in the flat layout of each head', () => {
    const linear = decayFactors({ inputSize: 2, hidden: 0, numClasses: 2 }, 0.1, 0.5);
    expect(Array.from(linear)).toEqual([0.95, 0.95, 0.95, 0.95, 1, 1].map(Math.fround));
    const hidden = decayFactors({ inputSize: 1, hidden: 2, numClasses: 2 }, 0.1, 0.5);
    // [kernel 1×2, bias 2 | kernel 2×2, bias 2]
    expect(Array.from(hidden)).toEqual([0.95, 0.95, 1, 1, 0.95, 0.95, 0.95, 0.95, 1, 1].map(Math.fround));
  });
});
