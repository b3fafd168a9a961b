/**
 * @file From an error to what a student reads on the card that caused it: which card (a prompt variation or a
 * head), which field of it, and the problem in plain words. The field path of the experiment file
 * (`prompts[1].template`) stays available as a detail. One ordered table of rules decides the wording; an error no
 * rule knows keeps its own message (every message of the core already says what to do), after the field's name.
 */
import { ExperimentError } from '../errors.ts';
import { HEAD_SETTINGS, SPLIT_SETTINGS } from '../experiment/settings.ts';

/** A card of the lab: one prompt variation or one head, by its index in the experiment. */
export interface CardRef {
  readonly kind: 'prompt' | 'head';
  readonly index: number;
}

/** An error placed on its card and field, in plain words. */
export interface PlainError {
  /** The card the error belongs to; undefined when it concerns the experiment as a whole (data, split, model). */
  readonly card: CardRef | undefined;
  /**
   * The field inside the card (or inside `section` when there is no card), as path segments:
   * `['template']`, `['descriptions', 'not spam']`, `['learningRate']`; empty for the whole card.
   */
  readonly field: readonly string[];
  /** The experiment section of an error outside any card (`split`, `dataset`, `model`), else undefined. */
  readonly section: string | undefined;
  /** What went wrong and what to do, in plain words, without the field path. */
  readonly message: string;
  /** The field path in the experiment file (`prompts[1].template`); empty when the error named none. */
  readonly path: string;
  /** The original message, for the detail view. */
  readonly detail: string;
}

/** What a rule sees of an error. */
interface RuleInput {
  /** The card kind, or the section for errors outside a card. */
  readonly scope: 'prompt' | 'head' | string;
  readonly field: readonly string[];
  readonly detail: string;
}

/** One wording rule: when it applies (field and message), and what it says instead. */
interface Rule {
  /** Scope and first field segment it applies to ('*' for any). */
  readonly scope: RuleInput['scope'] | '*';
  readonly field: string | '*';
  readonly pattern: RegExp;
  /** The plain message; `match` is the pattern's match on the detail. */
  readonly say: (input: RuleInput, match: RegExpMatchArray) => string;
  /** The field the message is about when the error's own path does not say (e.g. a diverged run). */
  readonly fieldWhenUnnamed?: readonly string[];
}

/** Quotes a user's word (a label) for a sentence. */
const quoted = (text: string | undefined): string => `“${text ?? ''}”`;

/** The rules, tried in order: the first whose scope, field and pattern match words the message. */
const RULES: readonly Rule[] = [
  {
    scope: 'prompt',
    field: 'template',
    pattern: /must contain \{label\}/,
    say: () =>
      'The template has no {label}: write {label} where each label’s name should go, for example ' +
      '“This text is about {label}.”',
  },
  {
    scope: 'prompt',
    field: 'hypothesis',
    pattern: /must contain \{label\}/,
    say: () =>
      'The hypothesis has no {label}: write {label} where each label should go, for example ' +
      '“This text is about {label}.”',
  },
  {
    scope: 'prompt',
    field: 'textTemplate',
    pattern: /must contain \{text\}/,
    say: () =>
      'The input wrapper has no {text}: write {text} where each input text should go, for example ' +
      '“query: {text}”, or leave the wrapper empty.',
  },
  {
    scope: 'prompt',
    field: 'descriptions',
    pattern: /empty|non-empty/,
    say: ({ field }) =>
      `The description of ${quoted(field[1])} is empty: write in a few words what this label means.`,
  },
  {
    scope: 'prompt',
    field: 'descriptions',
    pattern: /has no description/,
    say: ({ field }) => `The label ${quoted(field[1])} has no description yet: write one for it.`,
  },
  {
    scope: 'prompt',
    field: '*',
    pattern:
      /is not a label of the dataset: (?:describe|give a verbalizer for) exactly these labels: (.+)\.$/,
    say: ({ field }, match) =>
      `${quoted(field[1])} is not a label of the data, whose labels are ${match[1] ?? ''}. ` +
      'Choose the data again, or remove this label from the variation.',
  },
  {
    scope: 'prompt',
    field: 'model',
    pattern: /is not a sequence classifier|has no "entailment" class/,
    say: () =>
      'This model cannot judge a hypothesis: an NLI variation needs a model trained for natural language ' +
      'inference, such as Xenova/mobilebert-uncased-mnli. With this model, use a template or descriptions.',
  },
  {
    scope: 'prompt',
    field: 'verbalizers',
    pattern: /same verbalizer tokens as label "(.+?)"/,
    say: ({ field }, match) =>
      `The labels ${quoted(field[1])} and ${quoted(match[1])} have verbalizers this model reads as the same ` +
      'words, so it cannot tell them apart: give each label its own word.',
  },
  {
    scope: 'prompt',
    field: 'verbalizers',
    pattern: /tokenizes to nothing/,
    say: ({ field }) =>
      `The verbalizer of ${quoted(field[1])} gives this model nothing to read: write at least one word.`,
  },
  {
    scope: 'prompt',
    field: 'verbalizers',
    pattern: /label "(.+?)" has no verbalizer/,
    say: (_, match) =>
      `The label ${quoted(match[1])} has no verbalizer: write the word the model should answer with for it.`,
  },
  {
    scope: 'prompt',
    field: 'shotsPerClass',
    pattern: /label "(.+?)" has only (\d+) training examples/,
    say: (_, match) =>
      `Too many examples per class: the label ${quoted(match[1])} has only ${match[2] ?? ''} in the training ` +
      `part. Use at most ${match[2] ?? ''}, or keep less data for testing (a smaller test fraction).`,
  },
  {
    scope: 'prompt',
    field: 'chatTemplate',
    pattern: /has no chat template/,
    say: () => 'This model has no chat template: untick “Use the model’s chat template”.',
  },
  {
    scope: 'prompt',
    field: '*',
    pattern: /^Could not load ([^\s:]+)/,
    say: (_, match) =>
      `The model ${quoted(match[1])} could not be loaded for this variation. ` +
      `Check its name, or fetch it first (npm run models -- ${match[1] ?? ''}). Details below.`,
    fieldWhenUnnamed: ['model'],
  },
  {
    scope: 'head',
    field: '*',
    pattern:
      /diverged: (.+?) became NaN or infinite with learning rate (\S+?)\. Lower "learningRate" \(e\.g\. ([^)]+)\)/,
    say: (_, match) =>
      `Training broke down: ${match[1] ?? 'a number'} grew without limit with learning rate ${match[2] ?? ''}. ` +
      `Lower the learning rate, for example to ${match[3] ?? ''}, and train again.`,
    fieldWhenUnnamed: ['learningRate'],
  },
];

/** Where an error's path points: the card and the field in it, or the section outside any card. */
interface Located {
  card: CardRef | undefined;
  section: string | undefined;
  field: string[];
}

/**
 * Splits a field path into its card and the field's segments:
 * `prompts[1].descriptions["not spam"]` → prompt 1, `['descriptions', 'not spam']`; `split.test` → section
 * `split`, `['test']`. Returns undefined for a path it cannot read.
 */
export function locatePath(path: string): Located | undefined {
  const segments = pathSegments(path);
  if (segments === undefined || segments.length === 0) return undefined;
  const [head, index, ...rest] = segments;
  if ((head === 'prompts' || head === 'heads') && index !== undefined && /^\d+$/.test(index)) {
    return {
      card: { kind: head === 'prompts' ? 'prompt' : 'head', index: Number(index) },
      section: undefined,
      field: rest,
    };
  }
  return { card: undefined, section: head, field: segments.slice(1) };
}

/** The segments of a field path as `fieldPath` writes them (core/errors.ts), or undefined when malformed. */
export function pathSegments(path: string): string[] | undefined {
  const segments: string[] = [];
  const token = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let at = 0;
  while (at < path.length) {
    token.lastIndex = at;
    const match = token.exec(path);
    if (match === null || (at === 0 && match[0].startsWith('.'))) return undefined;
    segments.push(match[1] ?? match[2] ?? (JSON.parse(match[3] as string) as string));
    at = token.lastIndex;
  }
  return segments;
}

/** A path at the start of a plain error's message (`prompts[0].template: must …`), when the class was lost. */
const PATH_PREFIX =
  /^((?:prompts|heads)\[\d+\](?:\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*): ([\s\S]+)$/;

/** The name a student sees for a field of a card or section: the form's label where there is one. */
export function fieldLabel(scope: string, field: readonly string[]): string {
  const [key, sub] = field;
  if (key === undefined) return '';
  if (scope === 'head' && Object.hasOwn(HEAD_SETTINGS, key)) {
    return HEAD_SETTINGS[key as keyof typeof HEAD_SETTINGS].label;
  }
  if (scope === 'split' && Object.hasOwn(SPLIT_SETTINGS, key)) {
    return SPLIT_SETTINGS[key as keyof typeof SPLIT_SETTINGS].label;
  }
  const words = new Map([
    ['name', 'Name'],
    ['template', 'Template'],
    ['hypothesis', 'Hypothesis'],
    ['textTemplate', 'Input wrapper'],
    ['model', 'Model'],
    ['calibrate', 'Calibrate'],
    ['instruction', 'Instruction'],
    ['shotsPerClass', 'Examples per class'],
    ['chatTemplate', 'Chat template'],
    ['lengthNormalize', 'Length normalisation'],
  ]);
  if (key === 'descriptions') return sub === undefined ? 'Descriptions' : `Description of ${quoted(sub)}`;
  if (key === 'verbalizers') return sub === undefined ? 'Verbalizers' : `Verbalizer of ${quoted(sub)}`;
  return words.get(key) ?? key;
}

/** The first letter in upper case: a detail written to follow a path starts a sentence here. */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The wording of a located error: a rule's, or the field's name and the error's own words. */
function word(input: RuleInput, located: boolean): { message: string; field: readonly string[] } {
  for (const rule of RULES) {
    if (rule.scope !== '*' && rule.scope !== input.scope) continue;
    if (rule.field !== '*' && rule.field !== input.field[0]) continue;
    const match = input.detail.match(rule.pattern);
    if (match === null) continue;
    const field = input.field.length === 0 && !located ? (rule.fieldWhenUnnamed ?? []) : input.field;
    return { message: rule.say({ ...input, field }, match), field };
  }
  const setting = input.field.length === 1 && (input.scope === 'head' || input.scope === 'split');
  const name = fieldLabel(input.scope, input.field);
  if (setting && /^(must|is) /.test(input.detail))
    return { message: `${name} ${input.detail}`, field: input.field };
  return { message: name === '' ? sentence(input.detail) : `${name}: ${input.detail}`, field: input.field };
}

/**
 * Places an error on its card and field and says it in plain words.
 * @param error an ExperimentError (its path decides the card), or any error of a run.
 * @param part the card whose run failed, for errors that name no path (a model that did not load, a head whose
 *   training diverged); an error whose path names another card or section keeps its own place.
 */
export function explainError(error: unknown, part?: CardRef): PlainError {
  let path = '';
  let detail = error instanceof Error ? error.message : String(error);
  if (error instanceof ExperimentError) {
    path = error.path;
    detail = error.detail;
  } else {
    const prefixed = PATH_PREFIX.exec(detail);
    if (prefixed !== null) {
      path = prefixed[1] as string;
      detail = prefixed[2] as string;
    }
  }
  const located = path === '' ? undefined : locatePath(path);
  const card = located ? located.card : part;
  const section = located?.section;
  const scope = card?.kind ?? section ?? '';
  const { message, field } = word({ scope, field: located?.field ?? [], detail }, located !== undefined);
  return { card, section: card === undefined ? section : undefined, field, message, path, detail };
}

/** True when the error is on this card. */
export function isOnCard(problem: PlainError | undefined, card: CardRef): boolean {
  return problem?.card?.kind === card.kind && problem.card.index === card.index;
}

/**
 * True when the problem is about this field of its card (or a field inside it): `['descriptions', 'spam']` is
 * at `descriptions` and at `descriptions, spam`, not at `descriptions, ham`.
 */
export function isAtField(problem: PlainError | undefined, ...field: string[]): boolean {
  if (problem === undefined || field.length === 0 || problem.field.length < field.length) return false;
  return field.every((segment, position) => problem.field[position] === segment);
}

/** The value at a field of a prompt or head spec, read through own properties only (keys are users' labels). */
function valueAt(spec: unknown, field: readonly string[]): unknown {
  let value: unknown = spec;
  for (const segment of field) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** A value with its object keys sorted, so two equal specs compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    const entries = Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries) as unknown;
  });
}

/**
 * Whether a run failure recorded on `failed` (the spec as it ran) still describes `current`: the failure's field
 * holds the same value in a prompt of the same strategy, or, when it named no field, everything but the name is
 * the same. Editing the field (or,
 * with no field, anything) clears the mark; the next run says again if it is still wrong.
 */
export function failureStillApplies(problem: PlainError, failed: object, current: object): boolean {
  if (problem.field.length > 0) {
    // A prompt switched to another strategy is another kind of prompt: a model fit for one may fail the other.
    const same = (field: readonly string[]): boolean =>
      canonical(valueAt(failed, field)) === canonical(valueAt(current, field));
    return same(problem.field) && same(['strategy']);
  }
  const withoutName = (spec: object): string => canonical({ ...spec, name: undefined });
  return withoutName(failed) === withoutName(current);
}
