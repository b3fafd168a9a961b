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
  InstructionPrompt,
  LearningCurveResult,
  LearningCurveSpec,
  PromptSpec,
  RunResult,
  SimilarityPrompt,
  NliPrompt,
} from '../core/experiment/types.ts';
import { emptyRecord } from '../core/records.ts';
import { copyName, uniqueName } from '../core/text/names.ts';
import type { TrainTestSplit } from '../core/split/split.ts';
import {
  DEFAULT_LEARNING_CURVE,
  measureAgainst,
  runLearningCurve,
} from '../core/experiment/learning-curve.ts';
import { keepRowsRaw } from '../clients/DataClient.svelte.ts';
import { painted } from '../clients/frame-batch.ts';
import { HeadClient, type HeadStatus, type ImportedHeadFile } from '../clients/HeadClient.svelte.ts';
import {
  messageOf,
  ModelClient,
  sourceId,
  type LoadChoice,
  type LoadTarget,
} from '../clients/ModelClient.svelte.ts';
import { prepareInstruction, renderExample, type RenderedExample } from '../core/prompts/instruction.ts';
import {
  RemoteCausalScorerProvider,
  RemoteEncoder,
  RemoteEncoderProvider,
  RemoteHeadTrainer,
  type ModelSwitch,
} from '../clients/remote-ports.ts';
import { RemoteLayerTrainer } from '../clients/remote-layers.ts';
import { CancelledError } from '../workers/rpc.ts';
import { SvelteMap } from 'svelte/reactivity';
import type { SerializedHead } from '../core/ports.ts';
import { predictWithHeadWeights, type HeadBackbone, type TextPrediction } from '../core/heads/head-file.ts';
import { importedHeadWeights } from '../clients/imported-head.ts';
import { defaultExperiment, defaultHead } from './defaults.ts';
import type { TryItPredictor } from '../core/answer/try-it.ts';
import { headPredictor, promptPredictor, unfrozenHeadPredictor, withPredictor } from './try-it.ts';
import { headTokenCap, headUnfreeze } from '../core/experiment/unfreeze-run.ts';
import { layerIndex } from '../core/experiment/layers.ts';
import { MAX_HEADS, MAX_PROMPTS } from '../core/experiment/limits.ts';
import { checkExperiment } from './experiment-snapshot.svelte.ts';
import { FeatureCacheState } from './FeatureCacheState.svelte.ts';
import { probeLayers, type LayerProbePoint, type LayerProbeResult } from '../core/experiment/layer-probe.ts';
import { CardProblems } from './CardProblems.svelte.ts';

const now = (): number => performance.now();

/** Runs scored with a model the experiment no longer uses. */
export interface KeptRuns {
  model: string;
  runs: RunResult[];
}

/** What is running, for disabling buttons and showing progress. */
export type Activity =
  | { kind: 'prompts'; name: string }
  | { kind: 'head'; phase: 'features' | 'training' }
  /** Probing every layer: extracting all layers' features, then training the head on `layer`. */
  | { kind: 'probe'; phase: 'features' | 'training'; layer?: number };

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** A removed prompt variation that can still be put back, with its runs (here and with other models). */
interface RemovedPrompt {
  prompt: PromptSpec;
  index: number;
  key: string;
  runs: RunResult[];
  kept: KeptRuns[];
  /** The experiment and run generation it was removed from: its runs come back only while both are current. */
  experiment: Experiment;
  generation: number;
}

/** How far a run of prompt variations has got: scored or failed, of those it started with. */
export interface PromptBatch {
  done: number;
  total: number;
}

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
  /** Features kept in IndexedDB across page loads (read per text by every run); its size and notices. */
  readonly features: FeatureCacheState;
  /** The last layer probe (test accuracy by layer), filled layer by layer while it runs. */
  probe = $state.raw<LayerProbeResult | undefined>(undefined);
  probeError = $state<string | undefined>(undefined);

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
  /** Progress of the prompt variations running now ("Run all" or one), undefined when none runs. */
  promptBatch = $state.raw<PromptBatch | undefined>(undefined);
  /** What a cancelled prompt run finished and kept; cleared when the next one starts. */
  promptCancelNotice = $state<string | undefined>(undefined);
  /** The last removed variation, while it can be put back (`undoRemovePrompt`). */
  #removed = $state.raw<RemovedPrompt | undefined>(undefined);
  /** The prompt run the user cancelled (not one stopped because the model, data or experiment changed). */
  #cancelled: AbortController | undefined;

  // ---- learning curve (LearningCurve.svelte)
  /** The last learning curve of the head, as trained (measured against the prompts in `results`). */
  learningCurve = $state.raw<LearningCurveResult | undefined>(undefined);
  /** What the curve is doing while it runs ("4 per class, seed 2 (8 of 15)"), else undefined. */
  curveProgress = $state<string | undefined>(undefined);
  curveError = $state<string | undefined>(undefined);

  /** What the try-it box classifies with: each scored run's label vectors or head weights (this page only). */
  tryItPredictors = $state.raw<TryItPredictor[]>([]);

  /** The built-in dataset (provenance, description) or its lookup error. */
  readonly builtin: Outcome<BuiltinDataset> = $derived.by(() => {
    const ref = this.experiment.dataset;
    if (!('builtin' in ref)) return { ok: false, error: 'The experiment does not use a built-in dataset.' };
    return attempt(() => getBuiltinDataset(ref.builtin));
  });

  /**
   * The dataset and report of the uploaded rows last set with {@link setDataset}, from the check the upload had
   * (`checkedInlineDataset`: what `buildDatasetFromRef` gives for them, without checking 50,000 rows twice).
   */
  #checkedRows: { rows: readonly unknown[]; built: { dataset: Dataset; report: DatasetReport } } | undefined;

  /** The dataset (built-in or uploaded rows carried inline) with its validation report, or why it is unusable. */
  readonly datasetOutcome: Outcome<{ dataset: Dataset; report: DatasetReport }> = $derived.by(() => {
    const ref = this.experiment.dataset;
    const checked = this.#checkedRows;
    if (checked !== undefined && 'rows' in ref && ref.rows === checked.rows)
      return { ok: true, value: checked.built };
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
    const results = experimentResults(this.experiment, { dataset, split }, this.orderedRuns);
    // The crossover follows the prompts as they are now, also those run after the curve.
    if (this.learningCurve) results.learningCurve = measureAgainst(this.learningCurve, this.orderedRuns);
    return results;
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
   * What is wrong with each prompt card and head card, in plain words: the validation's problem on its card, or
   * the card's last failed run (CardProblems.svelte.ts).
   */
  readonly problems: CardProblems = new CardProblems(this);

  /** The orchestrator's vectors, kept across runs (nothing renders them); cleared on model/split change. */
  readonly #cache = createFeatureCache();
  /** Stops the prompt runs in progress when the model, split or experiment changes. */
  #promptController: AbortController | undefined;
  #headController: AbortController | undefined;
  /** Bumped when the model or split changes, so a run finishing afterwards does not report stale numbers. */
  #generation = 0;

  constructor(
    model: ModelClient = new ModelClient(),
    head: HeadClient = new HeadClient(),
    features: FeatureCacheState = new FeatureCacheState(),
  ) {
    this.model = model;
    this.head = head;
    this.features = features;
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
    this.#checkedRows = undefined;
    keepRowsRaw(experiment.dataset);
    this.experiment = experiment;
    this.promptKeys = experiment.prompts.map(() => newPromptKey());
    this.runs = runs;
    this.problems.clear();
    this.promptError = undefined;
    this.headError = undefined;
    this.modelNotice = undefined;
    this.labelsNotice = undefined;
  }

  /**
   * Uses another dataset (a built-in one, or uploaded rows carried inline); the split is recomputed from it, and
   * runs and caches are cleared since every number depended on the data.
   * @param checked For uploaded rows, their dataset and report as `checkedInlineDataset` gave them with `ref`.
   */
  setDataset(ref: DatasetRef, checked?: { dataset: Dataset; report: DatasetReport }): void {
    this.#checkedRows =
      checked && 'rows' in ref ? { rows: keepRowsRaw(ref).rows, built: checked } : undefined;
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
      if (prompt.strategy !== 'similarity') return;
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

  /** True when the experiment holds as many variations as one may ({@link MAX_PROMPTS}): none can be added. */
  get promptsFull(): boolean {
    return this.experiment.prompts.length >= MAX_PROMPTS;
  }

  /** True when the experiment holds as many heads as one may ({@link MAX_HEADS}). */
  get headsFull(): boolean {
    return this.experiment.heads.length >= MAX_HEADS;
  }

  /** Adds a variation with a unique name; returns its index, or undefined when the experiment is full. */
  addPrompt(): number | undefined {
    if (this.promptsFull) return undefined;
    const name = uniqueName('variation', this.#takenNames());
    this.experiment.prompts.push({ name, strategy: 'similarity', template: 'A text about {label}.' });
    this.promptKeys = [...this.promptKeys, newPromptKey()];
    return this.experiment.prompts.length - 1;
  }

  // ------------------------------------------------------------ instruction variations (causal LM)

  /**
   * Adds an instruction variation for a causal LM: zero-shot, each label's name as its verbalizer.
   * @returns its index, or undefined when the experiment is full.
   */
  addInstructionPrompt(model: string): number | undefined {
    if (this.promptsFull) return undefined;
    const taken = [...this.experiment.prompts, ...this.experiment.heads, ...this.runs].map(
      (item) => item.name,
    );
    const verbalizers = emptyRecord<string>();
    for (const label of this.dataset?.labels ?? []) verbalizers[label] = ` ${label}`;
    this.experiment.prompts.push({
      name: uniqueName('instruction', taken),
      strategy: 'instruction',
      instruction: 'Classify the topic of the text.',
      verbalizers,
      model,
    });
    this.promptKeys = [...this.promptKeys, newPromptKey()];
    return this.experiment.prompts.length - 1;
  }

  /** Replaces fields of an instruction variation; its old run no longer describes it and is dropped. */
  updateInstructionPrompt(index: number, patch: Partial<Omit<InstructionPrompt, 'name' | 'strategy'>>): void {
    const prompt = this.experiment.prompts[index];
    if (prompt?.strategy !== 'instruction') return;
    const next: InstructionPrompt = { ...prompt, ...patch };
    for (const key of [
      'template',
      'shotsPerClass',
      'chatTemplate',
      'lengthNormalize',
      'calibrate',
    ] as const) {
      if (next[key] === undefined) delete next[key];
    }
    this.experiment.prompts[index] = next;
    this.#dropRun('prompt', prompt.name);
  }

  /**
   * The exact prompt an instruction variation gives the model for one test example, its token count and whether
   * the text was truncated (loads the variation's language model in the model worker).
   */
  async previewInstruction(index: number, testIndex: number): Promise<RenderedExample> {
    const prompt = $state.snapshot(this.experiment.prompts[index]);
    const context = this.#runContext(`prompts[${index}]`);
    if (!context.ok) throw new Error(context.error);
    if (prompt?.strategy !== 'instruction') throw new Error(`Variation ${index + 1} is not an instruction.`);
    const example = context.value.split.test[testIndex];
    if (example === undefined) throw new RangeError(`There is no test example ${testIndex + 1}.`);
    const scorer = await new RemoteCausalScorerProvider(this.model).scorer(
      prompt.model ?? this.experiment.model,
    );
    const prepared = await prepareInstruction({
      prompt,
      path: `prompts[${index}]`,
      labels: context.value.dataset.labels,
      train: context.value.split.train,
      seed: this.experiment.split.seed,
      scorer,
    });
    return renderExample(prepared, example.text, scorer);
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
    if (this.#takenNames().includes(trimmed)) {
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
    if (prompt?.strategy !== 'similarity') return;
    const next: SimilarityPrompt = { ...prompt, ...patch };
    for (const key of ['template', 'descriptions', 'textTemplate', 'calibrate'] as const) {
      if (next[key] === undefined) delete next[key];
    }
    this.experiment.prompts[index] = next;
    this.#dropRun('prompt', prompt.name);
  }

  // ---- NLI variations (strategy 'nli'): a hypothesis per label, on an NLI model

  /**
   * Switches a variation between label texts compared by similarity and an NLI hypothesis. A template with
   * `{label}` becomes the hypothesis and back; the text template, model and calibration carry over; the old run
   * is dropped.
   */
  setPromptStrategy(index: number, strategy: 'similarity' | 'nli'): void {
    const prompt = this.experiment.prompts[index];
    // An instruction variation has its own card (InstructionCard) and no text to carry over.
    if (!prompt || prompt.strategy === strategy || prompt.strategy === 'instruction') return;
    const kept = {
      name: prompt.name,
      ...(prompt.textTemplate === undefined ? {} : { textTemplate: prompt.textTemplate }),
      ...(prompt.model === undefined ? {} : { model: prompt.model }),
      ...(prompt.calibrate === undefined ? {} : { calibrate: prompt.calibrate }),
    };
    if (prompt.strategy === 'similarity') {
      const template = prompt.template?.includes('{label}') ? prompt.template : undefined;
      this.experiment.prompts[index] = {
        ...kept,
        strategy: 'nli',
        hypothesis: template ?? 'This text is about {label}.',
      };
    } else {
      this.experiment.prompts[index] = { ...kept, strategy: 'similarity', template: prompt.hypothesis };
    }
    this.#dropRun('prompt', prompt.name);
  }

  /** Edits an NLI variation (hypothesis, text template, model, calibration); its old run is dropped. */
  updateNliPrompt(index: number, patch: Partial<Omit<NliPrompt, 'name' | 'strategy'>>): void {
    const prompt = this.experiment.prompts[index];
    if (prompt?.strategy !== 'nli') return;
    const next: NliPrompt = { ...prompt, ...patch };
    for (const key of ['textTemplate', 'model', 'calibrate'] as const) {
      if (next[key] === undefined) delete next[key];
    }
    this.experiment.prompts[index] = next;
    this.#dropRun('prompt', prompt.name);
  }

  /**
   * Removes a variation and its runs; `undoRemovePrompt` puts the last one removed back, with its runs while they
   * still describe it.
   */
  removePrompt(index: number): void {
    const [removed] = this.experiment.prompts.splice(index, 1);
    const key = this.promptKeys[index];
    this.promptKeys = this.promptKeys.filter((_, position) => position !== index);
    if (!removed) return;
    const mine = (r: RunResult): boolean => r.kind === 'prompt' && r.name === removed.name;
    this.#removed = {
      prompt: $state.snapshot(removed),
      index,
      key: key ?? newPromptKey(),
      runs: this.runs.filter(mine),
      kept: this.keptRuns
        .map((entry) => ({ model: entry.model, runs: entry.runs.filter(mine) }))
        .filter((entry) => entry.runs.length > 0),
      experiment: this.experiment,
      generation: this.#generation,
    };
    this.#dropRun('prompt', removed.name);
  }

  // ------------------------------------------------------------ prompt lab tools: copy, order, undo

  /** The last removed variation's name and position, while it can be put back; undefined otherwise. */
  get removedPrompt(): { name: string; index: number } | undefined {
    const removed = this.#removed;
    if (removed === undefined || removed.experiment !== this.experiment) return undefined;
    return { name: removed.prompt.name, index: removed.index };
  }

  /**
   * Puts the last removed variation back where it was, under its name (or a fresh one if that was taken since),
   * with its runs unless the model, data or split changed meanwhile.
   * @returns its index, or undefined when there is nothing to put back (or the experiment is full again).
   */
  undoRemovePrompt(): number | undefined {
    const removed = this.#removed;
    if (removed !== undefined && this.promptsFull) return undefined;
    this.#removed = undefined;
    if (removed === undefined || removed.experiment !== this.experiment) return undefined;
    const name = uniqueName(removed.prompt.name, this.#takenNames());
    const index = Math.min(removed.index, this.experiment.prompts.length);
    this.experiment.prompts.splice(index, 0, { ...removed.prompt, name });
    const keys = [...this.promptKeys];
    keys.splice(index, 0, removed.key);
    this.promptKeys = keys;
    if (removed.generation === this.#generation) {
      const renamed = (runs: RunResult[]): RunResult[] => runs.map((run) => ({ ...run, name }));
      this.runs = [...this.runs, ...renamed(removed.runs)];
      const kept = this.keptRuns.map((entry) => ({ ...entry }));
      for (const entry of removed.kept) {
        const shelf = kept.find((candidate) => candidate.model === entry.model);
        if (shelf) shelf.runs = [...shelf.runs, ...renamed(entry.runs)];
        else kept.push({ model: entry.model, runs: renamed(entry.runs) });
      }
      this.keptRuns = kept;
    }
    return index;
  }

  /** Forgets the removed variation: it can no longer be put back. */
  forgetRemovedPrompt(): void {
    this.#removed = undefined;
  }

  /**
   * Adds a copy of a variation right after it, named "<name> copy" (numbered when taken). The copy has no run
   * until it is run.
   * @returns the copy's index, or undefined when there is no variation `index` or the experiment is full.
   */
  duplicatePrompt(index: number): number | undefined {
    const prompt = this.experiment.prompts[index];
    if (!prompt || this.promptsFull) return undefined;
    const copy = { ...$state.snapshot(prompt), name: copyName(prompt.name, this.#takenNames()) };
    this.experiment.prompts.splice(index + 1, 0, copy);
    const keys = [...this.promptKeys];
    keys.splice(index + 1, 0, newPromptKey());
    this.promptKeys = keys;
    return index + 1;
  }

  /**
   * Moves a variation to position `to` (its runs follow it: they are by name).
   * @returns false when either position is outside the list.
   */
  movePrompt(from: number, to: number): boolean {
    const prompts = this.experiment.prompts;
    const valid = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < prompts.length;
    if (!valid(from) || !valid(to)) return false;
    if (from === to) return true;
    const [moved] = prompts.splice(from, 1);
    prompts.splice(to, 0, moved as PromptSpec);
    const keys = [...this.promptKeys];
    const [key] = keys.splice(from, 1);
    keys.splice(to, 0, key ?? newPromptKey());
    this.promptKeys = keys;
    return true;
  }

  /**
   * Stops the prompt variations running now. Runs already scored stay; the rest are not run, and
   * `promptCancelNotice` says how many finished.
   */
  cancelPrompts(): void {
    const controller = this.#promptController;
    if (controller === undefined || controller.signal.aborted) return;
    this.#cancelled = controller;
    controller.abort();
  }

  /** Names in use: prompt and head names share one namespace in the experiment file, and runs keep theirs. */
  #takenNames(): string[] {
    return [...this.experiment.prompts, ...this.experiment.heads, ...this.runs].map((item) => item.name);
  }

  /**
   * Runs every variation: in list order, except that variations naming their own model run after the others
   * (one model switch each way). One that cannot start or fails does not stop the others; `promptError` names
   * each that did not run. Returns false when one did not run (failed, or the run was cancelled).
   */
  async runAllPrompts(): Promise<boolean> {
    return this.#runPrompts(this.experiment.prompts.map((_, index) => index));
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
    this.promptCancelNotice = undefined;
    this.#promptController?.abort();
    const controller = new AbortController();
    this.#promptController = controller;
    const batch: PromptBatch = { done: 0, total: runnable.length };
    const advance = (): void => {
      if (this.#promptController !== controller) return;
      batch.done++;
      this.promptBatch = { ...batch };
    };
    this.promptBatch = { ...batch };
    let current = this.experiment.prompts[runnable[0] as number]?.name ?? '';
    const switched: { name: string; model: string }[] = [];
    this.activity = { kind: 'prompts', name: current };
    try {
      await painted();
      await runParts(
        this.#parts(),
        data,
        { prompts: runnable, heads: [] },
        {
          scorers: new RemoteCausalScorerProvider(this.model, { signal: controller.signal }),
          encoders: new RemoteEncoderProvider(this.model, {
            signal: controller.signal,
            onSwitch: (change) => {
              if (change.kind === 'loading') switched.push({ name: current, model: change.model });
              this.modelNotice = switchNotice(change, switched);
            },
          }),
          trainer: new RemoteHeadTrainer(this.head),
          cache: this.#cache,
          ahead: this.#parts(),
          ...this.#store(),
          now,
          onProgress: (event) => {
            if (event.part?.kind !== 'prompt' || this.#promptController !== controller) return;
            current = event.part.name;
            this.activity = { kind: 'prompts', name: current };
          },
          onRun: (run) => {
            this.#putRun(run, generation);
            if (generation === this.#generation)
              this.#promptCard(run.name, (card) => this.problems.succeed(card));
            advance();
          },
          onPromptVectors: (vectors, part) => {
            const prompt = this.experiment.prompts[part.index];
            // Label vectors classify a typed text exactly as the run did only for uncalibrated similarity prompts.
            if (generation !== this.#generation || !prompt || !data) return;
            if (prompt.strategy !== 'similarity' || prompt.calibrate === true) return;
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
            advance();
            this.problems.fail({ kind: 'prompt', index: part.index }, error);
            report(`Variation "${part.name}": ${messageOf(error)}`);
          },
          signal: controller.signal,
        },
      );
      if (this.#promptController === controller) report();
      return problems.length === 0;
    } catch (error) {
      if (!isCancel(error, controller.signal)) {
        this.#promptCard(current, (card) => this.problems.fail(card, error));
        report(`Variation "${current}": ${messageOf(error)}`);
      }
      return false;
    } finally {
      if (this.#cancelled === controller) {
        this.#cancelled = undefined;
        if (batch.done < batch.total) this.promptCancelNotice = cancelNotice(batch);
      }
      if (this.#promptController === controller) {
        this.#promptController = undefined;
        this.activity = undefined;
        this.promptBatch = undefined;
      }
    }
  }

  // ------------------------------------------------------------ head

  // ---- several heads (helper "heads"): the one being edited, adding and removing, trained weights to export
  /** Index in `experiment.heads` of the head being edited and trained. */
  selectedHead = $state(0);
  /** Each head trained in this session, by head name, with the backbone it was trained on ("Export head"). */
  readonly trainedHeads = new SvelteMap<string, { head: SerializedHead; backbone: HeadBackbone }>();

  /** Where the edited head is: the selection, kept within the experiment's heads. */
  get #headIndex(): number {
    return Math.min(Math.max(0, this.selectedHead), Math.max(0, this.experiment.heads.length - 1));
  }

  /** The head being edited (the selected one of the experiment's heads). */
  get headSpec(): HeadSpec {
    return this.experiment.heads[this.#headIndex] ?? defaultHead();
  }

  updateHead(patch: Partial<HeadSpec>): void {
    this.experiment.heads[this.#headIndex] = { ...this.headSpec, ...patch };
    this.learningCurve = undefined;
  }

  /** Adds a copy of the edited head under a new name and selects it (nothing when the experiment is full). */
  addHead(): void {
    if (this.headsFull) return;
    const names = [...this.experiment.prompts, ...this.experiment.heads].map((part) => part.name);
    const base = `${this.headSpec.name} copy`;
    let name = base;
    for (let count = 2; names.includes(name); count++) name = `${base} ${count}`;
    this.experiment.heads.push({ ...$state.snapshot(this.headSpec), name });
    this.selectedHead = this.experiment.heads.length - 1;
  }

  /** Removes the edited head (never the last one) and selects the one before it. */
  removeHead(): void {
    if (this.experiment.heads.length < 2) return;
    const index = this.#headIndex;
    this.experiment.heads.splice(index, 1);
    this.selectedHead = Math.max(0, index - 1);
  }

  /**
   * Labels `texts` with a head file (exported here or by the CLI's --save-heads) on the loaded model: its text
   * template, layer and pooling, then its weights in the head worker.
   * @throws HeadBackboneError when the head was trained on another model, dtype or feature width.
   */
  /** The try-it box's predictor for a head trained with unfrozen layers (it runs in the head worker). */
  #unfrozenPredictor(spec: HeadSpec, head: SerializedHead, labels: readonly string[]): TryItPredictor {
    const model = this.experiment.model;
    const numLayers = this.model.info?.numLayers ?? 0;
    const request = {
      model,
      featureLayer: layerIndex(spec.layer, numLayers) ?? numLayers,
      unfreeze: headUnfreeze(spec),
      pooling: spec.pooling,
    };
    const cap = Math.min(headTokenCap(spec), this.model.info?.maxTokens ?? headTokenCap(spec));
    const layers = new RemoteLayerTrainer(this.model, this.head);
    return unfrozenHeadPredictor(spec, model, labels, async (text, signal) => {
      const [probabilities] = await layers.classify(request, head, [text], cap, signal);
      return probabilities ?? [];
    });
  }

  async predictWithHead(imported: ImportedHeadFile, texts: string[]): Promise<TextPrediction[]> {
    const info = this.model.info;
    if (!this.model.ready || !info) throw new Error('Load a model first (section 1), then try the head.');
    const loaded = {
      modelId: info.modelId,
      dtype: info.dtype,
      dimension: info.dimension,
      numLayers: info.numLayers,
      ...(info.weightsHash === undefined ? {} : { fileHash: info.weightsHash }),
    };
    // The weights stay in the head worker (imported there); token states come from the model worker.
    return predictWithHeadWeights(
      imported.info,
      new RemoteEncoder(this.model),
      importedHeadWeights(this.model, this.head, imported),
      texts,
      loaded,
    );
  }

  /**
   * The head's status as the lab shows it: the head client's, except that a training the worker has finished is
   * still 'training' while its run goes on (scored on the test split, intervals computed): 'done' only once the
   * run's result is in. While a new run extracts features, the last run's status stays as it was.
   */
  get headStatus(): HeadStatus {
    const status = this.head.status;
    return status === 'done' && this.#headTraining ? 'training' : status;
  }

  /**
   * Set once the running {@link trainHead} has started the head client's training, until the run is over: the
   * client's status is then this run's, and its 'done' means the training ended, not the run.
   */
  #headTraining = $state(false);

  /** Extracts features (cached), trains the selected head in its worker, scores it on the test split. */
  async trainHead(): Promise<void> {
    const spec = $state.snapshot(this.headSpec);
    const context = this.#runContext(`heads[${this.#headIndex}]`);
    if (!context.ok) {
      this.headError = context.error;
      return;
    }
    const headCard = { kind: 'head', index: this.#headIndex } as const;
    const generation = this.#generation;
    this.headError = undefined;
    this.#headController?.abort();
    const controller = new AbortController();
    this.#headController = controller;
    this.activity = { kind: 'head', phase: 'features' };
    this.#headTraining = false;
    // The worker's training ends before the run does (scored, intervals computed): 'done' waits for the result.
    const started = (): void => {
      if (this.#headController === controller) this.#headTraining = true;
    };
    const trainer = new RemoteHeadTrainer(this.head);
    const layerTrainer = new RemoteLayerTrainer(this.model, this.head);
    try {
      await painted();
      await runParts(
        { ...this.#parts(), prompts: [], heads: [spec] },
        context.value,
        { prompts: [], heads: [0] },
        {
          encoders: new RemoteEncoderProvider(this.model, { signal: controller.signal }),
          trainer: {
            train: (...args) => {
              started();
              return trainer.train(...args);
            },
          },
          layerTrainer: {
            train: (...args) => {
              started();
              return layerTrainer.train(...args);
            },
          },
          cache: this.#cache,
          ahead: this.#parts(),
          ...this.#store(),
          now,
          onProgress: (event) => {
            if (event.stage === 'training' && this.#headController === controller) {
              this.activity = { kind: 'head', phase: 'training' };
            }
          },
          onRun: (run) => {
            this.#putRun(run, generation);
            if (generation === this.#generation) this.problems.succeed(headCard);
          },
          onTrainedHead: (head) => {
            if (generation !== this.#generation) return;
            const info = this.model.info;
            if (info) {
              // The weights file's SHA-256 when the worker read it whole (as the CLI's --save-heads records it).
              const backbone = {
                model: info.modelId,
                dtype: info.dtype,
                dimension: head.inputSize,
                ...(info.weightsHash === undefined ? {} : { fileHash: info.weightsHash }),
              };
              this.trainedHeads.set(spec.name, { head, backbone });
            }
            const labels = context.value.dataset.labels;
            const predictor = head.unfrozen
              ? this.#unfrozenPredictor(spec, head, labels)
              : headPredictor(spec, this.experiment.model, labels, head);
            this.tryItPredictors = withPredictor(this.tryItPredictors, predictor);
          },
          signal: controller.signal,
        },
      );
    } catch (error) {
      if (!isCancel(error, controller.signal)) {
        this.headError = messageOf(error);
        this.problems.fail(headCard, error);
      }
    } finally {
      if (this.#headController === controller) {
        this.#headController = undefined;
        this.activity = undefined;
        this.#headTraining = false;
      }
    }
  }

  /** The learning curve a run trains: the experiment's own, or the default sizes and seeds for its head. */
  get curveSpec(): LearningCurveSpec {
    return this.experiment.learningCurve ?? DEFAULT_LEARNING_CURVE;
  }

  /**
   * Trains the head's settings again for every size and seed of the learning curve (features from the shared
   * cache: extracted once at most), and keeps the curve. The experiment records the spec it ran, so an export
   * reproduces it. Cancel with `cancelTraining`.
   */
  async runLearningCurve(): Promise<void> {
    const context = this.#runContext('heads[0]');
    if (!context.ok) {
      this.curveError = context.error;
      return;
    }
    const spec = $state.snapshot(this.curveSpec);
    const generation = this.#generation;
    this.curveError = undefined;
    this.#headController?.abort();
    const controller = new AbortController();
    this.#headController = controller;
    this.activity = { kind: 'head', phase: 'features' };
    this.curveProgress = 'Starting';
    try {
      await painted();
      const parts = this.#parts();
      const heads = parts.heads.length > 0 ? parts.heads : [$state.snapshot(this.headSpec)];
      const curve = await runLearningCurve(
        { ...parts, heads, learningCurve: spec },
        context.value,
        this.orderedRuns,
        {
          encoders: new RemoteEncoderProvider(this.model, { signal: controller.signal }),
          trainer: new RemoteHeadTrainer(this.head),
          cache: this.#cache,
          now,
          onProgress: (event) => {
            if (this.#headController !== controller) return;
            if (event.stage === 'training') this.activity = { kind: 'head', phase: 'training' };
            this.curveProgress = event.message;
          },
          signal: controller.signal,
        },
      );
      if (generation === this.#generation) {
        this.learningCurve = curve;
        const recordable = this.experiment.heads.length > 0 && this.experiment.learningCurve === undefined;
        if (recordable) this.experiment.learningCurve = spec;
      }
    } catch (error) {
      if (!isCancel(error, controller.signal)) this.curveError = messageOf(error);
    } finally {
      if (this.#headController === controller) {
        this.#headController = undefined;
        this.activity = undefined;
        this.curveProgress = undefined;
      }
    }
  }

  /** Stops feature extraction or training of the head (or of the layer probe). */
  cancelTraining(): void {
    this.#headController?.abort();
  }

  // ------------------------------------------------------------ feature cache and layer probe

  /**
   * Trains the head's settings on every layer of the model (its pooling) and charts test accuracy by layer in
   * `probe`. All layers' features come from one forward pass per text (none for texts already cached); each
   * layer's head trains in the head worker like the head itself. Cancel with `cancelTraining`.
   */
  async probeLayers(): Promise<void> {
    const spec = $state.snapshot(this.headSpec);
    const context = this.#runContext('heads[0]');
    if (!context.ok) {
      this.probeError = context.error;
      return;
    }
    const generation = this.#generation;
    this.probeError = undefined;
    this.#headController?.abort();
    const controller = new AbortController();
    this.#headController = controller;
    const numLayers = this.model.info?.numLayers ?? 0;
    const points: LayerProbePoint[] = [];
    const model = this.experiment.model;
    this.probe = { head: spec.name, model, pooling: spec.pooling, numLayers, points: [] };
    this.activity = { kind: 'probe', phase: 'features' };
    try {
      await painted();
      const result = await probeLayers({ ...this.#parts(), prompts: [], heads: [spec] }, context.value, 0, {
        encoders: new RemoteEncoderProvider(this.model, { signal: controller.signal }),
        trainer: new RemoteHeadTrainer(this.head),
        cache: this.#cache,
        ...this.#store(),
        now,
        onProgress: (event) => {
          if (event.stage !== 'training' || this.#headController !== controller) return;
          const layer = event.part?.index;
          this.activity = { kind: 'probe', phase: 'training', ...(layer === undefined ? {} : { layer }) };
        },
        onRun: (run, part) => {
          if (generation !== this.#generation || this.#headController !== controller) return;
          points.push({
            layer: part.index,
            accuracy: run.accuracy,
            macroF1: run.macroF1,
            ...(run.accuracyCI === undefined ? {} : { accuracyCI: run.accuracyCI }),
            adaptMs: run.cost.adaptMs,
          });
          this.probe = { head: spec.name, model, pooling: spec.pooling, numLayers, points: [...points] };
        },
        signal: controller.signal,
      });
      if (generation === this.#generation) this.probe = result;
    } catch (error) {
      if (!isCancel(error, controller.signal)) this.probeError = messageOf(error);
    } finally {
      if (this.#headController === controller) {
        this.#headController = undefined;
        this.activity = undefined;
      }
    }
  }

  /** Empties the feature cache, in IndexedDB and in this page: the next run computes its features again. */
  async clearFeatureCache(): Promise<void> {
    this.#cache.clear();
    await this.features.clear();
  }

  /** The persistent store ports of a run. */
  #store(): { store: FeatureCacheState['store']; onStoreError: (error: unknown) => void } {
    return { store: this.features.store, onStoreError: (error) => this.features.report(error) };
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
    return { ok: true, value: { dataset, split, seed: this.experiment.split.seed } };
  }

  /** What the orchestrator reads of the experiment: the model and plain copies of the prompts and heads. */
  #parts(): ExperimentParts {
    return {
      model: this.experiment.model,
      prompts: $state.snapshot(this.experiment.prompts),
      heads: $state.snapshot(this.experiment.heads),
    };
  }

  /** Calls `act` with the card of the prompt variation named `name`, when there is one. */
  #promptCard(name: string, act: (card: { kind: 'prompt'; index: number }) => void): void {
    const index = this.experiment.prompts.findIndex((prompt) => prompt.name === name);
    if (index >= 0) act({ kind: 'prompt', index });
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
    this.trainedHeads.clear();
    this.probe = undefined;
    if (!options.keepRuns) {
      this.runs = [];
      this.keptRuns = [];
      this.learningCurve = undefined;
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

/** What a cancelled prompt run says: how many variations finished (their runs stay). */
function cancelNotice(batch: PromptBatch): string {
  const of = batch.total === 1 ? '1 variation' : `${batch.total} variations`;
  const kept = batch.done === 0 ? '' : batch.done === 1 ? '; its result is kept' : '; their results are kept';
  return `Cancelled: ${batch.done} of ${of} had finished${kept}. Run again to score the rest.`;
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

/** `base`, or `base 2`, `base 3`… whichever is not in `taken` (core/text/names.ts). */
export { uniqueName };
