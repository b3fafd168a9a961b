/**
 * @file Instruction prompts in the core, with a word-level fake language model: rendering (instruction, shots from
 * the training split only, text), truncation of the text part alone, scoring (sum or mean of verbalizer
 * log-probabilities, softmax, calibration), the fields a run records, and every refusal naming its field.
 */
import { describe, expect, it } from 'vitest';
import type { LabeledExample } from '../../../../src/lib/core/dataset/types.ts';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import type { InstructionPrompt } from '../../../../src/lib/core/experiment/types.ts';
import type { CausalScorer, ChatMessage, ContinuationRequest } from '../../../../src/lib/core/ports.ts';
import {
  labelLogScore,
  labelProbabilities,
  prepareInstruction,
  renderExample,
  renderPlain,
  runInstructionPrompt,
  SCORING_MEAN,
  SCORING_SUM,
  selectShots,
  softmax,
  type InstructionContext,
} from '../../../../src/lib/core/prompts/instruction.ts';

/**
 * A word-level tokenizer (each word with the spaces before it is one token, case-folded; spaces alone are no
 * token) and a "model" whose log-probability for a continuation token is log(0.1) plus 2 for every time its word
 * occurs in the context (so a text containing "goal" favours " sports"), plus `bias` for the word in every context.
 */
class FakeScorer implements CausalScorer {
  readonly modelId = 'fake-lm';
  readonly device = 'cpu' as const;
  readonly dtype = 'fp32' as const;
  readonly maxTokens: number;
  readonly bias: ReadonlyMap<string, number>;
  readonly requests: ContinuationRequest[] = [];
  readonly #ids = new Map<string, number>();
  readonly #words: string[] = [];
  readonly #chat: ((messages: readonly ChatMessage[]) => string) | undefined;

  constructor(
    options: {
      maxTokens?: number;
      bias?: Map<string, number>;
      chat?: (messages: readonly ChatMessage[]) => string;
    } = {},
  ) {
    this.maxTokens = options.maxTokens ?? 1000;
    this.bias = options.bias ?? new Map();
    this.#chat = options.chat;
  }

  async tokenize(text: string): Promise<number[]> {
    return (text.match(/\s*\S+/g) ?? []).map((piece) => {
      const word = piece.toLowerCase();
      let id = this.#ids.get(word);
      if (id === undefined) {
        id = this.#words.length;
        this.#ids.set(word, id);
        this.#words.push(word);
      }
      return id;
    });
  }

  async decode(ids: readonly number[]): Promise<string> {
    return ids.map((id) => this.#words[id]).join('');
  }

  async applyChatTemplate(messages: readonly ChatMessage[]): Promise<string | undefined> {
    return this.#chat?.(messages);
  }

  async continuationLogProbs(request: ContinuationRequest): Promise<number[][][]> {
    this.requests.push(request);
    const word = (id: number): string => (this.#words[id] ?? '').trim();
    return request.contexts.map((context) =>
      request.continuations.map((ids) =>
        ids.map((id) => {
          const seen = [...request.prefix, ...context].filter((other) => word(other) === word(id)).length;
          return Math.log(0.1) + 2 * seen + (this.bias.get(word(id)) ?? 0);
        }),
      ),
    );
  }

  async dispose(): Promise<void> {}
}

const LABELS = ['sports', 'food'];
const example = (id: string, text: string, label: string): LabeledExample => ({ id, text, label });
const TRAIN = [
  example('t1', 'a goal in the match', 'sports'),
  example('t2', 'pasta for dinner', 'food'),
  example('t3', 'the team won', 'sports'),
  example('t4', 'a bowl of soup', 'food'),
  example('t5', 'a late goal', 'sports'),
  example('t6', 'bread and cheese', 'food'),
];
const TEST = [
  example('x1', 'sports fans cheered the sports team', 'sports'),
  example('x2', 'food and more food tonight', 'food'),
  example('x3', 'nothing to see', 'food'),
];

function prompt(patch: Partial<InstructionPrompt> = {}): InstructionPrompt {
  return {
    name: 'p',
    strategy: 'instruction',
    instruction: 'Name the topic.',
    verbalizers: { sports: ' sports', food: ' food' },
    ...patch,
  };
}

function context(
  patch: Partial<InstructionPrompt> = {},
  scorer = new FakeScorer(),
): InstructionContext & { scorer: FakeScorer } {
  return { prompt: prompt(patch), path: 'prompts[3]', labels: LABELS, train: TRAIN, seed: 7, scorer };
}

async function refusal(work: Promise<unknown>): Promise<ExperimentError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ExperimentError) return error;
    throw error;
  }
  throw new Error('expected an ExperimentError');
}

describe('renderPlain', () => {
  it('puts the instruction, each shot with its answer in the text part of the template, then the text', () => {
    const rendered = renderPlain(
      '{instruction}\n\n{shots}Text: {text}\nAnswer:',
      'Name the topic.',
      [
        { text: 'a goal', answer: ' sports' },
        { text: 'soup', answer: ' food' },
      ],
      'the match',
    );
    expect(rendered).toBe(
      'Name the topic.\n\nText: a goal\nAnswer: sports\n\nText: soup\nAnswer: food\n\nText: the match\nAnswer:',
    );
  });

  it('never expands a placeholder written inside the instruction or a text', () => {
    expect(
      renderPlain('{instruction} {shots}[{text}]', 'say {text}', [{ text: '{shots}', answer: '!' }], '{x}'),
    ).toBe('say {text} [{shots}]!\n\n[{x}]');
  });
});

describe('selectShots', () => {
  it('draws shotsPerClass examples of every label from the training split only, reproducibly by seed', () => {
    const shots = selectShots(TRAIN, LABELS, 2, 7, 'prompts[0]');
    expect(shots).toHaveLength(4);
    for (const label of LABELS) expect(shots.filter((shot) => shot.label === label)).toHaveLength(2);
    for (const shot of shots) expect(TRAIN).toContain(shot);
    expect(selectShots(TRAIN, LABELS, 2, 7, 'prompts[0]')).toEqual(shots);
    const seeds = [1, 2, 3, 4, 5, 6].map((seed) =>
      selectShots(TRAIN, LABELS, 1, seed, 'p')
        .map((s) => s.id)
        .join(),
    );
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(selectShots(TRAIN, LABELS, 0, 7, 'prompts[0]')).toEqual([]);
  });

  it('refuses more shots than a class has in the training split, naming shotsPerClass', () => {
    const error = (() => {
      try {
        selectShots(TRAIN, LABELS, 4, 7, 'prompts[1]');
      } catch (caught) {
        return caught as ExperimentError;
      }
      throw new Error('expected a refusal');
    })();
    expect(error).toBeInstanceOf(ExperimentError);
    expect(error.path).toBe('prompts[1].shotsPerClass');
    expect(error.detail).toMatch(/label "sports" has only 3 training examples: use at most 3/);
  });
});

describe('prepareInstruction and renderExample', () => {
  it('splits the prompt into a shared prefix, the text (with the space before it) and the suffix', async () => {
    const scorer = new FakeScorer();
    const prepared = await prepareInstruction(context({ shotsPerClass: 1 }, scorer));
    expect(prepared.frame.prefix.startsWith('Name the topic.\n\n')).toBe(true);
    expect(prepared.frame.prefix.endsWith('Text:')).toBe(true);
    expect(prepared.frame.lead).toBe(' ');
    expect(prepared.frame.suffix).toBe('\nAnswer:');
    expect(prepared.shots.map((shot) => shot.label).sort()).toEqual(['food', 'sports']);
    const rendered = await renderExample(prepared, 'the match', scorer);
    expect(rendered.rendered).toBe(`${prepared.frame.prefix} the match\nAnswer:`);
    expect(rendered.contextIds).toEqual([
      ...(await scorer.tokenize(' the match')),
      ...(await scorer.tokenize('\nAnswer:')),
    ]);
    expect(rendered.tokens).toBe(prepared.prefixIds.length + rendered.contextIds.length);
    expect(rendered.truncated).toBeUndefined();
  });

  it('truncates only the text when the context is short, keeping instruction, shots and answer cue', async () => {
    const scorer = new FakeScorer({ maxTokens: 20 });
    const prepared = await prepareInstruction(context({ shotsPerClass: 1 }, scorer));
    // prefix + suffix + the longest verbalizer (1 token) leave this many tokens for the text:
    expect(prepared.textBudget).toBe(20 - prepared.prefixIds.length - prepared.suffixIds.length - 1);
    const long = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    const rendered = await renderExample(prepared, long, scorer);
    expect(rendered.truncated).toEqual({ kept: prepared.textBudget, of: 30 });
    expect(rendered.rendered.startsWith(prepared.frame.prefix)).toBe(true);
    const kept = Array.from({ length: prepared.textBudget }, (_, i) => ` w${i}`).join('');
    expect(rendered.rendered).toBe(`${prepared.frame.prefix}${kept}\nAnswer:`);
    expect(rendered.tokens + 1).toBe(20);
  });

  it('wraps the prompt in the chat template when asked, splitting around the text all the same', async () => {
    const chat = (messages: readonly ChatMessage[]) =>
      messages.map((m) => `<|${m.role}|>\n${m.content}<|end|>\n`).join('') + '<|assistant|>\n';
    const scorer = new FakeScorer({ chat });
    const prepared = await prepareInstruction(context({ chatTemplate: true }, scorer));
    expect(prepared.frame.prefix).toBe('<|user|>\nName the topic.\n\nText:');
    expect(prepared.frame.suffix).toBe('\nAnswer:<|end|>\n<|assistant|>\n');
  });

  const refusals: [string, Partial<InstructionPrompt>, FakeScorer | undefined, string, RegExp][] = [
    [
      'a label without a verbalizer',
      { verbalizers: { sports: ' sports' } },
      undefined,
      'prompts[3].verbalizers',
      /label "food" has no verbalizer: add/,
    ],
    [
      'a verbalizer for a label the dataset lacks',
      { verbalizers: { sports: ' sports', food: ' food', travel: ' travel' } },
      undefined,
      'prompts[3].verbalizers.travel',
      /"travel" is not a label of the dataset/,
    ],
    [
      'a verbalizer that tokenizes to nothing',
      { verbalizers: { sports: ' sports', food: '   ' } },
      undefined,
      'prompts[3].verbalizers.food',
      /tokenizes to nothing with fake-lm/,
    ],
    [
      'two labels with the same verbalizer tokens',
      { verbalizers: { sports: ' Game', food: ' game' } },
      undefined,
      'prompts[3].verbalizers.food',
      /same verbalizer tokens as label "sports"/,
    ],
    [
      'more shots than a class has',
      { shotsPerClass: 5 },
      undefined,
      'prompts[3].shotsPerClass',
      /only 3 training examples/,
    ],
    [
      'a chat template the model lacks',
      { chatTemplate: true },
      undefined,
      'prompts[3].chatTemplate',
      /fake-lm has no chat template.*set it to false/,
    ],
    [
      'a context that cannot fit even after truncation',
      { shotsPerClass: 3 },
      new FakeScorer({ maxTokens: 30 }),
      'prompts[3]',
      /take \d+ tokens, but fake-lm takes 30: leave room for the text/,
    ],
  ];
  it.each(refusals)('refuses %s, naming the field', async (_name, patch, scorer, path, detail) => {
    const error = await refusal(prepareInstruction(context(patch, scorer)));
    expect(error.path).toBe(path);
    expect(error.detail).toMatch(detail);
  });
});

describe('scoring', () => {
  it('softmaxes summed or mean log-probabilities', () => {
    expect(labelLogScore([-1, -2], false)).toBe(-3);
    expect(labelLogScore([-1, -2], true)).toBe(-1.5);
    const [row] = labelProbabilities([[[-1, -2], [-1]]], false);
    expect(row?.[0]).toBeCloseTo(Math.exp(-3) / (Math.exp(-3) + Math.exp(-1)), 12);
    const [mean] = labelProbabilities([[[-1, -2], [-1]]], true);
    expect(mean?.[0]).toBeCloseTo(Math.exp(-1.5) / (Math.exp(-1.5) + Math.exp(-1)), 12);
    expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
  });

  it('runs a prompt: predictions, the rendered first example, shots, tokens, costs and the scoring named', async () => {
    const scorer = new FakeScorer();
    let clock = 0;
    const run = await runInstructionPrompt({
      ...context({ shotsPerClass: 1 }, scorer),
      test: TEST,
      now: () => (clock += 5),
    });
    expect(run.predictions.map((p) => p.label)).toEqual(['sports', 'food', expect.any(String)]);
    expect(run.accuracy).toBeGreaterThanOrEqual(2 / 3);
    expect(run.rendered).toMatch(
      /^Name the topic\.\n\nText: .*\nAnswer: (sports|food)\n\n.*Text: sports fans cheered the sports team\nAnswer:$/s,
    );
    expect(run.shots).toHaveLength(2);
    for (const id of run.shots ?? []) expect(TRAIN.map((t) => t.id)).toContain(id);
    expect(run.cost).toMatchObject({ labeledExamples: 2, trainedParameters: 0 });
    expect(run.truncated).toBe(0);
    expect(run.scoring).toBe(SCORING_SUM);
    // One call for all test texts, sharing the prefix; the tokens are the prefix once plus every context and
    // every verbalizer after it.
    expect(scorer.requests).toHaveLength(1);
    const [request] = scorer.requests;
    const contexts = request?.contexts ?? [];
    expect(run.tokens).toBe(
      (request?.prefix.length ?? 0) + contexts.reduce((sum, ids) => sum + ids.length + 2, 0),
    );
  });

  it('calibration divides out a designed bias toward one label', async () => {
    // Every context adds 5 to " food": uncalibrated, everything is food, even "sports … sports".
    const bias = new Map([['food', 5]]);
    const base = { ...context({}, new FakeScorer({ bias })), test: TEST, now: () => 0 };
    const raw = await runInstructionPrompt(base);
    expect(raw.predictions.map((p) => p.label)).toEqual(['food', 'food', 'food']);
    const calibrated = await runInstructionPrompt({
      ...base,
      ...context({ calibrate: true, lengthNormalize: true }, new FakeScorer({ bias })),
    });
    expect(calibrated.predictions.map((p) => p.label).slice(0, 2)).toEqual(['sports', 'food']);
    expect(calibrated.predictions[0]?.scores.sports).toBeGreaterThan(0.9);
    expect(calibrated.scoring).toBe(`${SCORING_MEAN}; calibrated on "N/A", ""`);
  });

  it('counts the texts it truncated', async () => {
    const long = example('x4', Array.from({ length: 40 }, () => 'sports').join(' '), 'sports');
    const run = await runInstructionPrompt({
      ...context({}, new FakeScorer({ maxTokens: 25 })),
      test: [...TEST, long],
      now: () => 0,
    });
    expect(run.truncated).toBe(1);
    expect(run.predictions[3]?.label).toBe('sports');
  });
});
