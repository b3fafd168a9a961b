import { describe, expect, it } from 'vitest';
import { DatasetError, ExperimentError, HeadDivergedError } from '../../../../src/lib/core/errors.ts';
import { runExperiment, type RunDependencies } from '../../../../src/lib/core/experiment/orchestrator.ts';
import {
  formatSummaryTable,
  loadExperimentDataset,
  runHead,
  runSimilarityPrompt,
} from '../../../../src/lib/core/experiment/run.ts';
import { parseExperiment } from '../../../../src/lib/core/experiment/schema.ts';
import type { Experiment, ExperimentResults, RunResult } from '../../../../src/lib/core/experiment/types.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from './fakes.ts';

function topicsExperiment(overrides: Partial<Experiment> = {}): Experiment {
  return parseExperiment({
    version: 1,
    name: 'topics: prompts vs heads',
    model: 'fake/keywords',
    dataset: { builtin: 'topics' },
    split: { test: 0.3, seed: 42 },
    prompts: [
      { name: 'bare labels', strategy: 'similarity', template: '{label}' },
      {
        name: 'described',
        strategy: 'similarity',
        descriptions: {
          food: ['a recipe for dinner', 'bread, cake and soup'],
          sports: 'the team scored a goal in the match',
          weather: ['rain and storm in the forecast', 'sunny'],
        },
      },
      {
        name: 'query prefix',
        strategy: 'similarity',
        template: 'about {label}',
        textTemplate: 'query: {text}',
      },
    ],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 10, learningRate: 0.01, seed: 1 },
      {
        name: 'mlp, 4 per class',
        layer: -1,
        pooling: 'mean',
        hidden: 8,
        epochs: 10,
        learningRate: 0.01,
        seed: 3,
        batchSize: 16,
        shotsPerClass: 4,
      },
      { name: 'cls', layer: -1, pooling: 'cls', hidden: 0, epochs: 10, learningRate: 0.01, seed: 1 },
    ],
    ...overrides,
  });
}

interface Harness {
  deps: RunDependencies;
  clock: FakeClock;
  encoders: Map<string, KeywordEncoder>;
  encoderRequests: string[];
  trainer: CentroidTrainer;
  progress: string[];
}

/** `sentenceModels`: model ids whose fake encoder claims a sentence embedding of its own. */
function harness(files: Record<string, string> = {}, sentenceModels: readonly string[] = []): Harness {
  const clock = new FakeClock();
  const encoders = new Map<string, KeywordEncoder>();
  const encoderRequests: string[] = [];
  const trainer = new CentroidTrainer(clock);
  const progress: string[] = [];
  const deps: RunDependencies = {
    async encoder(model) {
      encoderRequests.push(model);
      const encoder = new KeywordEncoder(model, clock, 10, sentenceModels.includes(model));
      encoders.set(model, encoder);
      return encoder;
    },
    trainer,
    async readDatasetFile(path) {
      const content = files[path];
      if (content === undefined) throw new Error(`No such file: ${path}`);
      return content;
    },
    now: clock.now,
    onProgress: (message) => progress.push(message),
  };
  return { deps, clock, encoders, encoderRequests, trainer, progress };
}

/** Recomputes accuracy, confusion and macro-F1 from a run's predictions, independently of core/metrics. */
function recompute(
  results: ExperimentResults,
  run: RunResult,
): { accuracy: number; macroF1: number; confusion: number[][] } {
  const truth = new Map(results.split.test.map((example) => [example.id, example.label]));
  const n = results.labels.length;
  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let correct = 0;
  for (const prediction of run.predictions) {
    const actual = truth.get(prediction.id) as string;
    if (actual === prediction.label) correct++;
    (confusion[results.labels.indexOf(actual)] as number[])[results.labels.indexOf(prediction.label)]! += 1;
  }
  const f1s = results.labels.map((_, k) => {
    const tp = confusion[k]?.[k] ?? 0;
    const fp = confusion.reduce((sum, row, i) => sum + (i === k ? 0 : (row[k] ?? 0)), 0);
    const fn = (confusion[k] ?? []).reduce((sum, value, j) => sum + (j === k ? 0 : value), 0);
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  });
  return {
    accuracy: correct / run.predictions.length,
    macroF1: f1s.reduce((sum, value) => sum + value, 0) / n,
    confusion,
  };
}

describe('runExperiment on the built-in topics dataset', () => {
  it('fills every field of the results, with metrics that agree with the predictions', async () => {
    const { deps, trainer } = harness();
    const results = await runExperiment(topicsExperiment(), deps);

    expect(results.version).toBe(1);
    expect(results.name).toBe('topics: prompts vs heads');
    expect(results.model).toBe('fake/keywords');
    expect(results.labels).toEqual(['food', 'sports', 'weather']);
    expect(results.split.seed).toBe(42);
    expect(results.split.testFraction).toBe(0.3);
    expect(results.split.train).toBe(105);
    expect(results.split.test).toHaveLength(45);
    expect(Object.keys(results.split.test[0] ?? {}).sort()).toEqual(['id', 'label', 'text']);
    expect(results.runs.map((run) => [run.name, run.kind])).toEqual([
      ['bare labels', 'prompt'],
      ['described', 'prompt'],
      ['query prefix', 'prompt'],
      ['linear', 'head'],
      ['mlp, 4 per class', 'head'],
      ['cls', 'head'],
    ]);

    const testIds = results.split.test.map((example) => example.id);
    for (const run of results.runs) {
      expect(
        run.predictions.map((prediction) => prediction.id),
        run.name,
      ).toEqual(testIds);
      for (const prediction of run.predictions) {
        expect(Object.keys(prediction.scores)).toEqual(results.labels);
        const best = Math.max(...Object.values(prediction.scores));
        expect(prediction.scores[prediction.label]).toBe(best);
      }
      const expected = recompute(results, run);
      expect(run.confusion, run.name).toEqual(expected.confusion);
      expect(run.accuracy, run.name).toBeCloseTo(expected.accuracy, 12);
      expect(run.macroF1, run.name).toBeCloseTo(expected.macroF1, 12);
      // The keyword encoder separates these topics well: every method should beat chance (1/3) clearly.
      expect(run.accuracy, run.name).toBeGreaterThan(0.6);
    }

    const [bare, described, , linear, fewShot] = results.runs;
    expect(bare?.cost.labeledExamples).toBe(0);
    expect(bare?.cost.trainedParameters).toBe(0);
    expect(described?.cost.trainedParameters).toBe(0);
    expect(linear?.cost.labeledExamples).toBe(105);
    expect(linear?.cost.trainedParameters).toBe(4 * 3 + 3);
    expect(fewShot?.cost.labeledExamples).toBe(12);
    expect(fewShot?.cost.trainedParameters).toBe(4 * 8 + 8 + 8 * 3 + 3);

    expect(trainer.calls.map((call) => [call.examples, call.numClasses, call.options])).toEqual([
      [105, 3, { hidden: 0, epochs: 10, learningRate: 0.01, seed: 1, batchSize: 32 }],
      [12, 3, { hidden: 8, epochs: 10, learningRate: 0.01, seed: 3, batchSize: 16 }],
      [105, 3, { hidden: 0, epochs: 10, learningRate: 0.01, seed: 1, batchSize: 32 }],
    ]);
    expect(trainer.calls[1]?.labelIndices.filter((index) => index === 2)).toHaveLength(4);
    expect(trainer.heads.every((head) => head.disposed)).toBe(true);
  });

  it('embeds each distinct text once per (layer, pooling): prompts and heads share, label texts apart', async () => {
    const { deps, encoders, encoderRequests } = harness();
    await runExperiment(topicsExperiment(), deps);
    expect(encoderRequests).toEqual(['fake/keywords']);
    const calls = encoders.get('fake/keywords')?.calls ?? [];
    const sizes = calls.map((call) => [call.texts.length, call.options.pooling]);
    // This fake has no embedOutputs: one call per output, each distinct text once in it.
    expect(sizes).toEqual([
      [150, 'mean'], // the dataset's texts: test texts of the prompts and the mean heads, train texts
      [150, 'cls'], // the "cls" head: train and test
      [3, 'mean'], // "bare labels" label texts
      [5, 'mean'], // "described" label texts (ensembles flattened)
      [45, 'mean'], // test texts with the "query: " template, by their prompt
      [3, 'mean'], // "query prefix" label texts
    ]);
    for (const call of calls) expect(new Set(call.texts).size).toBe(call.texts.length);
    expect(calls[4]?.texts.every((text) => text.startsWith('query: '))).toBe(true);
    expect(calls[0]?.texts.some((text) => text.startsWith('query: '))).toBe(false);
    expect(calls[2]?.texts).toEqual(['food', 'sports', 'weather']);
  });

  it('compares the model’s own sentence embeddings in similarity prompts when it computes them', async () => {
    const { deps, encoders } = harness({}, ['fake/sentences']);
    const experiment = topicsExperiment({ heads: [] });
    experiment.prompts[1] = {
      ...(experiment.prompts[1] as Experiment['prompts'][number]),
      model: 'fake/sentences',
    };
    await runExperiment(experiment, deps);
    const poolings = (model: string) =>
      new Set(
        (encoders.get(model)?.calls ?? []).map((call) => `${call.options.layer}/${call.options.pooling}`),
      );
    expect(poolings('fake/sentences')).toEqual(new Set(['-1/sentence']));
    expect(poolings('fake/keywords')).toEqual(new Set(['-1/mean']));
  });

  it.each([
    [
      'fake/keywords',
      -1,
      'fake/keywords computes no sentence embedding of its own: choose "mean", "cls" or "last" pooling.',
    ],
    [
      'fake/sentences',
      1,
      'the sentence embedding of fake/sentences comes from its last layer, not layer 1: use layer -1 with it, ' +
        'or "mean", "cls" or "last" pooling for that layer.',
    ],
  ])(
    'refuses a sentence-pooled head %s cannot serve at layer %i before running anything',
    async (model, layer, detail) => {
      const { deps, encoders } = harness({}, ['fake/sentences']);
      const experiment = topicsExperiment({ model });
      experiment.heads[1] = {
        ...(experiment.heads[1] as Experiment['heads'][number]),
        pooling: 'sentence',
        layer,
      };
      const error = await runExperiment(experiment, deps).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ExperimentError);
      expect((error as ExperimentError).path).toBe('heads[1].pooling');
      expect((error as ExperimentError).detail).toBe(detail);
      expect(encoders.get(model)?.calls).toEqual([]);
    },
  );

  it('reads features of the layer each head names, negative layers counting from the end', async () => {
    const { deps, encoders } = harness();
    const experiment = topicsExperiment({ prompts: [] });
    experiment.heads = experiment.heads.map((head, index) => ({ ...head, layer: [0, 2, -2][index] ?? -1 }));
    const results = await runExperiment(experiment, deps);
    expect(results.runs.map((run) => run.name)).toEqual(['linear', 'mlp, 4 per class', 'cls']);
    const layers = (encoders.get('fake/keywords')?.calls ?? []).map((call) => call.options.layer);
    expect(new Set(layers)).toEqual(new Set([0, 2, -2]));
  });

  it('refuses a head layer the model does not have before running any prompt, naming the field and range', async () => {
    const { deps, encoders } = harness();
    const experiment = topicsExperiment();
    experiment.heads[2] = { ...(experiment.heads[2] as Experiment['heads'][number]), layer: 3 };
    const error = await runExperiment(experiment, deps).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ExperimentError);
    expect((error as ExperimentError).path).toBe('heads[2].layer');
    expect((error as ExperimentError).detail).toBe(
      'layer 3 does not exist: fake/keywords has layers 0..2 (0 = embeddings output, 2 = last layer), ' +
        'or -1..-3 counting from the end.',
    );
    expect(encoders.get('fake/keywords')?.calls).toEqual([]);
  });

  it('uses a prompt’s own model when it names one', async () => {
    const { deps, encoderRequests } = harness();
    const experiment = topicsExperiment({ heads: [] });
    experiment.prompts[1] = {
      ...(experiment.prompts[1] as Experiment['prompts'][number]),
      model: 'fake/other',
    };
    await runExperiment(experiment, deps);
    expect(encoderRequests).toEqual(['fake/keywords', 'fake/other']);
  });

  it('gives identical results for the same seeds, and a different split for another split seed', async () => {
    const first = await runExperiment(topicsExperiment(), harness().deps);
    const again = await runExperiment(topicsExperiment(), harness().deps);
    expect(again).toEqual(first);
    const reseeded = await runExperiment(topicsExperiment({ split: { test: 0.3, seed: 7 } }), harness().deps);
    expect(reseeded.split.test.map((example) => example.id)).not.toEqual(
      first.split.test.map((example) => example.id),
    );
  });

  it('measures adaptation and inference with deps.now, charging shared work to every run that needs it', async () => {
    // The fake encoder advances the clock 10 ms per text, training 100 ms, prediction 1 ms per example.
    const { deps } = harness();
    const results = await runExperiment(topicsExperiment(), deps);
    const cost = (name: string) => results.runs.find((run) => run.name === name)?.cost;
    expect(cost('bare labels')).toEqual({
      adaptMs: 30,
      inferMs: 450,
      labeledExamples: 0,
      trainedParameters: 0,
    });
    expect(cost('described')).toMatchObject({ adaptMs: 50, inferMs: 450 });
    expect(cost('linear')).toMatchObject({ adaptMs: 1050 + 100, inferMs: 450 + 45 });
    // 12 of 105 train examples: the share of feature time for those 12, plus training.
    expect(cost('mlp, 4 per class')?.adaptMs).toBeCloseTo(120 + 100, 9);
  });

  it('reports progress', async () => {
    const { deps, progress } = harness();
    await runExperiment(topicsExperiment(), deps);
    expect(progress[0]).toBe('Reading the dataset');
    expect(progress.some((message) => /105 train, 45 test/.test(message))).toBe(true);
    expect(progress.some((message) => message.startsWith('Head "cls": accuracy'))).toBe(true);
  });

  it('stops when the signal is aborted', async () => {
    const { deps } = harness();
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the user'));
    await expect(runExperiment(topicsExperiment(), { ...deps, signal: controller.signal })).rejects.toThrow(
      'cancelled by the user',
    );
  });
});

describe('runExperiment with a dataset file', () => {
  const csv = [
    'body;category',
    'Rain and storm in the forecast;weather',
    'Sunny forecast with wind;weather',
    'Snow and frost tonight;weather',
    'The team scored a goal;sports',
    'Coach praises the players;sports',
    'Fans cheer the league final;sports',
  ].join('\r\n');
  const fileExperiment = (columns: { text: string; label: string }): Experiment =>
    parseExperiment({
      version: 1,
      name: 'file',
      model: 'fake/keywords',
      dataset: { path: 'data/mini.csv', ...columns },
      split: { test: 0.5, seed: 1 },
      prompts: [{ name: 'p', strategy: 'similarity', template: '{label}' }],
    });

  it('reads the file through deps.readDatasetFile and scores on it', async () => {
    const results = await runExperiment(
      fileExperiment({ text: 'body', label: 'category' }),
      harness({ 'data/mini.csv': csv }).deps,
    );
    expect(results.labels).toEqual(['sports', 'weather']);
    expect(results.split.test).toHaveLength(4);
    expect(results.runs[0]?.accuracy).toBe(1);
  });

  it('passes on dataset errors, e.g. a wrong column name listing the real ones', async () => {
    const run = runExperiment(
      fileExperiment({ text: 'text', label: 'category' }),
      harness({ 'data/mini.csv': csv }).deps,
    );
    await expect(run).rejects.toThrow(DatasetError);
    await expect(run).rejects.toThrow('choose one of "body", "category"');
  });

  it('names descriptions that do not match the dataset labels by path', async () => {
    const experiment = fileExperiment({ text: 'body', label: 'category' });
    experiment.prompts = [
      {
        name: 'd',
        strategy: 'similarity',
        descriptions: { sports: 'a match', weather: 'rain', food: 'a meal' },
      },
    ];
    const error = await runExperiment(experiment, harness({ 'data/mini.csv': csv }).deps).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ExperimentError);
    expect((error as ExperimentError).path).toBe('prompts[0].descriptions.food');
  });
});

describe('loadExperimentDataset', () => {
  it('names a file dataset after its file and a built-in after its title', async () => {
    const read = async (): Promise<string> =>
      '[{"t":"a","l":"x"},{"t":"b","l":"x"},{"t":"c","l":"y"},{"t":"d","l":"y"}]';
    const fromFile = await loadExperimentDataset({ path: 'dir/sub/data.json', text: 't', label: 'l' }, read);
    expect(fromFile.dataset.name).toBe('data.json');
    expect(fromFile.dataset.examples.map((example) => example.id)).toEqual(['r1', 'r2', 'r3', 'r4']);
    const builtin = await loadExperimentDataset({ builtin: 'topics' }, read);
    expect(builtin.dataset.name).toBe('Topics: food, sports, weather');
    expect(builtin.report.examples).toBe(150);
  });

  it('uses the column names an experiment gives for a built-in dataset', async () => {
    const read = async (): Promise<string> => '';
    await expect(loadExperimentDataset({ builtin: 'topics', text: 'sentence' }, read)).rejects.toThrow(
      'The text column "sentence" is not in the file',
    );
  });
});

describe('building blocks', () => {
  const labels = ['a', 'b'];
  const test = [
    { id: 'r1', text: 'x', label: 'a' },
    { id: 'r2', text: 'y', label: 'b' },
  ];
  const v = (...values: number[]): Float32Array => Float32Array.from(values);

  it('runSimilarityPrompt averages ensemble vectors and returns them per label', async () => {
    const vectors: Record<string, Float32Array> = { a1: v(1, 0), a2: v(0.6, 0.2), b1: v(0, 1) };
    const outcome = await runSimilarityPrompt({
      prompt: { name: 'p', strategy: 'similarity', descriptions: { a: ['a1', 'a2'], b: 'b1' } },
      labels,
      test,
      testVectors: [v(1, 0.05), v(0.1, 1)],
      testEmbeddingMs: 7,
      embed: async (texts) => texts.map((text) => vectors[text] as Float32Array),
      now: () => 0,
    });
    expect([...(outcome.labelVectors[0] ?? [])].map((value) => Number(value.toFixed(6)))).toEqual([0.8, 0.1]);
    expect(outcome.run.accuracy).toBe(1);
    expect(outcome.run.cost.inferMs).toBe(7);
  });

  it('runHead refuses features that do not line up with the examples', async () => {
    const clock = new FakeClock();
    await expect(
      runHead({
        spec: { name: 'h', layer: -1, pooling: 'mean', hidden: 0, epochs: 1, learningRate: 0.1, seed: 1 },
        labels,
        train: test,
        trainFeatures: [v(1, 0)],
        test,
        testFeatures: [v(1, 0), v(0, 1)],
        trainer: new CentroidTrainer(clock),
        now: clock.now,
      }),
    ).rejects.toThrow(/1 for 2 train/);
  });

  it('runHead returns the trained head for the caller to keep, export or dispose', async () => {
    const clock = new FakeClock();
    const trainer = new CentroidTrainer(clock);
    const outcome = await runHead({
      spec: { name: 'h', layer: -1, pooling: 'mean', hidden: 0, epochs: 1, learningRate: 0.1, seed: 1 },
      labels,
      train: test,
      trainFeatures: [v(1, 0), v(0, 1)],
      test,
      testFeatures: [v(0.9, 0.1), v(0.2, 0.7)],
      trainer,
      now: clock.now,
    });
    expect(outcome.run.accuracy).toBe(1);
    expect(outcome.trainedOn).toEqual(test);
    expect(outcome.head).toBe(trainer.heads[0]);
    expect(trainer.heads[0]?.disposed).toBe(false);
  });
});

describe('formatSummaryTable', () => {
  it('prints one aligned row per run with the cost columns', async () => {
    const results = await runExperiment(topicsExperiment(), harness().deps);
    const table = formatSummaryTable(results);
    const lines = table.split('\n');
    expect(lines).toHaveLength(2 + results.runs.length);
    expect(lines[0]).toMatch(
      /^run\s+kind\s+accuracy\s+macro-F1\s+adapt ms\s+infer ms\s+labeled\s+trained params$/,
    );
    expect(lines[2]).toMatch(/^bare labels\s+prompt\s+\d\.\d{3}\s+\d\.\d{3}\s+30\s+450\s+0\s+0$/);
    expect(lines[5]).toMatch(/^linear\s+head\s+\d\.\d{3}\s+\d\.\d{3}\s+1150\s+495\s+105\s+15$/);
    // Right-aligned numbers end in the same column on every line.
    const ends = lines.filter((_, index) => index !== 1).map((line) => line.length);
    expect(new Set(ends).size).toBe(1);
  });
});

describe('diverged heads', () => {
  it('refuses non-finite outputs instead of scoring them, naming the head and what to change', async () => {
    const { deps, trainer } = harness();
    const nanTrainer: RunDependencies['trainer'] = {
      async train(...args) {
        const head = await trainer.train(...args);
        return {
          parameterCount: head.parameterCount,
          predict: async (features) => (await head.predict(features)).map((row) => row.map(() => Number.NaN)),
          toJSON: () => head.toJSON(),
          dispose: () => head.dispose(),
        };
      },
    };
    await expect(runExperiment(topicsExperiment(), { ...deps, trainer: nanTrainer })).rejects.toThrow(
      /^Head "linear" diverged: its predicted probabilities became NaN or infinite with learning rate 0\.01\. Lower "learningRate"/,
    );
  });

  it("puts the head's name into the trainer's divergence error", async () => {
    const { deps } = harness();
    const diverging: RunDependencies['trainer'] = {
      train: async (_features, _labels, _classes, options) => {
        throw new HeadDivergedError('the loss at epoch 1', options.learningRate);
      },
    };
    await expect(runExperiment(topicsExperiment(), { ...deps, trainer: diverging })).rejects.toThrow(
      /^Head "linear" diverged: the loss at epoch 1 became NaN/,
    );
  });
});
