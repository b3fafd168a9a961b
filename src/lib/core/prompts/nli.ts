/**
 * @file Zero-shot classification with an NLI model, as the Hugging Face zero-shot pipeline does it for one label
 * per text: each text is the premise, the prompt's hypothesis template filled with each label is the hypothesis,
 * and a label's score is the softmax over the labels of each pair's entailment logit. The entailment logit is the
 * one config.json's `id2label` names "entailment" (any case). Optionally calibrated on content-free premises.
 */
import { ExperimentError, fieldPath } from '../errors.ts';
import { evaluate } from '../metrics/metrics.ts';
import type { PairClassifier, TextPair } from '../ports.ts';
import { runIntervalsCooperative } from '../stats/uncertainty.ts';
import type { LabeledExample } from '../dataset/types.ts';
import { predictionsFromProbabilities } from '../experiment/run.ts';
import type { NliPrompt, RunResult } from '../experiment/types.ts';
import { calibrateWithContentFree, contentFreeInputs, softmax } from './content-free.ts';
import { applyTextTemplate, LABEL_PLACEHOLDER } from './similarity.ts';

/** The class an NLI model's `id2label` must have, compared case-insensitively. */
export const ENTAILMENT_LABEL = 'entailment';

/**
 * The hypothesis for each label, in `labels` order: the template with every `{label}` replaced.
 * @throws ExperimentError at `<path>.hypothesis` when the template has no `{label}`.
 */
export function nliHypotheses(hypothesis: string, labels: readonly string[], path = 'prompt'): string[] {
  if (!hypothesis.includes(LABEL_PLACEHOLDER)) {
    throw new ExperimentError(
      fieldPath(path, 'hypothesis'),
      `must contain ${LABEL_PLACEHOLDER} where each label goes, e.g. "This text is about ${LABEL_PLACEHOLDER}.".`,
    );
  }
  return labels.map((label) => hypothesis.split(LABEL_PLACEHOLDER).join(label));
}

/** `id2label` as config.json writes it, for messages: `{"0": "LABEL_0", "1": "LABEL_1"}`. */
export function formatId2label(id2label: readonly string[]): string {
  if (id2label.length === 0) return 'missing';
  return `{${id2label.map((label, id) => `${JSON.stringify(String(id))}: ${JSON.stringify(label)}`).join(', ')}}`;
}

/**
 * The logit index of the entailment class: the one `id2label` names "entailment", in any case (as the Hugging Face
 * zero-shot pipeline finds it).
 * @param modelPath The experiment field naming the model, e.g. `prompts[2].model`, for the error.
 * @throws ExperimentError at `modelPath` naming the model's `id2label` when no class is "entailment".
 */
export function entailmentIndex(id2label: readonly string[], model: string, modelPath: string): number {
  const index = id2label.findIndex((label) => label.toLowerCase() === ENTAILMENT_LABEL);
  if (index >= 0) return index;
  throw new ExperimentError(
    modelPath,
    `${model} has no "${ENTAILMENT_LABEL}" class (its id2label is ${formatId2label(id2label)}): an NLI prompt ` +
      'needs a model trained on natural language inference (e.g. Xenova/mobilebert-uncased-mnli).',
  );
}

/**
 * The classifier of an NLI prompt's model.
 * @throws ExperimentError at `modelPath` when the model is not a sequence classifier.
 */
export function requirePairClassifier(
  classifier: PairClassifier | undefined,
  model: string,
  modelPath: string,
): PairClassifier {
  if (classifier !== undefined) return classifier;
  throw new ExperimentError(
    modelPath,
    `${model} is not a sequence classifier (it returns no classification "logits"): an NLI prompt needs a model ` +
      'trained on natural language inference (e.g. Xenova/mobilebert-uncased-mnli); use a similarity prompt with ' +
      'this one.',
  );
}

/**
 * Label probabilities from the logits of `premises × hypotheses` pairs (premise-major): per premise, the softmax
 * over the labels of the entailment logits.
 * @throws RangeError when a logit row is shorter than the entailment index or the counts do not match.
 */
export function entailmentProbabilities(
  logits: readonly (readonly number[])[],
  premises: number,
  labels: number,
  entailment: number,
): number[][] {
  if (logits.length !== premises * labels) {
    throw new RangeError(`Got ${logits.length} logit rows for ${premises} premises × ${labels} labels.`);
  }
  return Array.from({ length: premises }, (_, p) =>
    softmax(
      Array.from({ length: labels }, (_, k) => {
        const row = logits[p * labels + k] as readonly number[];
        const value = row[entailment];
        if (value === undefined) {
          throw new RangeError(
            `A logit row has ${row.length} classes; the entailment class is ${entailment}.`,
          );
        }
        return value;
      }),
    ),
  );
}

/** Every premise with every hypothesis, premise-major (the pairs of one text are consecutive). */
function pairsOf(premises: readonly string[], hypotheses: readonly string[]): TextPair[] {
  return premises.flatMap((premise) => hypotheses.map((hypothesis) => ({ premise, hypothesis })));
}

export interface NliPromptInput {
  prompt: NliPrompt;
  /** Where the prompt sits in the experiment, e.g. `prompts[1]`. */
  path: string;
  /** The model reference as the experiment writes it (the prompt's own or the experiment's). */
  model: string;
  /** The field naming that model, e.g. `prompts[1].model` or `model`. */
  modelPath: string;
  labels: readonly string[];
  test: readonly LabeledExample[];
  /** The loaded model as a pair classifier; undefined when it is not a sequence classifier. */
  classifier: PairClassifier | undefined;
  /** The tokenizer's mask token, scored as one more content-free premise when calibrating. */
  maskToken?: string;
  now(): number;
  /** Pairs classified so far out of all of them (content-free ones included). */
  onPairs?(done: number, total: number): void;
}

/**
 * Scores one NLI prompt on the test split. Adapting is scoring the content-free premises (calibration only);
 * inference is classifying every test text with every hypothesis. No labeled example is used, no parameter changes.
 * @throws ExperimentError when the hypothesis has no `{label}`, or the model is not an NLI classifier.
 */
export async function runNliPrompt(input: NliPromptInput): Promise<RunResult> {
  const { prompt, labels, test, now } = input;
  const hypotheses = nliHypotheses(prompt.hypothesis, labels, input.path);
  const classifier = requirePairClassifier(input.classifier, input.model, input.modelPath);
  const entailment = entailmentIndex(classifier.id2label, input.model, input.modelPath);
  const calibrating = prompt.calibrate === true;
  const contentFree = calibrating ? contentFreeInputs(input.maskToken) : [];
  const premises = test.map((example) => applyTextTemplate(prompt.textTemplate, example.text));
  const total = (contentFree.length + premises.length) * labels.length;
  const classify = async (texts: readonly string[], offset: number) => {
    const pairs = pairsOf(texts, hypotheses);
    const classified = await classifier.classifyPairs(pairs, (done) => input.onPairs?.(offset + done, total));
    if (classified.logits.length !== pairs.length) {
      throw new Error(
        `${classifier.modelId} returned ${classified.logits.length} rows for ${pairs.length} pairs.`,
      );
    }
    if (classified.logits.some((row) => row.length !== classifier.id2label.length)) {
      throw new Error(
        `${classifier.modelId} returned logits that do not match its id2label ${formatId2label(classifier.id2label)}.`,
      );
    }
    return {
      probabilities: entailmentProbabilities(classified.logits, texts.length, labels.length, entailment),
      classified,
    };
  };

  const adaptStart = now();
  const bias =
    contentFree.length > 0
      ? await classify(
          contentFree.map((text) => applyTextTemplate(prompt.textTemplate, text)),
          0,
        )
      : undefined;
  const adaptMs = now() - adaptStart;

  const inferStart = now();
  const scored = await classify(premises, contentFree.length * labels.length);
  const probabilities =
    bias === undefined
      ? scored.probabilities
      : calibrateWithContentFree(scored.probabilities, bias.probabilities);
  const inferMs = now() - inferStart;

  const truncatedTexts = new Set(scored.classified.truncated.map((pair) => Math.floor(pair / labels.length)));
  const predictions = predictionsFromProbabilities(
    probabilities,
    labels,
    test.map((example) => example.id),
  );
  const first = premises[0];
  return {
    name: prompt.name,
    kind: 'prompt',
    ...evaluate(test, predictions, labels),
    ...(await runIntervalsCooperative(test, predictions, labels)),
    predictions,
    cost: { adaptMs, inferMs, labeledExamples: 0, trainedParameters: 0 },
    ...(first === undefined ? {} : { rendered: { premise: first, hypotheses } }),
    shots: [],
    tokens: scored.classified.tokens + (bias?.classified.tokens ?? 0),
    truncated: truncatedTexts.size,
    calibrated: calibrating,
  };
}
