/**
 * Try it: a kept prompt (its label vectors, from the orchestrator's onPromptVectors port) and a kept head (its
 * serialized weights) classify a new text exactly as the run classified the same text on the test split.
 */
import { describe, expect, it } from 'vitest';
import {
  embeddingRequests,
  headProbabilities,
  predictAll,
  type SimilarityPredictor,
  type TryItPredictor,
} from '../../../../src/lib/core/answer/try-it.ts';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type ExperimentParts,
} from '../../../../src/lib/core/experiment/orchestrator.ts';
import type { SerializedHead } from '../../../../src/lib/core/ports.ts';
import { createRng } from '../../../../src/lib/core/rng/rng.ts';
import { createHeadTrainer } from '../../../../src/lib/ml/tfjs-head.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from '../experiment/fakes.ts';

const MODEL = 'fake/home';

describe('similarity prompts keep their label vectors', () => {
  it('classifies a test text as the run did, from the vectors the orchestrator hands over', async () => {
    const data = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, { test: 0.3, seed: 42 });
    const clock = new FakeClock();
    const encoder = new KeywordEncoder(MODEL, clock);
    const experiment: ExperimentParts = {
      model: MODEL,
      prompts: [
        { name: 'query', strategy: 'similarity', template: 'about {label}', textTemplate: 'query: {text}' },
      ],
      heads: [],
    };
    const kept: Float32Array[][] = [];
    const [run] = await runParts(
      experiment,
      data,
      {},
      {
        encoders: { encoder: async () => encoder },
        trainer: new CentroidTrainer(clock),
        cache: createFeatureCache(),
        now: clock.now,
        onPromptVectors: (vectors, part) => {
          expect(part).toEqual({ kind: 'prompt', index: 0, name: 'query' });
          kept.push(vectors);
        },
      },
    );
    expect(kept).toHaveLength(1);
    const predictor: SimilarityPredictor = {
      method: 'similarity',
      name: 'query',
      kind: 'prompt',
      model: MODEL,
      labels: data.dataset.labels,
      textTemplate: 'query: {text}',
      embedding: { layer: -1, pooling: 'mean' },
      labelVectors: kept[0] as Float32Array[],
    };
    for (const example of data.split.test.slice(0, 10)) {
      const requests = embeddingRequests(example.text, [predictor], MODEL);
      expect(requests.map((request) => request.text)).toEqual([`query: ${example.text}`]);
      const vectors = await encoder.embed(
        requests.map((request) => request.text),
        { layer: -1, pooling: 'mean' },
      );
      const embeddings = new Map(requests.map((request, i) => [request.key, vectors[i] as Float32Array]));
      const [answer] = predictAll(example.text, [predictor], MODEL, embeddings);
      const expected = run?.predictions.find((prediction) => prediction.id === example.id);
      expect(answer?.label).toBe(expected?.label);
      for (const label of data.dataset.labels) {
        expect(answer?.scores?.[label]).toBeCloseTo(expected?.scores[label] as number, 6);
      }
    }
  });
});

describe('headProbabilities', () => {
  it('matches the trained tfjs head on the same features (hidden layer with ReLU, softmax)', async () => {
    const rng = createRng(7);
    const features = Array.from({ length: 24 }, (_, i) =>
      Float32Array.from({ length: 6 }, (_, d) => (d === i % 3 ? 1 : 0) + rng() * 0.3),
    );
    const trainer = createHeadTrainer({ backend: 'cpu' });
    const head = await trainer.train(
      features,
      features.map((_, i) => i % 3),
      3,
      {
        hidden: 5,
        epochs: 5,
        learningRate: 0.05,
        seed: 1,
        batchSize: 8,
      },
    );
    try {
      const expected = await head.predict(features);
      const serialized = head.toJSON();
      features.forEach((vector, i) => {
        const ours = headProbabilities(serialized, vector);
        ours.forEach((p, k) => expect(p).toBeCloseTo((expected[i] as number[])[k] as number, 5));
      });
    } finally {
      head.dispose();
    }
  });

  it('refuses a vector of the wrong size', () => {
    const head: SerializedHead = {
      inputSize: 2,
      hidden: 0,
      numClasses: 2,
      layers: [{ kernel: [1, 0, 0, 1], kernelShape: [2, 2], bias: [0, 0] }],
    };
    expect(headProbabilities(head, Float32Array.of(3, 1))[0]).toBeCloseTo(
      Math.exp(3) / (Math.exp(3) + Math.exp(1)),
    );
    expect(() => headProbabilities(head, Float32Array.of(1, 2, 3))).toThrow(/reads 2 features, got 3/);
  });
});

describe('predictAll', () => {
  const head: TryItPredictor = {
    method: 'head',
    name: 'linear',
    kind: 'head',
    model: MODEL,
    labels: ['a', 'b'],
    embedding: { layer: 1, pooling: 'cls' },
    head: {
      inputSize: 2,
      hidden: 0,
      numClasses: 2,
      layers: [{ kernel: [1, 0, 0, 1], kernelShape: [2, 2], bias: [0, 0] }],
    },
  };
  const elsewhere: TryItPredictor = { ...head, name: 'on another model', model: 'other/model' };
  const onDemand: TryItPredictor = {
    method: 'on-demand',
    name: 'nli',
    kind: 'prompt',
    model: MODEL,
    labels: ['a', 'b'],
    reason: 'NLI runs the model once per label',
    run: async () => ({ a: 1, b: 0 }),
  };

  it('embeds once per distinct embedding, and only for live predictors on the loaded model', () => {
    expect(embeddingRequests('hi', [head, { ...head, name: 'twin' }, elsewhere, onDemand], MODEL)).toEqual([
      { key: JSON.stringify(['hi', 1, 'cls']), text: 'hi', options: { layer: 1, pooling: 'cls' } },
    ]);
  });

  it('scores live predictors and says why the others are not', () => {
    const embeddings = new Map([[JSON.stringify(['hi', 1, 'cls']), Float32Array.of(0, 2)]]);
    const [live, other, demand] = predictAll('hi', [head, elsewhere, onDemand], MODEL, embeddings);
    expect(live?.label).toBe('b');
    expect(Object.getPrototypeOf(live?.scores)).toBeNull();
    expect(other).toEqual({
      name: 'on another model',
      kind: 'head',
      note: 'Load "other/model" to try this run: it reads that model\'s embeddings.',
    });
    expect(demand).toEqual({
      name: 'nli',
      kind: 'prompt',
      note: 'Run on demand: NLI runs the model once per label.',
    });
  });
});
