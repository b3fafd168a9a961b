/**
 * @file Heads with unfrozen layers in the orchestrator (core/experiment/unfreeze-run.ts), with fakes: the request
 * is checked against the model before any work, the layer trainer gets the token states of the layer below the
 * unfrozen ones (computed once for heads that share them), and the run is scored and costed like any head.
 */
import { describe, expect, it } from 'vitest';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type ExperimentParts,
} from '../../../../src/lib/core/experiment/orchestrator.ts';
import { checkHeadUnfreeze, tokenStateBytes } from '../../../../src/lib/core/experiment/unfreeze-run.ts';
import type {
  LayerTrainer,
  LayerTrainingRequest,
  SerializedHead,
  TextTokenStates,
  TokenStateOptions,
} from '../../../../src/lib/core/ports.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from './fakes.ts';

/** KeywordEncoder with token states: one token per word, each the text's keyword vector. */
class TokenKeywordEncoder extends KeywordEncoder {
  readonly tokenCalls: TokenStateOptions[] = [];
  async embedTokens(texts: string[], options: TokenStateOptions): Promise<TextTokenStates[]> {
    this.tokenCalls.push(options);
    const vectors = await this.embed(texts, { layer: options.layer, pooling: 'mean' });
    const counts = await this.countTokens(texts);
    return vectors.map((vector, i) => {
      const tokens = Math.min(counts[i] ?? 0, options.maxTokens);
      const states = new Float32Array(tokens * vector.length);
      for (let t = 0; t < tokens; t++) states.set(vector, t * vector.length);
      return { ids: new Int32Array(tokens), states, width: vector.length };
    });
  }
}

/** Predicts from the mean token state with a centroid head; counts 1,000 layer parameters per unfrozen layer. */
class FakeLayerTrainer implements LayerTrainer {
  readonly requests: LayerTrainingRequest[] = [];
  readonly texts: TextTokenStates[][] = [];
  constructor(private readonly centroids: CentroidTrainer) {}
  async train(
    request: LayerTrainingRequest,
    texts: TextTokenStates[],
    labelIndices: number[],
    numClasses: number,
    options: Parameters<LayerTrainer['train']>[4],
  ) {
    this.requests.push(request);
    this.texts.push(texts);
    const mean = (text: TextTokenStates) => {
      const tokens = Math.max(1, text.states.length / text.width);
      return Float32Array.from({ length: text.width }, (_, d) => {
        let sum = 0;
        for (let t = 0; t < tokens; t++) sum += text.states[t * text.width + d] ?? 0;
        return sum / tokens;
      });
    };
    const head = await this.centroids.train(texts.map(mean), labelIndices, numClasses, options);
    return {
      parameterCount: head.parameterCount + 1000 * request.unfreeze,
      predict: (rows: TextTokenStates[]) => head.predict(rows.map(mean)),
      toJSON: (): SerializedHead => ({
        ...head.toJSON(),
        unfrozen: {
          fromLayer: request.featureLayer - request.unfreeze,
          toLayer: request.featureLayer,
          weights: [],
        },
      }),
      dispose: () => head.dispose(),
    };
  }
}

const data = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, { test: 0.3, seed: 42 });

function experiment(): ExperimentParts {
  return {
    model: 'fake/home',
    prompts: [],
    heads: [
      { name: 'frozen', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.1, seed: 1 },
      {
        name: 'top 1',
        layer: -1,
        pooling: 'mean',
        hidden: 0,
        epochs: 5,
        learningRate: 0.1,
        seed: 1,
        unfreeze: 1,
      },
      {
        name: 'top 1 again',
        layer: 2,
        pooling: 'mean',
        hidden: 4,
        epochs: 5,
        learningRate: 0.1,
        seed: 2,
        unfreeze: 1,
        maxTokens: 64,
      },
    ],
  };
}

describe('heads with unfrozen layers', () => {
  it('train on token states of the layer below, computed once, and count head + layer parameters', async () => {
    const clock = new FakeClock();
    const encoder = new TokenKeywordEncoder('fake/home', clock);
    const centroids = new CentroidTrainer(clock);
    const layerTrainer = new FakeLayerTrainer(centroids);
    const saved: SerializedHead[] = [];
    const messages: string[] = [];
    const runs = await runParts(
      experiment(),
      data,
      {},
      {
        encoders: { encoder: async () => encoder },
        trainer: centroids,
        layerTrainer,
        cache: createFeatureCache(),
        now: clock.now,
        onTrainedHead: (head) => saved.push(head),
        onProgress: (event) => messages.push(event.message),
      },
    );
    expect(runs.map((run) => run.name)).toEqual(['frozen', 'top 1', 'top 1 again']);
    expect(layerTrainer.requests).toEqual([
      { model: 'fake/home', featureLayer: 2, unfreeze: 1, pooling: 'mean' },
      { model: 'fake/home', featureLayer: 2, unfreeze: 1, pooling: 'mean' },
    ]);
    // Layer 1 token states, once per side of the split, shared by both heads (same cap).
    expect(encoder.tokenCalls).toEqual([
      { layer: 1, maxTokens: 64 },
      { layer: 1, maxTokens: 64 },
    ]);
    expect(layerTrainer.texts[0]).toHaveLength(data.split.train.length);
    expect(runs[1]?.cost.trainedParameters).toBe(4 * 3 + 3 + 1000);
    expect(runs[2]?.cost.trainedParameters).toBe(4 * 4 + 4 + 4 * 3 + 3 + 1000);
    expect(runs[1]?.accuracy).toBe(runs[0]?.accuracy);
    expect(saved[1]?.unfrozen).toEqual({ fromLayer: 1, toLayer: 2, weights: [] });
    expect(
      messages.some((message) => /Caching token states of layer 1 .* about [\d.]+ kB/.test(message)),
    ).toBe(true);
  });

  it('are refused before any work when N is above the feature layer, the model is q8 or nothing can train them', async () => {
    const clock = new FakeClock();
    const encoder = new TokenKeywordEncoder('fake/home', clock);
    const trainer = new FakeLayerTrainer(new CentroidTrainer(clock));
    const check =
      (spec: { unfreeze?: number; layer: number }, model = encoder, layers: LayerTrainer | null = trainer) =>
      () =>
        checkHeadUnfreeze(spec, model, layers ?? undefined, 'fake/home', 'heads[0].unfreeze');
    expect(check({ layer: -1 })).not.toThrow();
    expect(check({ layer: 1, unfreeze: 1 })).not.toThrow();
    expect(check({ layer: 1, unfreeze: 2 })).toThrow(
      /2 layers cannot be unfrozen under feature layer 1.*0\.\.1/,
    );
    expect(check({ layer: 0, unfreeze: 1 })).toThrow(ExperimentError);
    const q8 = Object.assign(new TokenKeywordEncoder('fake/home', clock), { dtype: 'q8' as const });
    expect(check({ layer: -1, unfreeze: 1 }, q8 as unknown as TokenKeywordEncoder)).toThrow(
      /quantized \(q8\)/,
    );
    expect(check({ layer: -1, unfreeze: 1 }, encoder, null)).toThrow(/not available here yet/);

    const parts = experiment();
    parts.heads[1] = { ...parts.heads[1]!, unfreeze: 3 };
    const run = runParts(
      parts,
      data,
      {},
      {
        encoders: { encoder: async () => encoder },
        trainer: new CentroidTrainer(clock),
        layerTrainer: trainer,
        cache: createFeatureCache(),
        now: clock.now,
      },
    );
    await expect(run).rejects.toThrow(/heads\[1\]\.unfreeze/);
    expect(encoder.calls).toHaveLength(0);
  });

  it('keep token states with the feature cache: a second run reuses them, and clearing the cache drops them', async () => {
    const clock = new FakeClock();
    const encoder = new TokenKeywordEncoder('fake/home', clock);
    const centroids = new CentroidTrainer(clock);
    const layerTrainer = new FakeLayerTrainer(centroids);
    const cache = createFeatureCache();
    const parts: ExperimentParts = { ...experiment(), heads: [experiment().heads[1]!] };
    const run = (prepared: typeof data) =>
      runParts(
        parts,
        prepared,
        {},
        {
          encoders: { encoder: async () => encoder },
          trainer: centroids,
          layerTrainer,
          cache,
          now: clock.now,
        },
      );
    await run(data);
    await run(data);
    // Retraining on the same split: no new token-state pass.
    expect(encoder.tokenCalls).toHaveLength(2);
    // The owner clears the cache when the data changes (ExperimentState does on a new dataset or split).
    cache.clear();
    const other = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, { test: 0.5, seed: 7 });
    await run(other);
    expect(encoder.tokenCalls).toHaveLength(4);
    expect(layerTrainer.texts[2]).toHaveLength(other.split.train.length);
    expect(other.split.train.length).not.toBe(data.split.train.length);
  });

  it('estimates the memory of cached token states from capped token counts', () => {
    expect(tokenStateBytes([10, 100, 3], 64, 512)).toBe((10 + 64 + 3) * 512 * 4);
  });
});
