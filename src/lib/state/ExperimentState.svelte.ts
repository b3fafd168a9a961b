/**
 * @file The experiment being edited and everything computed from it: dataset, split, runs.
 *
 * Runs go through the core's own building blocks (`embedTestTexts`, `runSimilarityPrompt`, `timedEmbed`,
 * `runHead`), the same the CLI's `runExperiment` uses, so the numbers match for the same experiment. The core's
 * ports are implemented over the workers (clients/remote-ports.ts). Work that does not depend on a prompt is
 * done once and cached: test-text embeddings per text template, head features per (layer, pooling). Caches and
 * runs are dropped when the model or the split changes, because every number depends on both.
 */
import { getBuiltinDataset, type BuiltinDataset } from '../core/dataset/builtin/registry.ts';
import { ExperimentError } from '../core/errors.ts';
import type { DatasetReport } from '../core/dataset/build.ts';
import { buildDatasetFromRef } from '../core/dataset/ref.ts';
import type { Dataset } from '../core/dataset/types.ts';
import {
  embedTestTexts,
  runHead,
  runSimilarityPrompt,
  SIMILARITY_EMBEDDING,
  timedEmbed,
  type TimedVectors,
} from '../core/experiment/run.ts';
import type {
  DatasetRef,
  Experiment,
  ExperimentResults,
  HeadSpec,
  RunResult,
  SimilarityPrompt,
} from '../core/experiment/types.ts';
import type { EmbedOptions, Encoder } from '../core/ports.ts';
import { stratifiedSplit, type TrainTestSplit } from '../core/split/split.ts';
import { keepRowsRaw } from '../clients/DataClient.svelte.ts';
import { HeadClient } from '../clients/HeadClient.svelte.ts';
import {
  messageOf,
  ModelClient,
  sourceId,
  type LoadChoice,
  type LoadTarget,
} from '../clients/ModelClient.svelte.ts';
import { RemoteEncoder, RemoteHeadTrainer } from '../clients/remote-ports.ts';
import { CancelledError } from '../workers/rpc.ts';
import { defaultExperiment, defaultHead } from './defaults.ts';
import { checkExperiment } from './experiment-snapshot.svelte.ts';

const now = (): number => performance.now();

/** What is running, for disabling buttons and showing progress. */
export type Activity = { kind: 'prompts'; name: string } | { kind: 'head'; phase: 'features' | 'training' };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** The state behind every panel; one instance per page, shared through context (context.ts). */
export class ExperimentState {
  readonly model: ModelClient;
  readonly head: HeadClient;

  experiment = $state<Experiment>(defaultExperiment());
  /** Finished runs: prompt variations and heads, by name. */
  runs = $state.raw<RunResult[]>([]);
  activity = $state.raw<Activity | undefined>(undefined);
  promptError = $state<string | undefined>(undefined);
  headError = $state<string | undefined>(undefined);

  /** The built-in dataset (provenance, description) or its lookup error. */
  readonly builtin: Outcome<BuiltinDataset> = $derived.by(() => {
    const ref = this.experiment.dataset;
    if (!('builtin' in ref)) return { ok: false, error: 'The experiment does not use a built-in dataset.' };
    return attempt(() => getBuiltinDataset(ref.builtin));
  });

  /** The dataset (built-in or uploaded rows carried inline) with its validation report, or why it is unusable. */
  readonly datasetOutcome: Outcome<{ dataset: Dataset; report: DatasetReport }> = $derived.by(() => {
    const ref = this.experiment.dataset;
    if ('path' in ref) {
      return {
        ok: false,
        error:
          `This experiment reads its data from the file "${ref.path}", which a browser cannot open by path: ` +
          'upload that file in section 2 (Data).',
      };
    }
    return attempt(() => buildDatasetFromRef(ref));
  });

  readonly dataset: Dataset | undefined = $derived(
    this.datasetOutcome.ok ? this.datasetOutcome.value.dataset : undefined,
  );

  readonly splitOutcome: Outcome<TrainTestSplit> = $derived.by(() => {
    const dataset = this.dataset;
    if (!dataset)
      return { ok: false, error: this.datasetOutcome.ok ? 'No dataset.' : this.datasetOutcome.error };
    const { test, seed } = this.experiment.split;
    return attempt(() => stratifiedSplit(dataset, { test, seed }));
  });

  readonly split: TrainTestSplit | undefined = $derived(
    this.splitOutcome.ok ? this.splitOutcome.value : undefined,
  );

  /** The runs that belong to the current experiment, prompts in their list order, then heads. */
  readonly orderedRuns: RunResult[] = $derived.by(() => {
    const promptNames = this.experiment.prompts.map((p) => p.name);
    const prompts = promptNames.flatMap((name) =>
      this.runs.filter((r) => r.kind === 'prompt' && r.name === name),
    );
    return [...prompts, ...this.runs.filter((r) => r.kind === 'head')];
  });

  /** The results in the experiment-file format (what the CLI writes), when a split exists. */
  readonly results: ExperimentResults | undefined = $derived.by(() => {
    const dataset = this.dataset;
    const split = this.split;
    if (!dataset || !split) return undefined;
    return {
      version: this.experiment.version,
      name: this.experiment.name,
      model: this.experiment.model,
      labels: dataset.labels,
      split: {
        seed: this.experiment.split.seed,
        testFraction: this.experiment.split.test,
        train: split.train.length,
        test: split.test.map(({ id, text, label }) => ({ id, text, label })),
      },
      runs: this.orderedRuns,
    };
  });

  readonly busy: boolean = $derived(this.activity !== undefined);

  /**
   * Why the experiment is not a valid experiment file (the CLI's own validation), or undefined. Runs refuse to
   * start on errors that concern them, so whatever the app shows can be exported and reproduced.
   */
  readonly validation: ExperimentError | undefined = $derived.by(() => {
    try {
      checkExperiment(this.experiment);
      return undefined;
    } catch (error) {
      return error instanceof ExperimentError ? error : new ExperimentError('', messageOf(error));
    }
  });

  /**
   * Embeddings of the test texts per text template; features per head input; dropped on model/split change.
   * Plain Maps on purpose: caches nothing renders, so they must not trigger updates.
   */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #testEmbeddings = new Map<string, Promise<TimedVectors>>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #headFeatures = new Map<string, Promise<{ train: TimedVectors; test: TimedVectors }>>();
  #headController: AbortController | undefined;
  /** Bumped when the model or split changes, so a run finishing afterwards does not report stale numbers. */
  #generation = 0;

  constructor(model: ModelClient = new ModelClient(), head: HeadClient = new HeadClient()) {
    this.model = model;
    this.head = head;
  }

  // ------------------------------------------------------------ model and split

  /**
   * Loads a model for the experiment. Once it is loaded, caches are cleared; runs are kept only when it is the
   * model they were computed with (e.g. after reopening a saved experiment). A failed load leaves the previous
   * model loaded, and everything computed with it stays valid.
   */
  async loadModel(target: LoadTarget, options: LoadChoice): Promise<void> {
    const id = typeof target === 'string' ? target : sourceId(target.source);
    try {
      await this.model.load(target, options);
    } catch {
      // The client keeps the message in `model.error`, which the model panel shows.
      return;
    }
    this.#invalidate({ keepRuns: id === this.experiment.model });
    this.experiment.model = id;
  }

  /**
   * Replaces the experiment being edited (opening a saved or imported one) with its runs. Whatever is running
   * stops, caches and errors are cleared; the loaded model stays, and runs refuse to start while it is not the
   * experiment's model.
   * @param experiment Plain data, owned from now on by this state.
   */
  replaceExperiment(experiment: Experiment, runs: RunResult[]): void {
    this.#invalidate();
    this.head.reset();
    keepRowsRaw(experiment.dataset);
    this.experiment = experiment;
    this.runs = runs;
    this.promptError = undefined;
    this.headError = undefined;
  }

  /**
   * Uses another dataset (a built-in one, or uploaded rows carried inline); the split is recomputed from it, and
   * runs and caches are cleared since every number depended on the data.
   */
  setDataset(ref: DatasetRef): void {
    this.experiment.dataset = keepRowsRaw(ref);
    this.#invalidate();
  }

  /** Changes the split; runs and caches are cleared since the test set changed. */
  setSplit(split: { test?: number; seed?: number }): void {
    this.experiment.split = { ...this.experiment.split, ...split };
    this.#invalidate();
  }

  // ------------------------------------------------------------ prompt variations

  /** Adds a variation with a unique name; returns its index. */
  addPrompt(): number {
    const taken = [...this.experiment.prompts, ...this.experiment.heads, ...this.runs].map(
      (item) => item.name,
    );
    const name = uniqueName('variation', taken);
    this.experiment.prompts.push({ name, strategy: 'similarity', template: 'A text about {label}.' });
    return this.experiment.prompts.length - 1;
  }

  /**
   * Renames a variation (its run, if any, keeps its numbers under the new name).
   * @returns an error message when the name is empty or taken, otherwise undefined.
   */
  renamePrompt(index: number, name: string): string | undefined {
    const prompt = this.experiment.prompts[index];
    if (!prompt) return `There is no prompt variation ${index + 1}.`;
    const trimmed = name.trim();
    if (trimmed === '') return 'A variation needs a name.';
    if (trimmed === prompt.name) return undefined;
    // Prompt and head names share one namespace in the experiment file.
    const taken = [...this.experiment.prompts, ...this.experiment.heads, ...this.runs].map(
      (item) => item.name,
    );
    if (taken.includes(trimmed)) {
      return `The name "${trimmed}" is already used; choose another.`;
    }
    const oldName = prompt.name;
    prompt.name = trimmed;
    this.runs = this.runs.map((r) =>
      r.kind === 'prompt' && r.name === oldName ? { ...r, name: trimmed } : r,
    );
    return undefined;
  }

  /** Replaces a variation's prompt text(s); its old run no longer describes it and is dropped. */
  updatePrompt(index: number, patch: Partial<Omit<SimilarityPrompt, 'name' | 'strategy'>>): void {
    const prompt = this.experiment.prompts[index];
    if (!prompt) return;
    const next: SimilarityPrompt = { ...prompt, ...patch };
    for (const key of ['template', 'descriptions', 'textTemplate'] as const) {
      if (next[key] === undefined) delete next[key];
    }
    this.experiment.prompts[index] = next;
    this.#dropRun('prompt', prompt.name);
  }

  removePrompt(index: number): void {
    const [removed] = this.experiment.prompts.splice(index, 1);
    if (removed) this.#dropRun('prompt', removed.name);
  }

  /** Runs every variation in order; stops at the first one that fails (its message goes to `promptError`). */
  async runAllPrompts(): Promise<void> {
    for (let index = 0; index < this.experiment.prompts.length; index++) {
      if (!(await this.runPrompt(index))) return;
    }
  }

  /** Scores one variation on the test split. Returns false when it failed. */
  async runPrompt(index: number): Promise<boolean> {
    const prompt = $state.snapshot(this.experiment.prompts[index]);
    if (!prompt) return false;
    const context = this.#runContext(`prompts[${index}]`);
    if (!context.ok) {
      this.promptError = context.error;
      return false;
    }
    const { dataset, split } = context.value;
    const generation = this.#generation;
    this.promptError = undefined;
    this.activity = { kind: 'prompts', name: prompt.name };
    try {
      const encoder = new RemoteEncoder(this.model);
      const test = await this.#testVectors(encoder, split, prompt.textTemplate);
      const { run } = await runSimilarityPrompt({
        prompt,
        path: `prompts[${index}]`,
        labels: dataset.labels,
        test: split.test,
        testVectors: test.vectors,
        testEmbeddingMs: test.ms,
        embed: (texts) => encoder.embed(texts, SIMILARITY_EMBEDDING),
        now,
      });
      this.#putRun(run, generation);
      return true;
    } catch (error) {
      this.promptError = `Variation "${prompt.name}": ${messageOf(error)}`;
      return false;
    } finally {
      this.activity = undefined;
    }
  }

  // ------------------------------------------------------------ head

  /** The head being edited (the experiment holds one in the app). */
  get headSpec(): HeadSpec {
    return this.experiment.heads[0] ?? defaultHead();
  }

  updateHead(patch: Partial<HeadSpec>): void {
    this.experiment.heads[0] = { ...this.headSpec, ...patch };
  }

  /** Extracts features (cached), trains the head in its worker, scores it on the test split. */
  async trainHead(): Promise<void> {
    const spec = $state.snapshot(this.headSpec);
    const context = this.#runContext('heads[0]');
    if (!context.ok) {
      this.headError = context.error;
      return;
    }
    const { dataset, split } = context.value;
    const generation = this.#generation;
    this.headError = undefined;
    this.#headController?.abort();
    const controller = new AbortController();
    this.#headController = controller;
    this.activity = { kind: 'head', phase: 'features' };
    try {
      const encoder = new RemoteEncoder(this.model, controller.signal);
      const options: EmbedOptions = { layer: spec.layer, pooling: spec.pooling };
      const features = await this.#headInputs(encoder, split, options);
      this.activity = { kind: 'head', phase: 'training' };
      const { run, head } = await runHead({
        spec,
        labels: dataset.labels,
        train: split.train,
        trainFeatures: features.train.vectors,
        test: split.test,
        testFeatures: features.test.vectors,
        trainer: new RemoteHeadTrainer(this.head),
        now,
        featureMs: { train: features.train.ms, test: features.test.ms },
        signal: controller.signal,
      });
      head.dispose();
      this.#putRun(run, generation);
    } catch (error) {
      if (!(error instanceof CancelledError)) this.headError = messageOf(error);
    } finally {
      if (this.#headController === controller) {
        this.#headController = undefined;
        this.activity = undefined;
      }
    }
  }

  /** Stops feature extraction or training of the head. */
  cancelTraining(): void {
    this.#headController?.abort();
  }

  /** Stops both workers (page teardown). */
  destroy(): void {
    this.#headController?.abort();
    this.model.destroy();
    this.head.destroy();
  }

  // ------------------------------------------------------------ internals

  /** What a run of the experiment part at `path` (e.g. `prompts[1]`) needs, or why it cannot start. */
  #runContext(path: string): Outcome<{ dataset: Dataset; split: TrainTestSplit }> {
    if (!this.model.ready) return { ok: false, error: 'Load a model first (section 1), then run again.' };
    const wanted = this.experiment.model;
    if (this.model.modelId !== wanted) {
      return {
        ok: false,
        error:
          `This experiment uses the model "${wanted}", but "${this.model.modelId ?? 'none'}" is loaded: ` +
          `load "${wanted}" in section 1 (Model), then run again.`,
      };
    }
    const invalid = this.validation;
    // Another variation's or head's mistake does not stop this one; everything else does.
    const elsewhere =
      invalid && /^(prompts|heads)\[\d+\]/.test(invalid.path) && !isWithin(invalid.path, path);
    if (invalid && !elsewhere) return { ok: false, error: invalid.message };
    const dataset = this.dataset;
    const split = this.split;
    if (!dataset)
      return { ok: false, error: this.datasetOutcome.ok ? 'No dataset.' : this.datasetOutcome.error };
    if (!split) return { ok: false, error: this.splitOutcome.ok ? 'No split.' : this.splitOutcome.error };
    return { ok: true, value: { dataset, split } };
  }

  /** Test-text embeddings for a text template, computed once and shared by every variation using it. */
  #testVectors(
    encoder: Encoder,
    split: TrainTestSplit,
    textTemplate: string | undefined,
  ): Promise<TimedVectors> {
    return cached(this.#testEmbeddings, textTemplate ?? '', () =>
      embedTestTexts(encoder, split.test, textTemplate, now),
    );
  }

  /** Head input features of both sides of the split, computed once per (layer, pooling). */
  #headInputs(
    encoder: Encoder,
    split: TrainTestSplit,
    options: EmbedOptions,
  ): Promise<{ train: TimedVectors; test: TimedVectors }> {
    return cached(this.#headFeatures, `${options.layer}|${options.pooling}`, async () => ({
      train: await timedEmbed(
        encoder,
        split.train.map((e) => e.text),
        options,
        now,
      ),
      test: await timedEmbed(
        encoder,
        split.test.map((e) => e.text),
        options,
        now,
      ),
    }));
  }

  #putRun(run: RunResult, generation: number): void {
    if (generation !== this.#generation) return;
    this.runs = [...this.runs.filter((r) => !(r.kind === run.kind && r.name === run.name)), run];
  }

  #dropRun(kind: RunResult['kind'], name: string): void {
    this.runs = this.runs.filter((r) => !(r.kind === kind && r.name === name));
  }

  #invalidate(options: { keepRuns?: boolean } = {}): void {
    this.#generation++;
    this.#headController?.abort();
    this.#testEmbeddings.clear();
    this.#headFeatures.clear();
    if (!options.keepRuns) this.runs = [];
  }
}

/** Memoises a promise; a failed one is forgotten so the next call retries. */
function cached<T>(map: Map<string, Promise<T>>, key: string, compute: () => Promise<T>): Promise<T> {
  const existing = map.get(key);
  if (existing) return existing;
  const promise = compute();
  map.set(key, promise);
  promise.catch(() => {
    if (map.get(key) === promise) map.delete(key);
  });
  return promise;
}

/** True when field path `path` is `prefix` itself or inside it (`prompts[1].template` is within `prompts[1]`). */
function isWithin(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

function attempt<T>(compute: () => T): Outcome<T> {
  try {
    return { ok: true, value: compute() };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
}

/** `base`, or `base 2`, `base 3`… whichever is not in `taken`. */
export function uniqueName(base: string, taken: readonly string[]): string {
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base} ${n}`)) return `${base} ${n}`;
}
