/**
 * @file The guided path as rune state: the user's place (step, open or closed), kept in localStorage, and what
 * the guide shows for it, derived from the experiment's state by the core's step table (core/guide/steps.ts).
 * The guide only reads the experiment; it never changes it.
 */
import { APP_CATALOG } from '../clients/model-catalog.ts';
import {
  GUIDE_STEP_IDS,
  guideView,
  type GuideFacts,
  type GuideStepId,
  type GuideView,
} from '../core/guide/steps.ts';
import {
  loadGuideProgress,
  pageStore,
  saveGuideProgress,
  type GuideStore,
} from '../storage/guide-progress.ts';
import type { ExperimentState } from './ExperimentState.svelte.ts';

/** What the guide needs to know from the experiment, read from the state every panel shares. */
export function guideFacts(lab: ExperimentState): GuideFacts {
  const id = lab.experiment.model;
  const modelReady = lab.model.ready && lab.model.modelId === id;
  const dataset = lab.dataset;
  const split = lab.split;
  const ref = lab.experiment.dataset;
  const datasetName = 'builtin' in ref ? ref.builtin : 'name' in ref ? ref.name : ref.path;
  const runs = lab.orderedRuns;
  const curve = lab.results?.learningCurve;
  return {
    ...(modelReady ? { model: { name: APP_CATALOG.models.find((m) => m.id === id)?.name ?? id } } : {}),
    ...(dataset && split
      ? {
          dataset: {
            name: datasetName,
            labels: dataset.labels,
            train: split.train.length,
            test: split.test.length,
          },
        }
      : {}),
    promptVariations: lab.experiment.prompts.length,
    promptRuns: runs.filter((run) => run.kind === 'prompt'),
    headRuns: runs.filter((run) => run.kind === 'head'),
    ...(curve
      ? {
          curve: {
            shotsPerClass: curve.shotsPerClass,
            crossover: curve.crossover,
            ...(curve.bestPrompt ? { bestPrompt: curve.bestPrompt } : {}),
          },
        }
      : {}),
  };
}

/** The guided path of one page: where the user is, whether the guide is open, and what it shows. */
export class GuideState {
  /** The step the user is on. */
  step = $state<GuideStepId>(GUIDE_STEP_IDS[0]);
  /** False once the user closed the guide (it stays closed after a reload until opened again). */
  open = $state(true);
  /** Why the stored place could not be used, when it could not (shown once in the guide). */
  problem = $state<string | undefined>(undefined);

  readonly #lab: ExperimentState;
  readonly #store: GuideStore | undefined;

  /** What the guide shows for the current step. */
  readonly view: GuideView = $derived.by(() => guideView(guideFacts(this.#lab), this.step));

  constructor(lab: ExperimentState, store: GuideStore | undefined = pageStore()) {
    this.#lab = lab;
    this.#store = store;
    const read = loadGuideProgress(store);
    this.step = read.progress.step;
    this.open = read.progress.open;
    this.problem = read.problem;
  }

  /** Moves to step `id` (and keeps it). */
  goTo(id: GuideStepId): void {
    this.step = id;
    this.#save();
  }

  /** Opens the guide where the user left it. */
  show(): void {
    this.open = true;
    this.#save();
  }

  /** Closes the guide (skips it); the place is kept for when it is opened again. */
  hide(): void {
    this.open = false;
    this.problem = undefined;
    this.#save();
  }

  #save(): void {
    saveGuideProgress(this.#store, { step: this.step, open: this.open });
  }
}
