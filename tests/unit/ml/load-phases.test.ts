import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { orderPhases, type LoadPhaseTiming } from '../../../src/lib/core/models/load-phases.ts';
import {
  IDENTITY_INPUT,
  IDENTITY_OUTPUT,
  identityModelBytes,
} from '../../../src/lib/ml/onnx-graph/identity-model.ts';
import { loadEncoder } from '../../../src/lib/ml/transformers-adapter.ts';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/models/tiny-bert');

describe('orderPhases', () => {
  const cases: { name: string; reported: LoadPhaseTiming[]; shown: LoadPhaseTiming[] }[] = [
    { name: 'nothing reported', reported: [], shown: [] },
    {
      name: 'the runtime, reported late because it ran alongside, is listed after the files',
      reported: [
        { name: 'files', ms: 40 },
        { name: 'prepare', ms: 5 },
        { name: 'runtime', ms: 300, overlapped: true },
        { name: 'session', ms: 20 },
        { name: 'warm-up', ms: 3 },
      ],
      shown: [
        { name: 'files', ms: 40 },
        { name: 'runtime', ms: 300, overlapped: true },
        { name: 'prepare', ms: 5 },
        { name: 'session', ms: 20 },
        { name: 'warm-up', ms: 3 },
      ],
    },
    {
      name: 'a phase run again after a fallback to WASM keeps its last time',
      reported: [
        { name: 'files', ms: 40 },
        { name: 'session', ms: 900 },
        { name: 'files', ms: 10 },
        { name: 'session', ms: 30 },
      ],
      shown: [
        { name: 'files', ms: 10 },
        { name: 'session', ms: 30 },
      ],
    },
  ];
  it.each(cases)('$name', ({ reported, shown }) => {
    expect(orderPhases(reported)).toEqual(shown);
  });
});

describe('the runtime-start model', () => {
  it('is a model onnxruntime runs: its output is its input', async () => {
    const session = await ort.InferenceSession.create(identityModelBytes());
    try {
      const input = new ort.Tensor('float32', new Float32Array([0.25]), [1]);
      const result = await session.run({ [IDENTITY_INPUT]: input });
      expect([...(result[IDENTITY_OUTPUT]?.data as Float32Array)]).toEqual([0.25]);
    } finally {
      await session.release();
    }
  });
});

describe('loadEncoder phases', () => {
  it('reports files, prepare and session in order, each once, with a time', async () => {
    const phases: { name: string; ms: number }[] = [];
    const encoder = await loadEncoder(
      { kind: 'folder', path: FIXTURE },
      { device: 'cpu', dtype: 'fp32', onPhase: (name, ms) => phases.push({ name, ms }) },
    );
    try {
      expect(phases.map((phase) => phase.name)).toEqual(['files', 'prepare', 'session']);
      for (const phase of phases) {
        expect(Number.isFinite(phase.ms)).toBe(true);
        expect(phase.ms).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await encoder.dispose();
    }
  });
});
