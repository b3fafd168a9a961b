/**
 * @file The one experiment orchestrator. It plans an experiment (which model each prompt and head runs on, which
 * test-text embeddings and head features they need, what is shared between them) and runs the selected parts
 * through ports: an encoder per model, a head trainer, a dataset reader, a feature cache, a clock, progress and
 * cancel. The CLI runs everything at once (`runExperiment`); the browser runs one prompt or one head at a time
 * and keeps the feature cache between calls (state/ExperimentState.svelte.ts). Both call `runParts`, so the same
 * experiment gives the same numbers in both places by construction.
 */
import type { Dataset } from '../dataset/types.ts';
import type {
  CausalScorer,
  EmbedOptions,
  Encoder,
  HeadTrainer,
  LayerTrainer,
  SerializedHead,
} from '../ports.ts';
import { runInstructionPrompt } from '../prompts/instruction.ts';
import { stratifiedSplit, type TrainTestSplit } from '../split/split.ts';
import { compareRuns } from '../stats/uncertainty.ts';
import {
  loadExperimentDataset,
  runHead,
  runSimilarityPrompt,
  similarityEmbedding,
  type TimedVectors,
} from './run.ts';
import { runLearningCurve } from './learning-curve.ts';
import { storedEmbed, type StoreBinding } from './feature-store.ts';
import { applyTextTemplate } from '../prompts/similarity.ts';
import { checkHeadLayer, checkHeadPooling } from './schema.ts';
import {
  checkHeadUnfreeze,
  headUnfreeze,
  runUnfrozenHead,
  type TimedTokenStates,
  type TokenStateCache,
} from './unfreeze-run.ts';
import {
  EXPERIMENT_VERSION,
  type Experiment,
  type ExperimentResults,
  type Pooling,
  type PromptSpec,
  type RunResult,
} from './types.ts';
import { runNliPrompt } from '../prompts/nli.ts';
import { countTokensOnce } from '../tokenize/count-once.ts';
import {
  fillShared,
  headFeatureKeys,
  requestsAhead,
  sharedPassMessage,
  sharedRequests,
  type KeyedRequest,
} from './shared-pass.ts';

// ---------------------------------------------------------------- ports

/** Encoders by model reference, exactly as the experiment writes it (`model`, or a prompt's own `model`). */
export interface EncoderProvider {
  /**
   * The encoder for `model`. Called at most once per model in one `runParts` call, in plan order: every part
   * on the experiment's own model first, then each other model's parts together.
   */
  encoder(model: string): Promise<Encoder>;
  /**
   * Called once when a `runParts` call is done with its encoders, after success or failure. The browser, which
   * holds one model at a time, loads the experiment's model again here if a prompt used another one.
   */
  release?(): Promise<void>;
}

/**
 * Where computed vectors are kept between runs, keyed by what they depend on besides the split (model, text
 * template or layer and pooling), with the token states of heads with unfrozen layers ({@link createFeatureCache}
 * keeps both in memory). The owner clears it when the dataset, the split or the model changes; failed computations
 * are removed, so the next run retries.
 */
export interface FeatureCache extends Pick<
  Map<string, Promise<TimedVectors>>,
  'get' | 'set' | 'delete' | 'clear'
> {
  /** Token-level states for heads with unfrozen layers, keyed the same way; `clear()` empties them too. */
  readonly tokenStates: TokenStateCache;
}

/** One prompt or head of the experiment, by its position and name. */
export interface RunPart {
  kind: RunResult['kind'];
  /** Index in `experiment.prompts` or `experiment.heads`. */
  index: number;
  name: string;
}

/** What the orchestrator is doing, with a line a person can read. */
export interface ProgressEvent {
  stage: 'dataset' | 'model' | 'embedding' | 'prompt' | 'features' | 'training' | 'finished';
  message: string;
  /** The prompt or head the step is for; absent for dataset and model steps. */
  part?: RunPart;
}

/** Causal language models by model reference, for instruction prompts (requested once per model and call). */
export interface CausalScorerProvider {
  scorer(model: string): Promise<CausalScorer>;
}

/**
 * Everything `runParts` uses from the outside. With a `store` (StoreBinding), vectors are also read from and
 * kept in it per text, so only texts it has never seen run through the encoder (feature-store.ts).
 */
export interface ExperimentPorts extends StoreBinding {
  encoders: EncoderProvider;
  /** Needed only by instruction prompts; without it they fail with a message saying so. */
  scorers?: CausalScorerProvider;
  trainer: HeadTrainer;
  cache: FeatureCache;
  /** Milliseconds from any fixed origin, e.g. `performance.now()`. */
  now(): number;
  onProgress?(event: ProgressEvent): void;
  /** Each run as soon as it is scored (before the other parts of the call have run). */
  onRun?(run: RunResult, part: RunPart): void;
  /**
   * A trained head's weights once its run is scored, just before the orchestrator disposes of it (and before
   * `onRun` reports the run): for a try-it box, export, or a head file.
   */
  onTrainedHead?(head: SerializedHead, part: RunPart): void;
  /**
   * A similarity prompt's label vectors (one per label, in the dataset's label order) once its run is scored
   * (before `onRun`): with them a try-it box classifies a new text by embedding only that text.
   */
  onPromptVectors?(labelVectors: Float32Array[], part: RunPart): void;
  /**
   * When given, a part that fails is reported here and the parts after it still run (the app's "Run all");
   * without it the first failure stops the call (the CLI). Cancellation always stops the call.
   */
  onError?(error: unknown, part: RunPart): void;
  /** Stops between steps (and during head training) with the signal's reason. */
  signal?: AbortSignal;
  /** Trains heads with unfrozen layers (`unfreeze` > 0); without it such heads are refused before any work. */
  layerTrainer?: LayerTrainer;
  /**
   * The whole experiment, when a call runs only part of it (the app trains one head at a time): the shared pass
   * also computes the vectors its other similarity prompts and frozen heads will read from texts the pass runs
   * anyway, so each text goes through the encoder once however the runs are spread over calls.
   */
  ahead?: ExperimentParts;
}

/** The parts of an experiment the orchestrator reads to plan and run (the dataset is prepared separately). */
export type ExperimentParts = Pick<Experiment, 'model' | 'prompts' | 'heads'>;

/** Which prompts and heads to run, by index; omitted means all of them. */
export interface RunSelection {
  prompts?: readonly number[];
  heads?: readonly number[];
}

// ---------------------------------------------------------------- plan

/** One scored run: a prompt on its model with a text template, or a head on features of one layer and pooling. */
export type PlannedRun =
  | (RunPart & {
      kind: 'prompt';
      model: string;
      textTemplate: string | undefined;
      embeddingKey: string;
      /** How the prompt scores: similarity prompts share the test-text embeddings (`embeddingKey`), others not. */
      strategy: PromptSpec['strategy'];
    })
  | (RunPart & { kind: 'head'; model: string; options: EmbedOptions; featureKey: string });

/** Vectors a plan computes once and shares between its runs. */
export type PlannedVectors =
  | { kind: 'test-texts'; key: string; model: string; textTemplate: string | undefined }
  | { kind: 'head-features'; key: string; model: string; layer: number; pooling: Pooling };

/** What a `runParts` call will do, in order. */
export interface ExperimentPlan {
  /** Models in the order they are used; the experiment's model first when anything runs on it. */
  models: string[];
  /** Runs in execution order (grouped by model); results are still reported in experiment order. */
  runs: PlannedRun[];
  /** Distinct vectors the runs need, each computed once (or taken from the cache). */
  vectors: PlannedVectors[];
}

/** Cache key of the test texts embedded for similarity prompts on `model` with a text template. */
function embeddingKey(model: string, textTemplate: string | undefined): string {
  return JSON.stringify(['test-texts', model, textTemplate ?? null]);
}

/** Cache key prefix of head features of one layer and pooling on `model` (one entry per side of the split). */
export function featureKey(model: string, layer: number, pooling: Pooling): string {
  return JSON.stringify(['head-features', model, layer, pooling]);
}

function selectedIndices(selected: readonly number[] | undefined, count: number, field: string): number[] {
  if (selected === undefined) return Array.from({ length: count }, (_, index) => index);
  for (const index of selected) {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`There is no ${field}[${index}]: the experiment has ${count}.`);
    }
  }
  return [...new Set(selected)].sort((a, b) => a - b);
}

/**
 * Plans the selected prompts and heads: which model each runs on, which vectors they share, and an execution
 * order that uses each model in one stretch (the experiment's model first), so a runtime holding one model at a
 * time switches as little as possible.
 * @throws RangeError when the selection names a prompt or head the experiment does not have.
 */
export function planExperiment(experiment: ExperimentParts, selection: RunSelection = {}): ExperimentPlan {
  const prompts = selectedIndices(selection.prompts, experiment.prompts.length, 'prompts');
  const heads = selectedIndices(selection.heads, experiment.heads.length, 'heads');
  const byModel = new Map<string, PlannedRun[]>([[experiment.model, []]]);
  const runsOn = (model: string): PlannedRun[] => {
    let runs = byModel.get(model);
    if (runs === undefined) {
      runs = [];
      byModel.set(model, runs);
    }
    return runs;
  };
  for (const index of prompts) {
    const prompt = experiment.prompts[index] as Experiment['prompts'][number];
    const model = prompt.model ?? experiment.model;
    const textTemplate = prompt.strategy === 'similarity' ? prompt.textTemplate : undefined;
    runsOn(model).push({
      kind: 'prompt',
      strategy: prompt.strategy,
      index,
      name: prompt.name,
      model,
      textTemplate,
      embeddingKey: embeddingKey(model, textTemplate),
    });
  }
  for (const index of heads) {
    const spec = experiment.heads[index] as Experiment['heads'][number];
    runsOn(experiment.model).push({
      kind: 'head',
      index,
      name: spec.name,
      model: experiment.model,
      options: { layer: spec.layer, pooling: spec.pooling },
      featureKey: featureKey(experiment.model, spec.layer, spec.pooling),
    });
  }
  const models = [...byModel].filter(([, runs]) => runs.length > 0).map(([model]) => model);
  const runs = models.flatMap((model) => byModel.get(model) ?? []);
  const vectors = new Map<string, PlannedVectors>();
  for (const run of runs) {
    if (run.kind === 'prompt' && run.strategy !== 'similarity') continue;
    if (run.kind === 'prompt') {
      vectors.set(run.embeddingKey, {
        kind: 'test-texts',
        key: run.embeddingKey,
        model: run.model,
        textTemplate: run.textTemplate,
      });
    } else {
      vectors.set(run.featureKey, {
        kind: 'head-features',
        key: run.featureKey,
        model: run.model,
        layer: run.options.layer,
        pooling: run.options.pooling,
      });
    }
  }
  return { models, runs, vectors: [...vectors.values()] };
}

// ---------------------------------------------------------------- data

/** The dataset and its one split, shared by every run of an experiment. */
export interface PreparedData {
  dataset: Dataset;
  split: TrainTestSplit;
  /** The split's seed; instruction prompts draw their shots with it. */
  seed?: number;
}

/** Splits a dataset the way every run of an experiment sees it (seeded, stratified). */
export function prepareData(dataset: Dataset, split: Experiment['split']): PreparedData {
  return {
    dataset,
    split: stratifiedSplit(dataset, { test: split.test, seed: split.seed }),
    seed: split.seed,
  };
}

/** Reads a dataset file an experiment names by path (the CLI resolves it relative to the experiment file). */
export interface DatasetReader {
  /** Text, or bytes that are decoded and checked like an upload (UTF-8 or UTF-16 with a byte-order mark). */
  readDatasetFile(path: string): Promise<string | Uint8Array>;
}

/**
 * Reads, validates and splits the experiment's dataset, reporting both steps.
 * @throws DatasetError when the data cannot be parsed or is not usable labeled data.
 */
export async function loadData(
  experiment: Pick<Experiment, 'dataset' | 'split'>,
  reader: DatasetReader,
  onProgress?: (event: ProgressEvent) => void,
): Promise<PreparedData> {
  onProgress?.({ stage: 'dataset', message: 'Reading the dataset' });
  const { dataset } = await loadExperimentDataset(experiment.dataset, (path) => reader.readDatasetFile(path));
  const data = prepareData(dataset, experiment.split);
  onProgress?.({
    stage: 'dataset',
    message:
      `${dataset.name}: ${dataset.examples.length} examples, ${dataset.labels.length} labels; ` +
      `${data.split.train.length} train, ${data.split.test.length} test`,
  });
  return data;
}

/** The results file of an experiment (what the CLI writes and the app exports) for the given runs. */
export function experimentResults(
  experiment: Pick<Experiment, 'name' | 'model' | 'split'>,
  data: PreparedData,
  runs: RunResult[],
): ExperimentResults {
  return {
    version: EXPERIMENT_VERSION,
    name: experiment.name,
    model: experiment.model,
    labels: [...data.dataset.labels],
    split: {
      seed: experiment.split.seed,
      testFraction: experiment.split.test,
      train: data.split.train.length,
      test: data.split.test.map(({ id, text, label }) => ({ id, text, label })),
    },
    runs,
    comparisons: compareRuns(runs, data.split.test),
  };
}

/** Vectors and token states in memory; clearing it drops both. */
class MemoryFeatureCache extends Map<string, Promise<TimedVectors>> implements FeatureCache {
  readonly tokenStates: TokenStateCache = new Map<string, Promise<TimedTokenStates>>();

  override clear(): void {
    super.clear();
    this.tokenStates.clear();
  }
}

/** A new in-memory feature cache. */
export function createFeatureCache(): FeatureCache {
  return new MemoryFeatureCache();
}

// ---------------------------------------------------------------- run

/** Memoises a computation in the cache; a failed one is removed so the next run retries. */
export function cachedVectors(
  cache: FeatureCache,
  key: string,
  compute: () => Promise<TimedVectors>,
): Promise<TimedVectors> {
  const existing = cache.get(key);
  if (existing !== undefined) return existing;
  const promise = compute();
  cache.set(key, promise);
  promise.catch(() => {
    if (cache.get(key) === promise) cache.delete(key);
  });
  return promise;
}

/**
 * Runs the selected prompts and heads of an experiment on prepared data, following {@link planExperiment}:
 * every head's layer is checked against the model before any work, test-text embeddings and head features come
 * from `ports.cache` or are computed once and stored there, each trained head is disposed after scoring.
 * Stops at the first failure (runs scored before it have reached `ports.onRun`), unless `ports.onError` is given:
 * then a failed run is reported there and the others still run.
 * @returns the runs, prompts in experiment order then heads in experiment order.
 */
export async function runParts(
  experiment: ExperimentParts,
  data: PreparedData,
  selection: RunSelection,
  ports: ExperimentPorts,
): Promise<RunResult[]> {
  const plan = planExperiment(experiment, selection);
  const progress = (event: ProgressEvent): void => ports.onProgress?.(event);
  const checkAborted = (): void => ports.signal?.throwIfAborted();
  const encoders = new Map<string, Promise<Encoder>>();
  const encoderFor = (model: string): Promise<Encoder> => {
    let encoder = encoders.get(model);
    if (encoder === undefined) {
      progress({ stage: 'model', message: `Loading model ${model}` });
      encoder = ports.encoders.encoder(model);
      encoders.set(model, encoder);
    }
    return encoder;
  };

  const scorers = new Map<string, Promise<CausalScorer>>();
  const scorerFor = (model: string): Promise<CausalScorer> => {
    let scorer = scorers.get(model);
    if (scorer === undefined) {
      const provider = ports.scorers;
      if (provider === undefined) {
        return Promise.reject(
          new Error('Instruction prompts need a causal language model, which this runtime cannot load.'),
        );
      }
      progress({ stage: 'model', message: `Loading language model ${model}` });
      scorer = provider.scorer(model);
      scorers.set(model, scorer);
    }
    return scorer;
  };

  const results: { part: RunPart; run: RunResult }[] = [];
  try {
    checkAborted();
    // Only the model knows its depth: check every head's layer before spending time on anything else.
    const heads = plan.runs.filter((run) => run.kind === 'head');
    if (heads.length > 0) {
      const encoder = await encoderFor(experiment.model);
      for (const head of heads) {
        checkHeadLayer(head.options.layer, encoder.numLayers, experiment.model, `heads[${head.index}].layer`);
        checkHeadPooling(head.options, encoder, experiment.model, `heads[${head.index}].pooling`);
        const spec = experiment.heads[head.index] as Experiment['heads'][number];
        checkHeadUnfreeze(
          spec,
          encoder,
          ports.layerTrainer,
          experiment.model,
          `heads[${head.index}].unfreeze`,
        );
      }
    }
    const shared = new Set<string>();
    for (const planned of plan.runs) {
      checkAborted();
      const part: RunPart = { kind: planned.kind, index: planned.index, name: planned.name };
      // Said first: loading a model for the shared pass belongs to the first run on it.
      if (planned.kind === 'prompt') progress({ stage: 'prompt', message: `Prompt "${planned.name}"`, part });
      if (!shared.has(planned.model)) {
        shared.add(planned.model);
        await embedShared(experiment, data, plan, planned.model, encoderFor, ports);
      }
      let run: RunResult;
      try {
        if (planned.kind === 'prompt' && planned.strategy === 'instruction') {
          run = await runInstruction(experiment, data, planned, part, scorerFor(planned.model), ports);
        } else {
          const encoder = await encoderFor(planned.model);
          run =
            planned.kind === 'prompt'
              ? await runPrompt(experiment, data, planned, part, encoder, ports)
              : await trainHead(experiment, data, planned, part, encoder, ports);
        }
      } catch (error) {
        if (ports.onError === undefined || ports.signal?.aborted) throw error;
        ports.onError(error, part);
        continue;
      }
      const what = planned.kind === 'prompt' ? 'Prompt' : 'Head';
      progress({
        stage: 'finished',
        message: `${what} "${run.name}": accuracy ${run.accuracy.toFixed(3)}`,
        part,
      });
      results.push({ part, run });
      ports.onRun?.(run, part);
    }
  } catch (error) {
    // The release must not hide the error that stopped the run.
    await ports.encoders.release?.().catch(() => undefined);
    throw error;
  }
  await ports.encoders.release?.();
  const order = (entry: { part: RunPart }): number =>
    (entry.part.kind === 'prompt' ? 0 : experiment.prompts.length) + entry.part.index;
  return results.sort((a, b) => order(a) - order(b)).map((entry) => entry.run);
}

/**
 * The shared pass of one model (shared-pass.ts): every vector its similarity prompts and frozen heads will read,
 * each distinct text through the encoder once. When it fails and failures are reported per part (`onError`), the
 * runs compute their own vectors and report their own errors.
 */
async function embedShared(
  experiment: ExperimentParts,
  data: PreparedData,
  plan: ExperimentPlan,
  model: string,
  encoderFor: (model: string) => Promise<Encoder>,
  ports: ExperimentPorts,
): Promise<void> {
  const frozen = (run: Extract<PlannedRun, { kind: 'head' }>): boolean =>
    headUnfreeze(experiment.heads[run.index] as Experiment['heads'][number]) === 0;
  const runs = plan.runs.filter(
    (run) =>
      run.model === model &&
      (run.kind === 'prompt' ? run.strategy === 'similarity' && run.textTemplate === undefined : frozen(run)),
  );
  if (runs.length === 0) return;
  try {
    const encoder = await encoderFor(model);
    const selected = sharedRequests(runs, data, encoder, ports.cache, frozen);
    if (selected.length === 0) return;
    const requests = [...selected, ...requestsAhead(selected, aheadRequests(ports, data, model, encoder))];
    ports.onProgress?.({ stage: 'embedding', message: sharedPassMessage(requests, runs, encoder.numLayers) });
    await fillShared(encoder, requests, ports.cache, ports.now, ports);
  } catch (error) {
    if (ports.onError === undefined || ports.signal?.aborted) throw error;
  }
}

/**
 * What the shared pass could compute for the runs of `ports.ahead` on `model`: its similarity prompts without a text
 * template and its frozen heads whose layer and pooling the model has (others are left to fail in their own run).
 */
function aheadRequests(
  ports: ExperimentPorts,
  data: PreparedData,
  model: string,
  encoder: Encoder,
): KeyedRequest[] {
  const experiment = ports.ahead;
  if (experiment === undefined) return [];
  const frozen = (run: Extract<PlannedRun, { kind: 'head' }>): boolean => {
    const spec = experiment.heads[run.index] as Experiment['heads'][number];
    if (headUnfreeze(spec) > 0) return false;
    try {
      checkHeadLayer(run.options.layer, encoder.numLayers, model, 'layer');
      checkHeadPooling(run.options, encoder, model, 'pooling');
      return true;
    } catch {
      return false;
    }
  };
  const runs = planExperiment(experiment).runs.filter(
    (run) =>
      run.model === model &&
      (run.kind === 'prompt' ? run.strategy === 'similarity' && run.textTemplate === undefined : true),
  );
  return sharedRequests(runs, data, encoder, ports.cache, frozen);
}

async function runPrompt(
  experiment: ExperimentParts,
  data: PreparedData,
  planned: Extract<PlannedRun, { kind: 'prompt' }>,
  part: RunPart,
  encoder: Encoder,
  ports: ExperimentPorts,
): Promise<RunResult> {
  const progress = (event: ProgressEvent): void => ports.onProgress?.(event);
  const { split } = data;
  const prompt = experiment.prompts[planned.index] as PromptSpec;
  if (prompt.strategy === 'nli') {
    progress({
      stage: 'embedding',
      message: `Classifying ${split.test.length} test texts × ${data.dataset.labels.length} hypotheses with ${planned.model}`,
      part,
    });
    return runNliPrompt({
      prompt,
      path: `prompts[${planned.index}]`,
      model: planned.model,
      modelPath: prompt.model === undefined ? 'model' : `prompts[${planned.index}].model`,
      labels: data.dataset.labels,
      test: split.test,
      classifier: encoder.pairClassifier,
      ...(encoder.maskToken === undefined ? {} : { maskToken: encoder.maskToken }),
      now: ports.now,
    });
  }
  const embedded = await cachedVectors(ports.cache, planned.embeddingKey, () => {
    progress({
      stage: 'embedding',
      message: `Embedding ${split.test.length} test texts with ${planned.model}`,
      part,
    });
    const texts = split.test.map((example) => applyTextTemplate(planned.textTemplate, example.text));
    return storedEmbed(encoder, texts, similarityEmbedding(encoder), ports.now, ports);
  });
  ports.signal?.throwIfAborted();
  if (prompt.strategy !== 'similarity')
    throw new Error(`prompts[${planned.index}] is not a similarity prompt.`);
  const { run, labelVectors } = await runSimilarityPrompt({
    prompt,
    path: `prompts[${planned.index}]`,
    labels: data.dataset.labels,
    test: split.test,
    testVectors: embedded.vectors,
    testEmbeddingMs: embedded.ms,
    embed: (texts) => encoder.embed(texts, similarityEmbedding(encoder)),
    now: ports.now,
    ...(encoder.maskToken === undefined ? {} : { maskToken: encoder.maskToken }),
    tokenCounts: { count: countTokensOnce(encoder), maxTokens: encoder.maxTokens },
  });
  ports.onPromptVectors?.(labelVectors, part);
  return run;
}

async function runInstruction(
  experiment: ExperimentParts,
  data: PreparedData,
  planned: Extract<PlannedRun, { kind: 'prompt' }>,
  part: RunPart,
  loading: Promise<CausalScorer>,
  ports: ExperimentPorts,
): Promise<RunResult> {
  const prompt = experiment.prompts[planned.index] as Experiment['prompts'][number];
  if (prompt.strategy !== 'instruction')
    throw new Error(`prompts[${planned.index}] is not an instruction prompt.`);
  if (data.seed === undefined)
    throw new Error('Instruction prompts need the split seed: prepare the data with prepareData.');
  const scorer = await loading;
  const { split } = data;
  ports.onProgress?.({
    stage: 'prompt',
    message: `Scoring ${split.test.length} test texts with ${planned.model}`,
    part,
  });
  return runInstructionPrompt({
    prompt,
    path: `prompts[${planned.index}]`,
    labels: data.dataset.labels,
    train: split.train,
    seed: data.seed,
    test: split.test,
    scorer,
    now: ports.now,
  });
}

async function trainHead(
  experiment: ExperimentParts,
  data: PreparedData,
  planned: Extract<PlannedRun, { kind: 'head' }>,
  part: RunPart,
  encoder: Encoder,
  ports: ExperimentPorts,
): Promise<RunResult> {
  const progress = (event: ProgressEvent): void => ports.onProgress?.(event);
  const { dataset, split } = data;
  const spec = experiment.heads[planned.index] as Experiment['heads'][number];
  if (headUnfreeze(spec) > 0 && ports.layerTrainer) {
    const { run, head } = await runUnfrozenHead({
      spec,
      model: planned.model,
      encoder,
      layerTrainer: ports.layerTrainer,
      cache: ports.cache.tokenStates,
      labels: dataset.labels,
      train: split.train,
      test: split.test,
      now: ports.now,
      onProgress: (message) => progress({ stage: 'features', message, part }),
      ...(ports.signal === undefined ? {} : { signal: ports.signal }),
    });
    ports.onTrainedHead?.(head, part);
    return run;
  }
  const { layer, pooling } = planned.options;
  const keys = headFeatureKeys(planned.featureKey);
  if (keys.some((key) => ports.cache.get(key) === undefined)) {
    progress({
      stage: 'features',
      message: `Extracting features (layer ${layer}, ${pooling} pooling) for ${dataset.examples.length} texts`,
      part,
    });
  } else {
    progress({
      stage: 'features',
      message: `Using cached features (layer ${layer}, ${pooling} pooling)`,
      part,
    });
  }
  const extract = (examples: readonly { text: string }[]) => () =>
    storedEmbed(
      encoder,
      examples.map((example) => example.text),
      planned.options,
      ports.now,
      ports,
    );
  const train = await cachedVectors(ports.cache, keys[0] as string, extract(split.train));
  ports.signal?.throwIfAborted();
  const test = await cachedVectors(ports.cache, keys[1] as string, extract(split.test));
  ports.signal?.throwIfAborted();
  progress({ stage: 'training', message: `Training head "${planned.name}"`, part });
  const { run, head } = await runHead({
    spec: experiment.heads[planned.index] as Experiment['heads'][number],
    labels: dataset.labels,
    train: split.train,
    trainFeatures: train.vectors,
    test: split.test,
    testFeatures: test.vectors,
    trainer: ports.trainer,
    now: ports.now,
    featureMs: { train: train.ms, test: test.ms },
    ...(ports.signal === undefined ? {} : { signal: ports.signal }),
  });
  try {
    ports.onTrainedHead?.(head.toJSON(), part);
  } finally {
    head.dispose();
  }
  return run;
}

// ---------------------------------------------------------------- everything, for the CLI

/** What `runExperiment` needs: the ports, with the dataset reader and a plain-text progress line. */
export interface RunDependencies extends DatasetReader {
  /** Encoder for a model reference exactly as written in the experiment (requested once per model). */
  encoder(model: string): Promise<Encoder>;
  /** Causal language model for instruction prompts (requested once per model). */
  scorer?(model: string): Promise<CausalScorer>;
  trainer: HeadTrainer;
  /** Milliseconds from any fixed origin, e.g. `performance.now()`. */
  now(): number;
  onProgress?(message: string): void;
  /** Called with each run as it finishes (e.g. to say how far an interrupted run got). */
  onRun?(run: RunResult): void;
  /** Each trained head's weights once it is scored (the CLI's `--save-heads`). */
  onTrainedHead?(head: SerializedHead, part: RunPart): void;
  /** Stops the run between steps (and head training) with the signal's reason. */
  signal?: AbortSignal;
  /** Trains heads with unfrozen layers; see {@link ExperimentPorts.layerTrainer}. */
  layerTrainer?: LayerTrainer;
}

/**
 * Runs every prompt and head of a validated experiment on one shared split: reads the dataset, then
 * {@link runParts} with a fresh cache. Encoders are requested once per model and not disposed: the caller owns
 * them.
 */
export async function runExperiment(
  experiment: Experiment,
  deps: RunDependencies,
): Promise<ExperimentResults> {
  // A terminal gets one line per step done, not the start of each prompt (its result line follows at once).
  const onProgress = (event: ProgressEvent): void => {
    if (event.stage !== 'prompt') deps.onProgress?.(event.message);
  };
  const data = await loadData(experiment, deps, onProgress);
  const scorerOf = deps.scorer?.bind(deps);
  const ports = {
    encoders: { encoder: (model: string) => deps.encoder(model) },
    ...(scorerOf === undefined ? {} : { scorers: { scorer: (model: string) => scorerOf(model) } }),
    trainer: deps.trainer,
    cache: createFeatureCache(),
    now: () => deps.now(),
    onProgress,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  };
  const runs = await runParts(
    experiment,
    data,
    {},
    {
      ...ports,
      ...(deps.onRun === undefined ? {} : { onRun: (run: RunResult) => deps.onRun?.(run) }),
      ...(deps.onTrainedHead === undefined
        ? {}
        : { onTrainedHead: (head: SerializedHead, part: RunPart) => deps.onTrainedHead?.(head, part) }),
      ...(deps.layerTrainer === undefined ? {} : { layerTrainer: deps.layerTrainer }),
    },
  );
  const results = experimentResults(experiment, data, runs);
  // The curve reuses the features its head's run extracted (same cache), and is measured against the prompts.
  if (experiment.learningCurve !== undefined) {
    results.learningCurve = await runLearningCurve(experiment, data, runs, ports);
  }
  return results;
}
