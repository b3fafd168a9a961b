/**
 * @file The steps of an experiment run: read the dataset, embed texts, score one similarity prompt, train and
 * score one head, print a summary. Which steps run, on which model, and which vectors they share is decided in
 * one place only, the orchestrator (orchestrator.ts), for the app and the CLI alike.
 */
import { buildDataset, type DatasetLimits, type DatasetReport } from '../dataset/build.ts';
import { decodeDatasetBytes } from '../dataset/decode.ts';
import { formatFromFileName, parseTable } from '../dataset/parse.ts';
import { buildDatasetFromRef } from '../dataset/ref.ts';
import type { Dataset, LabeledExample } from '../dataset/types.ts';
import { HeadDivergedError } from '../errors.ts';
import { evaluate } from '../metrics/metrics.ts';
import { runIntervalsCooperative } from '../stats/uncertainty.ts';
import type {
  EmbedOptions,
  EpochReport,
  Encoder,
  HeadTrainer,
  HeadTrainingOptions,
  TrainedHead,
} from '../ports.ts';
import {
  applyTextTemplate,
  argmax,
  classifyBySimilarity,
  classifyBySimilarityCooperative,
  labelTexts,
  meanVector,
} from '../prompts/similarity.ts';
import { calibrateWithContentFree, contentFreeInputs, softmax } from '../prompts/content-free.ts';
import { sampleShotsPerClass } from '../split/split.ts';
import { terminalSafe } from '../text/terminal.ts';
import type {
  DatasetRef,
  ExperimentResults,
  HeadSpec,
  Prediction,
  RunResult,
  SimilarityPrompt,
} from './types.ts';
import { HEAD_SETTINGS } from './settings.ts';
import { emptyRecord } from '../records.ts';

/**
 * What similarity prompts compare: the model's own sentence embedding when it computes one (the Universal Sentence
 * Encoder), otherwise the last layer mean-pooled (as sentence-transformers do).
 */
export function similarityEmbedding(encoder: Pick<Encoder, 'sentenceEmbedding'>): EmbedOptions {
  return encoder.sentenceEmbedding ? { layer: -1, pooling: 'sentence' } : { layer: -1, pooling: 'mean' };
}
/** Mini-batch size of head training when the head spec does not set one. */
export const DEFAULT_HEAD_BATCH_SIZE = HEAD_SETTINGS.batchSize.whenMissing;

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
  return timedEmbed(encoder, texts, similarityEmbedding(encoder), now);
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
  /** The tokenizer's mask token, one more content-free input when the prompt asks for calibration. */
  maskToken?: string;
  /** Token counts of texts (before truncation) and the model's limit, to record tokens processed and cuts. */
  tokenCounts?: { count(texts: string[]): Promise<number[]>; maxTokens: number };
}

/**
 * Cosines become probabilities for calibration as softmax(cosine × this). Calibration divides by the
 * probabilities of content-free inputs, so the prediction depends on the scale only through the average over
 * several such inputs; 10 turns the typical 0.1 cosine gap between labels into an e-fold ratio, soft enough
 * that averaging never leaves a label with a near-zero bias to divide by.
 */
export const SIMILARITY_CALIBRATION_SCALE = 10;

/** Similarity scores as probabilities: softmax over the labels of each row of cosines × the scale. */
export function similarityProbabilities(cosines: readonly (readonly number[])[]): number[][] {
  return cosines.map((row) => softmax(row.map((cosine) => cosine * SIMILARITY_CALIBRATION_SCALE)));
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

  const ids = test.map((example) => example.id);
  const calibrating = prompt.calibrate === true;
  const contentFreeTexts = calibrating
    ? contentFreeInputs(input.maskToken).map((text) => applyTextTemplate(prompt.textTemplate, text))
    : [];
  let bias: number[][] | undefined;
  let calibrationMs = 0;
  if (calibrating) {
    const start = now();
    const vectors = await input.embed(contentFreeTexts);
    const cosines = classifyBySimilarity(vectors, labelVectors, labels, contentFreeTexts).map((prediction) =>
      labels.map((label) => prediction.scores[label] as number),
    );
    bias = similarityProbabilities(cosines);
    calibrationMs = now() - start;
  }

  const inferStart = now();
  // In short tasks: on the page's main thread a large test split is scored without blocking it.
  let predictions = await classifyBySimilarityCooperative(testVectors, labelVectors, labels, ids);
  if (bias !== undefined) {
    const cosines = predictions.map((prediction) =>
      labels.map((label) => prediction.scores[label] as number),
    );
    predictions = predictionsFromProbabilities(
      calibrateWithContentFree(similarityProbabilities(cosines), bias),
      labels,
      ids,
    );
  }
  const scoringMs = now() - inferStart;
  const rendered = test[0] === undefined ? undefined : applyTextTemplate(prompt.textTemplate, test[0].text);
  const usage = await tokenUsage(input, textsPerLabel.flat(), contentFreeTexts);
  return {
    run: {
      name: prompt.name,
      kind: 'prompt',
      ...evaluate(test, predictions, labels),
      ...(await runIntervalsCooperative(test, predictions, labels)),
      predictions,
      cost: {
        adaptMs: adaptMs + calibrationMs,
        inferMs: input.testEmbeddingMs + scoringMs,
        labeledExamples: 0,
        trainedParameters: 0,
      },
      ...(rendered === undefined ? {} : { rendered }),
      shots: [],
      ...usage,
      calibrated: calibrating,
    },
    labelVectors,
  };
}

/** Tokens a similarity prompt fed the model (test, label and content-free texts) and how many test texts were cut. */
async function tokenUsage(
  input: SimilarityPromptInput,
  labelTexts: readonly string[],
  contentFree: readonly string[],
): Promise<{ tokens?: number; truncated?: number }> {
  const counter = input.tokenCounts;
  if (counter === undefined) return {};
  const testTexts = input.test.map((example) => applyTextTemplate(input.prompt.textTemplate, example.text));
  const counts = await counter.count([...testTexts, ...labelTexts, ...contentFree]);
  const tokens = counts.reduce((sum, count) => sum + Math.min(count, counter.maxTokens), 0);
  const truncated = counts.slice(0, testTexts.length).filter((count) => count > counter.maxTokens).length;
  return { tokens, truncated };
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
    const scores = emptyRecord<number>();
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
/** The head's optional training settings, as the trainer takes them (only those the spec sets). */
function trainingOptions(spec: HeadSpec): Partial<HeadTrainingOptions> {
  const options: Partial<HeadTrainingOptions> = {};
  if (spec.dropout !== undefined) options.dropout = spec.dropout;
  if (spec.weightDecay !== undefined) options.weightDecay = spec.weightDecay;
  if (spec.validation !== undefined) options.validation = spec.validation;
  if (spec.patience !== undefined) options.patience = spec.patience;
  if (spec.classWeights !== undefined) options.classWeights = spec.classWeights;
  return options;
}

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
  let head: TrainedHead;
  try {
    head = await input.trainer.train(
      features,
      targets,
      labels.length,
      {
        hidden: spec.hidden,
        epochs: spec.epochs,
        learningRate: spec.learningRate,
        seed: spec.seed,
        batchSize: spec.batchSize ?? DEFAULT_HEAD_BATCH_SIZE,
        ...trainingOptions(spec),
      },
      input.onEpoch,
      input.signal,
    );
  } catch (error) {
    if (error instanceof HeadDivergedError)
      throw new HeadDivergedError(error.what, error.learningRate, spec.name);
    throw error;
  }
  const trainMs = now() - trainStart;
  try {
    const inferStart = now();
    const probabilities = await head.predict([...testFeatures]);
    const predictMs = now() - inferStart;
    // Whatever the trainer checked, a non-finite output must never be scored as a result.
    if (!probabilities.every((row) => row.every((value) => Number.isFinite(value)))) {
      throw new HeadDivergedError('its predicted probabilities', spec.learningRate, spec.name);
    }
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
        ...(await runIntervalsCooperative(test, predictions, labels)),
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
 * A plain-text table of the runs for a terminal: one row per run, numbers right-aligned.
 * Accuracy and macro-F1 have three decimals; times are whole milliseconds.
 */
export function formatSummaryTable(results: ExperimentResults): string {
  const header = ['run', 'kind', 'accuracy', 'macro-F1', 'adapt ms', 'infer ms', 'labeled', 'trained params'];
  const rows = results.runs.map((run) => [
    // A name is the user's: an escape code in it must not reach the terminal, a newline must not break the table.
    terminalSafe(run.name),
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
