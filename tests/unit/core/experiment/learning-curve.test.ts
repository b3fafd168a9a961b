/**
 * The learning curve on its own, with a fake encoder and a scripted trainer whose accuracy is set per (size,
 * seed): the crossover arithmetic, capping, seeds, disposal, cancel, and that the curve costs no encoder call
 * beyond one feature extraction.
 */
import { describe, expect, it } from 'vitest';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import {
  bestPromptRun,
  crossoverOf,
  crossoverSentence,
  formatLearningCurve,
  runLearningCurve,
  summarizeCurve,
  type LearningCurvePorts,
} from '../../../../src/lib/core/experiment/learning-curve.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type FeatureCache,
  type PreparedData,
  type ProgressEvent,
} from '../../../../src/lib/core/experiment/orchestrator.ts';
import type {
  Experiment,
  HeadSpec,
  LearningCurveResult,
  RunResult,
} from '../../../../src/lib/core/experiment/types.ts';
import type {
  HeadTrainer,
  HeadTrainingOptions,
  SerializedHead,
  TrainedHead,
} from '../../../../src/lib/core/ports.ts';
import { FakeClock, KeywordEncoder } from './fakes.ts';

const PER_CLASS = 20;
const LABELS = ['a', 'b'];

/** 20 examples per class, half held out: 10 train and 10 test per class, so accuracies are multiples of 0.05. */
const data: PreparedData = prepareData(
  buildDatasetFromRef({
    name: 'two.csv',
    rows: LABELS.flatMap((label) =>
      Array.from({ length: PER_CLASS }, (_, index) => ({ text: `${label} ${index}`, label })),
    ),
    text: 'text',
    label: 'label',
  }).dataset,
  { test: 0.5, seed: 7 },
);
const TEST_SIZE = data.split.test.length;

const HEAD: HeadSpec = {
  name: 'linear',
  layer: -1,
  pooling: 'mean',
  hidden: 0,
  epochs: 5,
  learningRate: 0.1,
  seed: 9,
};

/** Test accuracy the scripted head reaches, by examples per class actually trained on, then by seed (1..3). */
const SCRIPT = new Map<number, number[]>([
  [1, [0.5, 0.6, 0.7]], // mean 0.6
  [2, [0.6, 0.7, 0.8]], // mean 0.7: reaches a prompt at 0.7 despite floating point
  [4, [0.9, 0.9, 0.9]],
  [10, [1, 1, 1]], // 16 per class asked, capped at the 10 each class has
]);

interface TrainCall {
  perClass: number[];
  options: HeadTrainingOptions;
  examples: number;
}

/** Trains nothing: its head gets exactly the scripted share of the test examples right (the first ones). */
class ScriptedTrainer implements HeadTrainer {
  readonly calls: TrainCall[] = [];
  readonly heads: { disposed: boolean }[] = [];

  constructor(private readonly onTrain: () => void = () => undefined) {}

  async train(
    features: Float32Array[],
    labelIndices: number[],
    numClasses: number,
    options: HeadTrainingOptions,
    _onEpoch?: unknown,
    signal?: AbortSignal,
  ): Promise<TrainedHead> {
    signal?.throwIfAborted();
    this.onTrain();
    const perClass = Array.from(
      { length: numClasses },
      (_, k) => labelIndices.filter((index) => index === k).length,
    );
    this.calls.push({ perClass, options, examples: features.length });
    // The head's own run (seed 9, all of train) is not part of any curve: it gets everything right.
    const accuracy = options.seed === HEAD.seed ? 1 : SCRIPT.get(perClass[0] ?? 0)?.[options.seed - 1];
    if (accuracy === undefined)
      throw new Error(`no script for ${perClass[0]} per class, seed ${options.seed}`);
    const right = Math.round(accuracy * TEST_SIZE);
    const truth = data.split.test.map((example) => LABELS.indexOf(example.label));
    const state = { disposed: false };
    this.heads.push(state);
    return {
      parameterCount: 6,
      predict: async (test) =>
        test.map((_, i) => {
          const label = i < right ? (truth[i] ?? 0) : 1 - (truth[i] ?? 0);
          return LABELS.map((__, k) => (k === label ? 1 : 0));
        }),
      toJSON: (): SerializedHead => ({ inputSize: 4, hidden: 0, numClasses, layers: [] }),
      dispose: () => {
        state.disposed = true;
      },
    };
  }
}

function promptRun(name: string, accuracy: number): RunResult {
  return {
    name,
    kind: 'prompt',
    accuracy,
    macroF1: accuracy,
    confusion: [],
    predictions: [],
    cost: { adaptMs: 0, inferMs: 0, labeledExamples: 0, trainedParameters: 0 },
  };
}

function experiment(
  learningCurve: Experiment['learningCurve'] = { shotsPerClass: [1, 2, 4, 16], seeds: 3 },
): Pick<Experiment, 'model' | 'prompts' | 'heads' | 'learningCurve'> {
  return { model: 'fake/m', prompts: [], heads: [HEAD], ...(learningCurve ? { learningCurve } : {}) };
}

interface Harness {
  ports: LearningCurvePorts;
  encoder: KeywordEncoder;
  trainer: ScriptedTrainer;
  events: ProgressEvent[];
  encoderRequests: number;
  releases: number;
}

function harness(
  options: { cache?: FeatureCache; signal?: AbortSignal; onTrain?: () => void } = {},
): Harness {
  const clock = new FakeClock();
  const encoder = new KeywordEncoder('fake/m', clock);
  const trainer = new ScriptedTrainer(options.onTrain);
  const events: ProgressEvent[] = [];
  const result: Harness = {
    encoder,
    trainer,
    events,
    encoderRequests: 0,
    releases: 0,
    ports: {
      encoders: {
        encoder: async () => {
          result.encoderRequests++;
          return encoder;
        },
        release: async () => {
          result.releases++;
        },
      },
      trainer,
      cache: options.cache ?? createFeatureCache(),
      now: clock.now,
      onProgress: (event) => events.push(event),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  };
  return result;
}

describe('runLearningCurve', () => {
  it('trains every size and seed, and finds the smallest size whose mean reaches the best prompt', async () => {
    const h = harness();
    const prompts = [promptRun('weak', 0.55), promptRun('best', 0.7), promptRun('tied', 0.7)];
    const result = await runLearningCurve(experiment(), data, prompts, h.ports);
    expect(result.head).toBe('linear');
    expect(result.shotsPerClass).toEqual([1, 2, 4, 16]);
    expect(result.seeds).toBe(3);
    expect(result.points.map((p) => [p.shots, p.seed, p.accuracy])).toEqual([
      [1, 1, 0.5],
      [1, 2, 0.6],
      [1, 3, 0.7],
      [2, 1, 0.6],
      [2, 2, 0.7],
      [2, 3, 0.8],
      [4, 1, 0.9],
      [4, 2, 0.9],
      [4, 3, 0.9],
      [16, 1, 1],
      [16, 2, 1],
      [16, 3, 1],
    ]);
    expect(result.crossover).toBe(2);
    expect(result.bestPrompt).toEqual({ name: 'best', accuracy: 0.7 });
    // Without feature times, a point's train time is the trainer's own: the same for every point here.
    expect(new Set(result.points.map((p) => p.trainMs))).toEqual(new Set([0]));
  });

  it('seeds both the sample and the trainer with 1..n; a larger size grows the same seed’s sample', async () => {
    const h = harness();
    await runLearningCurve(experiment({ shotsPerClass: [1, 2], seeds: 3 }), data, [], h.ports);
    expect(h.trainer.calls.map((call) => call.options.seed)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(h.trainer.calls.map((call) => call.options.hidden)).toEqual(new Array(6).fill(0));
    expect(h.trainer.calls.map((call) => call.perClass)).toEqual([
      ...new Array(3).fill([1, 1]),
      ...new Array(3).fill([2, 2]),
    ]);
  });

  it('caps a size above what a class has, says so, and trains on all of that class', async () => {
    const h = harness();
    const result = await runLearningCurve(experiment(), data, [promptRun('p', 0.95)], h.ports);
    expect(h.trainer.calls.slice(-3).map((call) => call.perClass)).toEqual(new Array(3).fill([10, 10]));
    expect(result.capped).toEqual([
      { shots: 16, label: 'a', available: 10 },
      { shots: 16, label: 'b', available: 10 },
    ]);
    expect(result.crossover).toBe(16);
    expect(formatLearningCurve(result)).toMatch(
      /capped: class "a" has 10 training examples, so all of them were used for 16 per class/,
    );
  });

  it('extracts features once for the whole curve, and not at all when a head run already did', async () => {
    const cache = createFeatureCache();
    const first = harness({ cache });
    await runLearningCurve(experiment(), data, [], first.ports);
    expect(first.encoder.calls.map((call) => call.texts.length)).toEqual([20, 20]);
    expect(first.encoderRequests).toBe(1);
    expect(first.releases).toBe(1);

    const again = harness({ cache });
    await runLearningCurve(experiment(), data, [], again.ports);
    expect(again.encoder.calls).toEqual([]);
    expect(again.encoderRequests).toBe(0);

    // The features of the head's own run (orchestrator, same cache) serve the curve too.
    const shared = createFeatureCache();
    const run = harness({ cache: shared });
    await runParts(
      { ...experiment(), prompts: [] },
      data,
      { heads: [0] },
      { ...run.ports, trainer: run.trainer },
    );
    // Train and test texts in one shared pass.
    expect(run.encoder.calls.map((call) => call.texts.length)).toEqual([40]);
    const curve = harness({ cache: shared });
    await runLearningCurve(experiment(), data, [], curve.ports);
    expect(curve.encoder.calls).toEqual([]);
  });

  it('disposes of every trained head', async () => {
    const h = harness();
    await runLearningCurve(experiment(), data, [], h.ports);
    expect(h.trainer.heads).toHaveLength(12);
    expect(h.trainer.heads.every((head) => head.disposed)).toBe(true);
  });

  it('gives no crossover without a prompt, or when the head never reaches the best prompt', async () => {
    const none = await runLearningCurve(experiment(), data, [], harness().ports);
    expect(none.crossover).toBeNull();
    expect(none.bestPrompt).toBeUndefined();
    expect(crossoverSentence(none)).toMatch(/no prompt ran/);
    const heads = [{ ...promptRun('a head', 0.1), kind: 'head' as const }];
    const unreached = await runLearningCurve(
      experiment({ shotsPerClass: [1, 2], seeds: 3 }),
      data,
      [...heads, promptRun('strong', 0.75)],
      harness().ports,
    );
    expect(unreached.crossover).toBeNull();
    expect(crossoverSentence(unreached)).toBe(
      'Learning curve: the head "linear" does not reach the best prompt ("strong", accuracy 0.750) with up to ' +
        '2 labeled examples per class (the mean of 3 seeds): here the prompt wins.',
    );
  });

  it('trains the head the curve names, and reports progress on it', async () => {
    const h = harness();
    const other: HeadSpec = { ...HEAD, name: 'wide', hidden: 4 };
    const result = await runLearningCurve(
      { ...experiment({ shotsPerClass: [1], seeds: 1, head: 'wide' }), heads: [HEAD, other] },
      data,
      [promptRun('p', 0.5)],
      h.ports,
    );
    expect(result.head).toBe('wide');
    expect(h.trainer.calls.map((call) => call.options.hidden)).toEqual([4]);
    expect(h.events.every((event) => event.part?.name === 'wide' && event.part.index === 1)).toBe(true);
    expect(h.events.map((event) => event.stage)).toEqual(['features', 'training', 'finished']);
    expect(h.events.at(-1)?.message).toBe(
      'Learning curve: the head "wide" reaches the best prompt ("p", accuracy 0.500) from 1 labeled example ' +
        'per class (one seed).',
    );
  });

  it('stops when cancelled, training nothing more', async () => {
    const controller = new AbortController();
    let trained = 0;
    const h = harness({
      signal: controller.signal,
      onTrain: () => {
        trained++;
        if (trained === 2) controller.abort(new Error('stopped by the user'));
      },
    });
    await expect(runLearningCurve(experiment(), data, [], h.ports)).rejects.toThrow('stopped by the user');
    expect(h.trainer.calls).toHaveLength(2);
    expect(h.trainer.heads.every((head) => head.disposed)).toBe(true);
  });

  it('reports a failed feature extraction, not a failing release, and trains nothing', async () => {
    const h = harness();
    h.encoder.embed = async () => {
      throw new Error('the model broke');
    };
    h.ports.encoders.release = async () => {
      h.releases++;
      throw new Error('release failed too');
    };
    await expect(runLearningCurve(experiment(), data, [], h.ports)).rejects.toThrow('the model broke');
    expect(h.releases).toBe(1);
    expect(h.trainer.calls).toEqual([]);
  });

  it('refuses an experiment without a curve or with a head it does not have', async () => {
    await expect(runLearningCurve(experiment(null as never), data, [], harness().ports)).rejects.toThrow(
      /asks for no learning curve/,
    );
    await expect(
      runLearningCurve(experiment({ shotsPerClass: [1], seeds: 1, head: 'gone' }), data, [], harness().ports),
    ).rejects.toThrow(/the head "gone", which the experiment does not have/);
  });
});

describe('curve arithmetic', () => {
  const result: Pick<LearningCurveResult, 'shotsPerClass' | 'points'> = {
    shotsPerClass: [1, 4],
    points: [
      { shots: 1, seed: 1, accuracy: 0.5, macroF1: 0.4, trainMs: 1 },
      { shots: 1, seed: 2, accuracy: 0.7, macroF1: 0.6, trainMs: 1 },
      { shots: 4, seed: 1, accuracy: 0.9, macroF1: 0.9, trainMs: 1 },
      { shots: 4, seed: 2, accuracy: 0.9, macroF1: 0.9, trainMs: 1 },
    ],
  };

  it('summarises each size by mean and sample standard deviation over seeds', () => {
    const [one, four] = summarizeCurve(result);
    expect(one?.accuracy).toBeCloseTo(0.6, 12);
    expect(one?.accuracySd).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(one?.macroF1).toBeCloseTo(0.5, 12);
    expect(four).toMatchObject({ shots: 4, accuracySd: 0, seeds: 2 });
  });

  it('crosses at the first size whose mean reaches the target', () => {
    expect(crossoverOf(result, 0.6)).toBe(1);
    expect(crossoverOf(result, 0.61)).toBe(4);
    expect(crossoverOf(result, 0.95)).toBeNull();
    expect(crossoverOf(result, undefined)).toBeNull();
  });

  it('takes the most accurate prompt (the first on a tie), never a head', () => {
    const head = { ...promptRun('head', 1), kind: 'head' as const };
    expect(bestPromptRun([head, promptRun('x', 0.6), promptRun('y', 0.8), promptRun('z', 0.8)])?.name).toBe(
      'y',
    );
    expect(bestPromptRun([head])).toBeUndefined();
  });
});
