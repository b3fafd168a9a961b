/**
 * @file The mapping from an error to its card, its field and plain words (src/lib/core/teaching/plain-errors.ts),
 * table-driven on the real errors: each case is produced by the validator or the run code that throws it, so a
 * change of wording there that the table no longer recognises fails here.
 */
import { describe, expect, it } from 'vitest';
import { ExperimentError, HeadDivergedError } from '../../../../src/lib/core/errors.ts';
import { parseExperiment } from '../../../../src/lib/core/experiment/schema.ts';
import { entailmentIndex, requirePairClassifier } from '../../../../src/lib/core/prompts/nli.ts';
import {
  explainError,
  failureStillApplies,
  fieldLabel,
  isAtField,
  isOnCard,
  locatePath,
  pathSegments,
  type PlainError,
} from '../../../../src/lib/core/teaching/plain-errors.ts';

type Patch = (experiment: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A valid experiment, changed by `patch`, validated: the ExperimentError it throws. */
function validationError(patch: Patch): ExperimentError {
  const experiment: Record<string, unknown> = {
    version: 1,
    name: 'plain errors',
    model: 'fixtures/tiny-bert',
    dataset: { builtin: 'topics' },
    split: { test: 0.3, seed: 42 },
    prompts: [
      { name: 'bare', strategy: 'similarity', template: '{label}' },
      { name: 'described', strategy: 'similarity', descriptions: { food: 'meals', 'not spam': 'a note' } },
      { name: 'entails', strategy: 'nli', hypothesis: 'About {label}.' },
    ],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 20, learningRate: 0.01, seed: 1 },
    ],
  };
  patch(experiment);
  try {
    parseExperiment(experiment);
  } catch (error) {
    if (error instanceof ExperimentError) return error;
    throw error;
  }
  throw new Error('the patch left the experiment valid');
}

/** What a thrown call threw. */
function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

interface Case {
  name: string;
  error: unknown;
  part?: { kind: 'prompt' | 'head'; index: number };
  card: PlainError['card'];
  field: string[];
  /** Words the plain message must contain. */
  says: RegExp;
}

const cases: Case[] = [
  {
    name: 'a template without {label}',
    error: validationError((e) => (e.prompts[0].template = 'About it.')),
    card: { kind: 'prompt', index: 0 },
    field: ['template'],
    says: /^The template has no \{label\}: write \{label\} where each label’s name should go/,
  },
  {
    name: 'a hypothesis without {label}',
    error: validationError((e) => (e.prompts[2].hypothesis = 'About it.')),
    card: { kind: 'prompt', index: 2 },
    field: ['hypothesis'],
    says: /^The hypothesis has no \{label\}/,
  },
  {
    name: 'an input wrapper without {text}',
    error: validationError((e) => (e.prompts[1].textTemplate = 'query:')),
    card: { kind: 'prompt', index: 1 },
    field: ['textTemplate'],
    says: /^The input wrapper has no \{text\}/,
  },
  {
    name: 'an empty description of a label that is not an identifier',
    error: validationError((e) => (e.prompts[1].descriptions['not spam'] = ' ')),
    card: { kind: 'prompt', index: 1 },
    field: ['descriptions', 'not spam'],
    says: /^The description of “not spam” is empty/,
  },
  {
    name: 'a learning rate of 0',
    error: validationError((e) => (e.heads[0].learningRate = 0)),
    card: { kind: 'head', index: 0 },
    field: ['learningRate'],
    says: /^Learning rate must be greater than 0, e\.g\. 0\.01; got 0\.$/,
  },
  {
    name: 'epochs that are not a whole number',
    error: validationError((e) => (e.heads[0].epochs = 2.5)),
    card: { kind: 'head', index: 0 },
    field: ['epochs'],
    says: /^Epochs must be a whole number/,
  },
  {
    name: 'a test fraction of 1, outside every card',
    error: validationError((e) => (e.split.test = 1)),
    card: undefined,
    field: ['test'],
    says: /^Test fraction is the fraction of each class held out for testing: it must be between 0 and 1/,
  },
  {
    name: 'a model that is not a sequence classifier, named by the NLI run',
    error: thrown(() => requirePairClassifier(undefined, 'fixtures/tiny-bert', 'prompts[2].model')),
    card: { kind: 'prompt', index: 2 },
    field: ['model'],
    says: /^This model cannot judge a hypothesis: an NLI variation needs a model trained for natural language/,
  },
  {
    name: 'a model without an entailment class',
    error: thrown(() => entailmentIndex(['LABEL_0', 'LABEL_1'], 'some/model', 'prompts[0].model')),
    card: { kind: 'prompt', index: 0 },
    field: ['model'],
    says: /^This model cannot judge a hypothesis/,
  },
  {
    name: 'two verbalizers with the same tokens',
    error: new ExperimentError(
      'prompts[3].verbalizers.sports',
      'label "sports" has the same verbalizer tokens as label "food" (1 token(s)): the model could not tell them apart; give each label its own words.',
    ),
    card: { kind: 'prompt', index: 3 },
    field: ['verbalizers', 'sports'],
    says: /^The labels “sports” and “food” have verbalizers this model reads as the same words/,
  },
  {
    name: 'more shots than a class has',
    error: new ExperimentError(
      'prompts[1].shotsPerClass',
      '9 shots per class, but label "food" has only 4 training examples: use at most 4, or a smaller test fraction.',
    ),
    card: { kind: 'prompt', index: 1 },
    field: ['shotsPerClass'],
    says: /^Too many examples per class: the label “food” has only 4 in the training part\. Use at most 4/,
  },
  {
    name: 'a diverged head, from the head worker (message only), placed on the learning rate',
    error: new Error(new HeadDivergedError('the loss at epoch 3', 5, 'linear').message),
    part: { kind: 'head', index: 1 },
    card: { kind: 'head', index: 1 },
    field: ['learningRate'],
    says: /^Training broke down: the loss at epoch 3 grew without limit with learning rate 5\. Lower the learning rate, for example to 0\.01/,
  },
  {
    name: 'a model that could not load for a variation',
    error: new Error('Could not load fake/missing: onnx/model.onnx is missing.'),
    part: { kind: 'prompt', index: 0 },
    card: { kind: 'prompt', index: 0 },
    field: ['model'],
    says: /^The model “fake\/missing” could not be loaded for this variation/,
  },
  {
    name: 'an ExperimentError that lost its class crossing a worker: the path read from its message',
    error: new Error('prompts[4].descriptions["a b"]: is an empty description: write what the label means.'),
    card: { kind: 'prompt', index: 4 },
    field: ['descriptions', 'a b'],
    says: /^The description of “a b” is empty/,
  },
  {
    name: 'an error no rule knows keeps its words after the field’s name',
    error: new ExperimentError('prompts[0].instruction', 'must be a text; got 3.'),
    card: { kind: 'prompt', index: 0 },
    field: ['instruction'],
    says: /^Instruction: must be a text; got 3\.$/,
  },
  {
    name: 'an error with no path stays on the card of the part that failed, whole',
    error: new Error('the worker stopped.'),
    part: { kind: 'prompt', index: 2 },
    card: { kind: 'prompt', index: 2 },
    field: [],
    says: /^The worker stopped\.$/,
  },
];

describe('explainError', () => {
  it.each(cases)('$name', ({ error, part, card, field, says }) => {
    const plain = explainError(error, part);
    expect(plain.card).toEqual(card);
    expect(plain.field).toEqual(field);
    expect(plain.message).toMatch(says);
    // The message is for a student: no field path in it; the path stays as the detail.
    expect(plain.message).not.toMatch(/(prompts|heads)\[\d+\]/);
    if (error instanceof ExperimentError) expect(plain.path).toBe(error.path);
    expect(plain.detail.length).toBeGreaterThan(0);
  });

  it('keeps the path and the original words as the detail', () => {
    const error = validationError((e) => (e.prompts[0].template = 'About it.'));
    expect(explainError(error)).toMatchObject({ path: 'prompts[0].template', detail: error.detail });
  });

  it('puts an error outside any card in its section', () => {
    const plain = explainError(validationError((e) => (e.split.seed = 1.5)));
    expect(plain).toMatchObject({ card: undefined, section: 'split', field: ['seed'] });
    expect(plain.message).toMatch(/^Seed must be a whole number/);
  });
});

describe('field paths', () => {
  it.each([
    ['prompts[1].template', ['prompts', '1', 'template']],
    ['prompts[0].descriptions["not spam"][2]', ['prompts', '0', 'descriptions', 'not spam', '2']],
    ['heads[3].learningRate', ['heads', '3', 'learningRate']],
    ['split.test', ['split', 'test']],
    ['prompts[0].descriptions["a \\"quoted\\" label"]', ['prompts', '0', 'descriptions', 'a "quoted" label']],
  ])('reads %s', (path, segments) => {
    expect(pathSegments(path)).toEqual(segments);
  });

  it.each(['prompts[', '.template', 'prompts[0]..x', 'a b'])('refuses the malformed path %j', (path) => {
    expect(pathSegments(path)).toBeUndefined();
  });

  it('locates a card and its field, or a section', () => {
    expect(locatePath('heads[2].epochs')).toEqual({
      card: { kind: 'head', index: 2 },
      section: undefined,
      field: ['epochs'],
    });
    expect(locatePath('dataset.rows[3]')).toEqual({
      card: undefined,
      section: 'dataset',
      field: ['rows', '3'],
    });
  });

  it('names fields with the forms’ labels', () => {
    expect(fieldLabel('head', ['batchSize'])).toBe('Batch size');
    expect(fieldLabel('prompt', ['textTemplate'])).toBe('Input wrapper');
    expect(fieldLabel('prompt', ['verbalizers', 'food'])).toBe('Verbalizer of “food”');
    expect(fieldLabel('prompt', ['constructor'])).toBe('constructor');
  });
});

describe('which card and field a problem marks', () => {
  const problem = explainError(validationError((e) => (e.prompts[1].descriptions['not spam'] = '')));

  it('marks its own card only', () => {
    expect(isOnCard(problem, { kind: 'prompt', index: 1 })).toBe(true);
    expect(isOnCard(problem, { kind: 'prompt', index: 0 })).toBe(false);
    expect(isOnCard(problem, { kind: 'head', index: 1 })).toBe(false);
    expect(isOnCard(undefined, { kind: 'prompt', index: 1 })).toBe(false);
  });

  it('marks its field and the fields around it, not its siblings', () => {
    expect(isAtField(problem, 'descriptions')).toBe(true);
    expect(isAtField(problem, 'descriptions', 'not spam')).toBe(true);
    expect(isAtField(problem, 'descriptions', 'food')).toBe(false);
    expect(isAtField(problem, 'template')).toBe(false);
    expect(isAtField(problem)).toBe(false);
  });
});

describe('failureStillApplies', () => {
  const failed = { name: 'h', learningRate: 5, epochs: 20 };
  const diverged = explainError(new Error(new HeadDivergedError('the loss', 5).message), {
    kind: 'head',
    index: 0,
  });

  it('holds while the failed field keeps its value, whatever else changes', () => {
    expect(failureStillApplies(diverged, failed, { ...failed, epochs: 30, name: 'renamed' })).toBe(true);
  });

  it('clears when the failed field changes', () => {
    expect(failureStillApplies(diverged, failed, { ...failed, learningRate: 0.01 })).toBe(false);
  });

  it('clears when a prompt changes strategy, even with the same value in the field', () => {
    const notNli = explainError(
      thrown(() => requirePairClassifier(undefined, 'fixtures/tiny-bert', 'prompts[0].model')),
    );
    const nli = { name: 'p', strategy: 'nli', hypothesis: 'About {label}.', model: 'fixtures/tiny-bert' };
    const similarity = {
      name: 'p',
      strategy: 'similarity',
      template: 'About {label}.',
      model: 'fixtures/tiny-bert',
    };
    expect(failureStillApplies(notNli, nli, { ...nli, hypothesis: 'On {label}.' })).toBe(true);
    expect(failureStillApplies(notNli, nli, similarity)).toBe(false);
  });

  it('with no field, clears on any change but a rename, and ignores key order', () => {
    const whole = explainError(new Error('the worker stopped.'), { kind: 'prompt', index: 0 });
    const spec = { name: 'a', strategy: 'similarity', descriptions: { x: 'one', y: 'two' } };
    const reordered = { descriptions: { y: 'two', x: 'one' }, strategy: 'similarity', name: 'b' };
    expect(failureStillApplies(whole, spec, reordered)).toBe(true);
    expect(failureStillApplies(whole, spec, { ...spec, descriptions: { x: 'one', y: 'three' } })).toBe(false);
  });

  it('reads user keys as own properties only', () => {
    const problem = explainError(
      new ExperimentError('prompts[0].descriptions.constructor', 'is an empty description.'),
    );
    const spec = { name: 'a', descriptions: Object.assign(Object.create(null) as object, { x: 'one' }) };
    expect(failureStillApplies(problem, spec, { ...spec })).toBe(true);
  });
});
