import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import {
  experimentJsonSchema,
  experimentJsonSchemaText,
  replaceSettingsBlock,
  settingsTablesMarkdown,
} from '../../../../src/lib/core/experiment/json-schema.ts';
import { EXPERIMENT_FIELDS, parseExperiment } from '../../../../src/lib/core/experiment/schema.ts';
import { HEAD_SETTINGS } from '../../../../src/lib/core/experiment/settings.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
// strictRequired is off: the oneOf/anyOf branches require properties their parent object declares.
const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).compile(
  experimentJsonSchema(),
);

/** Every experiment file the project ships or tests with, that the validator accepts. */
async function shippedExperiments(): Promise<{ file: string; json: unknown }[]> {
  const folders = ['examples', 'tests/fixtures/experiments', 'workshop'];
  const found: { file: string; json: unknown }[] = [];
  for (const folder of folders) {
    for (const name of (await readdir(path.join(root, folder))).filter((file) => file.endsWith('.json'))) {
      const file = path.join(folder, name);
      found.push({ file, json: JSON.parse(await readFile(path.join(root, file), 'utf8')) });
    }
  }
  return found;
}

function base(): Record<string, unknown> {
  return {
    version: 1,
    name: 'topics',
    model: 'fixtures/tiny-bert',
    dataset: { builtin: 'topics' },
    split: { test: 0.3, seed: 42 },
    prompts: [{ name: 'bare', strategy: 'similarity', template: '{label}' }],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.01, seed: 1 },
    ],
  };
}

/** `base()` changed by `edit`: each case breaks one rule both the validator and the schema state. */
function broken(edit: (experiment: Record<string, unknown>) => void): Record<string, unknown> {
  const experiment = base();
  edit(experiment);
  return experiment;
}

const prompt = (experiment: Record<string, unknown>): Record<string, unknown> =>
  (experiment.prompts as Record<string, unknown>[])[0] as Record<string, unknown>;
const head = (experiment: Record<string, unknown>): Record<string, unknown> =>
  (experiment.heads as Record<string, unknown>[])[0] as Record<string, unknown>;

const INVALID: [string, Record<string, unknown>][] = [
  ['an unknown top-level field', broken((e) => (e.extra = 1))],
  ['another version', broken((e) => (e.version = 2))],
  ['a missing split', broken((e) => delete e.split)],
  ['a test fraction of 1', broken((e) => ((e.split as Record<string, unknown>).test = 1))],
  ['a fractional seed', broken((e) => ((e.split as Record<string, unknown>).seed = 1.5))],
  ['an unknown built-in dataset', broken((e) => (e.dataset = { builtin: 'nope' }))],
  ['two dataset sources', broken((e) => (e.dataset = { builtin: 'topics', path: 'a.csv' }))],
  ['an empty row list', broken((e) => (e.dataset = { name: 'a', rows: [], text: 't', label: 'l' }))],
  ['a number in a row', broken((e) => (e.dataset = { name: 'a', rows: [{ t: 1 }], text: 't', label: 'l' }))],
  ['an unknown strategy', broken((e) => (prompt(e).strategy = 'magic'))],
  ['a template without {label}', broken((e) => (prompt(e).template = 'a label'))],
  ['both template and descriptions', broken((e) => (prompt(e).descriptions = { sports: 'sport' }))],
  ['a prompt without a name', broken((e) => delete prompt(e).name)],
  ['a blank name', broken((e) => (e.name = '   '))],
  [
    'an NLI hypothesis without {label}',
    broken((e) => (e.prompts = [{ name: 'n', strategy: 'nli', hypothesis: 'It is.' }])),
  ],
  [
    'one verbalizer only',
    broken(
      (e) =>
        (e.prompts = [{ name: 'i', strategy: 'instruction', instruction: 'Go.', verbalizers: { a: ' a' } }]),
    ),
  ],
  [
    'negative shots',
    broken(
      (e) =>
        (e.prompts = [
          {
            name: 'i',
            strategy: 'instruction',
            instruction: 'Go.',
            verbalizers: { a: ' a', b: ' b' },
            shotsPerClass: -1,
          },
        ]),
    ),
  ],
  ['a head without epochs', broken((e) => delete head(e).epochs)],
  ['zero epochs', broken((e) => (head(e).epochs = 0))],
  ['a learning rate of 0', broken((e) => (head(e).learningRate = 0))],
  ['an unknown pooling', broken((e) => (head(e).pooling = 'max'))],
  ['an unknown class weighting', broken((e) => (head(e).classWeights = 'auto'))],
  ['a misspelt head field', broken((e) => (head(e).epoch = 5))],
  ['nothing to run', broken((e) => ((e.prompts = []), (e.heads = [])))],
  ['a learning curve without sizes', broken((e) => (e.learningCurve = { seeds: 2 }))],
  ['a learning curve of size 0', broken((e) => (e.learningCurve = { shotsPerClass: [0], seeds: 2 }))],
];

describe('the experiment JSON Schema', () => {
  it('is the committed docs/experiment.schema.json (run `npm run schema` after changing the validator)', async () => {
    const committed = await readFile(path.join(root, 'docs/experiment.schema.json'), 'utf8');
    expect(committed).toBe(experimentJsonSchemaText());
  });

  it('has its settings tables in docs/experiment-file.md, current (run `npm run schema`)', async () => {
    const doc = await readFile(path.join(root, 'docs/experiment-file.md'), 'utf8');
    expect(doc).toContain(settingsTablesMarkdown());
    expect(replaceSettingsBlock(doc)).toBe(doc);
    for (const setting of Object.values(HEAD_SETTINGS)) expect(doc).toContain(`| \`${setting.key}\` |`);
    expect(() => replaceSettingsBlock('no markers')).toThrow(/settings:start/);
  });

  it('accepts every experiment file the project ships, as the validator does', async () => {
    const files = await shippedExperiments();
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const { file, json } of files) {
      expect(() => parseExperiment(json), file).not.toThrow();
      expect(validate(json) ? [] : validate.errors, file).toEqual([]);
    }
  });

  it('accepts the valid base of the table below', () => {
    expect(() => parseExperiment(base())).not.toThrow();
    expect(validate(base()) ? [] : validate.errors).toEqual([]);
  });

  it.each(INVALID)('refuses %s, as the validator does', (_, experiment) => {
    expect(() => parseExperiment(experiment)).toThrow(ExperimentError);
    expect(validate(experiment)).toBe(false);
  });

  it('describes exactly the fields the validator accepts, and requires the settings that are not optional', () => {
    const schema = experimentJsonSchema() as {
      properties: Record<string, { items?: { properties: object; required: string[] } }>;
    };
    expect(Object.keys(schema.properties)).toEqual([...EXPERIMENT_FIELDS.experiment]);
    const heads = schema.properties.heads?.items;
    expect(Object.keys(heads?.properties ?? {})).toEqual([...EXPERIMENT_FIELDS.head]);
    const optional: string[] = Object.values(HEAD_SETTINGS)
      .filter((setting) => 'optional' in setting && setting.optional === true)
      .map((setting) => setting.key);
    expect(heads?.required).toEqual(EXPERIMENT_FIELDS.head.filter((field) => !optional.includes(field)));
  });
});
