/**
 * @file The open experiment's validation without re-checking its rows on every edit
 * (src/lib/state/experiment-snapshot.svelte.ts): for valid and invalid experiments alike it reports exactly what
 * the experiment file's `parseExperiment` reports, the first error included, while checking each rows array once.
 */
import { describe, expect, test, vi } from 'vitest';
import * as schema from '../../../src/lib/core/experiment/schema.ts';
import type { Experiment } from '../../../src/lib/core/experiment/types.ts';
import { defaultExperiment } from '../../../src/lib/state/defaults.ts';
import { checkExperiment, snapshotExperiment } from '../../../src/lib/state/experiment-snapshot.svelte.ts';
import type { Row } from '../../../src/lib/storage/hash.ts';

const ROWS: Row[] = [
  { text: 'pizza tonight', label: 'food' },
  { text: 'the team wins', label: 'sports' },
];

function uploaded(rows: unknown, patch: Partial<Experiment> = {}, dataset: object = {}): Experiment {
  return {
    ...defaultExperiment(),
    ...patch,
    dataset: { name: 'upload.csv', rows, text: 'text', label: 'label', ...dataset } as Experiment['dataset'],
  };
}

/** What a validation reports: nothing, or the error's path and message. */
function outcome(validate: () => unknown): { path: string; message: string } | undefined {
  try {
    validate();
    return undefined;
  } catch (error) {
    const { path, message } = error as { path: string; message: string };
    return { path, message };
  }
}

const CASES: [string, Experiment][] = [
  ['a valid built-in experiment', defaultExperiment()],
  ['a valid uploaded experiment', uploaded(ROWS)],
  ['an empty name, with valid rows', uploaded(ROWS, { name: ' ' })],
  ['a row without its label', uploaded([...ROWS, { text: 'no label' }])],
  ['a number in a row', uploaded([{ text: 'x', label: 1 }])],
  ['no rows at all', uploaded([])],
  ['rows that are not a list', uploaded('rows')],
  ['an empty name and a bad row (the name comes first)', uploaded([{ text: 'x' }], { name: '' })],
  ['an empty text field name', uploaded(ROWS, {}, { text: '' })],
  ['rows lacking a renamed label field', uploaded(ROWS, {}, { label: 'category' })],
  ['a bad split, with valid rows', uploaded(ROWS, { split: { test: 2, seed: 1 } })],
  ['a row that is not an object', uploaded([...ROWS, 'just a text'])],
  ['a number in a row before its missing label', uploaded([{ text: 'x', votes: 2 }])],
  [
    'a row whose label is inherited, not its own',
    uploaded([Object.create({ label: 'food' }, { text: { value: 'x', enumerable: true } })]),
  ],
  [
    'a row from JSON with a "__proto__" field',
    uploaded(JSON.parse('[{"text":"x","label":"a","__proto__":"y"}]')),
  ],
  [
    'a row from JSON with a numeric "__proto__"',
    uploaded(JSON.parse('[{"text":"x","label":"a","__proto__":1}]')),
  ],
  ['more rows than a file may have', uploaded(Array.from({ length: 50_001 }, () => ROWS[0]))],
  [
    'a duplicate prompt name, with valid rows',
    uploaded(ROWS, { prompts: [...defaultExperiment().prompts, defaultExperiment().prompts[0]!] }),
  ],
];

describe('checkExperiment', () => {
  test.each(CASES)('reports what parseExperiment reports for %s', (_name, experiment) => {
    expect(outcome(() => checkExperiment(experiment))).toEqual(
      outcome(() => schema.parseExperiment(experiment)),
    );
  });

  test('checks the rows of an array once, then only the rest of the experiment', () => {
    const rows = Array.from({ length: 1000 }, (_, index) => ({ text: `text ${index}`, label: 'food' }));
    const experiment = uploaded(rows);
    checkExperiment(experiment);
    const parse = vi.spyOn(schema, 'parseExperiment');
    for (let epochs = 1; epochs <= 3; epochs++) {
      checkExperiment({ ...experiment, heads: [{ ...experiment.heads[0]!, epochs }] });
    }
    const checkedRows = parse.mock.calls.map(
      ([value]) => ((value as Experiment).dataset as { rows: Row[] }).rows.length,
    );
    expect(checkedRows).toEqual([1, 1, 1]);
  });
});

describe('snapshotExperiment', () => {
  test('copies the experiment but holds its rows by reference', () => {
    const experiment = uploaded(ROWS);
    const copy = snapshotExperiment(experiment);
    expect(copy).toEqual(experiment);
    expect(copy.heads).not.toBe(experiment.heads);
    expect((copy.dataset as { rows: Row[] }).rows).toBe(ROWS);
  });
});
