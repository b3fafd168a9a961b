/**
 * @file Validation of the experiment file (README, "Running an experiment from the terminal"): unknown JSON in, a
 * typed `Experiment` out, or an `ExperimentError` naming the exact field path and what to write instead. Unknown
 * fields are refused with a clear message, never silently ignored, so a file never means less than it says.
 */
import { getBuiltinDataset, builtinDatasetIds } from '../dataset/builtin/registry.ts';
import { formatCount, MAX_ROWS } from '../dataset/limits.ts';
import { formatFromFileName } from '../dataset/parse.ts';
import { DatasetError, ExperimentError, fieldPath, quoteList } from '../errors.ts';
import { emptyRecord, ownValue } from '../records.ts';
import { LABEL_PLACEHOLDER, TEXT_PLACEHOLDER } from '../prompts/similarity.ts';
import { instructionTemplateProblem } from '../prompts/instruction.ts';
import { layerIndex, layerRangeText } from './layers.ts';
import { jsonTooDeepMessage, MAX_HEADS, MAX_PROMPTS } from './limits.ts';
import {
  choiceValues,
  HEAD_SETTINGS,
  settingProblem,
  SPLIT_SETTINGS,
  typeProblem,
  type NumberSetting,
} from './settings.ts';
import {
  EXPERIMENT_VERSION,
  type ClassWeighting,
  type DatasetRef,
  type Experiment,
  type HeadSpec,
  type LearningCurveSpec,
  type InstructionPrompt,
  type Pooling,
  type NliPrompt,
  type PromptSpec,
  type SimilarityPrompt,
  type SplitSpec,
} from './types.ts';

/** Prompt strategies this version runs. */
export const SUPPORTED_STRATEGIES = ['similarity', 'nli', 'instruction'] as const;
/** The poolings a head can use (declared in settings.ts). */
export const POOLINGS: readonly Pooling[] = choiceValues(HEAD_SETTINGS.pooling);

const TOP_LEVEL_FIELDS = [
  'version',
  'name',
  'model',
  'dataset',
  'split',
  'prompts',
  'heads',
  'learningCurve',
];
const SPLIT_FIELDS = Object.values(SPLIT_SETTINGS).map((setting) => setting.key);
const PATH_DATASET_FIELDS = ['path', 'text', 'label'];
const BUILTIN_DATASET_FIELDS = ['builtin', 'text', 'label'];
const INLINE_DATASET_FIELDS = ['name', 'rows', 'text', 'label'];
const SIMILARITY_FIELDS = [
  'name',
  'strategy',
  'template',
  'descriptions',
  'textTemplate',
  'model',
  'calibrate',
];
const NLI_FIELDS = ['name', 'strategy', 'hypothesis', 'textTemplate', 'model', 'calibrate'];
const HEAD_FIELDS = ['name', ...Object.values(HEAD_SETTINGS).map((setting) => setting.key)];

type JsonObject = Record<string, unknown>;

/**
 * Checks a head's `layer` against the model that runs it. Any whole number passes the file check, because only the
 * loaded model knows its depth: valid are 0..numLayers (0 = embeddings output, numLayers = last layer) and
 * -1..-(numLayers + 1) counting from the end.
 * @param path The field, e.g. `heads[0].layer`.
 * @throws ExperimentError at `path`, naming the model and its range.
 */
export function checkHeadLayer(layer: number, numLayers: number, model: string, path: string): void {
  if (layerIndex(layer, numLayers) !== undefined) return;
  throw new ExperimentError(path, `layer ${layer} does not exist: ${layerRangeText(numLayers, model)}`);
}

/**
 * Checks a head's pooling against the loaded model: `sentence` needs a model that computes its own sentence
 * embedding, and that embedding comes from the last layer only.
 * @throws ExperimentError at `path` (the head's `pooling`) saying what to choose instead.
 */
export function checkHeadPooling(
  head: { pooling: Pooling; layer: number },
  model: { sentenceEmbedding: boolean; numLayers: number },
  modelName: string,
  path: string,
): void {
  if (head.pooling !== 'sentence') return;
  if (!model.sentenceEmbedding) {
    throw new ExperimentError(
      path,
      `${modelName} computes no sentence embedding of its own: choose "mean", "cls" or "last" pooling.`,
    );
  }
  if (layerIndex(head.layer, model.numLayers) !== model.numLayers) {
    throw new ExperimentError(
      path,
      `the sentence embedding of ${modelName} comes from its last layer, not layer ${head.layer}: use layer -1 ` +
        'with it, or "mean", "cls" or "last" pooling for that layer.',
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectObject(value: unknown, path: string, example: string): JsonObject {
  if (!isObject(value)) {
    const subject = path === '' ? 'the experiment ' : '';
    throw new ExperimentError(path, `${subject}must be an object like ${example}, not ${describe(value)}.`);
  }
  return value;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The allowed name closest to `name` (ignoring case, `_` and `-`), if it is close enough to be a typo. */
export function closestName(name: string, allowed: readonly string[]): string | undefined {
  const normalise = (text: string): string => text.toLowerCase().replace(/[_-]/g, '');
  const target = normalise(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const distance = editDistance(target, normalise(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(target.length / 3)) ? best : undefined;
}

/**
 * Refuses fields outside `allowed`. `refused` maps known-but-unsupported fields to the reason, so they get a
 * specific message instead of "unknown field".
 */
function checkFields(
  object: JsonObject,
  path: string,
  allowed: readonly string[],
  refused: Record<string, string> = {},
): void {
  for (const key of Object.keys(object)) {
    if (allowed.includes(key)) continue;
    const keyPath = fieldPath(path, key);
    const reason = ownValue(refused, key);
    if (reason !== undefined) throw new ExperimentError(keyPath, reason);
    const suggestion = closestName(key, allowed);
    throw new ExperimentError(
      keyPath,
      `unknown field${suggestion === undefined ? '.' : `: did you mean "${suggestion}"?`} ` +
        `Allowed fields here: ${quoteList(allowed)}.`,
    );
  }
}

function requireField(object: JsonObject, key: string, path: string, example: string): unknown {
  if (!Object.hasOwn(object, key) || object[key] === undefined) {
    throw new ExperimentError(fieldPath(path, key), `is missing: add "${key}": ${example}.`);
  }
  return object[key];
}

function readString(object: JsonObject, key: string, path: string, example: string): string {
  const value = requireField(object, key, path, example);
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ExperimentError(
      fieldPath(path, key),
      `must be a non-empty string, e.g. ${example}; got ${describe(value)}.`,
    );
  }
  return value;
}

function readOptionalBoolean(object: JsonObject, key: string, path: string): boolean | undefined {
  const value = object[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new ExperimentError(fieldPath(path, key), `must be true or false; got ${describe(value)}.`);
}

function readOptionalString(
  object: JsonObject,
  key: string,
  path: string,
  example: string,
): string | undefined {
  return object[key] === undefined ? undefined : readString(object, key, path, example);
}

/**
 * Reads a number setting as its declaration says (settings.ts): its type, its range, and the example that
 * messages show.
 */
function readSetting(object: JsonObject, path: string, setting: NumberSetting): number {
  const value = requireField(object, setting.key, path, setting.example);
  const keyPath = fieldPath(path, setting.key);
  if (typeof value !== 'number') {
    throw new ExperimentError(keyPath, `${typeProblem(setting)}; got ${describe(value)}.`);
  }
  const problem = settingProblem(setting, value);
  if (problem !== undefined) throw new ExperimentError(keyPath, problem);
  return value;
}

function readOptionalSetting(object: JsonObject, path: string, setting: NumberSetting): number | undefined {
  return object[setting.key] === undefined ? undefined : readSetting(object, path, setting);
}

/**
 * Checks the rows of an inline dataset without copying them: a non-empty list (within the row limit) of objects
 * whose fields are all strings, each holding the text and label fields. Paths are built only for a problem found
 * (50,000 valid rows are checked in a few milliseconds; copying them is what {@link parseInlineRows} adds).
 * @throws ExperimentError naming the first offending row or field, e.g. `dataset.rows[3].label`.
 */
export function checkInlineRows(
  value: unknown,
  text: string,
  label: string,
): asserts value is Record<string, string>[] {
  const path = 'dataset.rows';
  if (!Array.isArray(value)) {
    throw new ExperimentError(
      path,
      `must be a list of rows like [{ "${text}": "…", "${label}": "…" }], not ${describe(value)}.`,
    );
  }
  if (value.length === 0) {
    throw new ExperimentError(path, `is empty: add rows like { "${text}": "…", "${label}": "…" }.`);
  }
  if (value.length > MAX_ROWS) {
    throw new ExperimentError(
      path,
      `has ${formatCount(value.length)} rows; at most ${formatCount(MAX_ROWS)} are supported: keep a sample.`,
    );
  }
  value.forEach((row: unknown, index) => {
    if (!isObject(row)) expectObject(row, fieldPath(path, index), `{ "${text}": "…", "${label}": "…" }`);
    const object = row as JsonObject;
    for (const key of Object.keys(object)) {
      const cell = object[key];
      if (typeof cell !== 'string') {
        throw new ExperimentError(
          fieldPath(fieldPath(path, index), key),
          `must be a string (write numbers and labels in quotes, an empty cell as ""); got ${describe(cell)}.`,
        );
      }
    }
    for (const key of [text, label]) {
      // Own and enumerable, as the fields a copy of the row would have.
      if (!Object.prototype.propertyIsEnumerable.call(object, key)) {
        throw new ExperimentError(
          fieldPath(fieldPath(path, index), key),
          `is missing: every row needs the text field "${text}" and the label field "${label}" ` +
            '(an empty string for an unlabeled row, which is then dropped).',
        );
      }
    }
  });
}

/** {@link checkInlineRows}, then plain copies of the rows (null-prototype: the field names are the user's). */
function parseInlineRows(value: unknown, text: string, label: string): Record<string, string>[] {
  checkInlineRows(value, text, label);
  return value.map((row) => {
    const copy = emptyRecord<string>();
    for (const key of Object.keys(row)) copy[key] = row[key] as string;
    return copy;
  });
}

function parseDataset(value: unknown): DatasetRef {
  const path = 'dataset';
  const object = expectObject(
    value,
    path,
    '{ "builtin": "topics" } or { "path": "data.csv", "text": "text", "label": "label" }',
  );
  const hasPath = object.path !== undefined;
  const hasBuiltin = object.builtin !== undefined;
  const hasRows = object.rows !== undefined;
  if ([hasPath, hasBuiltin, hasRows].filter(Boolean).length > 1) {
    throw new ExperimentError(
      path,
      'use exactly one of "path" (a file), "builtin" (a built-in dataset) or "rows" (the data itself).',
    );
  }
  if (hasRows) {
    checkFields(object, path, INLINE_DATASET_FIELDS);
    const name = readString(object, 'name', path, '"reviews.csv" (a name to show for the data)');
    const text = readString(object, 'text', path, '"text" (the field of each row holding the text)');
    const label = readString(object, 'label', path, '"label" (the field of each row holding the label)');
    return { name, rows: parseInlineRows(object.rows, text, label), text, label };
  }
  if (hasBuiltin) {
    checkFields(object, path, BUILTIN_DATASET_FIELDS);
    const builtin = readString(object, 'builtin', path, '"topics"');
    try {
      getBuiltinDataset(builtin);
    } catch (error) {
      if (error instanceof DatasetError) {
        throw new ExperimentError(
          'dataset.builtin',
          `there is no built-in dataset "${builtin}": use one of ${quoteList(builtinDatasetIds())}.`,
        );
      }
      throw error;
    }
    const text = readOptionalString(object, 'text', path, '"text"');
    const label = readOptionalString(object, 'label', path, '"label"');
    return { builtin, ...(text === undefined ? {} : { text }), ...(label === undefined ? {} : { label }) };
  }
  if (hasPath) {
    checkFields(object, path, PATH_DATASET_FIELDS);
    const filePath = readString(object, 'path', path, '"spam.csv"');
    try {
      formatFromFileName(filePath);
    } catch (error) {
      if (error instanceof DatasetError) throw new ExperimentError('dataset.path', error.message);
      throw error;
    }
    return {
      path: filePath,
      text: readString(object, 'text', path, '"text" (the name of the column holding the texts)'),
      label: readString(object, 'label', path, '"label" (the name of the column holding the labels)'),
    };
  }
  throw new ExperimentError(
    path,
    `needs "path" (a CSV, TSV, JSONL or JSON file next to the experiment), "builtin" ` +
      `(one of ${quoteList(builtinDatasetIds())}) or "rows" (the data itself, with "name", "text" and "label").`,
  );
}

function parseSplit(value: unknown): SplitSpec {
  const path = 'split';
  const object = expectObject(value, path, '{ "test": 0.3, "seed": 42 }');
  checkFields(object, path, SPLIT_FIELDS);
  return {
    test: readSetting(object, path, SPLIT_SETTINGS.test),
    seed: readSetting(object, path, SPLIT_SETTINGS.seed),
  };
}

function parseDescriptions(value: unknown, path: string): Record<string, string | string[]> {
  const object = expectObject(
    value,
    path,
    '{ "spam": "an advertisement", "ham": ["a work email", "a note from a friend"] }',
  );
  if (Object.keys(object).length === 0) {
    throw new ExperimentError(path, 'is empty: describe each label, e.g. { "spam": "an advertisement" }.');
  }
  const descriptions = emptyRecord<string | string[]>();
  for (const [label, description] of Object.entries(object)) {
    const labelPath = fieldPath(path, label);
    if (typeof description === 'string') {
      if (description.trim() === '') {
        throw new ExperimentError(labelPath, 'is an empty description: write what the label means.');
      }
      descriptions[label] = description;
    } else if (Array.isArray(description)) {
      if (description.length === 0) {
        throw new ExperimentError(labelPath, 'is an empty list: give at least one description.');
      }
      descriptions[label] = description.map((item: unknown, index) => {
        if (typeof item !== 'string' || item.trim() === '') {
          throw new ExperimentError(
            fieldPath(labelPath, index),
            `must be a non-empty description text; got ${describe(item)}.`,
          );
        }
        return item;
      });
    } else {
      throw new ExperimentError(
        labelPath,
        `must be a description text or a list of texts (an ensemble); got ${describe(description)}.`,
      );
    }
  }
  return descriptions;
}

function parsePrompt(value: unknown, path: string): PromptSpec {
  const object = expectObject(
    value,
    path,
    '{ "name": "bare labels", "strategy": "similarity", "template": "{label}" }',
  );
  const strategy = requireField(object, 'strategy', path, '"similarity"');
  if (!(SUPPORTED_STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw new ExperimentError(
      fieldPath(path, 'strategy'),
      `unknown strategy ${describe(strategy)}: allowed values: ${quoteList(SUPPORTED_STRATEGIES)}.`,
    );
  }
  if (strategy === 'nli') return parseNliPrompt(object, path);
  if (strategy === 'instruction') return parseInstructionPrompt(object, path);
  checkFields(object, path, SIMILARITY_FIELDS);
  const name = readString(object, 'name', path, '"bare labels"').trim();
  const template = readOptionalString(object, 'template', path, `"${LABEL_PLACEHOLDER}"`);
  const hasDescriptions = object.descriptions !== undefined;
  if (template !== undefined && hasDescriptions) {
    throw new ExperimentError(
      path,
      'use either "template" or "descriptions", not both: make two prompts to compare them.',
    );
  }
  if (template === undefined && !hasDescriptions) {
    throw new ExperimentError(
      path,
      `needs "template" (e.g. "This text is about ${LABEL_PLACEHOLDER}.") or "descriptions" (a text or list per label).`,
    );
  }
  if (template !== undefined && !template.includes(LABEL_PLACEHOLDER)) {
    throw new ExperimentError(
      fieldPath(path, 'template'),
      `must contain ${LABEL_PLACEHOLDER} where each label goes, e.g. "This text is about ${LABEL_PLACEHOLDER}.".`,
    );
  }
  const textTemplate = readTextTemplate(object, path);
  const model = readOptionalString(object, 'model', path, '"Xenova/all-MiniLM-L6-v2"');
  const calibrate = readOptionalBoolean(object, 'calibrate', path);
  const prompt: SimilarityPrompt = { name, strategy: 'similarity' };
  if (template !== undefined) prompt.template = template;
  if (hasDescriptions)
    prompt.descriptions = parseDescriptions(object.descriptions, fieldPath(path, 'descriptions'));
  if (textTemplate !== undefined) prompt.textTemplate = textTemplate;
  if (model !== undefined) prompt.model = model;
  if (calibrate !== undefined) prompt.calibrate = calibrate;
  return prompt;
}

function readTextTemplate(object: JsonObject, path: string): string | undefined {
  const textTemplate = readOptionalString(object, 'textTemplate', path, `"query: ${TEXT_PLACEHOLDER}"`);
  if (textTemplate !== undefined && !textTemplate.includes(TEXT_PLACEHOLDER)) {
    throw new ExperimentError(
      fieldPath(path, 'textTemplate'),
      `must contain ${TEXT_PLACEHOLDER} where the input text goes, e.g. "query: ${TEXT_PLACEHOLDER}".`,
    );
  }
  return textTemplate;
}

/** An NLI prompt: a hypothesis template with `{label}`, optionally its own (NLI) model and calibration. */
function parseNliPrompt(object: JsonObject, path: string): NliPrompt {
  checkFields(object, path, NLI_FIELDS);
  const name = readString(object, 'name', path, '"entailment"').trim();
  const hypothesis = readString(object, 'hypothesis', path, `"This text is about ${LABEL_PLACEHOLDER}."`);
  if (!hypothesis.includes(LABEL_PLACEHOLDER)) {
    throw new ExperimentError(
      fieldPath(path, 'hypothesis'),
      `must contain ${LABEL_PLACEHOLDER} where each label goes, e.g. "This text is about ${LABEL_PLACEHOLDER}.".`,
    );
  }
  const textTemplate = readTextTemplate(object, path);
  const model = readOptionalString(object, 'model', path, '"Xenova/mobilebert-uncased-mnli"');
  const calibrate = readOptionalBoolean(object, 'calibrate', path);
  const prompt: NliPrompt = { name, strategy: 'nli', hypothesis };
  if (textTemplate !== undefined) prompt.textTemplate = textTemplate;
  if (model !== undefined) prompt.model = model;
  if (calibrate !== undefined) prompt.calibrate = calibrate;
  return prompt;
}

// ---------------------------------------------------------------- instruction prompts

const INSTRUCTION_FIELDS = [
  'name',
  'strategy',
  'instruction',
  'verbalizers',
  'shotsPerClass',
  'template',
  'chatTemplate',
  'lengthNormalize',
  'calibrate',
  'model',
];

/** An instruction prompt for a causal LM (core/prompts/instruction.ts); labels are checked when it runs. */
function parseInstructionPrompt(object: JsonObject, path: string): InstructionPrompt {
  checkFields(object, path, INSTRUCTION_FIELDS);
  const name = readString(object, 'name', path, '"few-shot"').trim();
  const instruction = readString(object, 'instruction', path, '"Classify the topic of the text."');
  const example = '{ "sports": " sports", "food": " food" }';
  const verbalizersPath = fieldPath(path, 'verbalizers');
  const rawVerbalizers = expectObject(
    requireField(object, 'verbalizers', path, example),
    verbalizersPath,
    example,
  );
  const verbalizers = emptyRecord<string>();
  for (const [label, text] of Object.entries(rawVerbalizers)) {
    if (typeof text !== 'string' || text.trim() === '') {
      throw new ExperimentError(
        fieldPath(verbalizersPath, label),
        `must be the non-empty text the model answers with for this label, e.g. " ${label}"; got ${describe(text)}.`,
      );
    }
    verbalizers[label] = text;
  }
  if (Object.keys(verbalizers).length < 2) {
    throw new ExperimentError(
      verbalizersPath,
      `needs a verbalizer for every label (at least two), e.g. ${example}.`,
    );
  }
  const shots = object.shotsPerClass;
  if (shots !== undefined && (typeof shots !== 'number' || !Number.isInteger(shots) || shots < 0)) {
    throw new ExperimentError(
      fieldPath(path, 'shotsPerClass'),
      `must be a whole number of examples per label, 0 (zero-shot) or more; got ${describe(shots)}.`,
    );
  }
  const template = readOptionalString(
    object,
    'template',
    path,
    '"{instruction}\n\n{shots}Text: {text}\nAnswer:"',
  );
  const templateProblem = template === undefined ? undefined : instructionTemplateProblem(template);
  if (templateProblem !== undefined) throw new ExperimentError(fieldPath(path, 'template'), templateProblem);
  if (template !== undefined && (shots ?? 0) > 0 && !template.includes('{shots}')) {
    throw new ExperimentError(
      fieldPath(path, 'template'),
      'must contain {shots} where the examples go, since shotsPerClass asks for some.',
    );
  }
  const prompt: InstructionPrompt = { name, strategy: 'instruction', instruction, verbalizers };
  if (shots !== undefined) prompt.shotsPerClass = shots;
  if (template !== undefined) prompt.template = template;
  for (const key of ['chatTemplate', 'lengthNormalize', 'calibrate'] as const) {
    const value = readOptionalBoolean(object, key, path);
    if (value !== undefined) prompt[key] = value;
  }
  const model = readOptionalString(object, 'model', path, '"HuggingFaceTB/SmolLM2-135M-Instruct"');
  if (model !== undefined) prompt.model = model;
  return prompt;
}

function parseHead(value: unknown, path: string): HeadSpec {
  const object = expectObject(
    value,
    path,
    '{ "name": "linear", "layer": -1, "pooling": "mean", "hidden": 0, "epochs": 50, "learningRate": 0.01, "seed": 1 }',
  );
  checkFields(object, path, HEAD_FIELDS);
  const name = readString(object, 'name', path, '"linear"').trim();
  // The range depends on the model: checkHeadLayer runs once it is loaded.
  const layer = readSetting(object, path, HEAD_SETTINGS.layer);
  const pooling = requireField(object, 'pooling', path, HEAD_SETTINGS.pooling.example);
  if (!(POOLINGS as readonly unknown[]).includes(pooling)) {
    throw new ExperimentError(
      fieldPath(path, 'pooling'),
      `${describe(pooling)} is not a pooling: allowed values: ${quoteList(POOLINGS)}.`,
    );
  }
  const hidden = readSetting(object, path, HEAD_SETTINGS.hidden);
  const epochs = readSetting(object, path, HEAD_SETTINGS.epochs);
  const learningRate = readSetting(object, path, HEAD_SETTINGS.learningRate);
  const seed = readSetting(object, path, HEAD_SETTINGS.seed);
  const batchSize = readOptionalSetting(object, path, HEAD_SETTINGS.batchSize);
  const shotsPerClass = readOptionalSetting(object, path, HEAD_SETTINGS.shotsPerClass);
  const head: HeadSpec = { name, layer, pooling: pooling as Pooling, hidden, epochs, learningRate, seed };
  if (batchSize !== undefined) head.batchSize = batchSize;
  if (shotsPerClass !== undefined) head.shotsPerClass = shotsPerClass;
  Object.assign(head, parseTrainingOptions(object, path, hidden));
  const unfreeze = readOptionalSetting(object, path, HEAD_SETTINGS.unfreeze);
  if (unfreeze !== undefined) head.unfreeze = unfreeze;
  const maxTokens = readOptionalSetting(object, path, HEAD_SETTINGS.maxTokens);
  if (maxTokens !== undefined) head.maxTokens = maxTokens;
  const layerLearningRate = readOptionalSetting(object, path, HEAD_SETTINGS.layerLearningRate);
  if (layerLearningRate !== undefined) head.layerLearningRate = layerLearningRate;
  return head;
}

/** The head's optional training settings (dropout, weight decay, validation, early stopping, class weights). */
function parseTrainingOptions(
  object: JsonObject,
  path: string,
  hidden: number,
): Pick<HeadSpec, 'dropout' | 'weightDecay' | 'validation' | 'patience' | 'classWeights'> {
  const options: Pick<HeadSpec, 'dropout' | 'weightDecay' | 'validation' | 'patience' | 'classWeights'> = {};
  const dropout = readOptionalSetting(object, path, HEAD_SETTINGS.dropout);
  if (dropout !== undefined && dropout > 0 && hidden === 0) {
    throw new ExperimentError(
      fieldPath(path, 'dropout'),
      'applies to the hidden layer, and this head is linear ("hidden": 0): set "hidden" above 0 or remove "dropout".',
    );
  }
  const weightDecay = readOptionalSetting(object, path, HEAD_SETTINGS.weightDecay);
  const validation = readOptionalSetting(object, path, HEAD_SETTINGS.validation);
  const patience = readOptionalSetting(object, path, HEAD_SETTINGS.patience);
  if (patience !== undefined && !(validation !== undefined && validation > 0)) {
    throw new ExperimentError(
      fieldPath(path, 'patience'),
      'early stopping watches the validation loss: add "validation": 0.2 (a share of the training examples).',
    );
  }
  const classWeights = object.classWeights;
  if (classWeights !== undefined) {
    const allowed = choiceValues(HEAD_SETTINGS.classWeights);
    if (!(allowed as readonly unknown[]).includes(classWeights)) {
      throw new ExperimentError(
        fieldPath(path, 'classWeights'),
        `${describe(classWeights)} is not a class weighting: allowed values: ${quoteList(allowed)}.`,
      );
    }
    options.classWeights = classWeights as ClassWeighting;
  }
  if (dropout !== undefined) options.dropout = dropout;
  if (weightDecay !== undefined) options.weightDecay = weightDecay;
  if (validation !== undefined) options.validation = validation;
  if (patience !== undefined) options.patience = patience;
  return options;
}

function parseList<T>(
  object: JsonObject,
  key: 'prompts' | 'heads',
  parseItem: (value: unknown, path: string) => T,
): T[] {
  const value = object[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new ExperimentError(key, `must be a list (an array), not ${describe(value)}.`);
  }
  const [most, what] = key === 'prompts' ? [MAX_PROMPTS, 'prompt variations'] : [MAX_HEADS, 'heads'];
  if (value.length > most) {
    throw new ExperimentError(
      key,
      `lists ${formatCount(value.length)} ${what}; an experiment holds at most ${most}: keep the ones to compare ` +
        'and put the others in another experiment.',
    );
  }
  return value.map((item: unknown, index) => parseItem(item, fieldPath(key, index)));
}

/** Every run needs its own name: results, charts and comparisons are keyed by it. */
function checkUniqueNames(prompts: PromptSpec[], heads: HeadSpec[]): void {
  const firstPath = new Map<string, string>();
  const runs = [
    ...prompts.map((prompt, index) => ({ name: prompt.name, path: `prompts[${index}]` })),
    ...heads.map((head, index) => ({ name: head.name, path: `heads[${index}]` })),
  ];
  for (const run of runs) {
    const earlier = firstPath.get(run.name);
    if (earlier !== undefined) {
      throw new ExperimentError(
        `${run.path}.name`,
        `"${run.name}" is already the name of ${earlier}: every prompt and head needs its own name.`,
      );
    }
    firstPath.set(run.name, run.path);
  }
}

// ---------------------------------------------------------------- learning curve

/** Most seeds a learning curve may ask for: each one trains the head again at every size. */
export const MAX_CURVE_SEEDS = 20;
/** Most sizes a learning curve may list. */
export const MAX_CURVE_SIZES = 30;
const LEARNING_CURVE_FIELDS = ['shotsPerClass', 'seeds', 'head'];

/**
 * Checks `learningCurve`: sizes are whole numbers of at least 1 (returned sorted, duplicates dropped), seeds a
 * whole number from 1 to {@link MAX_CURVE_SEEDS}, `head` the name of one of `heads` (the first head when absent,
 * so there must be one).
 */
function parseLearningCurve(value: unknown, heads: readonly HeadSpec[]): LearningCurveSpec {
  const path = 'learningCurve';
  const object = expectObject(value, path, '{ "shotsPerClass": [1, 2, 4, 8, 16], "seeds": 3 }');
  checkFields(object, path, LEARNING_CURVE_FIELDS);
  const sizesPath = fieldPath(path, 'shotsPerClass');
  const sizes = requireField(object, 'shotsPerClass', path, '[1, 2, 4, 8, 16]');
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new ExperimentError(
      sizesPath,
      `must be a non-empty list of examples per class, e.g. [1, 2, 4, 8, 16]; got ${describe(sizes)}.`,
    );
  }
  if (sizes.length > MAX_CURVE_SIZES) {
    throw new ExperimentError(
      sizesPath,
      `lists ${sizes.length} sizes: at most ${MAX_CURVE_SIZES} are allowed.`,
    );
  }
  sizes.forEach((size: unknown, index) => {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
      throw new ExperimentError(
        fieldPath(sizesPath, index),
        `must be a whole number of examples per class, at least 1; got ${describe(size)}.`,
      );
    }
  });
  const seeds = requireField(object, 'seeds', path, '3');
  if (typeof seeds !== 'number' || !Number.isSafeInteger(seeds) || seeds < 1 || seeds > MAX_CURVE_SEEDS) {
    throw new ExperimentError(
      fieldPath(path, 'seeds'),
      `must be a whole number from 1 to ${MAX_CURVE_SEEDS} (seeds 1..n are drawn), e.g. 3; got ${describe(seeds)}.`,
    );
  }
  const head = readOptionalString(object, 'head', path, '"linear"')?.trim();
  if (head === undefined && heads.length === 0) {
    throw new ExperimentError(path, 'a learning curve trains a head: add one to "heads".');
  }
  if (head !== undefined && !heads.some((candidate) => candidate.name === head)) {
    const names = heads.map((candidate) => candidate.name);
    const suggestion = closestName(head, names);
    throw new ExperimentError(
      fieldPath(path, 'head'),
      `there is no head "${head}"` +
        (names.length === 0
          ? ': add one to "heads".'
          : `${suggestion === undefined ? '' : `: did you mean "${suggestion}"?`} Heads: ${quoteList(names)}.`),
    );
  }
  const spec: LearningCurveSpec = {
    shotsPerClass: [...new Set(sizes as number[])].sort((a, b) => a - b),
    seeds,
  };
  if (head !== undefined) spec.head = head;
  return spec;
}

/**
 * Validates an experiment (parsed JSON or an object from the UI) and returns a normalised copy holding only
 * known fields. Names are trimmed.
 * @throws ExperimentError naming the first offending field's path and what to do.
 */
export function parseExperiment(json: unknown): Experiment {
  const root = expectObject(
    json,
    '',
    '{ "version": 1, "name": "…", "model": "…", "dataset": {…}, "split": {…} }',
  );
  const version = requireField(root, 'version', '', String(EXPERIMENT_VERSION));
  if (version !== EXPERIMENT_VERSION) {
    throw new ExperimentError(
      'version',
      typeof version === 'number'
        ? `version ${version} is not supported: this app reads version ${EXPERIMENT_VERSION}.`
        : `must be the number ${EXPERIMENT_VERSION}; got ${describe(version)}.`,
    );
  }
  checkFields(root, '', TOP_LEVEL_FIELDS);
  const name = readString(root, 'name', '', '"Spam: prompts vs a trained head"').trim();
  const model = readString(root, 'model', '', '"Xenova/all-MiniLM-L6-v2"').trim();
  const dataset = parseDataset(requireField(root, 'dataset', '', '{ "builtin": "topics" }'));
  const split = parseSplit(requireField(root, 'split', '', '{ "test": 0.3, "seed": 42 }'));
  const prompts = parseList(root, 'prompts', parsePrompt);
  const heads = parseList(root, 'heads', parseHead);
  if (prompts.length + heads.length === 0) {
    throw new ExperimentError(
      '',
      'The experiment has nothing to run: add at least one entry to "prompts" or "heads".',
    );
  }
  checkUniqueNames(prompts, heads);
  const experiment: Experiment = { version: EXPERIMENT_VERSION, name, model, dataset, split, prompts, heads };
  if (root.learningCurve !== undefined)
    experiment.learningCurve = parseLearningCurve(root.learningCurve, heads);
  return experiment;
}

/**
 * Parses experiment file text.
 * @throws ExperimentError when the text is not JSON or the experiment is invalid.
 */
export function parseExperimentText(text: string): Experiment {
  const tooDeep = jsonTooDeepMessage(text, 'the experiment file');
  if (tooDeep) throw new ExperimentError('', tooDeep);
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ExperimentError('', `the experiment file is not valid JSON (${reason}): fix the syntax.`);
  }
  return parseExperiment(json);
}

/**
 * The experiment as file text (2-space JSON, fields in the documented order, trailing newline). Validates first,
 * so an exported file always imports again.
 * @throws ExperimentError when the experiment is invalid.
 */
export function serializeExperiment(experiment: Experiment): string {
  return `${JSON.stringify(parseExperiment(experiment), null, 2)}\n`;
}

/**
 * The fields this validator accepts in each object of the file, exactly the lists it checks against: the JSON
 * Schema for editors (json-schema.ts) is generated from them, so the two cannot disagree on a field's name.
 */
export const EXPERIMENT_FIELDS = {
  experiment: TOP_LEVEL_FIELDS,
  split: SPLIT_FIELDS,
  pathDataset: PATH_DATASET_FIELDS,
  builtinDataset: BUILTIN_DATASET_FIELDS,
  inlineDataset: INLINE_DATASET_FIELDS,
  similarityPrompt: SIMILARITY_FIELDS,
  nliPrompt: NLI_FIELDS,
  instructionPrompt: INSTRUCTION_FIELDS,
  head: HEAD_FIELDS,
  learningCurve: LEARNING_CURVE_FIELDS,
} as const satisfies Record<string, readonly string[]>;
