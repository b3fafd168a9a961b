/**
 * @file Instruction prompts for a causal language model: the rendered prompt is the instruction, then
 * `shotsPerClass` examples per label drawn with the split's seed from the training split only, then the text, in a
 * plain template the user edits (or the model's chat template). Each label is scored by the summed (or mean)
 * log-probability of its verbalizer's tokens after the prompt; a label's score is the softmax over the labels.
 * No generation, no string matching. The shared prefix (instruction + shots) is tokenized once and the scorer
 * reuses its KV cache for every text and label.
 *
 * The prompt is tokenized in three segments, exactly as the model receives it: the prefix (the rendered prompt up
 * to the text, without trailing spaces), the text (with those spaces in front, so "Answer: word" tokenizes as
 * " word" would), and the suffix after the text. Only the text segment is ever truncated.
 */
import type { LabeledExample } from '../dataset/types.ts';
import { ExperimentError, fieldPath, quoteList } from '../errors.ts';
import { evaluate } from '../metrics/metrics.ts';
import type { CausalScorer } from '../ports.ts';
import { sampleShotsPerClass } from '../split/split.ts';
import { runIntervalsCooperative } from '../stats/uncertainty.ts';
import type { InstructionPrompt, Prediction, RunResult } from '../experiment/types.ts';
import { emptyRecord, ownValue } from '../records.ts';
import { calibrate, contentFreeBias, CONTENT_FREE_INPUTS } from './calibration.ts';
import { argmax } from './similarity.ts';

/** Placeholders of an instruction template. */
export const INSTRUCTION_PLACEHOLDER = '{instruction}';
export const SHOTS_PLACEHOLDER = '{shots}';
export const INSTRUCTION_TEXT_PLACEHOLDER = '{text}';

/** The plain template when a prompt sets none; shots repeat its text part with their verbalizer as the answer. */
export const DEFAULT_INSTRUCTION_TEMPLATE = '{instruction}\n\n{shots}Text: {text}\nAnswer:';

/** What separates one shot from what follows it. */
const SHOT_SEPARATOR = '\n\n';

/** Stands for the text while the template (or chat template) is rendered, then split on. */
const TEXT_SENTINEL = '\u0000\u0001TEXT\u0001\u0000';

/** How label scores are computed, as results name it. */
export const SCORING_SUM = 'sum of verbalizer token log-probabilities, softmax over labels';
export const SCORING_MEAN = 'mean verbalizer token log-probability (length-normalised), softmax over labels';

/**
 * Checks a template's placeholders: {instruction} and {text} once each, {shots} at most once, and the text last
 * (the part before it is the shared prefix whose KV cache is reused).
 * @returns a problem to report, or undefined when the template is usable.
 */
export function instructionTemplateProblem(template: string): string | undefined {
  const count = (needle: string): number => template.split(needle).length - 1;
  for (const placeholder of [INSTRUCTION_PLACEHOLDER, INSTRUCTION_TEXT_PLACEHOLDER]) {
    if (count(placeholder) !== 1) {
      return `must contain ${placeholder} exactly once, e.g. ${JSON.stringify(DEFAULT_INSTRUCTION_TEMPLATE)}.`;
    }
  }
  if (count(SHOTS_PLACEHOLDER) > 1) return `must contain ${SHOTS_PLACEHOLDER} at most once.`;
  const text = template.indexOf(INSTRUCTION_TEXT_PLACEHOLDER);
  if (template.indexOf(INSTRUCTION_PLACEHOLDER) > text || template.indexOf(SHOTS_PLACEHOLDER) > text) {
    return (
      `must put ${INSTRUCTION_PLACEHOLDER} and ${SHOTS_PLACEHOLDER} before ${INSTRUCTION_TEXT_PLACEHOLDER}: ` +
      'the part before the text is computed once and shared by every text.'
    );
  }
  return undefined;
}

/**
 * The few-shot examples of a prompt: `shotsPerClass` per label, drawn with `seed` from the training split only,
 * in training-split order.
 * @throws ExperimentError at `<path>.shotsPerClass` when a class has fewer training examples than asked.
 */
export function selectShots(
  train: readonly LabeledExample[],
  labels: readonly string[],
  shotsPerClass: number,
  seed: number,
  path: string,
): LabeledExample[] {
  if (shotsPerClass === 0) return [];
  for (const label of labels) {
    const available = train.filter((example) => example.label === label).length;
    if (available < shotsPerClass) {
      throw new ExperimentError(
        fieldPath(path, 'shotsPerClass'),
        `${shotsPerClass} shots per class, but label "${label}" has only ${available} training examples: ` +
          `use at most ${available}, or a smaller test fraction.`,
      );
    }
  }
  return sampleShotsPerClass(train, labels, shotsPerClass, seed);
}

/**
 * A verbalizer per label, in `labels` order, checked against the dataset's labels.
 * @throws ExperimentError at `<path>.verbalizers` for a missing label, or at the verbalizer of an unknown one.
 */
export function verbalizerTexts(
  prompt: InstructionPrompt,
  labels: readonly string[],
  path: string,
): string[] {
  const verbalizersPath = fieldPath(path, 'verbalizers');
  const unknown = Object.keys(prompt.verbalizers).filter((key) => !labels.includes(key));
  if (unknown.length > 0) {
    throw new ExperimentError(
      fieldPath(verbalizersPath, unknown[0] as string),
      `${quoteList(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not a label of the dataset: give a ` +
        `verbalizer for exactly these labels: ${quoteList(labels)}.`,
    );
  }
  return labels.map((label) => {
    const text = ownValue(prompt.verbalizers, label);
    if (text === undefined) {
      throw new ExperimentError(
        verbalizersPath,
        `label "${label}" has no verbalizer: add the word(s) the model should answer with, e.g. ` +
          `{ ${JSON.stringify(label)}: ${JSON.stringify(` ${label}`)} }.`,
      );
    }
    return text;
  });
}

/** The prompt split around the text, as strings: prefix + (spaces + text) + suffix is the rendered prompt. */
export interface PromptFrame {
  prefix: string;
  /** Trailing spaces moved from the prefix in front of the text, so the text tokenizes as in running prose. */
  lead: string;
  suffix: string;
}

/** Splits a rendering that contains the text sentinel exactly once. */
function frameAround(rendered: string, what: string): PromptFrame {
  const parts = rendered.split(TEXT_SENTINEL);
  if (parts.length !== 2) {
    throw new Error(`${what} did not place the text exactly once (found ${parts.length - 1} times).`);
  }
  const [before, suffix] = parts as [string, string];
  const prefix = before.replace(/[ \t]+$/, '');
  return { prefix, lead: before.slice(prefix.length), suffix };
}

/**
 * Renders the plain template with `text` in place: instruction, then the shots (each the template's text part with
 * the shot's text and its verbalizer as the answer), then the text.
 */
export function renderPlain(
  template: string,
  instruction: string,
  shots: readonly { text: string; answer: string }[],
  text: string,
): string {
  const shotsAt = template.indexOf(SHOTS_PLACEHOLDER);
  const textPart = shotsAt < 0 ? '' : template.slice(shotsAt + SHOTS_PLACEHOLDER.length);
  const shotBlock = shots
    .map((shot) => textPart.replace(INSTRUCTION_TEXT_PLACEHOLDER, () => shot.text) + shot.answer)
    .map((rendered) => rendered + SHOT_SEPARATOR)
    .join('');
  // One pass, so a placeholder inside the instruction or a text is never expanded again.
  return template.replace(/\{instruction\}|\{shots\}|\{text\}/g, (match) =>
    match === INSTRUCTION_PLACEHOLDER ? instruction : match === SHOTS_PLACEHOLDER ? shotBlock : text,
  );
}

/** A prompt ready to score: its frame and token ids, its shots and verbalizer ids. */
export interface PreparedInstruction {
  frame: PromptFrame;
  prefixIds: number[];
  suffixIds: number[];
  /** Token ids per label, in `labels` order. */
  verbalizerIds: number[][];
  shots: LabeledExample[];
  /** Tokens the text segment may take before it is truncated. */
  textBudget: number;
  lengthNormalize: boolean;
}

/** What goes into the seeds and models of one instruction prompt. */
export interface InstructionContext {
  prompt: InstructionPrompt;
  /** Where the prompt sits in the experiment, e.g. `prompts[2]`. */
  path: string;
  labels: readonly string[];
  train: readonly LabeledExample[];
  /** The experiment's split seed: shots are drawn with it. */
  seed: number;
  scorer: Pick<CausalScorer, 'modelId' | 'maxTokens' | 'tokenize' | 'applyChatTemplate'>;
}

/**
 * Draws the shots, renders the prompt around the text, tokenizes prefix, suffix and verbalizers, and checks every
 * verbalizer and the room left for the text.
 * @throws ExperimentError naming the field: a verbalizer missing, tokenizing to nothing or equal to another
 * label's; too many shots for a class; a chat template the model does not have; a prompt that leaves no room for
 * the text.
 */
export async function prepareInstruction(context: InstructionContext): Promise<PreparedInstruction> {
  const { prompt, path, labels, scorer } = context;
  const verbalizers = verbalizerTexts(prompt, labels, path);
  const verbalizerIds = await Promise.all(verbalizers.map((text) => scorer.tokenize(text)));
  const byTokens = new Map<string, string>();
  labels.forEach((label, index) => {
    const ids = verbalizerIds[index] as number[];
    const labelPath = fieldPath(fieldPath(path, 'verbalizers'), label);
    if (ids.length === 0) {
      throw new ExperimentError(
        labelPath,
        `${JSON.stringify(verbalizers[index])} tokenizes to nothing with ${scorer.modelId}: write at least one ` +
          'word the model can answer with.',
      );
    }
    const key = ids.join(',');
    const other = byTokens.get(key);
    if (other !== undefined) {
      throw new ExperimentError(
        labelPath,
        `label "${label}" has the same verbalizer tokens as label "${other}" (${ids.length} token(s)): the ` +
          'model could not tell them apart; give each label its own words.',
      );
    }
    byTokens.set(key, label);
  });

  const shots = selectShots(context.train, labels, prompt.shotsPerClass ?? 0, context.seed, path);
  const answerOf = new Map(labels.map((label, index) => [label, verbalizers[index] as string]));
  const template = prompt.template ?? DEFAULT_INSTRUCTION_TEMPLATE;
  const plain = renderPlain(
    template,
    prompt.instruction,
    shots.map((shot) => ({ text: shot.text, answer: answerOf.get(shot.label) ?? '' })),
    TEXT_SENTINEL,
  );
  let frame: PromptFrame;
  if (prompt.chatTemplate === true) {
    const chat = await scorer.applyChatTemplate([{ role: 'user', content: plain }]);
    if (chat === undefined) {
      throw new ExperimentError(
        fieldPath(path, 'chatTemplate'),
        `${scorer.modelId} has no chat template (tokenizer_config.json "chat_template"): set it to false to use ` +
          'the plain template.',
      );
    }
    frame = frameAround(chat, `The chat template of ${scorer.modelId}`);
  } else {
    frame = frameAround(plain, 'The template');
  }
  const prefixIds = await scorer.tokenize(frame.prefix);
  const suffixIds = await scorer.tokenize(frame.suffix);
  const longestVerbalizer = Math.max(...verbalizerIds.map((ids) => ids.length));
  const fixed = prefixIds.length + suffixIds.length + longestVerbalizer;
  const textBudget = scorer.maxTokens - fixed;
  if (textBudget < 1) {
    throw new ExperimentError(
      path,
      `the instruction, ${shots.length} shot(s), template and longest verbalizer take ${fixed} tokens, but ` +
        `${scorer.modelId} takes ${scorer.maxTokens}: leave room for the text by shortening the instruction, ` +
        'using fewer shots per class or shorter verbalizers.',
    );
  }
  return {
    frame,
    prefixIds,
    suffixIds,
    verbalizerIds,
    shots,
    textBudget,
    lengthNormalize: prompt.lengthNormalize === true,
  };
}

/** One text inside the prompt, as the model receives it. */
export interface RenderedExample {
  /** The exact prompt (prefix, text as kept, suffix), before any verbalizer. */
  rendered: string;
  /** Token ids after the prefix: the (kept) text, then the suffix. */
  contextIds: number[];
  /** Prompt tokens in all: prefix + text + suffix. */
  tokens: number;
  /** Set when the text was cut: how many of its tokens were kept, and of how many. */
  truncated?: { kept: number; of: number };
}

/** Renders one text into a prepared prompt, truncating the text part alone when the model's context needs it. */
export async function renderExample(
  prepared: PreparedInstruction,
  text: string,
  scorer: Pick<CausalScorer, 'tokenize' | 'decode'>,
): Promise<RenderedExample> {
  const { frame } = prepared;
  const textIds = await scorer.tokenize(frame.lead + text);
  const kept = textIds.slice(0, prepared.textBudget);
  const cut = kept.length < textIds.length;
  const shownText = cut ? await scorer.decode(kept) : frame.lead + text;
  const contextIds = [...kept, ...prepared.suffixIds];
  return {
    rendered: frame.prefix + shownText + frame.suffix,
    contextIds,
    tokens: prepared.prefixIds.length + contextIds.length,
    ...(cut ? { truncated: { kept: kept.length, of: textIds.length } } : {}),
  };
}

/** Softmax of one row of log-scores. */
export function softmax(values: readonly number[]): number[] {
  const top = Math.max(...values);
  const exps = values.map((value) => Math.exp(value - top));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

/** A label's log-score from its tokens' log-probabilities: their sum, or their mean when length-normalised. */
export function labelLogScore(tokenLogProbs: readonly number[], lengthNormalize: boolean): number {
  const sum = tokenLogProbs.reduce((total, value) => total + value, 0);
  return lengthNormalize ? sum / tokenLogProbs.length : sum;
}

/** Label probabilities per context from `[contexts][labels][tokens]` log-probabilities. */
export function labelProbabilities(
  logProbs: readonly (readonly (readonly number[])[])[],
  lengthNormalize: boolean,
): number[][] {
  return logProbs.map((labels) => softmax(labels.map((tokens) => labelLogScore(tokens, lengthNormalize))));
}

/** Everything one instruction run needs. */
export interface InstructionRunInput extends InstructionContext {
  test: readonly LabeledExample[];
  scorer: CausalScorer;
  now(): number;
  onProgress?(done: number, total: number): void;
}

/**
 * Scores one instruction prompt on the test split: prepares it (see {@link prepareInstruction}), renders every
 * test text, scores every verbalizer after each in one call sharing the prefix's KV cache, and, with `calibrate`,
 * divides by the scores of the content-free inputs. Adapting is preparing the prompt (and the calibration scores).
 */
export async function runInstructionPrompt(input: InstructionRunInput): Promise<RunResult> {
  const { prompt, labels, test, scorer, now } = input;
  const adaptStart = now();
  const prepared = await prepareInstruction(input);
  let bias: number[] | undefined;
  const verbalizerTokens = prepared.verbalizerIds.reduce((sum, ids) => sum + ids.length, 0);
  let calibrationTokens = 0;
  if (prompt.calibrate === true) {
    const free = await Promise.all(CONTENT_FREE_INPUTS.map((text) => renderExample(prepared, text, scorer)));
    const logProbs = await scorer.continuationLogProbs({
      prefix: prepared.prefixIds,
      contexts: free.map((example) => example.contextIds),
      continuations: prepared.verbalizerIds,
    });
    bias = contentFreeBias(labelProbabilities(logProbs, prepared.lengthNormalize));
    calibrationTokens = free.reduce((sum, example) => sum + example.contextIds.length + verbalizerTokens, 0);
  }
  const adaptMs = now() - adaptStart;

  const inferStart = now();
  const examples = await Promise.all(test.map((example) => renderExample(prepared, example.text, scorer)));
  const logProbs = await scorer.continuationLogProbs(
    {
      prefix: prepared.prefixIds,
      contexts: examples.map((example) => example.contextIds),
      continuations: prepared.verbalizerIds,
    },
    input.onProgress,
  );
  const raw = labelProbabilities(logProbs, prepared.lengthNormalize);
  const probabilities = bias === undefined ? raw : calibrate(raw, bias);
  const predictions: Prediction[] = probabilities.map((row, index) => {
    const scores = emptyRecord<number>();
    labels.forEach((label, k) => {
      scores[label] = row[k] as number;
    });
    return { id: (test[index] as LabeledExample).id, label: labels[argmax(row)] as string, scores };
  });
  const inferMs = now() - inferStart;
  const tokens =
    prepared.prefixIds.length +
    calibrationTokens +
    examples.reduce((sum, example) => sum + example.contextIds.length + verbalizerTokens, 0);
  const scoring =
    (prepared.lengthNormalize ? SCORING_MEAN : SCORING_SUM) +
    (bias === undefined ? '' : `; calibrated on ${quoteList(CONTENT_FREE_INPUTS)}`);
  return {
    name: prompt.name,
    kind: 'prompt',
    ...evaluate(test, predictions, labels),
    ...(await runIntervalsCooperative(test, predictions, labels)),
    predictions,
    cost: { adaptMs, inferMs, labeledExamples: prepared.shots.length, trainedParameters: 0 },
    ...(examples[0] === undefined ? {} : { rendered: examples[0].rendered }),
    shots: prepared.shots.map((shot) => shot.id),
    tokens,
    truncated: examples.filter((example) => example.truncated !== undefined).length,
    scoring,
  };
}
