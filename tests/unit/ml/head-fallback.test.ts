/**
 * @file The CLI trains heads on tfjs's WASM backend, as the browser does, and falls back to the plain-JS cpu
 * backend with a one-line notice when WASM cannot start. Here WASM is pointed at a folder without its binaries,
 * so it cannot start: training must still succeed, on cpu, with exactly one notice saying why. (Its own file:
 * tfjs holds one backend per process, and the WASM backend that failed stays failed.)
 */
import { describe, expect, it } from 'vitest';
import type { HeadTrainingOptions } from '../../../src/lib/core/ports.ts';
import { createHeadTrainer, liveTensorCount } from '../../../src/lib/ml/tfjs-head.ts';

const features = Array.from({ length: 40 }, (_, index) =>
  Float32Array.from({ length: 6 }, (_, d) => (d === index % 2 ? 1 : 0) + ((index * 7 + d) % 5) / 10),
);
const labels = features.map((_, index) => index % 2);
const options: HeadTrainingOptions = { hidden: 4, epochs: 3, learningRate: 0.05, seed: 1, batchSize: 8 };

describe('head training backend fallback', () => {
  it('refuses to train when WASM cannot start and no fallback is given', async () => {
    const trainer = createHeadTrainer({ backend: 'wasm', wasmPaths: '/nonexistent-tfjs-wasm/' });
    await expect(trainer.train(features, labels, 2, options)).rejects.toThrow(
      /Could not start the tfjs "wasm" backend/,
    );
  });

  it('falls back to cpu with one notice, and trains the same head as cpu does', async () => {
    const notices: string[] = [];
    const trainer = createHeadTrainer({
      backend: 'wasm',
      wasmPaths: '/nonexistent-tfjs-wasm/',
      fallback: { backend: 'cpu', onFallback: (message) => notices.push(message) },
    });
    expect(trainer.backend).toBe('wasm');
    const head = await trainer.train(features, labels, 2, options);
    const before = liveTensorCount();
    const again = await trainer.train(features, labels, 2, options);
    expect(trainer.backend).toBe('cpu');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      /^Training heads on tfjs's slower "cpu" backend: the "wasm" one could not start \(.+\)\.$/,
    );
    expect(notices[0]).not.toContain('\n');

    const cpuHead = await createHeadTrainer({ backend: 'cpu' }).train(features, labels, 2, options);
    expect(await head.predict(features)).toEqual(await cpuHead.predict(features));
    expect(await again.predict(features)).toEqual(await cpuHead.predict(features));
    again.dispose();
    cpuHead.dispose();
    expect(liveTensorCount()).toBe(before);
    head.dispose();
  });
});
