/**
 * @file The experiment file as a JSON Schema (draft 2020-12), for editors: completion, hover text and red squiggles
 * while writing an experiment by hand. It is generated from what the validator itself checks against — the field
 * lists of schema.ts, the setting declarations of settings.ts (type, range, default, help), the strategies, the
 * built-in datasets and the limits — and `npm run schema` writes it to docs/experiment.schema.json. The validator
 * stays the authority: it also checks what a schema cannot say well (a head's layer against the model's depth,
 * unique run names, a learning curve's head among the heads), and its messages say what to write instead.
 */
import { builtinDatasetIds } from '../dataset/builtin/registry.ts';
import { MAX_ROWS } from '../dataset/limits.ts';
import { LABEL_PLACEHOLDER, TEXT_PLACEHOLDER } from '../prompts/similarity.ts';
import { DEFAULT_INSTRUCTION_TEMPLATE } from '../prompts/instruction.ts';
import { MAX_HEADS, MAX_PROMPTS } from './limits.ts';
import { EXPERIMENT_FIELDS, MAX_CURVE_SEEDS, MAX_CURVE_SIZES } from './schema.ts';
import {
  HEAD_SETTINGS,
  rangeText,
  SPLIT_SETTINGS,
  type EnumSetting,
  type NumberSetting,
} from './settings.ts';
import { EXPERIMENT_VERSION } from './types.ts';

/** A JSON Schema node (only the keywords this file writes). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The JSON Schema dialect the file declares. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const NON_EMPTY = '\\S';

function text(description: string): JsonSchema {
  return { type: 'string', pattern: NON_EMPTY, description };
}

function flag(description: string): JsonSchema {
  return { type: 'boolean', description };
}

/** A string that must contain `placeholder` (a `{label}` or `{text}` slot). */
function templateText(placeholder: string, description: string): JsonSchema {
  return { type: 'string', pattern: placeholder.replace(/[{}]/g, (brace) => `\\${brace}`), description };
}

function describeSetting(setting: NumberSetting | EnumSetting<string>): string {
  return `${setting.label}${setting.labelHint === undefined ? '' : ` ${setting.labelHint}`}. ${setting.help}`;
}

/** What a run uses when an optional setting is absent; what a new experiment starts with for the others. */
function settingFallback(setting: NumberSetting): number | undefined {
  return setting.optional === true ? setting.whenMissing : setting.default;
}

/** A number setting as the validator reads it: its type and its inclusive or exclusive range. */
export function numberSettingSchema(setting: NumberSetting): JsonSchema {
  const exclusive = setting.exclusive === true;
  const schema: Record<string, unknown> = {
    type: setting.kind === 'int' ? 'integer' : 'number',
    description: describeSetting(setting),
  };
  if (setting.min !== undefined) schema[exclusive ? 'exclusiveMinimum' : 'minimum'] = setting.min;
  if (setting.max !== undefined) schema[exclusive ? 'exclusiveMaximum' : 'maximum'] = setting.max;
  const fallback = settingFallback(setting);
  if (fallback !== undefined) schema.default = fallback;
  return schema;
}

function enumSettingSchema(setting: EnumSetting<string>): JsonSchema {
  const choices = setting.choices.map((choice) => `"${choice.value}": ${choice.text}`).join('; ');
  return {
    enum: setting.choices.map((choice) => choice.value),
    default: setting.default,
    description: `${describeSetting(setting)} (${choices})`,
  };
}

/**
 * An object allowing exactly `fields` (the validator's list for it), each described in `properties`.
 * @throws Error when `properties` and `fields` differ: a field the validator accepts must be described here.
 */
function closedObject(
  where: string,
  fields: readonly string[],
  properties: Record<string, JsonSchema>,
  required: readonly string[],
  extra: Record<string, unknown> = {},
): JsonSchema {
  const described = Object.keys(properties);
  const missing = fields.filter((field) => !described.includes(field));
  const unknown = described.filter((field) => !fields.includes(field));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `The JSON Schema of ${where} does not match the validator: ` +
        `${missing.length > 0 ? `undescribed ${missing.join(', ')}` : ''}` +
        `${missing.length > 0 && unknown.length > 0 ? '; ' : ''}` +
        `${unknown.length > 0 ? `not accepted by the validator: ${unknown.join(', ')}` : ''}.`,
    );
  }
  const ordered: Record<string, JsonSchema> = {};
  for (const field of fields) ordered[field] = properties[field] as JsonSchema;
  return { type: 'object', properties: ordered, required, additionalProperties: false, ...extra };
}

function datasetSchemas(): JsonSchema[] {
  const textColumn = text('The column (or field) holding each text.');
  const labelColumn = text('The column (or field) holding each label.');
  return [
    closedObject(
      'dataset (a file)',
      EXPERIMENT_FIELDS.pathDataset,
      {
        path: text(
          'A CSV, TSV, JSONL or JSON file, relative to the experiment file (or absolute); the extension tells ' +
            'the format.',
        ),
        text: textColumn,
        label: labelColumn,
      },
      ['path', 'text', 'label'],
      { title: 'A data file' },
    ),
    closedObject(
      'dataset (built in)',
      EXPERIMENT_FIELDS.builtinDataset,
      {
        builtin: { enum: builtinDatasetIds(), description: 'A dataset that ships with the app.' },
        text: textColumn,
        label: labelColumn,
      },
      ['builtin'],
      { title: 'A built-in dataset' },
    ),
    closedObject(
      'dataset (inline rows)',
      EXPERIMENT_FIELDS.inlineDataset,
      {
        name: text('A name to show for the data, usually the uploaded file’s name.'),
        rows: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_ROWS,
          items: { type: 'object', additionalProperties: { type: 'string' } },
          description:
            'The data itself, one object per row; every value is a string, and every row has the text and ' +
            'label fields ("" marks an unlabeled row, which is dropped).',
        },
        text: textColumn,
        label: labelColumn,
      },
      ['name', 'rows', 'text', 'label'],
      { title: 'Rows inside the file (what the app exports for an uploaded file)' },
    ),
  ];
}

function promptSchemas(): JsonSchema[] {
  const name = text('The variation’s name, unique among prompts and heads.');
  const textTemplate = templateText(
    TEXT_PLACEHOLDER,
    `Wraps each input text; ${TEXT_PLACEHOLDER} marks where the text goes, e.g. "query: ${TEXT_PLACEHOLDER}".`,
  );
  const calibrate = flag(
    'Contextual calibration: divide the label scores by those of content-free inputs, then renormalise.',
  );
  const description = { type: 'string', pattern: NON_EMPTY };
  const similarity = closedObject(
    'a similarity prompt',
    EXPERIMENT_FIELDS.similarityPrompt,
    {
      name,
      strategy: { const: 'similarity', description: 'Label descriptions scored by cosine similarity.' },
      template: templateText(
        LABEL_PLACEHOLDER,
        `One description for every label; ${LABEL_PLACEHOLDER} is replaced by each label.`,
      ),
      descriptions: {
        type: 'object',
        minProperties: 1,
        additionalProperties: { anyOf: [description, { type: 'array', minItems: 1, items: description }] },
        description:
          'Per label, a description or a list of them (an ensemble: their embeddings are averaged).',
      },
      textTemplate,
      model: text('An embedding model for this prompt only; the experiment’s model when absent.'),
      calibrate,
    },
    ['name', 'strategy'],
    {
      title: 'Label descriptions (similarity)',
      oneOf: [{ required: ['template'] }, { required: ['descriptions'] }],
    },
  );
  const nli = closedObject(
    'an NLI prompt',
    EXPERIMENT_FIELDS.nliPrompt,
    {
      name,
      strategy: {
        const: 'nli',
        description: 'The text as premise, a hypothesis per label, entailment scored.',
      },
      hypothesis: templateText(
        LABEL_PLACEHOLDER,
        `The hypothesis; ${LABEL_PLACEHOLDER} is replaced by each label, e.g. "This text is about ${LABEL_PLACEHOLDER}.".`,
      ),
      textTemplate,
      model: text('An NLI model (its labels include "entailment"); the experiment’s model when absent.'),
      calibrate,
    },
    ['name', 'strategy', 'hypothesis'],
    { title: 'NLI hypotheses' },
  );
  const instruction = closedObject(
    'an instruction prompt',
    EXPERIMENT_FIELDS.instructionPrompt,
    {
      name,
      strategy: {
        const: 'instruction',
        description:
          'An instruction for a causal language model, labels scored by verbalizer log-probability.',
      },
      instruction: text('What the model is asked to do, e.g. "Classify the topic of the text."'),
      verbalizers: {
        type: 'object',
        minProperties: 2,
        additionalProperties: { type: 'string', pattern: NON_EMPTY },
        description: 'Per label, the words the model should continue with, e.g. { "sports": " sports" }.',
      },
      shotsPerClass: {
        type: 'integer',
        minimum: 0,
        default: 0,
        description: 'Examples per label from the training split, shown before the text (0 = zero-shot).',
      },
      template: {
        type: 'string',
        default: DEFAULT_INSTRUCTION_TEMPLATE,
        description:
          'The plain prompt format with {instruction}, {shots} and {text} (each at most once, {text} required).',
      },
      chatTemplate: flag('Wrap the prompt in the model’s own chat template.'),
      lengthNormalize: flag('Score a label by the mean log-probability per verbalizer token, not the sum.'),
      calibrate,
      model: text('A causal language model for this prompt; the experiment’s model when absent.'),
    },
    ['name', 'strategy', 'instruction', 'verbalizers'],
    { title: 'An instruction (causal language model)' },
  );
  return [similarity, nli, instruction];
}

function headSchema(): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    name: text('The head’s name, unique among prompts and heads.'),
  };
  const required = ['name'];
  for (const setting of Object.values(HEAD_SETTINGS) as (NumberSetting | EnumSetting<string>)[]) {
    properties[setting.key] =
      setting.kind === 'enum' ? enumSettingSchema(setting) : numberSettingSchema(setting);
    if (setting.optional !== true) required.push(setting.key);
  }
  return closedObject('a head', EXPERIMENT_FIELDS.head, properties, required, {
    title: 'A head trained on frozen features',
  });
}

/** The experiment file's JSON Schema, generated from the validator's declarations (see the file comment). */
export function experimentJsonSchema(): JsonSchema {
  const split = closedObject(
    'split',
    EXPERIMENT_FIELDS.split,
    Object.fromEntries(
      Object.values(SPLIT_SETTINGS).map((setting) => [setting.key, numberSettingSchema(setting)]),
    ),
    EXPERIMENT_FIELDS.split,
    { description: 'One seeded, stratified split shared by every prompt and head.' },
  );
  const learningCurve = closedObject(
    'learningCurve',
    EXPERIMENT_FIELDS.learningCurve,
    {
      shotsPerClass: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_CURVE_SIZES,
        items: { type: 'integer', minimum: 1 },
        description: 'Examples per class to train on at each point, e.g. [1, 2, 4, 8, 16].',
      },
      seeds: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_CURVE_SEEDS,
        description: 'Draws per size (seeds 1..n): their spread is the curve’s band.',
      },
      head: text('The head whose settings are trained, by name; the first head when absent.'),
    },
    ['shotsPerClass', 'seeds'],
    { description: 'Trains a head again on growing numbers of labeled examples per class.' },
  );
  const root = closedObject(
    'the experiment',
    EXPERIMENT_FIELDS.experiment,
    {
      version: { const: EXPERIMENT_VERSION, description: 'The file format’s version.' },
      name: text('The experiment’s name.'),
      model: text(
        'The model: an id under models/ (e.g. "universal-sentence-encoder-lite", "fixtures/tiny-bert") or a ' +
          'model folder relative to this file.',
      ),
      dataset: { oneOf: datasetSchemas(), description: 'Where the labeled texts come from.' },
      split,
      prompts: {
        type: 'array',
        items: { oneOf: promptSchemas() },
        maxItems: MAX_PROMPTS,
        description: 'Prompt variations: the model’s weights stay untouched.',
      },
      heads: {
        type: 'array',
        items: headSchema(),
        maxItems: MAX_HEADS,
        description: 'Heads trained on the model’s frozen features (optionally with its top layers).',
      },
      learningCurve,
    },
    ['version', 'name', 'model', 'dataset', 'split'],
    {
      anyOf: [
        { required: ['prompts'], properties: { prompts: { type: 'array', minItems: 1 } } },
        { required: ['heads'], properties: { heads: { type: 'array', minItems: 1 } } },
      ],
    },
  );
  return {
    $schema: JSON_SCHEMA_DIALECT,
    $id: 'experiment.schema.json',
    title: 'Prompt vs Fine-tune Playground experiment',
    description:
      'An experiment: one labeled dataset split once, prompt variations and heads scored on the same test ' +
      'examples. Written by the app’s Export, read by its Import and by `npm run experiment`.',
    ...root,
  };
}

/** The schema as the file docs/experiment.schema.json holds it (2-space JSON, trailing newline). */
export function experimentJsonSchemaText(): string {
  return `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
}

/** A Markdown cell: pipes escaped, on one line. */
function cell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/**
 * The settings of a split and of a head as Markdown tables (field, type, allowed values, the value a run uses
 * when an optional one is absent or a new experiment starts with, meaning), from the same declarations: docs/experiment-file.md holds them between `<!-- settings:start -->` and
 * `<!-- settings:end -->`, rewritten by `npm run schema`.
 */
export function settingsTablesMarkdown(): string {
  const table = (settings: readonly (NumberSetting | EnumSetting<string>)[]): string[] => {
    const lines = ['| field | type | allowed | when absent | meaning |', '|---|---|---|---|---|'];
    for (const setting of settings) {
      let type: string;
      let allowed: string;
      let fallback: string;
      if (setting.kind === 'enum') {
        type = 'text';
        allowed = setting.choices.map((choice) => `\`"${choice.value}"\` ${choice.text}`).join('; ');
        fallback =
          setting.optional === true
            ? `\`"${setting.default}"\``
            : `required (the app starts at \`"${setting.default}"\`)`;
      } else {
        type = setting.kind === 'int' ? 'whole number' : 'number';
        allowed = rangeText(setting) ?? 'any';
        const value = settingFallback(setting);
        fallback =
          setting.optional !== true
            ? `required (the app starts at \`${String(setting.default)}\`)`
            : value === undefined
              ? '(off)'
              : `\`${value}\``;
      }
      lines.push(`| \`${setting.key}\` | ${type} | ${cell(allowed)} | ${fallback} | ${cell(setting.help)} |`);
    }
    return lines;
  };
  return [
    '`split`:',
    '',
    ...table(Object.values(SPLIT_SETTINGS)),
    '',
    'Each head (besides its `name`):',
    '',
    ...table(Object.values(HEAD_SETTINGS) as (NumberSetting | EnumSetting<string>)[]),
  ].join('\n');
}

const SETTINGS_START = '<!-- settings:start -->';
const SETTINGS_END = '<!-- settings:end -->';

/**
 * `markdown` with the text between the settings markers replaced by {@link settingsTablesMarkdown}.
 * @throws Error when the markers are missing or out of order.
 */
export function replaceSettingsBlock(markdown: string): string {
  const start = markdown.indexOf(SETTINGS_START);
  const end = markdown.indexOf(SETTINGS_END);
  if (start < 0 || end < start) {
    throw new Error(
      `The document has no "${SETTINGS_START}" … "${SETTINGS_END}" block for the settings tables.`,
    );
  }
  return (
    `${markdown.slice(0, start + SETTINGS_START.length)}\n\n${settingsTablesMarkdown()}\n\n` +
    markdown.slice(end)
  );
}
