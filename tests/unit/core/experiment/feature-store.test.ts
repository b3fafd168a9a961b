/**
 * @file Zero forward passes on retrain: the orchestrator reads head features and prompt test embeddings through
 * the persistent feature store (core/experiment/feature-store.ts, here the real IndexedDB cache over
 * fake-indexeddb), so after a "reload" (a fresh in-memory cache, the database reopened) retraining a head,
 * changing its settings, training on fewer examples per class, or probing every layer runs no text through the
 * encoder. A counting fake encoder says how many texts it embedded; a store that fails only costs the cache.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import type { FeatureStore } from '../../../../src/lib/core/experiment/feature-store.ts';
import { probeHeadName, probeLayers } from '../../../../src/lib/core/experiment/layer-probe.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type ExperimentParts,
  type ExperimentPorts,
  type PreparedData,
} from '../../../../src/lib/core/experiment/orchestrator.ts';
import type { HeadSpec, SimilarityPrompt } from '../../../../src/lib/core/experiment/types.ts';
import type { EmbedOptions, Encoder } from '../../../../src/lib/core/ports.ts';
import type { Pooling } from '../../../../src/lib/core/experiment/types.ts';
import { IndexedDbFeatureCache } from '../../../../src/lib/storage/feature-cache.ts';
import { useFakeIndexedDB } from '../../../helpers/fake-indexeddb.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from './fakes.ts';

useFakeIndexedDB();

const MODEL = 'fake/hashed';

/**
 * The keyword encoder with a weights hash (so its vectors may be stored) and a multi-layer embed. Layer 0 knows
 * nothing (every text gets the same vector), deeper layers count keywords: a probe finds the task in layer 1+.
 * `texts` counts every text that went through a forward pass, `passes` every call.
 */
class CountingEncoder extends KeywordEncoder {
  readonly weightsHash: string | undefined;
  texts = 0;
  passes = 0;

  constructor(clock: FakeClock, weightsHash: string | undefined) {
    super(MODEL, clock);
    this.weightsHash = weightsHash;
  }

  override async embed(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    this.texts += texts.length;
    this.passes++;
    return this.#layer(await super.embed(texts, options), options.layer);
  }

  async embedLayers(texts: string[], layers: number[], pooling: Pooling): Promise<Float32Array[][]> {
    this.texts += texts.length;
    this.passes++;
    const vectors = await super.embed(texts, { layer: -1, pooling });
    return layers.map((layer) => this.#layer(vectors, layer));
  }

  #layer(vectors: Float32Array[], layer: number): Float32Array[] {
    const index = layer < 0 ? this.numLayers + 1 + layer : layer;
    return index === 0 ? vectors.map(() => Float32Array.from([0, 0, 0, 0.1])) : vectors;
  }
}

const data: PreparedData = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, {
  test: 0.3,
  seed: 42,
});
const TEXTS = data.split.train.length + data.split.test.length;

function head(patch: Partial<HeadSpec> = {}): HeadSpec {
  return {
    name: 'head',
    layer: -1,
    pooling: 'mean',
    hidden: 0,
    epochs: 5,
    learningRate: 0.1,
    seed: 1,
    ...patch,
  };
}

function parts(heads: HeadSpec[] = [head()]): ExperimentParts {
  return {
    model: MODEL,
    prompts: [{ name: 'bare', strategy: 'similarity', template: '{label}', textTemplate: 'text: {text}' }],
    heads,
  };
}

let databases = 0;
const opened: IndexedDbFeatureCache[] = [];

/** A page: its own encoder, in-memory cache and connection to the (shared, persistent) feature database. */
function page(database: string, options: { weightsHash?: string; store?: FeatureStore } = {}) {
  const clock = new FakeClock();
  const encoder = new CountingEncoder(clock, 'weightsHash' in options ? options.weightsHash : 'f'.repeat(64));
  const idb = new IndexedDbFeatureCache({ name: database });
  opened.push(idb);
  const storeErrors: unknown[] = [];
  const ports: ExperimentPorts = {
    encoders: { encoder: async (): Promise<Encoder> => encoder },
    trainer: new CentroidTrainer(clock),
    cache: createFeatureCache(),
    now: clock.now,
    store: options.store ?? idb,
    onStoreError: (error) => storeErrors.push(error),
  };
  return { encoder, ports, storeErrors, idb };
}

afterEach(async () => {
  for (const cache of opened.splice(0)) await cache.close();
});

describe('zero forward passes on retrain', () => {
  test('after a reload, retraining, new settings and fewer shots embed nothing; numbers and costs are unchanged', async () => {
    const database = `zero-${++databases}`;
    const first = page(database);
    const [before] = await runParts(parts(), data, { prompts: [], heads: [0] }, first.ports);
    expect(first.encoder.texts).toBe(TEXTS);

    const reloaded = page(database);
    const settings = [
      head(),
      head({ hidden: 8, epochs: 9, learningRate: 0.01, seed: 3 }),
      head({ shotsPerClass: 2 }),
    ];
    const runs = await runParts(parts(settings), data, { prompts: [], heads: [0, 1, 2] }, reloaded.ports);
    expect(reloaded.encoder.texts).toBe(0);
    expect(reloaded.encoder.passes).toBe(0);
    expect(runs).toHaveLength(3);
    // The same head on stored features scores and costs exactly what it did on computed ones.
    expect(runs[0]).toEqual(before);
    expect(reloaded.storeErrors).toEqual([]);
  });

  test('prompt test embeddings are stored too, under the text as the model read it (template applied)', async () => {
    const database = `prompt-${++databases}`;
    const first = page(database);
    await runParts(parts(), data, { prompts: [0], heads: [] }, first.ports);
    const reloaded = page(database);
    const [run] = await runParts(parts(), data, { prompts: [0], heads: [] }, reloaded.ports);
    // Only the label texts ran again (3 labels), never the test texts.
    expect(reloaded.encoder.texts).toBe(3);
    expect(run?.accuracy).toBeGreaterThan(0.5);
    const other = parts();
    other.prompts[0] = { ...(other.prompts[0] as SimilarityPrompt), textTemplate: 'query: {text}' };
    const third = page(database);
    await runParts(other, data, { prompts: [0], heads: [] }, third.ports);
    expect(third.encoder.texts).toBe(3 + data.split.test.length);
  });

  test('another split of the same texts, or an overlapping dataset, embeds only texts never seen', async () => {
    const database = `overlap-${++databases}`;
    const first = page(database);
    await runParts(parts(), data, { prompts: [], heads: [0] }, first.ports);
    const resplit = prepareData(data.dataset, { test: 0.5, seed: 7 });
    const second = page(database);
    await runParts(parts(), resplit, { prompts: [], heads: [0] }, second.ports);
    expect(second.encoder.texts).toBe(0);
    // A dataset with 3 texts more than the cached one.
    const extra = ['a soup for dinner', 'the team won the final', 'snow and wind tonight'];
    const grown = prepareData(
      {
        ...data.dataset,
        examples: [
          ...data.dataset.examples,
          ...extra.map((text, i) => ({ id: `x${i}`, text, label: data.dataset.labels[i] as string })),
        ],
      },
      { test: 0.3, seed: 42 },
    );
    const third = page(database);
    await runParts(parts(), grown, { prompts: [], heads: [0] }, third.ports);
    expect(third.encoder.texts).toBe(3);
  });

  test('a layer, pooling or model export of its own is computed, not taken from another', async () => {
    const database = `scope-${++databases}`;
    await runParts(parts(), data, { prompts: [], heads: [0] }, page(database).ports);
    for (const [spec, hash] of [
      [head({ layer: 1 }), 'f'.repeat(64)],
      [head({ pooling: 'cls' }), 'f'.repeat(64)],
      [head(), 'e'.repeat(64)],
    ] as const) {
      const next = page(database, { weightsHash: hash });
      await runParts(parts([spec]), data, { prompts: [], heads: [0] }, next.ports);
      expect(next.encoder.texts).toBe(TEXTS);
    }
  });

  test('a model without a weights hash is never stored', async () => {
    const database = `nohash-${++databases}`;
    const first = page(database, { weightsHash: undefined });
    await runParts(parts(), data, { prompts: [], heads: [0] }, first.ports);
    await expect(first.idb.size()).resolves.toEqual({ entries: 0, bytes: 0 });
  });

  test('a store that throws costs only the cache: the run completes and the error is reported', async () => {
    const broken: FeatureStore = {
      get: async () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      },
      put: async () => {
        throw new Error('disk gone');
      },
    };
    const failing = page(`broken-${++databases}`, { store: broken });
    const [run] = await runParts(parts(), data, { prompts: [], heads: [0] }, failing.ports);
    expect(run?.accuracy).toBeGreaterThan(0.5);
    expect(failing.encoder.texts).toBe(TEXTS);
    expect(failing.storeErrors.length).toBeGreaterThanOrEqual(2);
  });
});

describe('probe every layer', () => {
  test('one forward pass per text gives every layer; a second probe and a head on any layer embed nothing', async () => {
    const database = `probe-${++databases}`;
    const first = page(database);
    const runs: string[] = [];
    const result = await probeLayers(parts([head({ layer: 1 })]), data, 0, {
      ...first.ports,
      onRun: (run) => runs.push(run.name),
    });
    expect(first.encoder.texts).toBe(TEXTS);
    // One call per side of the split, each for every layer.
    expect(first.encoder.passes).toBe(2);
    expect(result.points.map((point) => point.layer)).toEqual([0, 1, 2]);
    expect(runs).toEqual([0, 1, 2].map((layer) => probeHeadName('head', layer)));
    // Layer 0 of the fake knows nothing: chance level; the keyword layers separate the topics.
    expect(result.points[0]?.accuracy).toBeLessThan(0.5);
    expect(result.points[2]?.accuracy).toBeGreaterThan(0.7);
    expect(result).toMatchObject({ head: 'head', model: MODEL, pooling: 'mean', numLayers: 2 });

    // Same page: the in-memory cache now holds every layer.
    await runParts(parts([head({ layer: 0 })]), data, { prompts: [], heads: [0] }, first.ports);
    expect(first.encoder.texts).toBe(TEXTS);

    const reloaded = page(database);
    const again = await probeLayers(parts([head({ hidden: 4 })]), data, 0, reloaded.ports);
    expect(reloaded.encoder.texts).toBe(0);
    expect(again.points).toHaveLength(3);
  });

  test('without a multi-layer embed, each missing layer is one call; a store hit for some layers is kept', async () => {
    const database = `probe-single-${++databases}`;
    const first = page(database);
    // Layer 2 (the last) is stored first by an ordinary head.
    await runParts(parts(), data, { prompts: [], heads: [0] }, first.ports);
    const second = page(database);
    Object.defineProperty(second.encoder, 'embedLayers', { value: undefined });
    await probeLayers(parts(), data, 0, second.ports);
    // Layers 0 and 1, each once per side of the split.
    expect(second.encoder.passes).toBe(4);
    expect(second.encoder.texts).toBe(2 * TEXTS);
  });

  test('refuses the sentence embedding, which exists for the last layer only', async () => {
    const { ports, encoder } = page(`probe-sentence-${++databases}`);
    await expect(probeLayers(parts([head({ pooling: 'sentence' })]), data, 0, ports)).rejects.toThrow(
      /last layer only/,
    );
    await expect(probeLayers(parts(), data, 3, ports)).rejects.toThrow(/no heads\[3\]/);
    expect(encoder.texts).toBe(0);
  });
});
