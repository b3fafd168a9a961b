import { describe, expect, it } from 'vitest';
import {
  answerQuestion,
  describeComparison,
  findComparison,
  formatP,
} from '../../../../src/lib/core/answer/verdict.ts';
import { exactMcNemarP } from '../../../../src/lib/core/stats/uncertainty.ts';
import { cyclingTest, fakeResults, withMistakes } from './results-fixture.ts';

/** A comparison of "head" (a) with "prompt" (b) with the p-value the core computes for the counts. */
function comparison(onlyA: number, onlyB: number) {
  return { a: 'head', b: 'prompt', onlyA, onlyB, p: exactMcNemarP(onlyA, onlyB) };
}

describe('describeComparison: the words for each strength of evidence', () => {
  // p-values by hand: 12 vs 0 → 2/2^12 = 0.000488; 9 vs 0 → 2/512 = 0.0039; 8 vs 1 → 2·10/512 = 0.039;
  // 7 vs 1 → 2·9/256 = 0.070; 5 vs 3 → 0.727.
  const cases: {
    name: string;
    onlyA: number;
    onlyB: number;
    better: string | null;
    evidence: string;
    words: string;
  }[] = [
    {
      name: '12 vs 0',
      onlyA: 12,
      onlyB: 0,
      better: 'head',
      evidence: 'strong',
      words: 'less than 1 time in 1,000',
    },
    {
      name: '9 vs 0',
      onlyA: 9,
      onlyB: 0,
      better: 'head',
      evidence: 'clear',
      words: 'less than 1 time in 100',
    },
    {
      name: '1 vs 8, b wins',
      onlyA: 1,
      onlyB: 8,
      better: 'prompt',
      evidence: 'some',
      words: 'less than 1 time in 20',
    },
    {
      name: '7 vs 1, a hint',
      onlyA: 7,
      onlyB: 1,
      better: null,
      evidence: 'weak',
      words: 'No firm evidence either is better on these 45 examples: a hint in favour of "head"',
    },
    {
      name: '5 vs 3',
      onlyA: 5,
      onlyB: 3,
      better: null,
      evidence: 'none',
      words: 'No evidence either is better on these 45 examples',
    },
    {
      name: 'ties',
      onlyA: 4,
      onlyB: 4,
      better: null,
      evidence: 'none',
      words: 'each gets 4 examples right that the other gets wrong',
    },
    {
      name: 'no disagreement',
      onlyA: 0,
      onlyB: 0,
      better: null,
      evidence: 'none',
      words: 'both runs got exactly the same examples right',
    },
  ];
  it.each(cases)('$name', ({ onlyA, onlyB, better, evidence, words }) => {
    const verdict = describeComparison(comparison(onlyA, onlyB), 45);
    expect(verdict.better).toBe(better);
    expect(verdict.evidence).toBe(evidence);
    expect(verdict.text).toContain(words);
    if (better) expect(verdict.text.startsWith(`"${better}" is better; a difference this large`)).toBe(true);
  });

  it('names the tallies and the p-value', () => {
    expect(describeComparison(comparison(9, 0), 45).text).toBe(
      '"head" is better; a difference this large would arise by chance less than 1 time in 100 ' +
        '("head" gets 9 examples right that "prompt" gets wrong, 0 the other way; p = 0.0039).',
    );
  });

  it.each([
    ['more disagreements than examples', comparison(30, 20), 45],
    ['a zero test size', comparison(0, 0), 0],
    ['a p-value over 1', { ...comparison(1, 1), p: 1.5 }, 45],
  ] as const)('refuses %s', (_, input, size) => {
    expect(() => describeComparison(input, size)).toThrow(RangeError);
  });
});

describe('formatP', () => {
  it.each([
    [0.00001, 'p < 0.0001'],
    [0.00390625, 'p = 0.0039'],
    [1, 'p = 1'],
  ])('%f → %s', (p, text) => expect(formatP(p)).toBe(text));
});

describe('findComparison', () => {
  it('turns a stored pair round so the first name asked is a', () => {
    const stored = [{ a: 'prompt', b: 'head', onlyA: 1, onlyB: 8, p: 0.04 }];
    expect(findComparison(stored, 'head', 'prompt')).toEqual({
      a: 'head',
      b: 'prompt',
      onlyA: 8,
      onlyB: 1,
      p: 0.04,
    });
    expect(findComparison(stored, 'head', 'other')).toBeUndefined();
  });
});

describe('answerQuestion', () => {
  const labels = ['food', 'sports', 'weather'];
  const test = cyclingTest(labels, 45);
  const truth = test.map((example) => example.label);

  it('says fine-tune when the best head is significantly better than the best prompt', () => {
    const results = fakeResults(labels, test, [
      {
        name: 'bare',
        kind: 'prompt',
        predicted: withMistakes(labels, test, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
      },
      {
        name: 'worded',
        kind: 'prompt',
        predicted: withMistakes(labels, test, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      },
      { name: 'linear', kind: 'head', predicted: truth },
    ]);
    const answer = answerQuestion(results);
    expect(answer.choice).toBe('fine-tune');
    expect(answer.text).toContain('"linear", scores 100.0%');
    expect(answer.text).toContain('the best prompt, "worded"');
    expect(answer.text).toContain('less than 1 time in 100');
  });

  it('says prompt when the head is not significantly better', () => {
    const results = fakeResults(labels, test, [
      { name: 'worded', kind: 'prompt', predicted: withMistakes(labels, test, [0, 1]) },
      { name: 'linear', kind: 'head', predicted: truth },
    ]);
    const answer = answerQuestion(results);
    expect(answer.choice).toBe('prompt');
    expect(answer.text).toContain('No evidence either is better on these 45 examples');
    expect(answer.text).toContain('needs no labeled examples');
  });

  it('names the crossover of a learning curve', () => {
    const results = fakeResults(labels, test, [
      { name: 'worded', kind: 'prompt', predicted: truth },
      { name: 'linear', kind: 'head', predicted: truth },
    ]);
    results.learningCurve = { head: 'linear', shotsPerClass: [1, 4, 16], seeds: 2, points: [], crossover: 4 };
    expect(answerQuestion(results).text).toContain('from 4 labeled examples per class');
    results.learningCurve.crossover = null;
    expect(answerQuestion(results).text).toContain('never reached the best prompt');
  });

  it('is undecided when one side was not run', () => {
    const results = fakeResults(labels, test, [{ name: 'worded', kind: 'prompt', predicted: truth }]);
    expect(answerQuestion(results)).toEqual({
      choice: 'undecided',
      text: 'No answer yet: no head was trained, so there is nothing to compare.',
    });
  });
});
