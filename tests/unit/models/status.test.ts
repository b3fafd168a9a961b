import { describe, expect, it } from 'vitest';
import { parseCatalog, requireCatalogModel } from '../../../src/lib/core/models/catalog.ts';
import { modelDtypeStatus, modelStatuses, type StoredFile } from '../../../src/lib/core/models/status.ts';

const model = requireCatalogModel(
  parseCatalog({
    version: 1,
    models: [
      {
        id: 'org/model',
        origin: 'hub',
        revision: 'main',
        name: 'model',
        description: 'A test model.',
        family: 'encoder',
        tasks: ['feature-extraction'],
        uses: ['head'],
        license: 'MIT',
        source: 'https://huggingface.co/org/model',
        files: [{ path: 'config.json', approxBytes: 100 }],
        dtypes: {
          fp32: [{ path: 'onnx/model.onnx', approxBytes: 4000 }],
          q8: [{ path: 'onnx/model_quantized.onnx', approxBytes: 1000 }],
        },
      },
    ],
  }),
  'org/model',
);

function lookup(files: Record<string, StoredFile>) {
  return (path: string): StoredFile => files[path] ?? { state: 'absent' };
}

describe('modelDtypeStatus', () => {
  it('is missing when no file is stored', () => {
    const status = modelDtypeStatus(model, 'fp32', lookup({}));
    expect(status).toMatchObject({ state: 'missing', storedBytes: 0, approxBytes: 4100 });
    expect(status.missingPaths).toEqual(['config.json', 'onnx/model.onnx']);
  });

  it('is partial with shared files but no weights, or with an interrupted download', () => {
    expect(modelDtypeStatus(model, 'fp32', lookup({ 'config.json': { state: 'complete', bytes: 90 } })).state).toBe(
      'partial',
    );
    const resumable = modelDtypeStatus(model, 'fp32', lookup({ 'onnx/model.onnx': { state: 'partial', bytes: 1500 } }));
    expect(resumable).toMatchObject({ state: 'partial', storedBytes: 1500 });
    expect(resumable.missingPaths).toEqual(['config.json', 'onnx/model.onnx']);
  });

  it('is complete per dtype only when that dtype’s weights are in place', () => {
    const stored = lookup({
      'config.json': { state: 'complete', bytes: 90 },
      'onnx/model_quantized.onnx': { state: 'complete', bytes: 1100 },
    });
    const byDtype = Object.fromEntries(modelStatuses(model, stored).map((status) => [status.dtype, status.state]));
    expect(byDtype).toEqual({ fp32: 'partial', q8: 'complete' });
  });
});
