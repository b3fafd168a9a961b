/**
 * @file Every setting of an experiment declared once — name, type, range, default, help text — like TensorFlow
 * Playground's table of state. The schema validates against these declarations, the app's defaults come from
 * them, and the settings forms render them (one `NumberField` per number setting), so a range or a default is
 * changed here and nowhere else.
 */
import type { ClassWeighting, HeadSpec, Pooling, SplitSpec } from './types.ts';

/** What the declarations have in common: how the setting is named and explained. */
interface SettingText {
  /** The field's name in the experiment file, e.g. `epochs`. */
  readonly key: string;
  /** Short name shown next to the control and used in messages, e.g. "Epochs". */
  readonly label: string;
  /** Extra words after the label in the form, e.g. "(0 = linear)". */
  readonly labelHint?: string;
  /** One or two plain sentences for students: what the setting changes. */
  readonly help: string;
  /** A value as written in the file, shown in messages: `add "epochs": 50`. */
  readonly example: string;
}

/**
 * A number setting: a whole number (`int`) or any finite number (`float`), within an optional range. Bounds are
 * inclusive unless `exclusive` is set, which excludes every bound given.
 */
export interface NumberSetting extends SettingText {
  readonly kind: 'int' | 'float';
  readonly min?: number;
  readonly max?: number;
  readonly exclusive?: boolean;
  /** Step of the input's arrows: a number, or 'any' for a free float. */
  readonly step: number | 'any';
  /** The value a new experiment starts with; undefined leaves an optional setting out. */
  readonly default: number | undefined;
  /** An optional setting may be left out of the file; `whenMissing` is then what a run uses. */
  readonly optional?: boolean;
  readonly whenMissing?: number;
  /** What the value means, said before its range in an out-of-range message ("is …: it must be …"). */
  readonly rangeReason?: string;
}

/** One value of an enum setting and the words that explain it. */
export interface SettingChoice<T extends string> {
  readonly value: T;
  readonly text: string;
}

/** A setting that takes one of a few named values. */
export interface EnumSetting<T extends string> extends SettingText {
  readonly kind: 'enum';
  readonly choices: readonly SettingChoice<T>[];
  readonly default: T;
  /** An optional setting may be left out of the file; a run then uses `default`. */
  readonly optional?: boolean;
}

/** The split every method is scored on, in the file's field order. */
export const SPLIT_SETTINGS = {
  test: {
    kind: 'float',
    key: 'test',
    label: 'Test fraction',
    help: 'The share of each class kept aside to score every method. The rest is for training.',
    example: '0.3',
    min: 0,
    max: 1,
    exclusive: true,
    step: 0.05,
    default: 0.3,
    rangeReason: 'the fraction of each class held out for testing',
  },
  seed: {
    kind: 'int',
    key: 'seed',
    label: 'Seed',
    help: 'Any whole number. The same seed always holds out the same examples; another seed picks others.',
    example: '42',
    step: 1,
    default: 42,
  },
} as const satisfies { readonly [K in keyof SplitSpec]-?: NumberSetting };

/** The settings of a head trained on frozen features (every field but its name), in the file's field order. */
export const HEAD_SETTINGS = {
  layer: {
    kind: 'int',
    key: 'layer',
    label: 'Features from layer',
    help: 'Which layer of the frozen model turns each text into features (0 = the embeddings, -1 = the last).',
    example: '-1 (the last layer) or 2',
    step: 1,
    default: -1,
  },
  pooling: {
    kind: 'enum',
    key: 'pooling',
    label: 'Pooling',
    help:
      'How the vectors of a text’s tokens become one vector for the head. Some models (the Universal Sentence ' +
      'Encoder) compute a sentence embedding of their own from the last layer: “sentence” uses it.',
    example: '"mean"',
    choices: [
      { value: 'mean', text: 'mean of all tokens' },
      { value: 'cls', text: 'first token ([CLS])' },
      { value: 'last', text: 'last token (suits causal LMs)' },
      { value: 'sentence', text: 'the model’s own sentence embedding (last layer only)' },
    ],
    default: 'mean',
  },
  hidden: {
    kind: 'int',
    key: 'hidden',
    label: 'Hidden units',
    labelHint: '(0 = linear)',
    help: 'Size of one extra layer inside the head. 0 trains a single linear layer.',
    example: '0 (a linear head) or 64',
    min: 0,
    max: 4096,
    step: 1,
    default: 0,
  },
  epochs: {
    kind: 'int',
    key: 'epochs',
    label: 'Epochs',
    help: 'How many times training goes through all the training examples.',
    example: '50',
    min: 1,
    max: 1000,
    step: 1,
    default: 40,
  },
  learningRate: {
    kind: 'float',
    key: 'learningRate',
    label: 'Learning rate',
    help: 'How big each training step is. Too big and the loss jumps around; too small and it hardly moves.',
    example: '0.01',
    min: 0,
    exclusive: true,
    step: 'any',
    default: 0.01,
  },
  seed: {
    kind: 'int',
    key: 'seed',
    label: 'Seed',
    help: 'Fixes the starting weights and the order of the examples, so training can be repeated exactly.',
    example: '1',
    step: 1,
    default: 1,
  },
  batchSize: {
    kind: 'int',
    key: 'batchSize',
    label: 'Batch size',
    help: 'How many examples the head sees before each update of its weights.',
    example: '32',
    min: 1,
    max: 4096,
    step: 1,
    default: 16,
    optional: true,
    whenMissing: 32,
  },
  shotsPerClass: {
    kind: 'int',
    key: 'shotsPerClass',
    label: 'Examples per class',
    labelHint: '(empty = all)',
    help: 'Train on only this many labeled examples of each class, to see how few are enough.',
    example: '8',
    min: 1,
    step: 1,
    default: undefined,
    optional: true,
  },
  // ---- training options (helper "heads"): regularisation, validation and early stopping, class weights
  dropout: {
    kind: 'float',
    key: 'dropout',
    label: 'Dropout',
    help:
      'Share of the hidden units switched off at random at each training step (hidden heads only), so the head ' +
      'cannot lean on a few of them. 0 = off.',
    example: '0.2',
    min: 0,
    max: 0.9,
    step: 0.05,
    default: undefined,
    optional: true,
    whenMissing: 0,
  },
  weightDecay: {
    kind: 'float',
    key: 'weightDecay',
    label: 'Weight decay',
    help: 'Pulls the weights towards zero at each step (AdamW), which keeps a head from memorising. 0 = off.',
    example: '0.01',
    min: 0,
    max: 1,
    step: 'any',
    default: undefined,
    optional: true,
    whenMissing: 0,
  },
  validation: {
    kind: 'float',
    key: 'validation',
    label: 'Validation fraction',
    labelHint: '(of the training split)',
    help:
      'Share of each class of the training examples kept aside (never the test split) to measure validation ' +
      'loss after every epoch. 0 = train on all of them.',
    example: '0.2',
    min: 0,
    max: 0.5,
    step: 0.05,
    default: undefined,
    optional: true,
    whenMissing: 0,
  },
  patience: {
    kind: 'int',
    key: 'patience',
    label: 'Early stopping patience',
    labelHint: '(empty = off)',
    help:
      'Stop once the validation loss has not improved for this many epochs, and keep the best epoch’s ' +
      'weights. Needs a validation fraction.',
    example: '5',
    min: 1,
    max: 1000,
    step: 1,
    default: undefined,
    optional: true,
  },
  classWeights: {
    kind: 'enum',
    key: 'classWeights',
    label: 'Class weights',
    help:
      'With imbalanced data, “balanced” counts each example of a rare class more, so every class weighs the ' +
      'same in the loss.',
    example: '"balanced"',
    choices: [
      { value: 'none', text: 'none (every example counts once)' },
      { value: 'balanced', text: 'balanced (rare classes count more)' },
    ],
    default: 'none',
    optional: true,
  },
  // Unfreezing top layers (issue 11).
  unfreeze: {
    kind: 'int',
    key: 'unfreeze',
    label: 'Unfrozen layers',
    labelHint: '(0 = head only)',
    help:
      'How many layers of the model, just under the feature layer, are trained together with the head. 0 keeps ' +
      'the whole model frozen; more layers can fit the task better but train many more parameters.',
    example: '1',
    min: 0,
    max: 64,
    step: 1,
    default: undefined,
    optional: true,
    whenMissing: 0,
  },
  maxTokens: {
    kind: 'int',
    key: 'maxTokens',
    label: 'Tokens per text',
    labelHint: '(unfrozen layers)',
    help:
      'Unfrozen layers read each text token by token, so its token vectors are kept in memory: longer texts are ' +
      'cut to this many tokens.',
    example: '64',
    min: 1,
    max: 512,
    step: 1,
    default: undefined,
    optional: true,
    whenMissing: 64,
  },
  layerLearningRate: {
    kind: 'float',
    key: 'layerLearningRate',
    label: 'Learning rate of unfrozen layers',
    labelHint: '(empty = 0.1 × the head’s)',
    help:
      'Step size for the unfrozen layers’ weights. They are already trained, so they get smaller steps than the ' +
      'new head: a large step wipes out what the model knows. Empty = a tenth of the head’s learning rate.',
    example: '0.001',
    min: 0,
    max: 1,
    exclusive: true,
    step: 'any',
    default: undefined,
    optional: true,
  },
} as const satisfies {
  readonly [K in Exclude<keyof HeadSpec, 'name'>]-?: K extends 'pooling'
    ? EnumSetting<Pooling>
    : K extends 'classWeights'
      ? EnumSetting<ClassWeighting>
      : NumberSetting;
};

/** The allowed values of an enum setting, in declaration order. */
export function choiceValues<T extends string>(setting: EnumSetting<T>): T[] {
  return setting.choices.map((choice) => choice.value);
}

/** The range of a number setting in words: "from 1 to 1000", "at least 1", "between 0 and 1 (exclusive)". */
export function rangeText(setting: NumberSetting): string | undefined {
  const { min, max, exclusive = false } = setting;
  if (min !== undefined && max !== undefined) {
    return exclusive ? `between ${min} and ${max} (exclusive)` : `from ${min} to ${max}`;
  }
  if (min !== undefined) return exclusive ? `greater than ${min}` : `at least ${min}`;
  if (max !== undefined) return exclusive ? `less than ${max}` : `at most ${max}`;
  return undefined;
}

/** True when `value` has the setting's type and lies within its range. */
export function isValidSetting(setting: NumberSetting, value: number): boolean {
  return settingProblem(setting, value) === undefined;
}

/**
 * What is wrong with `value` for the setting, as the rest of a sentence after the field's name ("must be from 1
 * to 1000; got 0."), or undefined when it is fine. The schema puts the field path before it, the form the label.
 * @param options.reason Say what the value means before its range (`rangeReason`); a form showing the help text
 *   next to the field leaves it out.
 */
export function settingProblem(
  setting: NumberSetting,
  value: number,
  options: { reason?: boolean } = {},
): string | undefined {
  const wholeNumber = setting.kind === 'int';
  if (wholeNumber ? !Number.isSafeInteger(value) : !Number.isFinite(value)) {
    return `${typeProblem(setting)}; got ${String(value)}.`;
  }
  const { min, max, exclusive = false } = setting;
  const below = min !== undefined && (exclusive ? value <= min : value < min);
  const above = max !== undefined && (exclusive ? value >= max : value > max);
  if (!below && !above) return undefined;
  const { reason = true } = options;
  const lead = setting.rangeReason === undefined || !reason ? '' : `is ${setting.rangeReason}: it `;
  // An open range is easy to miss (is 0 allowed?), so those messages show a value that works.
  const example = exclusive ? `, e.g. ${setting.example}` : '';
  return `${lead}must be ${String(rangeText(setting))}${example}; got ${value}.`;
}

/** "must be a whole number, e.g. 50": what a value of the wrong type is told, before "; got …". */
export function typeProblem(setting: NumberSetting): string {
  return `must be ${setting.kind === 'int' ? 'a whole number' : 'a number'}, e.g. ${setting.example}`;
}

/** The unfrozen layers' learning rate when a head sets none: this share of the head's own. */
export const LAYER_LEARNING_RATE_FACTOR = 0.1;

/** The learning rate a head's unfrozen layers train with: its `layerLearningRate`, or 0.1 × `learningRate`. */
export function layerLearningRateOf(spec: Pick<HeadSpec, 'learningRate' | 'layerLearningRate'>): number {
  return spec.layerLearningRate ?? spec.learningRate * LAYER_LEARNING_RATE_FACTOR;
}
