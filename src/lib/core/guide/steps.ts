/**
 * @file The guided path, declared once: the five steps of one experiment (load the model, look at the data, run
 * prompt variations, train a head, read the answer), what each asks, what it shows once done and what to look at,
 * and when it counts as done. Pure: the facts come from the app's state (state/GuideState.svelte.ts), and the
 * workshop handout lists the same steps (scripts/workshop/handout.ts).
 */

/** The lab's tabs a step can send the user to (App.svelte's tab ids). */
export type GuideTab = 'model' | 'data' | 'prompts' | 'finetune' | 'compare';

/** The steps of the path, in order. */
export const GUIDE_STEP_IDS = ['model', 'data', 'prompts', 'head', 'answer'] as const;
export type GuideStepId = (typeof GUIDE_STEP_IDS)[number];

/** A scored run, as much of it as the guide talks about. */
export interface GuideRun {
  name: string;
  /** Test accuracy, 0–1. */
  accuracy: number;
}

/** What the guide knows about the experiment; every step's state is derived from it alone. */
export interface GuideFacts {
  /** The experiment's model, when it is loaded and ready to run (undefined while loading or after a reload). */
  model?: { name: string };
  /** The dataset with its train/test split, when it is usable. */
  dataset?: { name: string; labels: readonly string[]; train: number; test: number };
  /** Prompt variations in the experiment (run or not). */
  promptVariations: number;
  /** Scored prompt variations, in list order. */
  promptRuns: readonly GuideRun[];
  /** Trained heads. */
  headRuns: readonly GuideRun[];
  /** The learning curve, once drawn. */
  curve?: { shotsPerClass: readonly number[]; crossover: number | null; bestPrompt?: GuideRun };
}

/** Prompt variations that must be scored before the prompt step counts as done: a comparison needs two. */
export const MIN_PROMPT_RUNS = 2;

/** One step of the path. */
export interface GuideStep {
  id: GuideStepId;
  /** Short imperative title ("Load the model"). */
  title: string;
  /** The tab the step happens in. */
  tab: GuideTab;
  /** That tab as the page labels it, for sentences such as "in 1. Model". */
  where: string;
  /** One line for the handout and the list of steps. */
  summary: string;
  /** What to do, in a sentence or two. */
  todo: string;
  /** What to look at once the step is done. */
  lookAt: string;
  /** Earlier steps whose result this one needs still in place (a reload unloads the model, for instance). */
  needs: readonly GuideStepId[];
  /** What to do when a later step needs this one and it is not done (any more). */
  whenMissing: string;
  /** True once the step's result is there. */
  done(facts: GuideFacts): boolean;
  /** What just happened, with this experiment's numbers; called only when `done` holds. */
  happened(facts: GuideFacts): string;
}

/** `0.934` → `93%`. */
export function percentText(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/** `["a", "b", "c"]` → `a, b and c`. */
function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** The most and least accurate runs (the first of equals), or undefined when there are none. */
function extremes(runs: readonly GuideRun[]): { best: GuideRun; worst: GuideRun } | undefined {
  const first = runs[0];
  if (first === undefined) return undefined;
  let best = first;
  let worst = first;
  for (const run of runs) {
    if (run.accuracy > best.accuracy) best = run;
    if (run.accuracy < worst.accuracy) worst = run;
  }
  return { best, worst };
}

/** The steps, in order. */
export const GUIDE_STEPS: readonly GuideStep[] = [
  {
    id: 'model',
    title: 'Load the model',
    tab: 'model',
    where: '1. Model',
    summary: 'Load the pre-trained model. It runs in your browser: nothing you type leaves your device.',
    todo:
      'Keep Universal Sentence Encoder Lite selected and press “Load model”. It is a pre-trained model: it has ' +
      'already learned from a lot of text, and it runs inside this tab, so nothing you type leaves the computer.',
    lookAt:
      'Under the button: where it runs (WebGPU or WASM) and how long loading took. Its weights stay as they are ' +
      'for every prompt; only the head you train later learns anything.',
    needs: [],
    whenMissing: 'Load the model first (a reload of the page unloads it): press “Load model” in 1. Model.',
    done: (facts) => facts.model !== undefined,
    happened: (facts) =>
      `${facts.model?.name ?? 'The model'} is loaded and warmed up: it is ready to read text.`,
  },
  {
    id: 'data',
    title: 'Look at the data',
    tab: 'data',
    where: '2. Data',
    summary: 'Look at the built-in dataset, its labels and the texts kept aside for the test.',
    todo:
      'The built-in “topics” dataset is chosen for you: short sentences about food, sports or weather. Read a ' +
      'few rows and their labels.',
    lookAt:
      'The split: the test texts are set aside and never used to train or to write prompts, so every method is ' +
      'scored on the same unseen examples.',
    needs: [],
    whenMissing: 'Choose a dataset first, in 2. Data.',
    done: (facts) => facts.dataset !== undefined,
    happened: (facts) => {
      const data = facts.dataset;
      if (!data) return '';
      return (
        `“${data.name}” is in use: ${data.labels.length} labels (${listText(data.labels)}), ` +
        `${data.train} texts to learn from and ${data.test} kept aside for the test.`
      );
    },
  },
  {
    id: 'prompts',
    title: 'Try prompt variations',
    tab: 'prompts',
    where: '3. Prompt lab',
    summary: 'Run two or three ways of describing the labels and compare their accuracy.',
    todo:
      'Each card describes the labels in other words. Press “Run all”: every variation is scored on the test ' +
      'texts, and the model itself does not change.',
    lookAt:
      'The accuracy chart with its 95% intervals: when two intervals overlap, the difference may be luck. Edit ' +
      'a description and run it again to try to beat the best one.',
    needs: ['model', 'data'],
    whenMissing: 'Run at least two prompt variations first, in 3. Prompt lab.',
    done: (facts) => facts.promptRuns.length >= MIN_PROMPT_RUNS,
    happened: (facts) => {
      const ends = extremes(facts.promptRuns);
      if (!ends) return '';
      return (
        `${facts.promptRuns.length} variations scored: the best, “${ends.best.name}”, got ` +
        `${percentText(ends.best.accuracy)} of the test texts right, and “${ends.worst.name}” ` +
        `${percentText(ends.worst.accuracy)}. Same model, same texts: only the wording changed.`
      );
    },
  },
  {
    id: 'head',
    title: 'Train a head',
    tab: 'finetune',
    where: '4. Fine-tune lab',
    summary: 'Train a small head on the model’s features, with labeled examples.',
    todo:
      'Press “Train”. The frozen model turns each training text into a list of numbers (its features); a small ' +
      'layer on top, the head, learns the labels from them.',
    lookAt:
      'The loss chart: training loss should fall. If validation loss rises while training loss falls, the head ' +
      'is memorising its examples (overfitting).',
    needs: ['model', 'data'],
    whenMissing: 'Train a head first, in 4. Fine-tune lab.',
    done: (facts) => facts.headRuns.length > 0,
    happened: (facts) => {
      const head = extremes(facts.headRuns)?.best;
      if (!head) return '';
      const prompt = extremes(facts.promptRuns)?.best;
      const against = prompt
        ? ` The best prompt got ${percentText(prompt.accuracy)} on the same texts, with no labeled example.`
        : '';
      return `Head “${head.name}” is trained: ${percentText(head.accuracy)} of the test texts right.${against}`;
    },
  },
  {
    id: 'answer',
    title: 'Read the answer',
    tab: 'compare',
    where: '5. Compare',
    summary: 'Read which approach won, by how much, and from how many labeled examples training pays off.',
    todo:
      'Read the one-sentence answer at the top, then press “Learning curve” at the bottom: the head is trained ' +
      'again on 1, 2, 4… labeled examples per class and set against the prompts.',
    lookAt:
      'Where the curve crosses the prompt lines, and the table of eight aspects (data needed, cost, control…) ' +
      'filled with this experiment’s numbers.',
    needs: ['model', 'prompts', 'head'],
    whenMissing: 'Draw the learning curve first, in 5. Compare.',
    done: (facts) => facts.curve !== undefined,
    happened: (facts) => {
      const curve = facts.curve;
      if (!curve) return '';
      const best = curve.bestPrompt;
      if (!best) return 'The learning curve is drawn.';
      if (curve.crossover === null) {
        return (
          `The learning curve is drawn: up to ${curve.shotsPerClass.at(-1) ?? 0} labeled examples per class, ` +
          `the head never reached the best prompt (“${best.name}”, ${percentText(best.accuracy)}).`
        );
      }
      const examples = curve.crossover === 1 ? '1 labeled example' : `${curve.crossover} labeled examples`;
      return (
        `The learning curve is drawn: with ${examples} per class the head already matches the best prompt ` +
        `(“${best.name}”, ${percentText(best.accuracy)}).`
      );
    },
  },
];

/** The step with this id. */
export function guideStep(id: GuideStepId): GuideStep {
  const step = GUIDE_STEPS.find((candidate) => candidate.id === id);
  if (!step) throw new Error(`Unknown guide step "${id}". Known steps: ${GUIDE_STEP_IDS.join(', ')}.`);
  return step;
}

/** True when `value` names a step. */
export function isGuideStepId(value: unknown): value is GuideStepId {
  return typeof value === 'string' && (GUIDE_STEP_IDS as readonly string[]).includes(value);
}

/** One step as the guide shows it in the list. */
export interface GuideStepState {
  step: GuideStep;
  done: boolean;
}

/** Everything the guide shows for the step the user is on. */
export interface GuideView {
  /** Every step with its done state, in order. */
  steps: GuideStepState[];
  /** The step the user is on, its position (0-based) and whether it is done. */
  current: GuideStep;
  index: number;
  done: boolean;
  /** What just happened, when the current step is done. */
  happened?: string;
  /** Steps the current one needs that are not done (e.g. the model, unloaded by a reload), in order. */
  missing: GuideStep[];
  /** The step after the current one; undefined on the last. */
  next?: GuideStep;
  /** True when every step is done. */
  complete: boolean;
}

/** What the guide shows when the user is on step `current`, given the facts. */
export function guideView(facts: GuideFacts, current: GuideStepId): GuideView {
  const steps = GUIDE_STEPS.map((step) => ({ step, done: step.done(facts) }));
  const index = GUIDE_STEP_IDS.indexOf(current);
  const step = guideStep(current);
  const done = step.done(facts);
  const missing = step.needs.map(guideStep).filter((needed) => !needed.done(facts));
  const next = GUIDE_STEPS[index + 1];
  return {
    steps,
    current: step,
    index,
    done,
    ...(done ? { happened: step.happened(facts) } : {}),
    missing,
    ...(next ? { next } : {}),
    complete: steps.every((state) => state.done),
  };
}
