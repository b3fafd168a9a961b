/**
 * The orchestrator on its own: the plan (models, execution order, shared vectors), and `runParts` used the way
 * the browser uses it (one part at a time, a cache kept between calls, one model loaded at a time) with fake
 * encoders and a centroid "head".
 */
import { describe, expect, it } from 'vitest';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import {
  createFeatureCache,
  planExperiment,
  prepareData,
  runParts,
  type EncoderProvider,
  type ExperimentParts,
  type ExperimentPorts,
  type FeatureCache,
  type PreparedData,
  type ProgressEvent,
  type RunPart,
  type RunSelection,
} from '../../../../src/lib/core/experiment/orchestrator.ts';
import type { Experiment, RunResult } from '../../../../src/lib/core/experiment/types.ts';
import type { Encoder } from '../../../../src/lib/core/ports.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from './fakes.ts';

const HOME = 'fake/home';
const OTHER = 'fake/other';

function parts(): ExperimentParts {
  return {
    model: HOME,
    prompts: [
      { name: 'other first', strategy: 'similarity', template: '{label}', model: OTHER },
      { name: 'bare', strategy: 'similarity', template: '{label}' },
      { name: 'query', strategy: 'similarity', template: 'about {label}', textTemplate: 'query: {text}' },
      { name: 'same template', strategy: 'similarity', template: 'a text about {label}' },
      { name: 'other again', strategy: 'similarity', template: 'about {label}', model: OTHER },
    ],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.1, seed: 1 },
      { name: 'cls', layer: 1, pooling: 'cls', hidden: 0, epochs: 5, learningRate: 0.1, seed: 1 },
      { name: 'linear again', layer: -1, pooling: 'mean', hidden: 4, epochs: 5, learningRate: 0.1, seed: 2 },
    ],
  };
}

const data: PreparedData = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, {
  test: 0.3,
  seed: 42,
});

/**
 * Like the browser's model worker: one model loaded at a time. An encoder handed out earlier refuses to embed
 * once another model replaced it, so a plan that went back to an earlier model would fail here.
 */
class OneModelAtATime implements EncoderProvider {
  loaded = HOME;
  readonly loads: string[] = [];
  releases = 0;
  readonly encoders = new Map<string, KeywordEncoder>();

  constructor(
    private readonly clock: FakeClock,
    private readonly failing = new Set<string>(),
  ) {}

  async encoder(model: string): Promise<Encoder> {
    if (model !== this.loaded) {
      this.loads.push(model);
      this.loaded = model;
    }
    let encoder = this.encoders.get(model);
    if (encoder === undefined) {
      encoder = new KeywordEncoder(model, this.clock);
      this.encoders.set(model, encoder);
    }
    const inner = encoder;
    const failing = this.failing;
    return {
      ...inner,
      modelId: model,
      numLayers: inner.numLayers,
      embed: async (texts, options) => {
        if (this.loaded !== model) throw new Error(`${model} was replaced by ${this.loaded}`);
        if (failing.has(model)) {
          failing.delete(model);
          throw new Error(`${model} failed once`);
        }
        return inner.embed(texts, options);
      },
      countTokens: (texts) => inner.countTokens(texts),
      dispose: () => inner.dispose(),
    };
  }

  async release(): Promise<void> {
    this.releases++;
    if (this.loaded !== HOME) {
      this.loads.push(HOME);
      this.loaded = HOME;
    }
  }
}

interface Harness {
  ports: ExperimentPorts;
  provider: OneModelAtATime;
  cache: FeatureCache;
  finished: { run: RunResult; part: RunPart }[];
  events: ProgressEvent[];
}

function harness(options: { cache?: FeatureCache; failing?: string[]; signal?: AbortSignal } = {}): Harness {
  const clock = new FakeClock();
  const provider = new OneModelAtATime(clock, new Set(options.failing));
  const cache = options.cache ?? createFeatureCache();
  const finished: Harness['finished'] = [];
  const events: ProgressEvent[] = [];
  return {
    provider,
    cache,
    finished,
    events,
    ports: {
      encoders: provider,
      trainer: new CentroidTrainer(clock),
      cache,
      now: clock.now,
      onProgress: (event) => events.push(event),
      onRun: (run, part) => finished.push({ run, part }),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  };
}

/** Embedding calls per model: [number of texts, pooling]. */
function embedCalls(provider: OneModelAtATime, model: string): [number, string][] {
  return (provider.encoders.get(model)?.calls ?? []).map((call) => [call.texts.length, call.options.pooling]);
}

describe('planExperiment', () => {
  const cases: {
    what: string;
    selection: RunSelection;
    models: string[];
    order: string[];
    vectors: number;
  }[] = [
    {
      what: 'everything: the experiment model first, each other model in one stretch',
      selection: {},
      models: [HOME, OTHER],
      order: [
        'bare',
        'query',
        'same template',
        'linear',
        'cls',
        'linear again',
        'other first',
        'other again',
      ],
      // test texts: home plain, home "query:", other plain; head features: (-1, mean), (1, cls)
      vectors: 5,
    },
    {
      what: 'one prompt on another model',
      selection: { prompts: [4], heads: [] },
      models: [OTHER],
      order: ['other again'],
      vectors: 1,
    },
    {
      what: 'one head',
      selection: { prompts: [], heads: [1] },
      models: [HOME],
      order: ['cls'],
      vectors: 1,
    },
    {
      what: 'a selection in any order, with repeats',
      selection: { prompts: [3, 1, 3], heads: [2, 0] },
      models: [HOME],
      order: ['bare', 'same template', 'linear', 'linear again'],
      vectors: 2,
    },
    { what: 'nothing', selection: { prompts: [], heads: [] }, models: [], order: [], vectors: 0 },
  ];
  for (const { what, selection, models, order, vectors } of cases) {
    it(what, () => {
      const plan = planExperiment(parts(), selection);
      expect(plan.models).toEqual(models);
      expect(plan.runs.map((run) => run.name)).toEqual(order);
      expect(plan.vectors).toHaveLength(vectors);
    });
  }

  it('gives prompts on the same model and text template one embedding key, and heads one per layer and pooling', () => {
    const plan = planExperiment(parts());
    const key = (name: string) => {
      const run = plan.runs.find((candidate) => candidate.name === name);
      return run?.kind === 'prompt' ? run.embeddingKey : run?.featureKey;
    };
    expect(key('bare')).toBe(key('same template'));
    expect(key('bare')).not.toBe(key('query'));
    expect(key('bare')).not.toBe(key('other first'));
    expect(key('linear')).toBe(key('linear again'));
    expect(key('linear')).not.toBe(key('cls'));
  });

  it('refuses a selection naming a prompt or head the experiment does not have', () => {
    expect(() => planExperiment(parts(), { prompts: [5] })).toThrow(
      new RangeError('There is no prompts[5]: the experiment has 5.'),
    );
    expect(() => planExperiment(parts(), { heads: [-1] })).toThrow('There is no heads[-1]');
  });
});

describe('runParts', () => {
  it('runs everything with one switch to the other model and back, reporting runs in experiment order', async () => {
    const { ports, provider, finished } = harness();
    const runs = await runParts(parts(), data, {}, ports);
    expect(runs.map((run) => run.name)).toEqual([
      'other first',
      'bare',
      'query',
      'same template',
      'other again',
      'linear',
      'cls',
      'linear again',
    ]);
    expect(finished.map(({ part }) => `${part.kind}[${part.index}]`)).toEqual([
      'prompt[1]',
      'prompt[2]',
      'prompt[3]',
      'head[0]',
      'head[1]',
      'head[2]',
      'prompt[0]',
      'prompt[4]',
    ]);
    expect(provider.loads).toEqual([OTHER, HOME]);
    expect(provider.releases).toBe(1);
    expect(embedCalls(provider, OTHER)).toEqual([
      [45, 'mean'], // test texts, shared by both prompts on the other model
      [3, 'mean'],
      [3, 'mean'],
    ]);
  });

  it('keeps vectors in the cache between calls, as the browser runs one part at a time', async () => {
    const cache = createFeatureCache();
    const first = harness({ cache });
    await runParts(parts(), data, { prompts: [1], heads: [] }, first.ports);
    expect(embedCalls(first.provider, HOME)).toEqual([
      [45, 'mean'],
      [3, 'mean'],
    ]);

    const second = harness({ cache });
    const [run] = await runParts(parts(), data, { prompts: [3], heads: [] }, second.ports);
    // Only the label texts: the test texts of this model and text template were cached by the first call.
    expect(embedCalls(second.provider, HOME)).toEqual([[3, 'mean']]);
    expect(run?.cost.inferMs).toBe(450);

    const third = harness({ cache });
    await runParts(parts(), data, { prompts: [], heads: [0] }, third.ports);
    await runParts(parts(), data, { prompts: [], heads: [2] }, third.ports);
    // Train and test texts in one pass before the first head; the second finds them cached.
    expect(embedCalls(third.provider, HOME)).toEqual([[150, 'mean']]);
    expect(
      third.events
        .filter((event) => event.stage === 'features' || event.stage === 'embedding')
        .map((event) => event.message),
    ).toEqual([
      'Embedding 150 distinct texts once (layer 2 mean) for 1 head',
      'Using cached features (layer -1, mean pooling)',
      'Using cached features (layer -1, mean pooling)',
    ]);

    cache.clear();
    const fourth = harness({ cache });
    await runParts(parts(), data, { prompts: [3], heads: [] }, fourth.ports);
    expect(embedCalls(fourth.provider, HOME)).toEqual([
      [45, 'mean'],
      [3, 'mean'],
    ]);
  });

  it('forgets a failed computation, so the next run computes it again', async () => {
    const cache = createFeatureCache();
    const failing = harness({ cache, failing: [HOME] });
    await expect(runParts(parts(), data, { prompts: [1], heads: [] }, failing.ports)).rejects.toThrow(
      'fake/home failed once',
    );
    expect(failing.finished).toEqual([]);
    const retry = harness({ cache });
    const runs = await runParts(parts(), data, { prompts: [1], heads: [] }, retry.ports);
    expect(runs).toHaveLength(1);
    expect(embedCalls(retry.provider, HOME)[0]).toEqual([45, 'mean']);
  });

  it('loads the experiment model again after a failure on another model, keeping the runs done before it', async () => {
    const { ports, provider, finished } = harness({ failing: [OTHER] });
    await expect(runParts(parts(), data, { heads: [] }, ports)).rejects.toThrow('fake/other failed once');
    expect(finished.map(({ run }) => run.name)).toEqual(['bare', 'query', 'same template']);
    expect(provider.releases).toBe(1);
    expect(provider.loaded).toBe(HOME);
  });

  it('passes the release error on when the run itself succeeded', async () => {
    const { ports } = harness();
    const encoders: EncoderProvider = {
      encoder: (model) => ports.encoders.encoder(model),
      release: async () => {
        throw new Error('could not load fake/home again');
      },
    };
    await expect(
      runParts(parts(), data, { prompts: [0], heads: [] }, { ...ports, encoders }),
    ).rejects.toThrow('could not load fake/home again');
  });

  it('checks every selected head layer before any work, and stops when the signal aborts', async () => {
    const experiment = parts();
    experiment.heads[1] = { ...(experiment.heads[1] as Experiment['heads'][number]), layer: 5 };
    const bad = harness();
    await expect(runParts(experiment, data, {}, bad.ports)).rejects.toThrow(
      /^heads\[1\]\.layer: layer 5 does not exist/,
    );
    expect(bad.provider.encoders.get(HOME)?.calls).toEqual([]);

    const controller = new AbortController();
    const aborted = harness({ signal: controller.signal });
    const run = runParts(
      parts(),
      data,
      {},
      {
        ...aborted.ports,
        onRun: () => controller.abort(new Error('stopped by the user')),
      },
    );
    await expect(run).rejects.toThrow('stopped by the user');
    expect(aborted.provider.releases).toBe(1);
  });
});
