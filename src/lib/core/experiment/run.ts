/**
 * @file Runs an experiment end to end: load the dataset, split it once, score every prompt variation and
 * every trained head on the same test examples. The CLI calls `runExperiment`; the browser workers call the
 * building blocks (`loadExperimentDataset`, `runSimilarityPrompt`, `runHead`) step by step, so both produce
 * the same numbers from the same math.
 */
import { buildDataset, type DatasetLimits, type DatasetReport } from '../dataset/build.ts';
import { decodeDatasetBytes } from '../dataset/decode.ts';
import { formatFromFileName, parseTable } from '../dataset/parse.ts';
import { buildDatasetFromRef } from '../dataset/ref.ts';
import type { Dataset, LabeledExample } from '../dataset/types.ts';
import { evaluate } from '../metrics/metrics.ts';
import type { EmbedOptions, EpochReport, Encoder, HeadTrainer, TrainedHead } from '../ports.ts';
import {
  applyTextTemplate,
  argmax,
  classifyBySimilarity,
  labelTexts,
  meanVector,
} from '../prompts/similarity.ts';
import { sampleShotsPerClass, stratifiedSplit } from '../split/split.ts';
import {
  EXPERIMENT_VERSION,
  type DatasetRef,
  type Experiment,
  type ExperimentResults,
  type HeadSpec,
  type Prediction,
  type RunResult,
  type SimilarityPrompt,
} from './types.ts';
import { checkHeadLayer } from './schema.ts';
import { HEAD_SETTINGS } from './settings.ts';

/** Similarity prompts compare sentence embeddings: the last layer, mean-pooled (as sentence-transformers do). */
export const SIMILARITY_EMBEDDING: EmbedOptions = { layer: -1, pooling: 'mean' };
/** Mini-batch size of head training when the head spec does not set one. */
export const DEFAULT_HEAD_BATCH_SIZE = HEAD_SETTINGS.batchSize.whenMissing;

export interface RunDependencies {
  /** Encoder for a model reference exactly as written in the experiment (cached here: one call per model). */
  encoder(model: string): Promise<Encoder>;
  trainer: HeadTrainer;
  /**
   * Reads a dataset file named by dataset.path (the CLI resolves it relative to the experiment file). Bytes are
   * decoded and checked like an upload (UTF-8 or UTF-16 with a byte-order mark, no binary data).
   */
  readDatasetFile(path: string): Promise<string | Uint8Array>;
  /** Milliseconds from any fixed origin, e.g. `performance.now()`. */
  now(): number;
  onProgress?(message: string): void;
  /** Stops the run between steps (and head training) with the signal's reason. */
  signal?: AbortSignal;
}

/** The last path segment, used as a dataset's display name. */
function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * Reads and validates the dataset an experiment names: a file through `readFile` (text, or bytes, which are
 * checked to be UTF-8 like an upload), a built-in dataset, or rows carried inline.
 * @throws DatasetError when the file cannot be parsed or is not usable labeled data.
 */
export async function loadExperimentDataset(
  ref: DatasetRef,
  readFile: (path: string) => Promise<string | Uint8Array>,
  limits?: DatasetLimits,
): Promise<{ dataset: Dataset; report: DatasetReport }> {
  if ('path' in ref) {
    const format = formatFromFileName(ref.path);
    const content = await readFile(ref.path);
    const name = baseName(ref.path);
    const text = typeof content === 'string' ? content : decodeDatasetBytes(content, name);
    const table = parseTable(text, format);
    return buildDataset(table, { text: ref.text, label: ref.label }, name, limits);
  }
  return buildDatasetFromRef(ref, limits);
}

/** Vectors and the time it took to compute them. */
export interface TimedVectors {
  vectors: Float32Array[];
  ms: number;
}

/**
 * Embeds texts and measures the time, checking the encoder returned one vector per text.
 * @throws Error when the encoder returns the wrong number of vectors.
 */
export async function timedEmbed(
  encoder: Encoder,
  texts: readonly string[],
  options: EmbedOptions,
  now: () => number,
): Promise<TimedVectors> {
  const start = now();
  const vectors = await encoder.embed([...texts], options);
  const ms = now() - start;
  if (vectors.length !== texts.length) {
    throw new Error(
      `Encoder "${encoder.modelId}" returned ${vectors.length} vectors for ${texts.length} texts.`,
    );
  }
  return { vectors, ms };
}

/** Test-text embeddings for similarity prompts with a given text template (one computation, many prompts). */
export function embedTestTexts(
  encoder: Encoder,
  test: readonly LabeledExample[],
  textTemplate: string | undefined,
  now: () => number,
): Promise<TimedVectors> {
  const texts = test.map((example) => applyTextTemplate(textTemplate, example.text));
  return timedEmbed(encoder, texts, SIMILARITY_EMBEDDING, now);
}

export interface SimilarityPromptInput {
  prompt: SimilarityPrompt;
  /** Where the prompt sits in the experiment, for error messages, e.g. `prompts[1]`. */
  path?: string;
  labels: readonly string[];
  test: readonly LabeledExample[];
  /** Embeddings of the test texts (with this prompt's text template applied), in `test` order. */
  testVectors: readonly Float32Array[];
  /** Time it took to compute `testVectors`; part of the inference cost even when shared with other prompts. */
  testEmbeddingMs: number;
  /** Embeds label texts with the same encoder and options as the test texts. */
  embed(texts: string[]): Promise<Float32Array[]>;
  now(): number;
}

export interface SimilarityPromptOutcome {
  run: RunResult;
  /** One averaged vector per label, in `labels` order: classify new texts with `classifyBySimilarity`. */
  labelVectors: Float32Array[];
}

/**
 * Scores one similarity prompt. Adapting is embedding the label texts (averaging ensembles); inference is
 * embedding the test texts plus comparing. No labeled example is used and no parameter changes.
 * @throws ExperimentError when the descriptions do not match the dataset's labels.
 */
export async function runSimilarityPrompt(input: SimilarityPromptInput): Promise<SimilarityPromptOutcome> {
  const { prompt, labels, test, testVectors, now } = input;
  if (testVectors.length !== test.length) {
    throw new RangeError(`Got ${testVectors.length} test vectors for ${test.length} test examples.`);
  }
  const textsPerLabel = labelTexts(prompt, labels, input.path);
  const adaptStart = now();
  const flatVectors = await input.embed(textsPerLabel.flat());
  if (flatVectors.length !== textsPerLabel.flat().length) {
    throw new Error(
      `The encoder returned ${flatVectors.length} vectors for ${textsPerLabel.flat().length} texts.`,
    );
  }
  let offset = 0;
  const labelVectors = textsPerLabel.map((texts) => {
    const vectors = flatVectors.slice(offset, offset + texts.length);
    offset += texts.length;
    return meanVector(vectors);
  });
  const adaptMs = now() - adaptStart;

  const inferStart = now();
  const predictions = classifyBySimilarity(
    testVectors,
    labelVectors,
    labels,
    test.map((example) => example.id),
  );
  const scoringMs = now() - inferStart;
  return {
    run: {
      name: prompt.name,
      kind: 'prompt',
      ...evaluate(test, predictions, labels),
      predictions,
      cost: { adaptMs, inferMs: input.testEmbeddingMs + scoringMs, labeledExamples: 0, trainedParameters: 0 },
    },
    labelVectors,
  };
}

/**
 * Turns class probabilities (label-index order) into predictions: scores per label, the most probable label
 * (first wins ties).
 * @throws RangeError when the shapes do not match.
 */
export function predictionsFromProbabilities(
  probabilities: readonly number[][],
  labels: readonly string[],
  ids: readonly string[],
): Prediction[] {
  if (probabilities.length !== ids.length) {
    throw new RangeError(`Got ${probabilities.length} probability rows for ${ids.length} examples.`);
  }
  return probabilities.map((row, i) => {
    if (row.length !== labels.length) {
      throw new RangeError(`Got ${row.length} class probabilities for ${labels.length} labels.`);
    }
    const scores: Record<string, number> = {};
    labels.forEach((label, k) => {
      scores[label] = row[k] as number;
    });
    return { id: ids[i] as string, label: labels[argmax(row)] as string, scores };
  });
}

export interface HeadRunInput {
  spec: HeadSpec;
  labels: readonly string[];
  /** The whole train split; `spec.shotsPerClass` picks a seeded subset of it. */
  train: readonly LabeledExample[];
  /** Features of `train`, in the same order. */
  trainFeatures: readonly Float32Array[];
  test: readonly LabeledExample[];
  /** Features of `test`, in the same order. */
  testFeatures: readonly Float32Array[];
  trainer: HeadTrainer;
  now(): number;
  /**
   * Time spent extracting features for all of `train` and `test`. Train time is charged to the head pro rata
   * by the examples it trains on; test time is part of its inference cost. Omit when unknown (counts as 0).
   */
  featureMs?: { train: number; test: number };
  onEpoch?: (report: EpochReport) => void;
  signal?: AbortSignal;
}

export interface HeadRunOutcome {
  run: RunResult;
  /** The trained head; the caller owns it and must `dispose()` it. */
  head: TrainedHead;
  /** The examples it was trained on (all of train, or the shots-per-class sample). */
  trainedOn: LabeledExample[];
}

/**
 * Trains one head on frozen features and scores it on the test split. Adapting is feature extraction for the
 * examples used plus training; inference is test feature extraction plus prediction.
 */
export async function runHead(input: HeadRunInput): Promise<HeadRunOutcome> {
  const { spec, labels, train, trainFeatures, test, testFeatures, now } = input;
  if (trainFeatures.length !== train.length || testFeatures.length !== test.length) {
    throw new RangeError(
      `Features do not match the examples: ${trainFeatures.length} for ${train.length} train, ` +
        `${testFeatures.length} for ${test.length} test.`,
    );
  }
  const trainedOn =
    spec.shotsPerClass === undefined
      ? [...train]
      : sampleShotsPerClass(train, labels, spec.shotsPerClass, spec.seed);
  const featureById = new Map(
    train.map((example, index) => [example.id, trainFeatures[index] as Float32Array]),
  );
  const labelIndex = new Map(labels.map((label, index) => [label, index]));
  const features = trainedOn.map((example) => featureById.get(example.id) as Float32Array);
  const targets = trainedOn.map((example) => {
    const index = labelIndex.get(example.label);
    if (index === undefined)
      throw new RangeError(`Train example "${example.id}" has unknown label "${example.label}".`);
    return index;
  });

  const trainStart = now();
  const head = await input.trainer.train(
    features,
    targets,
    labels.length,
    {
      hidden: spec.hidden,
      epochs: spec.epochs,
      learningRate: spec.learningRate,
      seed: spec.seed,
      batchSize: spec.batchSize ?? DEFAULT_HEAD_BATCH_SIZE,
    },
    input.onEpoch,
    input.signal,
  );
  const trainMs = now() - trainStart;
  try {
    const inferStart = now();
    const probabilities = await head.predict([...testFeatures]);
    const predictMs = now() - inferStart;
    const predictions = predictionsFromProbabilities(
      probabilities,
      labels,
      test.map((example) => example.id),
    );
    const featureMs = input.featureMs ?? { train: 0, test: 0 };
    const trainFeatureShare = train.length === 0 ? 0 : (featureMs.train * trainedOn.length) / train.length;
    return {
      run: {
        name: spec.name,
        kind: 'head',
        ...evaluate(test, predictions, labels),
        predictions,
        cost: {
          adaptMs: trainFeatureShare + trainMs,
          inferMs: featureMs.test + predictMs,
          labeledExamples: trainedOn.length,
          trainedParameters: head.parameterCount,
        },
      },
      head,
      trainedOn,
    };
  } catch (error) {
    head.dispose();
    throw error;
  }
}

/**
 * Runs every prompt and head of a validated experiment on one shared split. Test-text embeddings are computed
 * once per (model, text template) and head features once per (layer, pooling). Encoders are requested once
 * per model and not disposed: the caller owns them.
 */
export async function runExperiment(
  experiment: Experiment,
  deps: RunDependencies,
): Promise<ExperimentResults> {
  const progress = (message: string): void => deps.onProgress?.(message);
  const checkAborted = (): void => deps.signal?.throwIfAborted();
  const encoders = new Map<string, Promise<Encoder>>();
  const encoderFor = (model: string): Promise<Encoder> => {
    let encoder = encoders.get(model);
    if (encoder === undefined) {
      progress(`Loading model ${model}`);
      encoder = deps.encoder(model);
      encoders.set(model, encoder);
    }
    return encoder;
  };

  progress('Reading the dataset');
  const { dataset } = await loadExperimentDataset(experiment.dataset, deps.readDatasetFile);
  const { labels } = dataset;
  const split = stratifiedSplit(dataset, experiment.split);
  progress(
    `${dataset.name}: ${dataset.examples.length} examples, ${labels.length} labels; ` +
      `${split.train.length} train, ${split.test.length} test`,
  );
  const runs: RunResult[] = [];

  // Only the model knows its depth: check every head's layer before spending time on prompts.
  if (experiment.heads.length > 0) {
    const encoder = await encoderFor(experiment.model);
    experiment.heads.forEach((spec, index) =>
      checkHeadLayer(spec.layer, encoder.numLayers, experiment.model, `heads[${index}].layer`),
    );
  }

  const testEmbeddings = new Map<string, TimedVectors>();
  for (const [index, prompt] of experiment.prompts.entries()) {
    checkAborted();
    const model = prompt.model ?? experiment.model;
    const encoder = await encoderFor(model);
    const key = JSON.stringify([model, prompt.textTemplate ?? null]);
    let embedded = testEmbeddings.get(key);
    if (embedded === undefined) {
      progress(`Embedding ${split.test.length} test texts with ${model}`);
      embedded = await embedTestTexts(encoder, split.test, prompt.textTemplate, deps.now);
      testEmbeddings.set(key, embedded);
    }
    checkAborted();
    const { run } = await runSimilarityPrompt({
      prompt,
      path: `prompts[${index}]`,
      labels,
      test: split.test,
      testVectors: embedded.vectors,
      testEmbeddingMs: embedded.ms,
      embed: (texts) => encoder.embed(texts, SIMILARITY_EMBEDDING),
      now: deps.now,
    });
    progress(`Prompt "${run.name}": accuracy ${run.accuracy.toFixed(3)}`);
    runs.push(run);
  }

  const headFeatures = new Map<string, { train: TimedVectors; test: TimedVectors }>();
  for (const spec of experiment.heads) {
    checkAborted();
    const encoder = await encoderFor(experiment.model);
    const options: EmbedOptions = { layer: spec.layer, pooling: spec.pooling };
    const key = JSON.stringify([experiment.model, spec.layer, spec.pooling]);
    let features = headFeatures.get(key);
    if (features === undefined) {
      progress(
        `Extracting features (layer ${spec.layer}, ${spec.pooling} pooling) for ${dataset.examples.length} texts`,
      );
      const train = await timedEmbed(
        encoder,
        split.train.map((example) => example.text),
        options,
        deps.now,
      );
      checkAborted();
      const test = await timedEmbed(
        encoder,
        split.test.map((example) => example.text),
        options,
        deps.now,
      );
      features = { train, test };
      headFeatures.set(key, features);
    }
    checkAborted();
    progress(`Training head "${spec.name}"`);
    const { run, head } = await runHead({
      spec,
      labels,
      train: split.train,
      trainFeatures: features.train.vectors,
      test: split.test,
      testFeatures: features.test.vectors,
      trainer: deps.trainer,
      now: deps.now,
      featureMs: { train: features.train.ms, test: features.test.ms },
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    head.dispose();
    progress(`Head "${run.name}": accuracy ${run.accuracy.toFixed(3)}`);
    runs.push(run);
  }

  return {
    version: EXPERIMENT_VERSION,
    name: experiment.name,
    model: experiment.model,
    labels: [...labels],
    split: {
      seed: experiment.split.seed,
      testFraction: experiment.split.test,
      train: split.train.length,
      test: split.test.map(({ id, text, label }) => ({ id, text, label })),
    },
    runs,
  };
}

/**
 * A plain-text table of the runs for a terminal: one row per run, numbers right-aligned.
 * Accuracy and macro-F1 have three decimals; times are whole milliseconds.
 */
export function formatSummaryTable(results: ExperimentResults): string {
  const header = ['run', 'kind', 'accuracy', 'macro-F1', 'adapt ms', 'infer ms', 'labeled', 'trained params'];
  const rows = results.runs.map((run) => [
    run.name,
    run.kind,
    run.accuracy.toFixed(3),
    run.macroF1.toFixed(3),
    String(Math.round(run.cost.adaptMs)),
    String(Math.round(run.cost.inferMs)),
    String(run.cost.labeledExamples),
    String(run.cost.trainedParameters),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  // The first two columns are text (left-aligned); the rest are numbers (right-aligned).
  const format = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [format(header), rule, ...rows.map(format)].join('\n');
}
