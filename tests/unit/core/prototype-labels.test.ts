/**
 * @file Labels that are `Object.prototype` names (`__proto__`, `constructor`, `toString`, `hasOwnProperty`) are
 * ordinary labels everywhere they become keys: class counts, prediction scores, described prompts.
 */
import { describe, expect, it } from 'vitest';
import { analyzeDataset } from '../../../src/lib/core/dataset/build.ts';
import type { Table } from '../../../src/lib/core/dataset/parse.ts';
import { predictionsFromProbabilities } from '../../../src/lib/core/experiment/run.ts';
import { parseExperimentText, serializeExperiment } from '../../../src/lib/core/experiment/schema.ts';
import type { SimilarityPrompt } from '../../../src/lib/core/experiment/types.ts';
import { classifyBySimilarity, labelTexts } from '../../../src/lib/core/prompts/similarity.ts';
import { emptyRecord, ownValue } from '../../../src/lib/core/records.ts';

const LABELS = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];

/** Own enumerable entries, sorted: what a JSON file or `Object.entries` would show. */
function entries(record: object): [string, unknown][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
}

describe('labels named like Object.prototype members', () => {
  it('are each counted once in the dataset report, and nothing else is', () => {
    const rows = LABELS.flatMap((label, k) =>
      Array.from({ length: k + 2 }, (_, i) => ({ text: `${label} text ${i}`, label })),
    );
    const table: Table = { columns: ['text', 'label'], rows, warnings: [] };
    const { report, errors } = analyzeDataset(table, { text: 'text', label: 'label' }, 'protos.csv');

    expect(errors).toEqual([]);
    expect(entries(report.classCounts)).toEqual(LABELS.map((label, k) => [label, k + 2]));
    expect(report.examples).toBe(2 + 3 + 4 + 5);
  });

  it.each([
    ['a trained head', () => predictionsFromProbabilities([[0.7, 0.1, 0.1, 0.1]], LABELS, ['row-1'])],
    [
      'a similarity prompt',
      () =>
        classifyBySimilarity(
          [new Float32Array([1, 0])],
          LABELS.map((_, k) => new Float32Array([k === 0 ? 1 : 0, k === 0 ? 0 : 1])),
          LABELS,
          ['row-1'],
        ),
    ],
  ])('keep their scores in predictions of %s, through JSON too', (_, predict) => {
    const [prediction] = predict();
    expect(prediction?.label).toBe('__proto__');
    expect(Object.keys(prediction?.scores ?? {}).sort()).toEqual(LABELS);
    const reloaded = JSON.parse(JSON.stringify(prediction)) as { scores: Record<string, number> };
    expect(Object.hasOwn(reloaded.scores, '__proto__')).toBe(true);
    expect(Object.keys(reloaded.scores).sort()).toEqual(LABELS);
  });

  it('can be described in an experiment file, and survive saving it', () => {
    const descriptions = Object.fromEntries(LABELS.map((label) => [label, `about ${label}`]));
    const text = JSON.stringify({
      version: 1,
      name: 'prototype names',
      model: 'm',
      dataset: { path: 'protos.csv', text: 'text', label: 'label' },
      split: { test: 0.3, seed: 42 },
      prompts: [{ name: 'described', strategy: 'similarity', descriptions }],
    });
    const experiment = parseExperimentText(text);
    const prompt = experiment.prompts[0] as SimilarityPrompt;
    expect(entries(prompt.descriptions ?? {})).toEqual(LABELS.map((label) => [label, `about ${label}`]));
    expect(labelTexts(prompt, LABELS)).toEqual(LABELS.map((label) => [`about ${label}`]));
    const again = parseExperimentText(serializeExperiment(experiment)).prompts[0] as SimilarityPrompt;
    expect(entries(again.descriptions ?? {})).toEqual(entries(prompt.descriptions ?? {}));
  });

  it('is named clearly when described but not in the dataset, and when in the dataset but not described', () => {
    const prompt = { descriptions: { ...emptyRecord<string>(), ...{ spam: 'ads', ham: 'mail' } } };
    expect(() => labelTexts(prompt, ['spam', 'ham', 'constructor'])).toThrow(
      /label "constructor" has no description/,
    );
    const extra = JSON.parse('{"spam":"ads","ham":"mail","__proto__":"x"}') as Record<string, string>;
    expect(() => labelTexts({ descriptions: extra }, ['spam', 'ham'])).toThrow(
      /"__proto__" is not a label of the dataset/,
    );
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'a field named %s in an experiment file is an unknown field, said in words',
    (key) => {
      const text = `{"version":1,"name":"n","model":"m","split":{"test":0.3,"seed":1},"dataset":{"path":"d.csv","text":"text","label":"label"},"prompts":[{"name":"p","strategy":"similarity","template":"{label}"}],${JSON.stringify(key)}:{}}`;
      expect(() => parseExperimentText(text)).toThrow(
        new RegExp(`${key}.*: unknown field\\. Allowed fields here: `),
      );
      expect(() => parseExperimentText(text)).not.toThrow(/\[object Object\]|function Object/);
    },
  );

  it('inline dataset rows keep a column named __proto__', () => {
    const text = JSON.stringify({
      version: 1,
      name: 'n',
      model: 'm',
      split: { test: 0.3, seed: 1 },
      dataset: {
        name: 'inline.csv',
        text: '__proto__',
        label: 'constructor',
        rows: [JSON.parse('{"__proto__":"hello","constructor":"greeting"}') as unknown],
      },
      prompts: [{ name: 'p', strategy: 'similarity', template: '{label}' }],
    });
    const dataset = parseExperimentText(text).dataset as { rows?: Record<string, string>[] };
    expect(entries(dataset.rows?.[0] ?? {})).toEqual([
      ['__proto__', 'hello'],
      ['constructor', 'greeting'],
    ]);
  });

  it('ownValue never reads an inherited member', () => {
    expect(ownValue({ spam: 1 }, 'constructor')).toBeUndefined();
    expect(ownValue({ spam: 1 }, 'toString')).toBeUndefined();
    expect(ownValue(JSON.parse('{"__proto__":2}') as Record<string, number>, '__proto__')).toBe(2);
    expect(ownValue(undefined, 'spam')).toBeUndefined();
  });
});
