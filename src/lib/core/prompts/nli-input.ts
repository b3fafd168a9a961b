/**
 * @file "What the model sees" for NLI prompts: for one test example, the premise/hypothesis pair of every label,
 * each classified by the model as one input (the tokenizer joins the two with its special tokens). Each pair is
 * one piece, counted as a pair; when it is longer than the model reads, the end of its premise is cut, never the
 * hypothesis, exactly as the NLI runner does (core/prompts/nli.ts).
 */
import type { NliPrompt } from '../experiment/types.ts';
import { quoteList } from '../errors.ts';
import { CONTENT_FREE_INPUTS } from './calibration.ts';
import type { ModelInputRenderer } from './model-input.ts';
import { nliHypotheses } from './nli.ts';
import { applyTextTemplate } from './similarity.ts';

/**
 * One piece per label: the example (in the prompt's text template) as the premise, paired with the label's
 * hypothesis.
 * @throws ExperimentError at `<path>.hypothesis` when the hypothesis has no `{label}`.
 */
export const renderNliInput: ModelInputRenderer<NliPrompt> = (prompt, example, { labels, path }) => {
  const hypotheses = nliHypotheses(prompt.hypothesis, labels, path);
  const premise = applyTextTemplate(prompt.textTemplate, example.text);
  const which = prompt.textTemplate === undefined ? 'the input text' : 'the input in its wrapper';
  const calibration =
    prompt.calibrate === true
      ? ' Calibrated: the same hypotheses are also paired with the content-free premises ' +
        `${quoteList(CONTENT_FREE_INPUTS)} (and the mask token, when the model has one).`
      : '';
  return {
    pieces: labels.map((label, k) => ({
      role: 'label' as const,
      caption: `Label “${label}”: premise (${which}), then hypothesis`,
      text: premise,
      pair: hypotheses[k] as string,
      measure: true,
    })),
    note:
      "Each pair is one input to the model; its count includes the tokenizer's special tokens. A pair longer than " +
      'the model reads loses the end of its premise, never the hypothesis. The label scores are the softmax over ' +
      `the labels of each pair's entailment logit.${calibration}`,
  };
};
