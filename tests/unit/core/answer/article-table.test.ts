import { describe, expect, it } from 'vitest';
import {
  ARTICLE_ASPECTS,
  buildArticleTable,
  duration,
} from '../../../../src/lib/core/answer/article-table.ts';
import { cyclingTest, fakeResults, withMistakes } from './results-fixture.ts';

const labels = ['spam', 'ham'];
const test = cyclingTest(labels, 40);
const truth = test.map((example) => example.label);

/** Two prompts (one poor) and two heads that beat them clearly. */
function results() {
  return fakeResults(labels, test, [
    {
      name: 'bare',
      kind: 'prompt',
      predicted: withMistakes(labels, test, [...Array(16).keys()]),
      adaptMs: 30,
      inferMs: 400,
    },
    {
      name: 'worded',
      kind: 'prompt',
      predicted: withMistakes(labels, test, [...Array(12).keys()]),
      adaptMs: 50,
      inferMs: 400,
    },
    {
      name: 'linear',
      kind: 'head',
      predicted: truth,
      adaptMs: 6000,
      inferMs: 80,
      labeledExamples: 420,
      trainedParameters: 1026,
    },
    {
      name: 'few shots',
      kind: 'head',
      predicted: withMistakes(labels, test, [0, 1]),
      adaptMs: 2000,
      inferMs: 80,
      labeledExamples: 16,
      trainedParameters: 1026,
    },
  ]);
}

function cell(aspect: string, side: 'prompt' | 'fineTune', input = results()): string {
  const row = buildArticleTable(input).find((entry) => entry.aspect === aspect);
  if (!row) throw new Error(`no row ${aspect}`);
  return row[side];
}

describe('buildArticleTable', () => {
  it('has the eight aspects in the article order, with titles', () => {
    const table = buildArticleTable(results());
    expect(table.map((row) => row.aspect)).toEqual([...ARTICLE_ASPECTS]);
    expect(table.map((row) => row.title)).toEqual([
      'Definition',
      'Purpose',
      'Complexity',
      'Cost',
      'Time',
      'Flexibility',
      'Use cases',
      'Dependency',
    ]);
  });

  // Each aspect's cells carry this experiment's numbers.
  it.each([
    ['definition', 'prompt', 'Parameters changed: 0.'],
    ['definition', 'fineTune', 'Parameters changed: 1,026.'],
    ['purpose', 'prompt', 'Accuracy over the variations: 60.0%–70.0%.'],
    ['purpose', 'fineTune', 'Accuracy over the heads: 95.0%–100.0%.'],
    ['complexity', 'fineTune', 'Needs labeled data (16–420 examples used)'],
    ['cost', 'prompt', 'Inference 10 ms per example (median); labeling cost: none.'],
    ['cost', 'fineTune', 'Inference 2.0 ms per example (median); labeling cost: 420 labeled examples.'],
    ['time', 'prompt', '40 ms to adapt'],
    ['time', 'fineTune', '4.0 s to adapt'],
    ['flexibility', 'prompt', '2 variations tried; one more takes about 40 ms'],
    [
      'flexibility',
      'fineTune',
      '2 heads trained; changing the labels or the task means new labeled data and retraining, about 4.0 s each (100× a new prompt).',
    ],
    ['use cases', 'prompt', 'Lost here: "worded", 70.0% (95% CI'],
    ['use cases', 'fineTune', 'Won here: "linear", 100.0% (95% CI 100.0%–100.0%). "linear" is better'],
    [
      'dependency',
      'prompt',
      'On the pre-trained model (fixtures/tiny-bert) and on the wording: the variations span 60.0%–70.0% accuracy.',
    ],
    ['dependency', 'fineTune', '16–420 labeled examples here.'],
  ] as const)('%s, %s side: %s', (aspect, side, text) => {
    expect(cell(aspect, side)).toContain(text);
  });

  it('says a tie in use cases when McNemar finds no evidence', () => {
    const tied = fakeResults(labels, test, [
      { name: 'worded', kind: 'prompt', predicted: withMistakes(labels, test, [0]) },
      { name: 'linear', kind: 'head', predicted: truth },
    ]);
    expect(cell('use cases', 'prompt', tied)).toMatch(
      /^Tied here: "worded".*No evidence either is better on these 40 examples/,
    );
    expect(cell('use cases', 'fineTune', tied)).toMatch(/^Tied here: "linear"/);
  });

  it('names the learning-curve crossover under dependency', () => {
    const input = results();
    input.learningCurve = { head: 'linear', shotsPerClass: [2, 8, 32], seeds: 3, points: [], crossover: 8 };
    expect(cell('dependency', 'fineTune', input)).toContain(
      'reaches the best prompt from 8 labeled examples per class',
    );
  });

  it('says a side was not measured instead of inventing numbers', () => {
    const onlyPrompts = fakeResults(labels, test, [{ name: 'worded', kind: 'prompt', predicted: truth }]);
    const table = buildArticleTable(onlyPrompts);
    for (const row of table) expect(row.fineTune).toBe('Not measured: this experiment trained no head.');
    expect(cell('use cases', 'prompt', onlyPrompts)).toBe(
      'Best here: "worded", 100.0% (95% CI 100.0%–100.0%).',
    );
  });
});

describe('duration', () => {
  it.each([
    [0.42, '0.4 ms'],
    [35.4, '35 ms'],
    [2100, '2.1 s'],
    [210_000, '3.5 min'],
  ])('%f ms → %s', (ms, text) => expect(duration(ms)).toBe(text));
});
