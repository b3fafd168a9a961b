/**
 * The inline dataset form (`dataset: { name, rows, text, label }`), which the app writes for uploaded data so an
 * exported experiment is one file: its validation, and a run on it equal to a run on the file it came from.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTable } from '../../../../src/lib/core/dataset/parse.ts';
import { inlineDatasetRef } from '../../../../src/lib/core/dataset/ref.ts';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import { runExperiment, type RunDependencies } from '../../../../src/lib/core/experiment/orchestrator.ts';
import { parseExperiment, serializeExperiment } from '../../../../src/lib/core/experiment/schema.ts';
import type { Experiment } from '../../../../src/lib/core/experiment/types.ts';
import { CentroidTrainer, FakeClock, KeywordEncoder } from './fakes.ts';

const CSV_PATH = resolve(import.meta.dirname, '../../../fixtures/datasets/topics-keywords.csv');

function experimentWith(dataset: unknown): Record<string, unknown> {
  return {
    version: 1,
    name: 'inline',
    model: 'fake/keywords',
    dataset,
    split: { test: 0.3, seed: 7 },
    prompts: [{ name: 'bare labels', strategy: 'similarity', template: '{label}' }],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.01, seed: 1 },
    ],
  };
}

function inlineRows(count: number): Record<string, string>[] {
  return Array.from({ length: count }, (_, i) => ({ text: `text ${i}`, label: i % 2 === 0 ? 'a' : 'b' }));
}

function errorFor(dataset: unknown): ExperimentError {
  try {
    parseExperiment(experimentWith(dataset));
  } catch (error) {
    if (error instanceof ExperimentError) return error;
    throw error;
  }
  throw new Error('expected an ExperimentError');
}

describe('schema: inline dataset', () => {
  it('accepts name, rows, text and label, and serializes them back unchanged', () => {
    const dataset = { name: 'reviews.csv', rows: inlineRows(4), text: 'text', label: 'label' };
    const experiment = parseExperiment(experimentWith(dataset));
    expect(experiment.dataset).toEqual(dataset);
    expect(parseExperiment(JSON.parse(serializeExperiment(experiment)))).toEqual(experiment);
  });

  it('allows extra string fields and empty cells (the data check drops such rows later)', () => {
    const rows = [{ text: '', label: 'a', note: 'kept' }, ...inlineRows(3)];
    expect(
      parseExperiment(experimentWith({ name: 'x', rows, text: 'text', label: 'label' })).dataset,
    ).toEqual({
      name: 'x',
      rows,
      text: 'text',
      label: 'label',
    });
  });

  it.each([
    [
      'rows not a list',
      { rows: 'a,b' },
      'dataset.rows',
      /must be a list of rows like \[\{ "text": "…", "label": "…" \}\]/,
    ],
    ['no rows', { rows: [] }, 'dataset.rows', /is empty/],
    [
      'a row that is not an object',
      { rows: [...inlineRows(2), ['x', 'a']] },
      'dataset.rows[2]',
      /must be an object/,
    ],
    [
      'a number as label',
      { rows: [...inlineRows(17), { text: 'x', label: 3 }] },
      'dataset.rows[17].label',
      /must be a string \(write numbers and labels in quotes, an empty cell as ""\); got 3\./,
    ],
    [
      'null text',
      { rows: [{ text: null, label: 'a' }] },
      'dataset.rows[0].text',
      /must be a string.*got null/,
    ],
    [
      'a missing label',
      { rows: [...inlineRows(3), { text: 'x' }] },
      'dataset.rows[3].label',
      /is missing: every row needs/,
    ],
    [
      'a label the row only inherits',
      { rows: [Object.create({ label: 'a' }, { text: { value: 'x', enumerable: true } })] },
      'dataset.rows[0].label',
      /is missing: every row needs/,
    ],
    [
      'a number after the text and label',
      { rows: [...inlineRows(5), { text: 'x', label: 'a', votes: 2 }] },
      'dataset.rows[5].votes',
      /must be a string.*got 2\./,
    ],
    [
      'a label field named differently',
      { rows: inlineRows(2), label: 'class' },
      'dataset.rows[0].class',
      /is missing: every row needs the text field "text" and the label field "class"/,
    ],
    ['no name', { name: undefined }, 'dataset.name', /is missing/],
    ['no text', { text: undefined }, 'dataset.text', /is missing/],
    ['empty label', { label: ' ' }, 'dataset.label', /must be a non-empty string/],
    ['rows and path', { path: 'x.csv' }, 'dataset', /exactly one of "path".*"builtin".*"rows"/],
    ['rows and builtin', { builtin: 'topics' }, 'dataset', /exactly one of/],
    ['an unknown field', { row: [] }, 'dataset.row', /did you mean "rows"/],
    [
      'too many rows',
      { rows: inlineRows(50_001) },
      'dataset.rows',
      /has 50,001 rows; at most 50,000 are supported/,
    ],
  ])('%s: names %s', (_, patch, path, message) => {
    const dataset = { name: 'up.csv', rows: inlineRows(4), text: 'text', label: 'label', ...patch };
    const error = errorFor(dataset);
    expect(error.path).toBe(path);
    expect(error.detail).toMatch(message);
  });

  it('mentions the inline form when the dataset names no source', () => {
    expect(errorFor({ text: 'text', label: 'label' }).detail).toMatch(/or "rows" \(the data itself/);
  });
});

describe('runExperiment with an inline dataset', () => {
  function deps(files: Record<string, string>): { deps: RunDependencies; reads: string[] } {
    const clock = new FakeClock();
    const reads: string[] = [];
    return {
      reads,
      deps: {
        encoder: async (model) => new KeywordEncoder(model, clock),
        trainer: new CentroidTrainer(clock),
        async readDatasetFile(path) {
          reads.push(path);
          const content = files[path];
          if (content === undefined) throw new Error(`No such file: ${path}`);
          return content;
        },
        now: clock.now,
      },
    };
  }

  it('reads no file and gives exactly the results of the file it was made from', async () => {
    const csv = await readFile(CSV_PATH, 'utf8');
    const inline = inlineDatasetRef('topics-keywords.csv', parseTable(csv, 'csv'), {
      text: 'text',
      label: 'label',
    });
    const inlineExperiment: Experiment = parseExperiment(experimentWith(inline));
    const fileExperiment: Experiment = parseExperiment(
      experimentWith({ path: 'topics-keywords.csv', text: 'text', label: 'label' }),
    );

    const inlineRun = deps({});
    const fromInline = await runExperiment(inlineExperiment, inlineRun.deps);
    const fromFile = await runExperiment(fileExperiment, deps({ 'topics-keywords.csv': csv }).deps);

    expect(inlineRun.reads).toEqual([]);
    expect(fromInline.labels).toEqual(['food', 'sports', 'weather']);
    expect(fromInline.split).toEqual(fromFile.split);
    expect(fromInline.split.test.length + fromInline.split.train).toBe(90);
    expect(fromInline.runs).toEqual(fromFile.runs);
    expect(fromInline.runs.map((run) => run.name)).toEqual(['bare labels', 'linear']);
  });

  it('decodes a dataset file given as bytes, refusing one that is not UTF-8', async () => {
    const latin1 = Uint8Array.from([...new TextEncoder().encode('text,label\ncaf'), 0xe9, 0x0a]);
    const experiment = parseExperiment(experimentWith({ path: 'latin1.csv', text: 'text', label: 'label' }));
    const run = deps({});
    run.deps.readDatasetFile = async () => latin1;
    await expect(runExperiment(experiment, run.deps)).rejects.toThrow(/^"latin1.csv" is not UTF-8 text/);
  });

  it('reports unusable inline data with the same message as a file', async () => {
    const rows = [...inlineRows(4), { text: 'lonely', label: 'c' }];
    const experiment = parseExperiment(
      experimentWith({ name: 'up.csv', rows, text: 'text', label: 'label' }),
    );
    await expect(runExperiment(experiment, deps({}).deps)).rejects.toThrow(
      'Class "c" has a single example and cannot be split into train and test: add examples or remove those rows.',
    );
  });
});
