/**
 * @file The NLI strategy's core (prompts/nli.ts) on a scripted pair classifier: hypotheses per label, the entailment
 * index read from id2label, the softmax over labels, calibration removing a bias that depends on the hypothesis
 * only, what the run records, and each refusal naming its field.
 */
import { describe, expect, it } from 'vitest';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import type { NliPrompt } from '../../../../src/lib/core/experiment/types.ts';
import type { ClassifiedPairs, PairClassifier, TextPair } from '../../../../src/lib/core/ports.ts';
import {
  entailmentIndex,
  entailmentProbabilities,
  formatId2label,
  nliHypotheses,
  runNliPrompt,
  type NliPromptInput,
} from '../../../../src/lib/core/prompts/nli.ts';
import { FakeClock } from '../experiment/fakes.ts';

const LABELS = ['food', 'sports', 'weather'];

const test = [
  { id: 'a', text: 'pizza for dinner', label: 'food' },
  { id: 'b', text: 'the match and the goal', label: 'sports' },
  { id: 'c', text: 'rain tomorrow', label: 'weather' },
  { id: 'd', text: 'bread and soup', label: 'food' },
];

/** Words that make a premise "about" a label. */
const WORDS: Record<string, string[]> = {
  food: ['pizza', 'dinner', 'bread', 'soup'],
  sports: ['match', 'goal'],
  weather: ['rain'],
};

/**
 * A classifier whose entailment logit is 4 when the premise has a word of the hypothesis's label, plus `bias[label]`
 * whatever the premise (a bias calibration can measure on content-free premises). Logits come in `id2label` order.
 */
class ScriptedClassifier implements PairClassifier {
  readonly modelId = 'scripted';
  readonly maxTokens = 16;
  readonly calls: TextPair[][] = [];
  constructor(
    readonly id2label: readonly string[],
    readonly bias: Record<string, number> = {},
  ) {}

  async classifyPairs(pairs: readonly TextPair[]): Promise<ClassifiedPairs> {
    this.calls.push([...pairs]);
    const entailment = this.id2label.findIndex((label) => label.toLowerCase() === 'entailment');
    const logits = pairs.map(({ premise, hypothesis }) => {
      const label = LABELS.find((candidate) => hypothesis.includes(candidate)) ?? '';
      const words = premise.split(/\W+/);
      const entailed = (WORDS[label] ?? []).some((word) => words.includes(word)) ? 4 : 0;
      return this.id2label.map((_, index) => (index === entailment ? entailed + (this.bias[label] ?? 0) : 1));
    });
    const truncated = pairs.flatMap((pair, index) => (pair.premise.length > 20 ? [index] : []));
    return { logits, tokens: pairs.length * 10, truncated };
  }
}

function input(overrides: Partial<NliPromptInput> = {}): NliPromptInput {
  const prompt: NliPrompt = { name: 'nli', strategy: 'nli', hypothesis: 'This text is about {label}.' };
  return {
    prompt,
    path: 'prompts[1]',
    model: 'scripted',
    modelPath: 'prompts[1].model',
    labels: LABELS,
    test,
    classifier: new ScriptedClassifier(['entailment', 'neutral', 'contradiction']),
    now: new FakeClock().now,
    ...overrides,
  };
}

describe('nliHypotheses', () => {
  it('fills {label} everywhere, literally, in label order', () => {
    expect(nliHypotheses('{label}: about {label}? $&', ['a', 'b$&'])).toEqual([
      'a: about a? $&',
      'b$&: about b$&? $&',
    ]);
  });

  it('refuses a hypothesis without {label}, naming the field', () => {
    const error = (() => {
      try {
        nliHypotheses('This text is about sports.', LABELS, 'prompts[2]');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ExperimentError);
    expect((error as ExperimentError).path).toBe('prompts[2].hypothesis');
    expect((error as ExperimentError).detail).toMatch(/must contain \{label\}/);
  });
});

describe('entailmentIndex', () => {
  it.each([
    [['entailment', 'neutral', 'contradiction'], 0],
    [['CONTRADICTION', 'ENTAILMENT', 'NEUTRAL'], 1],
    [['contradiction', 'neutral', 'Entailment'], 2],
  ])('finds it in %j at %i, in any case', (id2label, index) => {
    expect(entailmentIndex(id2label, 'm', 'model')).toBe(index);
  });

  it('refuses a model without an entailment class, naming its id2label and the field', () => {
    expect(() => entailmentIndex(['LABEL_0', 'LABEL_1'], 'some/model', 'prompts[0].model')).toThrow(
      new ExperimentError(
        'prompts[0].model',
        'some/model has no "entailment" class (its id2label is {"0": "LABEL_0", "1": "LABEL_1"}): an NLI prompt ' +
          'needs a model trained on natural language inference (e.g. Xenova/mobilebert-uncased-mnli).',
      ),
    );
    expect(formatId2label([])).toBe('missing');
  });
});

describe('entailmentProbabilities', () => {
  it('is the softmax over the labels of each premise’s entailment logits', () => {
    const logits = [
      [0, 9, 9],
      [Math.log(3), -9, -9],
      [5, 0, 0],
      [5, 0, 0],
    ];
    const [first, second] = entailmentProbabilities(logits, 2, 2, 0);
    expect(first?.[0]).toBeCloseTo(0.25, 12);
    expect(first?.[1]).toBeCloseTo(0.75, 12);
    expect(second).toEqual([0.5, 0.5]);
    expect(() => entailmentProbabilities(logits, 3, 2, 0)).toThrow(/4 logit rows for 3 premises/);
  });
});

describe('runNliPrompt', () => {
  it('classifies every test text with every hypothesis and records exactly what ran', async () => {
    const classifier = new ScriptedClassifier(['contradiction', 'entailment', 'neutral']);
    const run = await runNliPrompt(input({ classifier }));
    expect(run.predictions.map((prediction) => prediction.label)).toEqual([
      'food',
      'sports',
      'weather',
      'food',
    ]);
    expect(run.accuracy).toBe(1);
    expect(classifier.calls).toHaveLength(1);
    expect(classifier.calls[0]?.slice(0, 3)).toEqual([
      { premise: 'pizza for dinner', hypothesis: 'This text is about food.' },
      { premise: 'pizza for dinner', hypothesis: 'This text is about sports.' },
      { premise: 'pizza for dinner', hypothesis: 'This text is about weather.' },
    ]);
    expect(run.rendered).toEqual({
      premise: 'pizza for dinner',
      hypotheses: ['This text is about food.', 'This text is about sports.', 'This text is about weather.'],
    });
    expect(run.shots).toEqual([]);
    expect(run.tokens).toBe(12 * 10);
    // "the match and the goal" is over the scripted limit: its three pairs count as one text cut.
    expect(run.truncated).toBe(1);
    expect(run.calibrated).toBe(false);
    expect(run.cost).toMatchObject({ labeledExamples: 0, trainedParameters: 0 });
    const scores = run.predictions[0]?.scores ?? {};
    expect(Object.values(scores).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
  });

  it('applies the text template to the premise', async () => {
    const classifier = new ScriptedClassifier(['entailment', 'neutral', 'contradiction']);
    const prompt: NliPrompt = {
      name: 'nli',
      strategy: 'nli',
      hypothesis: '{label}',
      textTemplate: 'Text: {text}',
    };
    const run = await runNliPrompt(input({ prompt, classifier }));
    expect(run.rendered).toEqual({ premise: 'Text: pizza for dinner', hypotheses: LABELS });
  });

  it('calibration on content-free premises removes a bias that depends on the hypothesis only', async () => {
    const biased = new ScriptedClassifier(['entailment', 'neutral', 'contradiction'], { sports: 6 });
    const unbiased = await runNliPrompt(input());
    const raw = await runNliPrompt(input({ classifier: biased }));
    expect(raw.predictions.map((prediction) => prediction.label)).toEqual([
      'sports',
      'sports',
      'sports',
      'sports',
    ]);
    expect(raw.accuracy).toBe(0.25);

    const calibrate: NliPrompt = { ...input().prompt, calibrate: true };
    const calibrated = await runNliPrompt(
      input({ prompt: calibrate, classifier: biased, maskToken: '[MASK]' }),
    );
    expect(calibrated.calibrated).toBe(true);
    expect(calibrated.accuracy).toBe(1);
    // The content-free premises went first: "N/A", "", then the mask token, each with every hypothesis.
    expect(biased.calls.at(-2)?.map((pair) => pair.premise)).toEqual([
      'N/A',
      'N/A',
      'N/A',
      '',
      '',
      '',
      '[MASK]',
      '[MASK]',
      '[MASK]',
    ]);
    calibrated.predictions.forEach((prediction, index) => {
      for (const label of LABELS) {
        expect(prediction.scores[label]).toBeCloseTo(unbiased.predictions[index]?.scores[label] ?? NaN, 12);
      }
    });
  });

  it('refuses a model that is not a sequence classifier, naming the field that chose it', async () => {
    await expect(runNliPrompt(input({ classifier: undefined, modelPath: 'model' }))).rejects.toThrow(
      /^model: scripted is not a sequence classifier/,
    );
  });

  it('refuses a model without an entailment label before classifying anything', async () => {
    const classifier = new ScriptedClassifier(['negative', 'positive']);
    await expect(runNliPrompt(input({ classifier }))).rejects.toThrow(
      'prompts[1].model: scripted has no "entailment" class (its id2label is {"0": "negative", "1": "positive"})',
    );
    expect(classifier.calls).toEqual([]);
  });
});
