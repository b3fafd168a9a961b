/**
 * @file The experiment being edited and everything computed from it: dataset, split, runs.
 *
 * Runs go through the core's orchestrator (`runParts`), the one the CLI's `runExperiment` calls, so the numbers
 * match for the same experiment; its ports are implemented over the workers (clients/remote-ports.ts). The
 * orchestrator's feature cache lives here, across runs: test-text embeddings per (model, text template), head
 * features per (model, layer, pooling). Cache and runs are dropped when the model or the split changes, because
 * every number depends on both. A prompt naming its own model runs on that model, loaded in the model worker
 * for the run (`modelNotice` says so), and the experiment's model is loaded again afterwards.
 */
import { getBuiltinDataset, type BuiltinDataset } from '../core/dataset/builtin/registry.ts';
import { ExperimentError } from '../core/errors.ts';
import type { DatasetReport } from '../core/dataset/build.ts';
import { buildDatasetFromRef } from '../core/dataset/ref.ts';
import type { Dataset } from '../core/dataset/types.ts';
import {
  createFeatureCache,
  experimentResults,
  prepareData,
  runParts,
  type ExperimentParts,
  type PreparedData,
} from '../core/experiment/orchestrator.ts';
import type {
  DatasetRef,
  Experiment,
  ExperimentResults,
  HeadSpec,
  RunResult,
  SimilarityPrompt,
} from '../core/experiment/types.ts';
import type { TrainTestSplit } from '../core/split/split.ts';
import { keepRowsRaw } from '../clients/DataClient.svelte.ts';
import { HeadClient } from '../clients/HeadClient.svelte.ts';
import {
  messageOf,
  ModelClient,
  sourceId,
  type LoadChoice,
  type LoadTarget,
} from '../clients/ModelClient.svelte.ts';
import { RemoteEncoderProvider, RemoteHeadTrainer, type ModelSwitch } from '../clients/remote-ports.ts';
import { CancelledError } from '../workers/rpc.ts';
import { defaultExperiment, defaultHead } from './defaults.ts';
import type { TryItPredictor } from '../core/answer/try-it.ts';
import { headPredictor, promptPredictor, withPredictor } from './try-it.ts';
import { checkExperiment } from './experiment-snapshot.svelte.ts';

const now = (): number => performance.now();

/** Runs scored with a model the experiment no longer uses. */
export interface KeptRuns {
  model: string;
  runs: RunResult[];
}

/** What is running, for disabling buttons and showing progress. */
export type Activity = { kind: 'prompts'; name: string } | { kind: 'head'; phase: 'features' | 'training' };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

let lastPromptKey = 0;
/** A key no other prompt variation of this page has had. */
function newPromptKey(): string {
  lastPromptKey++;
  return `prompt-${lastPromptKey}`;
}

/** The state behind every panel; one instance per page, shared through context (context.ts). */
export class ExperimentState {
  readonly model: ModelClient;
  readonly head: HeadClient;

  experiment = $state<Experiment>(defaultExperiment());
  /**
   * One key per prompt variation, in list order, that stays with it through edits, renames and the removal of
   * others: the UI keys each card by it. Never saved (keys are per page).
   */
  promptKeys = $state.raw<string[]>(this.experiment.prompts.map(() => newPromptKey()));
  /** Finished runs: prompt variations and heads, by name. */
  runs = $state.raw<RunResult[]>([]);
  /**
   * Runs scored with other models, kept with the model they came from while the experiment uses another one:
   * loading that model again brings them back. Dropped with the runs when the data, split or experiment change.
   */
  keptRuns = $state.raw<KeptRuns[]>([]);
  activity = $state.raw<Activity | undefined>(undefined);
  promptError = $state<string | undefined>(undefined);
  headError = $state<string | undefined>(undefined);
  /**
   * What the last dataset change did to the variations' label descriptions (kept, added, dropped), or undefined
   * when it changed none.
   */
  labelsNotice = $state<string | undefined>(undefined);
  /** Which model a prompt with its own `model` ran on, and that the experiment's model is back (or coming back). */
  modelNotice = $state<string | undefined>(undefined);
  /** What the try-it box classifies with: each scored run's label vectors or head weights (this page only). */
  tryItPredictors = $state.raw<TryItPredictor[]>([]);

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
    return attempt(() => prepareData(dataset, { test, seed }).split);
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
    return experimentResults(this.experiment, { dataset, split }, this.orderedRuns);
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

  /** The orchestrator's vectors, kept across runs (nothing renders them); cleared on model/split change. */
  readonly #cache = createFeatureCache();
  /** Stops the prompt runs in progress when the model, split or experiment changes. */
  #promptController: AbortController | undefined;
  #headController: AbortController | undefined;
  /** Bumped when the model or split changes, so a run finishing afterwards does not report stale numbers. */
  #generation = 0;

  constructor(model: ModelClient = new ModelClient(), head: HeadClient = new HeadClient()) {
    this.model = model;
    this.head = head;
  }

  // ------------------------------------------------------------ model and split

  /**
   * Loads a model for the experiment. Once it is loaded, caches are cleared; runs stay on screen only when it is
   * the model they were computed with (e.g. after reopening a saved experiment). Runs of the previous model are
   * not lost: they move to `keptRuns`, and come back when that model is loaded again. A failed load leaves the
   * previous model loaded, and everything computed with it stays valid.
   */
  async loadModel(target: LoadTarget, options: LoadChoice): Promise<void> {
    const id = typeof target === 'string' ? target : sourceId(target.source);
    try {
      await this.model.load(target, options);
    } catch {
      // The client keeps the message in `model.error`, which the model panel shows.
      return;
    }
    const previous = this.experiment.model;
    if (id === previous) {
      this.#invalidate({ keepRuns: true });
      return;
    }
    const shelf = this.keptRuns.filter((entry) => entry.model !== id && entry.model !== previous);
    const restored = this.keptRuns.find((entry) => entry.model === id)?.runs ?? [];
    if (this.runs.length > 0) shelf.push({ model: previous, runs: this.runs });
    this.#invalidate();
    this.keptRuns = shelf;
    this.runs = restored;
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
    this.promptKeys = experiment.prompts.map(() => newPromptKey());
    this.runs = runs;
    this.promptError = undefined;
    this.headError = undefined;
    this.modelNotice = undefined;
    this.labelsNotice = undefined;
  }

  /**
   * Uses another dataset (a built-in one, or uploaded rows carried inline); the split is recomputed from it, and
   * runs and caches are cleared since every number depended on the data.
   */
  setDataset(ref: DatasetRef): void {
    this.experiment.dataset = keepRowsRaw(ref);
    this.#invalidate();
    this.#followLabels();
  }

  /**
   * Makes every variation with descriptions describe exactly the dataset's labels: descriptions of labels it
   * still has are kept, new labels start with their own name as description (as when switching a card to
   * descriptions), and those of labels it no longer has are dropped and named in `labelsNotice` with their
   * text, so nothing disappears unseen and the experiment stays one the CLI and Import accept.
   */
  #followLabels(): void {
    const labels = this.dataset?.labels;
    this.labelsNotice = undefined;
    if (labels === undefined) return;
    const changes: string[] = [];
    this.experiment.prompts.forEach((prompt, index) => {
      const old = prompt.descriptions;
      if (old === undefined) return;
      const own = (label: string): string | string[] | undefined =>
        Object.hasOwn(old, label) ? old[label] : undefined;
      const dropped = Object.keys(old).filter((label) => !labels.includes(label));
      const added = labels.filter((label) => own(label) === undefined);
      if (dropped.length === 0 && added.length === 0) return;
      this.experiment.prompts[index] = {
        ...prompt,
        descriptions: Object.fromEntries(labels.map((label) => [label, own(label) ?? label])),
      };
      const parts: string[] = [];
      if (dropped.length > 0) {
        const texts = dropped.map((label) => {
          const text = own(label);
          return `"${label}" (${JSON.stringify(Array.isArray(text) ? text.join(' / ') : text)})`;
        });
        parts.push(`dropped the descriptions of ${texts.join(', ')}`);
      }
      if (added.length > 0) {
        parts.push(`described ${added.map((label) => `"${label}"`).join(', ')} by the label's name`);
      }
      changes.push(`Variation "${prompt.name}": ${parts.join('; ')}.`);
    });
    if (changes.length > 0) {
      this.labelsNotice = `The new dataset has other labels. ${changes.join(' ')}`;
    }
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
    this.promptKeys = [...this.promptKeys, newPromptKey()];
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
    const renamed = (runs: RunResult[]): RunResult[] =>
      runs.map((r) => (r.kind === 'prompt' && r.name === oldName ? { ...r, name: trimmed } : r));
    this.runs = renamed(this.runs);
    this.keptRuns = this.keptRuns.map((entry) => ({ ...entry, runs: renamed(entry.runs) }));
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
    this.promptKeys = this.promptKeys.filter((_, position) => position !== index);
    if (removed) this.#dropRun('prompt', removed.name);
  }

  /**
   * Runs every variation: in list order, except that variations naming their own model run after the others
   * (one model switch each way). One that cannot start or fails does not stop the others; `promptError` names
   * each that did not run.
   */
  async runAllPrompts(): Promise<void> {
    await this.#runPrompts(this.experiment.prompts.map((_, index) => index));
  }

  /** Scores one variation on the test split. Returns false when it failed. */
  async runPrompt(index: number): Promise<boolean> {
    if (!this.experiment.prompts[index]) return false;
    return this.#runPrompts([index]);
  }

  /**
   * Runs the variations at `indices`: a variation that cannot start or fails does not stop the others; every
   * reason is reported in `promptError`, once each.
   */
  async #runPrompts(indices: readonly number[]): Promise<boolean> {
    const runnable: number[] = [];
    const problems: string[] = [];
    const report = (problem?: string): void => {
      if (problem !== undefined && !problems.includes(problem)) problems.push(problem);
      this.promptError = problems.length === 0 ? undefined : problems.join(' ');
    };
    let data: PreparedData | undefined;
    for (const index of indices) {
      const context = this.#runContext(`prompts[${index}]`);
      if (!context.ok) {
        report(context.error);
        continue;
      }
      data = context.value;
      runnable.push(index);
    }
    if (data === undefined || runnable.length === 0) {
      report();
      return false;
    }
    const generation = this.#generation;
    report();
    this.modelNotice = undefined;
    this.#promptController?.abort();
    const controller = new AbortController();
    this.#promptController = controller;
    let current = this.experiment.prompts[runnable[0] as number]?.name ?? '';
    const switched: { name: string; model: string }[] = [];
    this.activity = { kind: 'prompts', name: current };
    try {
      await runParts(
        this.#parts(),
        data,
        { prompts: runnable, heads: [] },
        {
          encoders: new RemoteEncoderProvider(this.model, {
            signal: controller.signal,
            onSwitch: (change) => {
              if (change.kind === 'loading') switched.push({ name: current, model: change.model });
              this.modelNotice = switchNotice(change, switched);
            },
          }),
          trainer: new RemoteHeadTrainer(this.head),
          cache: this.#cache,
          now,
          onProgress: (event) => {
            if (event.part?.kind !== 'prompt' || this.#promptController !== controller) return;
            current = event.part.name;
            this.activity = { kind: 'prompts', name: current };
          },
          onRun: (run) => this.#putRun(run, generation),
          onPromptVectors: (vectors, part) => {
            const prompt = this.experiment.prompts[part.index];
            if (generation !== this.#generation || !prompt || !data) return;
            const predictor = promptPredictor(
              $state.snapshot(prompt),
              this.experiment.model,
              data.dataset.labels,
              vectors,
              this.model.info?.sentenceEmbedding ?? false,
            );
            this.tryItPredictors = withPredictor(this.tryItPredictors, predictor);
          },
          onError: (error, part) => {
            if (this.#promptController !== controller) return;
            report(`Variation "${part.name}": ${messageOf(error)}`);
          },
          signal: controller.signal,
        },
      );
      if (this.#promptController === controller) report();
      return problems.length === 0;
    } catch (error) {
      if (!isCancel(error, controller.signal)) {
        report(`Variation "${current}": ${messageOf(error)}`);
      }
      return false;
    } finally {
      if (this.#promptController === controller) {
        this.#promptController = undefined;
        this.activity = undefined;
      }
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
    const generation = this.#generation;
    this.headError = undefined;
    this.#headController?.abort();
    const controller = new AbortController();
    this.#headController = controller;
    this.activity = { kind: 'head', phase: 'features' };
    try {
      await runParts(
        { ...this.#parts(), prompts: [], heads: [spec] },
        context.value,
        { prompts: [], heads: [0] },
        {
          encoders: new RemoteEncoderProvider(this.model, { signal: controller.signal }),
          trainer: new RemoteHeadTrainer(this.head),
          cache: this.#cache,
          now,
          onProgress: (event) => {
            if (event.stage === 'training' && this.#headController === controller) {
              this.activity = { kind: 'head', phase: 'training' };
            }
          },
          onRun: (run) => this.#putRun(run, generation),
          onTrainedHead: (head) => {
            if (generation !== this.#generation) return;
            const predictor = headPredictor(spec, this.experiment.model, context.value.dataset.labels, head);
            this.tryItPredictors = withPredictor(this.tryItPredictors, predictor);
          },
          signal: controller.signal,
        },
      );
    } catch (error) {
      if (!isCancel(error, controller.signal)) this.headError = messageOf(error);
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
    this.#promptController?.abort();
    this.model.destroy();
    this.head.destroy();
  }

  // ------------------------------------------------------------ internals

  /** What a run of the experiment part at `path` (e.g. `prompts[1]`) needs, or why it cannot start. */
  #runContext(path: string): Outcome<PreparedData> {
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

  /** What the orchestrator reads of the experiment: the model and plain copies of the prompts and heads. */
  #parts(): ExperimentParts {
    return {
      model: this.experiment.model,
      prompts: $state.snapshot(this.experiment.prompts),
      heads: $state.snapshot(this.experiment.heads),
    };
  }

  #putRun(run: RunResult, generation: number): void {
    if (generation !== this.#generation) return;
    this.runs = [...this.runs.filter((r) => !(r.kind === run.kind && r.name === run.name)), run];
  }

  /** Drops the run of one part, here and in the runs kept with other models (it no longer describes it). */
  #dropRun(kind: RunResult['kind'], name: string): void {
    const other = (r: RunResult): boolean => !(r.kind === kind && r.name === name);
    this.runs = this.runs.filter(other);
    this.keptRuns = this.keptRuns
      .map((entry) => ({ ...entry, runs: entry.runs.filter(other) }))
      .filter((entry) => entry.runs.length > 0);
  }

  #invalidate(options: { keepRuns?: boolean } = {}): void {
    this.#generation++;
    this.#headController?.abort();
    this.#promptController?.abort();
    this.#cache.clear();
    if (!options.keepRuns) {
      this.runs = [];
      this.keptRuns = [];
      this.tryItPredictors = [];
    }
  }
}

/** True when a run stopped because it was cancelled (a cancelled worker call, or the run's own signal). */
function isCancel(error: unknown, signal: AbortSignal): boolean {
  return error instanceof CancelledError || signal.aborted;
}

/** The notice for a model switch made for variations that name their own model. */
function switchNotice(change: ModelSwitch, switched: readonly { name: string; model: string }[]): string {
  const home = `the experiment's model, "${change.home}"`;
  if (change.kind === 'loading') {
    return (
      `Variation "${switched.at(-1)?.name ?? ''}" names its own model: loading "${change.model}" in place of ` +
      `${home}, which is loaded again after the run.`
    );
  }
  const names = switched.map((entry) => `"${entry.name}"`).join(', ');
  const models = [...new Set(switched.map((entry) => `"${entry.model}"`))].join(', ');
  const ran = `${switched.length === 1 ? 'Variation' : 'Variations'} ${names} ran on ${models}`;
  return change.kind === 'restoring' ? `${ran}; loading ${home} again…` : `${ran}; ${home}, is loaded again.`;
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
