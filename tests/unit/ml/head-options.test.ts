import { describe, expect, it } from 'vitest';
import type { EpochReport, HeadTrainingOptions } from '../../../src/lib/core/ports.ts';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import { createHeadTrainer, liveTensorCount } from '../../../src/lib/ml/tfjs-head.ts';

const trainer = createHeadTrainer({ backend: 'cpu' });
const INPUT_SIZE = 8;

/** Two noisy classes, `counts[c]` examples of class c, class c shifted along axis c. */
function data(counts: number[], seed: number, noise = 1.5): { features: Float32Array[]; labels: number[] } {
  const rng = createRng(seed);
  const features: Float32Array[] = [];
  const labels: number[] = [];
  counts.forEach((count, label) => {
    for (let index = 0; index < count; index++) {
      features.push(
        Float32Array.from({ length: INPUT_SIZE }, (_, d) => (rng() - 0.5) * noise + (d === label ? 1 : 0)),
      );
      labels.push(label);
    }
  });
  return { features, labels };
}

const base: HeadTrainingOptions = { hidden: 16, epochs: 40, learningRate: 0.05, seed: 3, batchSize: 8 };

async function reports(
  set: { features: Float32Array[]; labels: number[] },
  options: HeadTrainingOptions,
): Promise<{ epochs: EpochReport[]; kernel: number[] }> {
  const epochs: EpochReport[] = [];
  const head = await trainer.train(set.features, set.labels, 2, options, (report) => epochs.push(report));
  try {
    // Predicting inside the measured span too: tensors must return to baseline after train, predict and dispose.
    expect(await head.predict(set.features.slice(0, 3))).toHaveLength(3);
    return { epochs, kernel: head.toJSON().layers[0]?.kernel ?? [] };
  } finally {
    head.dispose();
  }
}

describe('head training options', () => {
  it('reports validation loss and accuracy each epoch, and early stopping stops on a plateau', async () => {
    // Pure noise: the validation loss cannot keep improving, so patience runs out long before 200 epochs.
    const noise = data([40, 40], 11, 6);
    const before = liveTensorCount();
    const { epochs } = await reports(noise, { ...base, epochs: 200, validation: 0.25, patience: 3 });
    expect(liveTensorCount()).toBe(before);
    expect(epochs.length).toBeLessThan(200);
    expect(epochs.length).toBeGreaterThan(3);
    for (const report of epochs) {
      expect(report.valLoss).toBeGreaterThan(0);
      expect(report.valAccuracy).toBeGreaterThanOrEqual(0);
      expect(report.valAccuracy).toBeLessThanOrEqual(1);
    }
    const losses = epochs.map((report) => report.valLoss as number);
    const bestAt = losses.indexOf(Math.min(...losses));
    expect(epochs.length - 1 - bestAt).toBe(3);
    const without = await reports(noise, { ...base, epochs: 30 });
    expect(without.epochs.length).toBe(30);
    expect(without.epochs[0]?.valLoss).toBeUndefined();
  });

  it('gives the same result for the same seed with every option on', async () => {
    const set = data([30, 12], 5);
    const options: HeadTrainingOptions = {
      ...base,
      epochs: 12,
      dropout: 0.3,
      weightDecay: 0.05,
      validation: 0.2,
      patience: 4,
      classWeights: 'balanced',
    };
    const first = await reports(set, options);
    const second = await reports(set, options);
    expect(second).toEqual(first);
    const otherSeed = await reports(set, { ...options, seed: 4 });
    expect(otherSeed.kernel).not.toEqual(first.kernel);
  });

  it('class weights change the loss on imbalanced data', async () => {
    const set = data([36, 6], 9);
    const plain = await reports(set, { ...base, epochs: 1 });
    const balanced = await reports(set, { ...base, epochs: 1, classWeights: 'balanced' });
    expect(balanced.epochs[0]?.loss).not.toBeCloseTo(plain.epochs[0]?.loss as number, 3);
  });

  it('dropout and weight decay change the weights; weight decay shrinks them', async () => {
    const set = data([20, 20], 2);
    const plain = await reports(set, base);
    const dropped = await reports(set, { ...base, dropout: 0.5 });
    const decayed = await reports(set, { ...base, weightDecay: 0.5 });
    expect(dropped.kernel).not.toEqual(plain.kernel);
    const norm = (values: number[]) => Math.hypot(...values);
    expect(norm(decayed.kernel)).toBeLessThan(norm(plain.kernel));
  });

  it.each([
    ['dropout on a linear head', { hidden: 0, dropout: 0.2 }, /set "hidden" above 0/],
    ['dropout of 1', { dropout: 1 }, /"dropout" must be at least 0 and below 1/],
    ['patience without validation', { patience: 3 }, /needs a "validation" fraction/],
    ['a validation slice with nothing in it', { validation: 0.1 }, /leaves no validation example/],
    ['negative weight decay', { weightDecay: -1 }, /"weightDecay" must be 0 or a positive number/],
  ] as const)('refuses %s', async (_, patch, message) => {
    const tiny = data([1, 1], 1);
    const before = liveTensorCount();
    await expect(trainer.train(tiny.features, tiny.labels, 2, { ...base, ...patch })).rejects.toThrow(
      message,
    );
    expect(liveTensorCount()).toBe(before);
  });
});
