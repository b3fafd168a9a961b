/**
 * @file One encoder pass per text per experiment (shared-pass.ts): a counting fake encoder records every text it
 * runs; an experiment of two similarity prompts (one with a text template) and two heads on two layers must run
 * each distinct text through it exactly once, give the same numbers as computing every output on its own, and,
 * with a feature store, run nothing the second time.
 */
import { describe, expect, it } from 'vitest';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import type {
  FeatureScope,
  FeatureStore,
  StoredVector,
} from '../../../../src/lib/core/experiment/feature-store.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type ExperimentParts,
  type ExperimentPorts,
  type PreparedData,
  type ProgressEvent,
} from '../../../../src/lib/core/experiment/orchestrator.ts';
import type { RunResult } from '../../../../src/lib/core/experiment/types.ts';
import type { EmbedOptions, Encoder } from '../../../../src/lib/core/ports.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from './fakes.ts';

const MODEL = 'fake/counting';

/**
 * The keyword encoder with a one-pass `embedOutputs` (or without it, `multiOutput` false). Vectors depend on the
 * layer (layer 1 is the keyword counts halved), so mixing two layers up would show in the numbers. `seen` counts
 * how often each text went through a forward pass; `calls` the outputs asked of each pass.
 */
class CountingEncoder extends KeywordEncoder {
  readonly seen = new Map<string, number>();
  readonly passes: { texts: number; outputs: string[] }[] = [];
  readonly embedOutputs: Encoder['embedOutputs'];

  constructor(clock: FakeClock, multiOutput: boolean, weightsHash?: string) {
    super(MODEL, clock);
    if (weightsHash !== undefined) Object.assign(this, { weightsHash });
    this.embedOutputs = multiOutput
      ? async (texts, outputs) => {
          this.#count(texts, outputs);
          const perOutput = await Promise.all(outputs.map((options) => this.#vectors(texts, options)));
          // One pass costs one text's time, however many outputs it fetches.
          clock.time -= 10 * texts.length * (outputs.length - 1);
          return perOutput;
        }
      : undefined;
  }

  override async embed(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    this.#count(texts, [options]);
    return this.#vectors(texts, options);
  }

  #count(texts: readonly string[], outputs: readonly EmbedOptions[]): void {
    for (const text of texts) this.seen.set(text, (this.seen.get(text) ?? 0) + 1);
    this.passes.push({
      texts: texts.length,
      outputs: outputs.map(({ layer, pooling }) => `${layer}/${pooling}`),
    });
  }

  async #vectors(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    const vectors = await super.embed(texts, options);
    const layer = options.layer < 0 ? this.numLayers + 1 + options.layer : options.layer;
    return layer === 1 ? vectors.map((vector) => vector.map((value) => value / 2)) : vectors;
  }
}

/** Two similarity prompts (one with a text template) and two heads on two layers. */
const experiment: ExperimentParts = {
  model: MODEL,
  prompts: [
    { name: 'bare', strategy: 'similarity', template: '{label}' },
    { name: 'query', strategy: 'similarity', template: 'about {label}', textTemplate: 'query: {text}' },
  ],
  heads: [
    { name: 'last layer', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.1, seed: 1 },
    { name: 'layer 1', layer: 1, pooling: 'cls', hidden: 4, epochs: 5, learningRate: 0.1, seed: 2 },
  ],
};

const data: PreparedData = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, {
  test: 0.3,
  seed: 42,
});
const allTexts = data.dataset.examples.map((example) => example.text);
const queryTexts = data.split.test.map((example) => `query: ${example.text}`);
const labelTexts = ['food', 'sports', 'weather', 'about food', 'about sports', 'about weather'];

/** A feature store in memory (texts keyed in a Map, never a plain object). */
class MemoryStore implements FeatureStore {
  readonly entries = new Map<string, StoredVector>();
  key = (scope: FeatureScope, text: string): string => JSON.stringify([scope, text]);
  async get(scope: FeatureScope, texts: readonly string[]): Promise<(StoredVector | undefined)[]> {
    return texts.map((text) => this.entries.get(this.key(scope, text)));
  }
  async put(scope: FeatureScope, texts: readonly string[], vectors: readonly StoredVector[]): Promise<void> {
    texts.forEach((text, k) => this.entries.set(this.key(scope, text), vectors[k] as StoredVector));
  }
}

async function run(
  encoder: CountingEncoder,
  clock: FakeClock,
  extra: Partial<ExperimentPorts> = {},
): Promise<{ runs: RunResult[]; events: ProgressEvent[] }> {
  const events: ProgressEvent[] = [];
  const runs = await runParts(
    experiment,
    data,
    {},
    {
      encoders: { encoder: async () => encoder },
      trainer: new CentroidTrainer(clock),
      cache: createFeatureCache(),
      now: clock.now,
      onProgress: (event) => events.push(event),
      ...extra,
    },
  );
  return { runs, events };
}

describe('one encoder pass per text per experiment', () => {
  it('runs each distinct text through the encoder exactly once, every output it needs from that pass', async () => {
    const clock = new FakeClock();
    const encoder = new CountingEncoder(clock, true);
    const { runs, events } = await run(encoder, clock);
    expect(runs.map((result) => result.name)).toEqual(['bare', 'query', 'last layer', 'layer 1']);
    const expected = [...new Set([...allTexts, ...queryTexts, ...labelTexts])];
    expect([...encoder.seen.keys()].sort()).toEqual(expected.sort());
    expect([...encoder.seen.values()].every((count) => count === 1)).toBe(true);
    // Dataset texts: both layers in one pass; templated test texts, by their prompt: the similarity output only.
    expect(encoder.passes.map((pass) => pass.texts)).toEqual([150, 3, 45, 3]);
    expect(encoder.passes[0]).toEqual({ texts: 150, outputs: ['-1/mean', '1/cls'] });
    expect(events.filter((event) => event.stage === 'embedding').map((event) => event.message)).toEqual([
      'Embedding 150 distinct texts once (layer 2 mean, layer 1 cls) for 1 prompt and 2 heads',
      'Embedding 45 test texts with fake/counting',
    ]);
  });

  it('gives the numbers of computing each output on its own, and charges each run its texts’ share', async () => {
    const oneClock = new FakeClock();
    const shared = await run(new CountingEncoder(oneClock, true), oneClock);
    const apartClock = new FakeClock();
    const apartEncoder = new CountingEncoder(apartClock, false);
    const apart = await run(apartEncoder, apartClock);
    // Without embedOutputs: one call per output, each text once per output it needs.
    expect(apartEncoder.passes.slice(0, 2)).toEqual([
      { texts: 150, outputs: ['-1/mean'] },
      { texts: 150, outputs: ['1/cls'] },
    ]);
    const scores = (runs: RunResult[]) => runs.map((result) => result.predictions.map((p) => p.scores));
    expect(scores(shared.runs)).toEqual(scores(apart.runs));
    // 10 ms per text (the fake's clock): the 45 test texts of a prompt cost 450 ms whoever else used them.
    expect(shared.runs[0]?.cost.inferMs).toBe(450);
    expect(shared.runs[2]?.cost.inferMs).toBe(450 + 45);
    expect(shared.runs[2]?.cost.adaptMs).toBe(1050 + 100);
  });

  it('with a feature store, runs no dataset text the second time', async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const first = new CountingEncoder(clock, true, 'a'.repeat(64));
    const before = await run(first, clock, { store });
    expect(first.passes.map((pass) => pass.texts)).toEqual([150, 3, 45, 3]);

    const second = new CountingEncoder(clock, true, 'a'.repeat(64));
    const after = await run(second, clock, { store });
    expect([...second.seen.keys()].sort()).toEqual([...labelTexts].sort());
    expect(after.runs.map((result) => result.accuracy)).toEqual(before.runs.map((result) => result.accuracy));
    expect(after.runs.map((result) => result.cost)).toEqual(before.runs.map((result) => result.cost));
  });

  it('reports a failed pass per part when asked to, and every part retries on its own', async () => {
    const clock = new FakeClock();
    const encoder = new CountingEncoder(clock, true);
    const failing = encoder.embedOutputs;
    let failures = 0;
    Object.assign(encoder, {
      embedOutputs: async (...args: Parameters<NonNullable<typeof failing>>) => {
        if (failures++ === 0) throw new Error('the model ran out of memory');
        return failing?.(...args);
      },
    });
    const errors: unknown[] = [];
    const { runs } = await run(encoder, clock, { onError: (error) => errors.push(error) });
    expect(errors).toEqual([]);
    expect(runs).toHaveLength(4);

    const strict = new CountingEncoder(clock, true);
    Object.assign(strict, {
      embedOutputs: async () => {
        throw new Error('the model ran out of memory');
      },
    });
    await expect(run(strict, clock)).rejects.toThrow('the model ran out of memory');
  });

  it('runs each text once when the app runs the parts one call at a time (the whole experiment ahead)', async () => {
    const clock = new FakeClock();
    const encoder = new CountingEncoder(clock, true);
    const cache = createFeatureCache();
    const ports: ExperimentPorts = {
      encoders: { encoder: async () => encoder },
      trainer: new CentroidTrainer(clock),
      cache,
      now: clock.now,
      ahead: experiment,
    };
    const parted: RunResult[] = [];
    // As the app does: every variation, then each head on its own (with the experiment's other parts ahead).
    parted.push(...(await runParts(experiment, data, { heads: [] }, ports)));
    for (const head of [0, 1]) {
      const only = {
        ...experiment,
        prompts: [],
        heads: [experiment.heads[head] as (typeof experiment.heads)[0]],
      };
      parted.push(...(await runParts(only, data, { heads: [0] }, ports)));
    }
    expect([...encoder.seen.values()].every((count) => count === 1)).toBe(true);
    // The variations' pass ran the test texts with both heads' outputs; the first head's, the train texts with both.
    expect(encoder.passes).toEqual([
      { texts: 45, outputs: ['-1/mean', '1/cls'] },
      { texts: 3, outputs: ['-1/mean'] },
      { texts: 45, outputs: ['-1/mean'] },
      { texts: 3, outputs: ['-1/mean'] },
      { texts: 105, outputs: ['-1/mean', '1/cls'] },
    ]);
    const whole = await run(new CountingEncoder(new FakeClock(), true), new FakeClock());
    const scores = (runs: RunResult[]) => runs.map((result) => result.predictions.map((p) => p.scores));
    expect(scores(parted)).toEqual(scores(whole.runs));
  });
});
