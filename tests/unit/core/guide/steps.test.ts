import { describe, expect, it } from 'vitest';
import {
  FIRST_VISIT,
  GUIDE_PROGRESS_VERSION,
  parseGuideProgress,
  serializeGuideProgress,
} from '../../../../src/lib/core/guide/progress.ts';
import {
  GUIDE_STEP_IDS,
  GUIDE_STEPS,
  guideStep,
  guideView,
  isGuideStepId,
  type GuideFacts,
  type GuideStepId,
} from '../../../../src/lib/core/guide/steps.ts';

/** A fresh page: nothing loaded, the default dataset, three variations not run yet. */
const FRESH: GuideFacts = {
  dataset: { name: 'topics', labels: ['food', 'sports', 'weather'], train: 105, test: 45 },
  promptVariations: 3,
  promptRuns: [],
  headRuns: [],
};
const MODEL = { model: { name: 'Universal Sentence Encoder Lite' } };
const ONE_PROMPT = { promptRuns: [{ name: 'bare labels', accuracy: 0.6 }] };
const PROMPTS = {
  promptRuns: [
    { name: 'bare labels', accuracy: 0.6 },
    { name: 'sentence', accuracy: 0.8 },
    { name: 'described', accuracy: 0.9333 },
  ],
};
const HEAD = { headRuns: [{ name: 'linear head', accuracy: 0.9778 }] };
const CURVE = {
  curve: {
    shotsPerClass: [1, 2, 4, 8, 16],
    crossover: 4,
    bestPrompt: { name: 'described', accuracy: 0.9333 },
  },
};
const DONE: GuideFacts = { ...FRESH, ...MODEL, ...PROMPTS, ...HEAD, ...CURVE };

/** The ids of the done steps. */
function doneSteps(facts: GuideFacts): GuideStepId[] {
  return guideView(facts, 'model')
    .steps.filter((state) => state.done)
    .map((state) => state.step.id);
}

describe('guided path: when each step counts as done', () => {
  const cases: { name: string; facts: GuideFacts; done: GuideStepId[] }[] = [
    { name: 'a fresh page: only the default dataset', facts: FRESH, done: ['data'] },
    { name: 'no usable dataset', facts: { promptVariations: 3, promptRuns: [], headRuns: [] }, done: [] },
    { name: 'the model loaded', facts: { ...FRESH, ...MODEL }, done: ['model', 'data'] },
    {
      name: 'one prompt run is not a comparison',
      facts: { ...FRESH, ...MODEL, ...ONE_PROMPT },
      done: ['model', 'data'],
    },
    {
      name: 'two or more prompt runs',
      facts: { ...FRESH, ...MODEL, ...PROMPTS },
      done: ['model', 'data', 'prompts'],
    },
    {
      name: 'a head trained',
      facts: { ...FRESH, ...MODEL, ...PROMPTS, ...HEAD },
      done: ['model', 'data', 'prompts', 'head'],
    },
    { name: 'the curve drawn', facts: DONE, done: ['model', 'data', 'prompts', 'head', 'answer'] },
    {
      name: 'after a reload: runs restored, model not loaded, curve gone',
      facts: { ...FRESH, ...PROMPTS, ...HEAD },
      done: ['data', 'prompts', 'head'],
    },
  ];
  for (const { name, facts, done } of cases) {
    it(name, () => {
      expect(doneSteps(facts)).toEqual(done);
      expect(guideView(facts, 'answer').complete).toBe(done.length === GUIDE_STEPS.length);
    });
  }
});

describe('guided path: what the current step shows', () => {
  const cases: {
    name: string;
    facts: GuideFacts;
    step: GuideStepId;
    done: boolean;
    happened?: RegExp;
    missing: GuideStepId[];
    next?: GuideStepId;
  }[] = [
    {
      name: 'first step on a fresh page',
      facts: FRESH,
      step: 'model',
      done: false,
      missing: [],
      next: 'data',
    },
    {
      name: 'model loaded',
      facts: { ...FRESH, ...MODEL },
      step: 'model',
      done: true,
      happened: /^Universal Sentence Encoder Lite is loaded/,
      missing: [],
      next: 'data',
    },
    {
      name: 'data names the labels and the split',
      facts: FRESH,
      step: 'data',
      done: true,
      happened:
        /“topics” is in use: 3 labels \(food, sports and weather\), 105 texts to learn from and 45 kept aside/,
      missing: [],
      next: 'prompts',
    },
    {
      name: 'prompts before the model is loaded',
      facts: FRESH,
      step: 'prompts',
      done: false,
      missing: ['model'],
      next: 'head',
    },
    {
      name: 'prompts scored: best and worst by name',
      facts: { ...FRESH, ...MODEL, ...PROMPTS },
      step: 'prompts',
      done: true,
      happened: /^3 variations scored: the best, “described”, got 93% .* and “bare labels” 60%/,
      missing: [],
      next: 'head',
    },
    {
      name: 'head after a reload: the model must be loaded again',
      facts: { ...FRESH, ...PROMPTS },
      step: 'head',
      done: false,
      missing: ['model'],
      next: 'answer',
    },
    {
      name: 'head trained, set against the best prompt',
      facts: { ...FRESH, ...MODEL, ...PROMPTS, ...HEAD },
      step: 'head',
      done: true,
      happened: /^Head “linear head” is trained: 98% .* The best prompt got 93%/,
      missing: [],
      next: 'answer',
    },
    {
      name: 'answer without prompts or head',
      facts: { ...FRESH, ...MODEL },
      step: 'answer',
      done: false,
      missing: ['prompts', 'head'],
    },
    {
      name: 'answer with a crossover',
      facts: DONE,
      step: 'answer',
      done: true,
      happened:
        /with 4 labeled examples per class the head already matches the best prompt \(“described”, 93%\)/,
      missing: [],
    },
    {
      name: 'answer without a crossover',
      facts: { ...DONE, curve: { ...CURVE.curve, crossover: null } },
      step: 'answer',
      done: true,
      happened: /up to 16 labeled examples per class, the head never reached the best prompt/,
      missing: [],
    },
    {
      name: 'answer with a crossover at one example',
      facts: { ...DONE, curve: { ...CURVE.curve, crossover: 1 } },
      step: 'answer',
      done: true,
      happened: /with 1 labeled example per class/,
      missing: [],
    },
  ];
  for (const { name, facts, step, done, happened, missing, next } of cases) {
    it(name, () => {
      const view = guideView(facts, step);
      expect(view.current.id).toBe(step);
      expect(view.index).toBe(GUIDE_STEP_IDS.indexOf(step));
      expect(view.done).toBe(done);
      if (happened) expect(view.happened).toMatch(happened);
      else expect(view.happened).toBeUndefined();
      expect(view.missing.map((s) => s.id)).toEqual(missing);
      expect(view.next?.id).toBe(next);
    });
  }
});

describe('guided path: the step table', () => {
  it('declares every step once, in order, each on a tab, needing only earlier steps', () => {
    expect(GUIDE_STEPS.map((step) => step.id)).toEqual([...GUIDE_STEP_IDS]);
    GUIDE_STEPS.forEach((step, index) => {
      for (const needed of step.needs) expect(GUIDE_STEP_IDS.indexOf(needed)).toBeLessThan(index);
      for (const text of [step.title, step.summary, step.todo, step.lookAt, step.whenMissing, step.where]) {
        expect(text.trim().length).toBeGreaterThan(0);
      }
    });
    expect(new Set(GUIDE_STEPS.map((step) => step.tab)).size).toBe(GUIDE_STEPS.length);
  });

  it('refuses an unknown step id, naming the known ones', () => {
    expect(isGuideStepId('head')).toBe(true);
    expect(isGuideStepId('__proto__')).toBe(false);
    expect(isGuideStepId(3)).toBe(false);
    expect(() => guideStep('nope' as GuideStepId)).toThrow(/Unknown guide step "nope".*model, data, prompts/);
  });
});

describe('guided path: the stored place', () => {
  it('round-trips every step, open or closed', () => {
    for (const step of GUIDE_STEP_IDS) {
      for (const open of [true, false]) {
        expect(parseGuideProgress(serializeGuideProgress({ step, open }))).toEqual({
          progress: { step, open },
        });
      }
    }
  });

  it('starts a first visit on step 1, open, without a problem', () => {
    expect(parseGuideProgress(null)).toEqual({ progress: FIRST_VISIT });
  });

  const bad: { name: string; text: string }[] = [
    { name: 'not JSON', text: '{step' },
    { name: 'not an object', text: '"head"' },
    { name: 'an array', text: '[]' },
    { name: 'null', text: 'null' },
    {
      name: 'another version',
      text: JSON.stringify({ version: GUIDE_PROGRESS_VERSION + 1, step: 'head', open: true }),
    },
    {
      name: 'an unknown step',
      text: JSON.stringify({ version: GUIDE_PROGRESS_VERSION, step: 'toString', open: true }),
    },
    {
      name: 'open not a boolean',
      text: JSON.stringify({ version: GUIDE_PROGRESS_VERSION, step: 'head', open: 'yes' }),
    },
  ];
  for (const { name, text } of bad) {
    it(`restarts on a bad record (${name}) and says so`, () => {
      const read = parseGuideProgress(text);
      expect(read.progress).toEqual(FIRST_VISIT);
      expect(read.problem).toMatch(/could not be read, so it starts again at step 1/);
    });
  }
});
