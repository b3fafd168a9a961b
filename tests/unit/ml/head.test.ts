import { describe, expect, it } from 'vitest';
import type { HeadTrainingOptions, SerializedHead } from '../../../src/lib/core/ports.ts';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import { createHeadTrainer, headFromJSON, liveTensorCount } from '../../../src/lib/ml/tfjs-head.ts';

const trainer = createHeadTrainer({ backend: 'cpu' });

const INPUT_SIZE = 12;
const CLASSES = 3;

/** Three Gaussian blobs, each class shifted along its own axis: linearly separable with noise. */
function blobs(count: number, seed: number): { features: Float32Array[]; labels: number[] } {
  const rng = createRng(seed);
  const features: Float32Array[] = [];
  const labels: number[] = [];
  for (let index = 0; index < count; index++) {
    const label = index % CLASSES;
    const vector = new Float32Array(INPUT_SIZE);
    for (let d = 0; d < INPUT_SIZE; d++) vector[d] = (rng() - 0.5) * 1.5 + (d === label ? 2 : 0);
    features.push(vector);
    labels.push(label);
  }
  return { features, labels };
}

function accuracy(probabilities: number[][], labels: number[]): number {
  const correct = probabilities.filter(
    (row, index) => row.indexOf(Math.max(...row)) === labels[index],
  ).length;
  return correct / labels.length;
}

const options: HeadTrainingOptions = { hidden: 0, epochs: 15, learningRate: 0.05, seed: 7, batchSize: 16 };
const train = blobs(240, 1);
const test = blobs(120, 2);

describe('tfjs head trainer', () => {
  it('learns a separable problem to high held-out accuracy, linear and with a hidden layer', async () => {
    for (const hidden of [0, 16]) {
      const epochs: number[] = [];
      const losses: number[] = [];
      const head = await trainer.train(
        train.features,
        train.labels,
        CLASSES,
        { ...options, hidden },
        (report) => {
          epochs.push(report.epoch);
          losses.push(report.loss);
          expect(report.accuracy).toBeGreaterThanOrEqual(0);
          expect(report.accuracy).toBeLessThanOrEqual(1);
        },
      );
      try {
        expect(epochs).toEqual(Array.from({ length: options.epochs }, (_, index) => index + 1));
        expect(losses.at(-1)).toBeLessThan(losses[0] ?? 0);
        const probabilities = await head.predict(test.features);
        expect(probabilities).toHaveLength(test.features.length);
        for (const row of probabilities) expect(row.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 4);
        expect(accuracy(probabilities, test.labels)).toBeGreaterThan(0.9);
      } finally {
        head.dispose();
      }
    }
  });

  it('gives identical predictions for the same seed and different weights for another seed', async () => {
    const first = await trainer.train(train.features, train.labels, CLASSES, { ...options, hidden: 8 });
    const second = await trainer.train(train.features, train.labels, CLASSES, { ...options, hidden: 8 });
    const other = await trainer.train(train.features, train.labels, CLASSES, {
      ...options,
      hidden: 8,
      seed: 8,
    });
    try {
      expect(await second.predict(test.features)).toEqual(await first.predict(test.features));
      expect(second.toJSON()).toEqual(first.toJSON());
      expect(other.toJSON().layers[0]?.kernel).not.toEqual(first.toJSON().layers[0]?.kernel);
    } finally {
      [first, second, other].forEach((head) => head.dispose());
    }
  });

  it('counts weights and biases as trained parameters', async () => {
    const linear = await trainer.train(train.features, train.labels, CLASSES, { ...options, epochs: 1 });
    const mlp = await trainer.train(train.features, train.labels, CLASSES, {
      ...options,
      epochs: 1,
      hidden: 5,
    });
    try {
      expect(linear.parameterCount).toBe(INPUT_SIZE * CLASSES + CLASSES);
      expect(mlp.parameterCount).toBe(INPUT_SIZE * 5 + 5 + 5 * CLASSES + CLASSES);
    } finally {
      linear.dispose();
      mlp.dispose();
    }
  });

  it('stops between batches when the signal aborts, with an AbortError and no leaked tensors', async () => {
    const before = liveTensorCount();
    const controller = new AbortController();
    const seenEpochs: number[] = [];
    const training = trainer.train(
      train.features,
      train.labels,
      CLASSES,
      { ...options, epochs: 500 },
      (report) => {
        seenEpochs.push(report.epoch);
        if (report.epoch === 2) controller.abort();
      },
      controller.signal,
    );
    await expect(training).rejects.toMatchObject({ name: 'AbortError' });
    expect(seenEpochs).toEqual([1, 2]);
    expect(liveTensorCount()).toBe(before);

    await expect(
      trainer.train(train.features, train.labels, CLASSES, options, undefined, AbortSignal.abort()),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('round-trips through toJSON and headFromJSON with the same predictions', async () => {
    const head = await trainer.train(train.features, train.labels, CLASSES, { ...options, hidden: 6 });
    const serialized = JSON.parse(JSON.stringify(head.toJSON())) as SerializedHead;
    const restored = await headFromJSON(serialized);
    const viaTrainer = await trainer.fromJSON(serialized);
    try {
      expect(serialized.layers.map((layer) => layer.kernelShape)).toEqual([
        [INPUT_SIZE, 6],
        [6, CLASSES],
      ]);
      const expected = await head.predict(test.features);
      expect(await restored.predict(test.features)).toEqual(expected);
      expect(await viaTrainer.predict(test.features)).toEqual(expected);
      expect(restored.parameterCount).toBe(head.parameterCount);
    } finally {
      [head, restored, viaTrainer].forEach((item) => item.dispose());
    }
  });

  it('rejects a malformed head file, naming the bad field', async () => {
    const head = await trainer.train(train.features, train.labels, CLASSES, { ...options, epochs: 1 });
    const serialized = head.toJSON();
    head.dispose();
    const firstLayer = serialized.layers[0];
    if (!firstLayer) throw new Error('expected one layer');
    await expect(headFromJSON({ ...serialized, layers: [{ ...firstLayer, bias: [1] }] })).rejects.toThrow(
      /layers\[0\]\.bias/,
    );
    await expect(headFromJSON({ ...serialized, hidden: 4 })).rejects.toThrow(/"layers" must hold 2/);
    await expect(headFromJSON('nope')).rejects.toThrow(/JSON object/);
  });

  it('refuses inconsistent training inputs with a message naming the problem', async () => {
    await expect(trainer.train(train.features, train.labels.slice(1), CLASSES, options)).rejects.toThrow(
      /240 feature vectors but 239 labels/,
    );
    await expect(trainer.train(train.features, train.labels, 2, options)).rejects.toThrow(/outside 0\.\.1/);
    await expect(
      trainer.train(train.features, train.labels, CLASSES, { ...options, epochs: 0 }),
    ).rejects.toThrow(/"epochs"/);
  });

  it('leaves no tensors behind across repeated trainings, predictions and disposals', async () => {
    const warm = await trainer.train(train.features, train.labels, CLASSES, { ...options, epochs: 1 });
    warm.dispose();
    const before = liveTensorCount();
    for (let round = 0; round < 3; round++) {
      const head = await trainer.train(train.features, train.labels, CLASSES, {
        ...options,
        hidden: 4,
        epochs: 2,
      });
      await head.predict(test.features);
      const restored = await headFromJSON(head.toJSON());
      await restored.predict(test.features);
      head.dispose();
      restored.dispose();
    }
    expect(liveTensorCount()).toBe(before);
  });

  it('stops with a clear error when a huge learning rate makes training diverge, leaking no tensors', async () => {
    const tiny = blobs(12, 3);
    const before = liveTensorCount();
    for (const hidden of [0, 8]) {
      await expect(
        trainer.train(tiny.features, tiny.labels, CLASSES, {
          ...options,
          hidden,
          epochs: 3,
          learningRate: 1e308,
        }),
      ).rejects.toThrow(
        /^Head training diverged: .* became NaN or infinite with learning rate 1e\+308\. Lower "learningRate" \(e\.g\. 0\.01\)/,
      );
    }
    expect(liveTensorCount()).toBe(before);
  });
});
