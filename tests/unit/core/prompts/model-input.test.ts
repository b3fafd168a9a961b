import { describe, expect, it } from 'vitest';
import type { PromptSpec } from '../../../../src/lib/core/experiment/types.ts';
import { measurePieces } from '../../../../src/lib/core/prompts/measure-pieces.ts';
import {
  renderModelInput,
  type ModelInputContext,
  type ModelInputPiece,
} from '../../../../src/lib/core/prompts/model-input.ts';
import { measureTokens, PREFIXES_PER_CALL, wordEnds } from '../../../../src/lib/core/prompts/truncation.ts';

const example = { id: 't7', text: 'Free money, click now', label: 'spam' };
const context: ModelInputContext = { labels: ['ham', 'spam'], train: [], seed: 42, path: 'prompts[0]' };

describe('renderModelInput (similarity)', () => {
  it('gives the wrapped input and every label text, each measured on its own', () => {
    const prompt: PromptSpec = {
      name: 'wrapped',
      strategy: 'similarity',
      descriptions: { ham: 'a personal email', spam: ['an advert', 'a scam'] },
      textTemplate: 'email: {text} (end)',
    };
    const rendering = renderModelInput(prompt, example, context);
    if (!rendering.ok) throw new Error(rendering.error);
    expect(rendering.pieces).toEqual([
      {
        role: 'input',
        caption: 'Input text, in the input wrapper',
        text: 'email: Free money, click now (end)',
        measure: true,
      },
      { role: 'label', caption: 'Label “ham”', text: 'a personal email', measure: true },
      { role: 'label', caption: 'Label “spam” (1 of 2, averaged)', text: 'an advert', measure: true },
      { role: 'label', caption: 'Label “spam” (2 of 2, averaged)', text: 'a scam', measure: true },
    ]);
  });

  it('fills a template with each label and leaves the text alone without a wrapper', () => {
    const prompt: PromptSpec = { name: 't', strategy: 'similarity', template: 'This is {label}.' };
    const rendering = renderModelInput(prompt, example, context);
    if (!rendering.ok) throw new Error(rendering.error);
    expect(rendering.pieces.map((piece) => [piece.caption, piece.text])).toEqual([
      ['Input text', 'Free money, click now'],
      ['Label “ham”', 'This is ham.'],
      ['Label “spam”', 'This is spam.'],
    ]);
  });

  it('says what is wrong with an invalid variation instead of throwing', () => {
    const prompt: PromptSpec = { name: 'bad', strategy: 'similarity', template: 'no placeholder' };
    expect(renderModelInput(prompt, example, context)).toEqual({
      ok: false,
      error: 'prompts[0].template: the template must contain {label}, e.g. "This text is about {label}."',
    });
  });

  it('says so for a strategy without a renderer', () => {
    const prompt = { name: 'n', strategy: 'toString' } as unknown as PromptSpec;
    expect(renderModelInput(prompt, example, context)).toEqual({
      ok: false,
      error: 'There is no view of the model\'s input for the "toString" strategy yet.',
    });
  });
});

describe('renderModelInput (nli)', () => {
  const cases: [what: string, prompt: PromptSpec, caption: string, premise: string, note: RegExp][] = [
    [
      'the bare text as premise',
      { name: 'n', strategy: 'nli', hypothesis: 'This email is {label}.' },
      'premise (the input text), then hypothesis',
      'Free money, click now',
      /softmax over the labels of each pair's entailment logit\.$/,
    ],
    [
      'the wrapped text as premise, calibrated',
      {
        name: 'n',
        strategy: 'nli',
        hypothesis: 'This email is {label}.',
        textTemplate: 'Email: {text}',
        calibrate: true,
      },
      'premise (the input in its wrapper), then hypothesis',
      'Email: Free money, click now',
      /content-free premises "N\/A", "" \(and the mask token, when the model has one\)\.$/,
    ],
  ];
  for (const [what, prompt, caption, premise, note] of cases) {
    it(`pairs ${what} with every label's hypothesis, one piece per label`, () => {
      const rendering = renderModelInput(prompt, example, context);
      if (!rendering.ok) throw new Error(rendering.error);
      expect(rendering.pieces).toEqual([
        {
          role: 'label',
          caption: `Label “ham”: ${caption}`,
          text: premise,
          pair: 'This email is ham.',
          measure: true,
        },
        {
          role: 'label',
          caption: `Label “spam”: ${caption}`,
          text: premise,
          pair: 'This email is spam.',
          measure: true,
        },
      ]);
      expect(rendering.note).toMatch(/loses the end of its premise, never the hypothesis/);
      expect(rendering.note).toMatch(note);
    });
  }

  it('names the field of a hypothesis without {label}', () => {
    const prompt: PromptSpec = { name: 'n', strategy: 'nli', hypothesis: 'This is an email.' };
    expect(renderModelInput(prompt, example, context)).toEqual({
      ok: false,
      error:
        'prompts[0].hypothesis: must contain {label} where each label goes, e.g. "This text is about {label}.".',
    });
  });
});

/** A whitespace tokenizer with [CLS] and [SEP], recording every call. */
function wordCounter(): { count: (texts: string[]) => Promise<number[]>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    count: async (texts) => {
      calls.push(texts.length);
      return texts.map((text) => wordEnds(text).length + 2);
    },
  };
}

describe('measureTokens', () => {
  it('counts a text that fits in one call', async () => {
    const counter = wordCounter();
    expect(await measureTokens('three short words', 8, counter.count)).toEqual({
      tokens: 5,
      maxTokens: 8,
      truncated: false,
    });
    expect(counter.calls).toEqual([1]);
  });

  const sizes: [words: number, maxTokens: number][] = [
    [10, 5],
    [10, 11],
    [1_000, 130],
    [5_000, 4_999],
    [3, 2],
  ];
  for (const [words, maxTokens] of sizes) {
    it(`finds the last whole word that fits: ${words} words, limit ${maxTokens}`, async () => {
      const text = Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
      const counter = wordCounter();
      const measure = await measureTokens(text, maxTokens, counter.count);
      const fitting = Math.max(0, maxTokens - 2);
      expect(measure).toEqual({
        tokens: words + 2,
        maxTokens,
        truncated: true,
        keptChars: fitting === 0 ? 0 : (wordEnds(text)[fitting - 1] as number),
      });
      expect(Math.max(...counter.calls)).toBeLessThanOrEqual(PREFIXES_PER_CALL);
      // log base 33 of the words, plus the first count and one call of slack.
      expect(counter.calls.length).toBeLessThanOrEqual(Math.ceil(Math.log(words) / Math.log(33)) + 2);
    });
  }

  it('refuses a limit that is not a positive whole number', async () => {
    await expect(measureTokens('x', 0, wordCounter().count)).rejects.toThrow(
      'The token limit must be a positive whole number; got 0.',
    );
  });

  it('refuses a tokenizer that returns the wrong number of counts', async () => {
    await expect(measureTokens('x', 4, async () => [])).rejects.toThrow('Asked for 1 token counts, got 0.');
  });
});

describe('measureTokens with a known count', () => {
  it('skips the first count and searches straight away', async () => {
    const counter = wordCounter();
    const measure = await measureTokens('a b c d', 4, counter.count, 6);
    expect(measure).toEqual({ tokens: 6, maxTokens: 4, truncated: true, keptChars: 3 });
    expect(counter.calls).toEqual([3]);
  });
});

/** Whitespace tokens plus [CLS] … [SEP] (+ hypothesis [SEP] for a pair), recording every call's pairs. */
function pairCounter(): {
  count: (texts: string[], pairs: (string | null)[]) => Promise<number[]>;
  calls: (string | null)[][];
} {
  const calls: (string | null)[][] = [];
  return {
    calls,
    count: async (texts, pairs) => {
      calls.push(pairs);
      return texts.map((text, i) => {
        const pair = pairs[i] ?? null;
        return wordEnds(text).length + 2 + (pair === null ? 0 : wordEnds(pair).length + 1);
      });
    },
  };
}

describe('measurePieces', () => {
  const premise = 'one two three four five six';
  const pieces: ModelInputPiece[] = [
    { role: 'input', caption: 'alone', text: premise, measure: true },
    { role: 'context', caption: 'counted by the strategy', text: 'whatever', measure: false },
    { role: 'label', caption: 'short hypothesis', text: premise, pair: 'about ham', measure: true },
    { role: 'label', caption: 'long hypothesis', text: premise, pair: 'this is about spam', measure: true },
  ];

  it('counts a pair as one input and cuts only its premise, where its own hypothesis leaves room', async () => {
    const counter = pairCounter();
    const measures = await measurePieces(pieces, 10, counter.count);
    const ends = wordEnds(premise);
    expect(measures).toEqual([
      { tokens: 8, maxTokens: 10, truncated: false },
      undefined,
      // 6 + 2 + 3 = 11 > 10: the premise keeps 5 words.
      { tokens: 11, maxTokens: 10, truncated: true, keptChars: ends[4] },
      // 6 + 2 + 5 = 13: the longer hypothesis leaves room for 3 words of the premise.
      { tokens: 13, maxTokens: 10, truncated: true, keptChars: ends[2] },
    ]);
    expect(counter.calls[0]).toEqual([null, 'about ham', 'this is about spam']);
    // Every prefix of a pair's premise was counted with that pair's hypothesis.
    for (const call of counter.calls.slice(1)) expect(new Set(call).size).toBe(1);
    expect(counter.calls.slice(1).map((call) => call[0])).toEqual(['about ham', 'this is about spam']);
  });

  it('stops, returning nothing, once the rendering is stale', async () => {
    let calls = 0;
    const stale = () => ++calls > 1;
    expect(await measurePieces(pieces, 10, pairCounter().count, stale)).toBeUndefined();
  });

  it('refuses a counter that returns the wrong number of counts', async () => {
    await expect(measurePieces(pieces, 10, async () => [1])).rejects.toThrow(
      'Asked for 3 token counts, got 1.',
    );
  });
});
