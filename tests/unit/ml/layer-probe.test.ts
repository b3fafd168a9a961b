/**
 * @file The layer probe and the feature cache on the fixture model (tiny-bert, transformers.js + onnxruntime-node,
 * tfjs heads on the cpu backend): `embedLayers` gives, from one forward pass, exactly what `embed` gives layer by
 * layer; the encoder carries the SHA-256 of its weights file; a probe trains a head on every layer with one
 * encoder call per side of the split, and after a "reload" (a fresh in-memory cache, the IndexedDB database
 * reopened) probing again or training a head on any layer runs no text through the model.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildDatasetFromRef } from '../../../src/lib/core/dataset/ref.ts';
import { probeLayers } from '../../../src/lib/core/experiment/layer-probe.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type ExperimentParts,
  type ExperimentPorts,
} from '../../../src/lib/core/experiment/orchestrator.ts';
import type { EmbedOptions, Encoder } from '../../../src/lib/core/ports.ts';
import type { Pooling } from '../../../src/lib/core/experiment/types.ts';
import { createHeadTrainer } from '../../../src/lib/ml/tfjs-head.ts';
import { loadEncoder } from '../../../src/lib/ml/transformers-adapter.ts';
import { IndexedDbFeatureCache } from '../../../src/lib/storage/feature-cache.ts';
import { useFakeIndexedDB } from '../../helpers/fake-indexeddb.ts';

useFakeIndexedDB();

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/models/tiny-bert');
const MODEL = 'fixtures/tiny-bert';

let encoder: Encoder;

/** The fixture encoder, counting the texts each method runs through the model. */
class Counting {
  texts = 0;
  calls = 0;
  constructor(private readonly inner: Encoder) {}
  encoder(): Encoder {
    const inner = this.inner;
    return {
      modelId: MODEL,
      device: inner.device,
      dtype: inner.dtype,
      dimension: inner.dimension,
      numLayers: inner.numLayers,
      maxTokens: inner.maxTokens,
      sentenceEmbedding: inner.sentenceEmbedding,
      ...(inner.weightsHash === undefined ? {} : { weightsHash: inner.weightsHash }),
      embed: async (texts: string[], options: EmbedOptions) => {
        this.texts += texts.length;
        this.calls++;
        return inner.embed(texts, options);
      },
      embedLayers: async (texts: string[], layers: number[], pooling: Pooling) => {
        this.texts += texts.length;
        this.calls++;
        return (inner.embedLayers as NonNullable<Encoder['embedLayers']>)(texts, layers, pooling);
      },
      countTokens: (texts) => inner.countTokens(texts),
      dispose: async () => undefined,
    };
  }
}

beforeAll(async () => {
  encoder = await loadEncoder({ kind: 'folder', path: FIXTURE }, { device: 'cpu', dtype: 'fp32' });
});

afterAll(async () => {
  await encoder?.dispose();
});

const texts = ['the team won the final', 'rain all day tomorrow', 'a soup for dinner', 'x'];

describe('the adapter', () => {
  test('carries the SHA-256 of the weights file it read', async () => {
    const bytes = await readFile(resolve(FIXTURE, 'onnx/model.onnx'));
    expect(encoder.weightsHash).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  test.each<Pooling>(['mean', 'cls', 'last'])(
    'embedLayers (%s) gives exactly what embed gives for each layer',
    async (pooling) => {
      const layers = Array.from({ length: encoder.numLayers + 1 }, (_, layer) => layer);
      const together = await (encoder.embedLayers as NonNullable<Encoder['embedLayers']>)(
        texts,
        [...layers, -1],
        pooling,
      );
      expect(together).toHaveLength(layers.length + 1);
      for (const layer of [...layers, -1]) {
        const alone = await encoder.embed(texts, { layer, pooling, batchSize: 3 });
        const k = layer === -1 ? layers.length : layer;
        expect(together[k]).toEqual(alone);
      }
    },
  );

  test('embedLayers refuses a layer the model does not have', async () => {
    await expect(
      (encoder.embedLayers as NonNullable<Encoder['embedLayers']>)(texts, [0, encoder.numLayers + 1], 'mean'),
    ).rejects.toThrow(/does not exist/);
  });
});

describe('probe every layer on the fixture model', () => {
  const data = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, { test: 0.3, seed: 42 });
  const experiment: ExperimentParts = {
    model: MODEL,
    prompts: [],
    heads: [{ name: 'probe', layer: -1, pooling: 'mean', hidden: 0, epochs: 8, learningRate: 0.05, seed: 1 }],
  };
  const total = data.split.train.length + data.split.test.length;

  function ports(counting: Counting, store: IndexedDbFeatureCache): ExperimentPorts {
    return {
      encoders: { encoder: async () => counting.encoder() },
      trainer: createHeadTrainer({ backend: 'cpu' }),
      cache: createFeatureCache(),
      now: () => performance.now(),
      store,
    };
  }

  test('one encoder call per side for all layers; after a reload, nothing runs through the model', async () => {
    const first = new Counting(encoder);
    const store = new IndexedDbFeatureCache({ name: 'probe-fixture' });
    const result = await probeLayers(experiment, data, 0, ports(first, store));
    expect(first.calls).toBe(2);
    expect(first.texts).toBe(total);
    expect(result.points.map((point) => point.layer)).toEqual([0, 1, 2, 3, 4]);
    for (const point of result.points) {
      expect(point.accuracy).toBeGreaterThanOrEqual(0);
      expect(point.accuracy).toBeLessThanOrEqual(1);
      expect(point.accuracyCI?.[0]).toBeLessThanOrEqual(point.accuracy);
    }
    await store.close();

    const reloaded = new Counting(encoder);
    const reopened = new IndexedDbFeatureCache({ name: 'probe-fixture' });
    const again = await probeLayers(experiment, data, 0, ports(reloaded, reopened));
    // The same features and the same seeded head give the same accuracies.
    expect(again.points.map((point) => point.accuracy)).toEqual(result.points.map((point) => point.accuracy));
    await runParts(
      { ...experiment, heads: [{ ...experiment.heads[0]!, layer: 2, hidden: 8, epochs: 5 }] },
      data,
      { prompts: [], heads: [0] },
      ports(reloaded, reopened),
    );
    expect(reloaded.texts).toBe(0);
    await reopened.close();
  });
});
