import { describe, expect, it } from 'vitest';
import type { HeadTrainingOptions } from '../../../src/lib/core/ports.ts';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import { createHeadTrainer, liveTensorCount } from '../../../src/lib/ml/tfjs-head.ts';

/** The browser trains on tfjs's WASM backend, the CLI on cpu: results must agree so both report the same numbers. */
describe('tfjs head on the WASM backend (as in the browser worker)', () => {
  it('trains the same head as the cpu backend, up to float rounding', async () => {
    const rng = createRng(5);
    const features = Array.from({ length: 150 }, (_, index) =>
      Float32Array.from({ length: 10 }, (_, d) => rng() - 0.5 + (d === index % 3 ? 1 : 0)),
    );
    const labels = features.map((_, index) => index % 3);
    const options: HeadTrainingOptions = { hidden: 8, epochs: 8, learningRate: 0.02, seed: 3, batchSize: 16 };

    const cpuHead = await createHeadTrainer({ backend: 'cpu' }).train(features, labels, 3, options);
    const cpuWeights = cpuHead.toJSON();
    const cpuPredictions = await cpuHead.predict(features);
    cpuHead.dispose();

    const wasmTrainer = createHeadTrainer({ backend: 'wasm' });
    const before = liveTensorCount();
    const wasmHead = await wasmTrainer.train(features, labels, 3, options);
    const wasmPredictions = await wasmHead.predict(features);
    const wasmWeights = wasmHead.toJSON();
    wasmHead.dispose();
    expect(liveTensorCount()).toBe(before);

    const largestGap = Math.max(
      ...cpuPredictions.flatMap((row, i) =>
        row.map((p, j) => Math.abs(p - (wasmPredictions[i]?.[j] ?? NaN))),
      ),
    );
    expect(largestGap).toBeLessThan(1e-5);
    cpuWeights.layers.forEach((layer, index) => {
      const other = wasmWeights.layers[index];
      expect(other?.kernelShape).toEqual(layer.kernelShape);
      layer.kernel.forEach((value, k) =>
        expect(Math.abs(value - (other?.kernel[k] ?? NaN))).toBeLessThan(1e-4),
      );
    });
  });
});
