/**
 * @file No tensor outlives its head: `tf.memory()` (tensors and bytes) is back at its baseline after training,
 * predicting, exporting and disposing of a head, on the WASM backend the browser and the CLI train on, whatever
 * way training ends: finished, stopped early, cancelled, or diverged.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { HeadTrainingOptions } from '../../../src/lib/core/ports.ts';
import { createHeadTrainer } from '../../../src/lib/ml/tfjs-head.ts';

const trainer = createHeadTrainer({ backend: 'wasm' });
const features = Array.from({ length: 60 }, (_, index) =>
  Float32Array.from({ length: 12 }, (_, d) => (d === index % 3 ? 1 : 0) + ((index * 11 + d * 3) % 7) / 14),
);
const labels = features.map((_, index) => index % 3);
const everything: HeadTrainingOptions = {
  hidden: 8,
  epochs: 12,
  learningRate: 0.05,
  seed: 4,
  batchSize: 8,
  dropout: 0.2,
  weightDecay: 0.01,
  validation: 0.25,
  patience: 2,
  classWeights: 'balanced',
};

/** What tfjs holds now: live tensors and their bytes. */
function memory(): { numTensors: number; numBytes: number } {
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes };
}

describe('tfjs head memory', () => {
  it('returns to the baseline after train, predict, export and dispose, and after a rebuilt head', async () => {
    (await trainer.train(features, labels, 3, { ...everything, epochs: 1 })).dispose();
    const baseline = memory();
    for (const options of [everything, { ...everything, hidden: 0, dropout: 0 }]) {
      const head = await trainer.train(features, labels, 3, options);
      expect(memory().numTensors).toBeGreaterThan(baseline.numTensors);
      await head.predict(features);
      const exported = head.toJSON();
      head.dispose();
      expect(memory()).toEqual(baseline);

      const rebuilt = await trainer.fromJSON(exported);
      await rebuilt.predict(features.slice(0, 5));
      rebuilt.dispose();
      expect(memory()).toEqual(baseline);
    }
  });

  it('returns to the baseline when training is cancelled or diverges', async () => {
    (await trainer.train(features, labels, 3, { ...everything, epochs: 1 })).dispose();
    const baseline = memory();
    const controller = new AbortController();
    await expect(
      trainer.train(
        features,
        labels,
        3,
        { ...everything, patience: undefined, validation: 0 },
        (report) => {
          if (report.epoch === 2) controller.abort(new Error('cancelled by the test'));
        },
        controller.signal,
      ),
    ).rejects.toThrow('cancelled by the test');
    expect(memory()).toEqual(baseline);

    const huge = features.map((vector) => vector.map((value) => value * 1e30));
    await expect(
      trainer.train(huge, labels, 3, { ...everything, learningRate: 1e30, patience: undefined }),
    ).rejects.toThrow(/diverged|not finite|non-finite/i);
    expect(memory()).toEqual(baseline);
  });
});
