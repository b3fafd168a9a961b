/**
 * @file "What the model sees": for one prompt variation and one test example, the exact texts its strategy hands
 * to the model, as pieces a view can show, count in tokens and check against the model's limit. Each strategy
 * plugs in a renderer ({@link MODEL_INPUT_RENDERERS}); the view knows nothing about strategies. A strategy
 * without a renderer is shown as such, never guessed at.
 */
import type { LabeledExample } from '../dataset/types.ts';
import type { PromptSpec } from '../experiment/types.ts';
import { renderNliInput } from './nli-input.ts';
import { applyTextTemplate, labelTexts } from './similarity.ts';

/** One text the model receives. */
export interface ModelInputPiece {
  /** What the piece is: the example (`input`), a label's text (`label`), or fixed context such as shots. */
  role: 'input' | 'label' | 'context';
  /** A short caption, e.g. `Input text` or `Label “spam”`. */
  caption: string;
  /** Exactly what the tokenizer is given. */
  text: string;
  /**
   * A second text the tokenizer joins after `text` into one input, as a pair (an NLI hypothesis after its
   * premise): the count is the pair's, and only `text` is cut when the pair is too long.
   */
  pair?: string;
  /**
   * True when the model tokenizes this text on its own, so its token count and truncation at the model's limit
   * can be checked by counting its tokens; false when the strategy truncates or combines it itself (say how
   * in `note`).
   */
  measure: boolean;
}

/** What a strategy hands the model for one example, or why it cannot say (an invalid prompt). */
export type ModelInputRendering =
  { ok: true; pieces: ModelInputPiece[]; note?: string } | { ok: false; error: string };

/** What a renderer may use besides the prompt and the example. */
export interface ModelInputContext {
  /** The dataset's labels, in order. */
  labels: readonly string[];
  /** The training split (instruction prompts draw their shots from it). */
  train: readonly LabeledExample[];
  /** The experiment's split seed. */
  seed: number;
  /** Where the prompt sits in the experiment, for error messages, e.g. `prompts[1]`. */
  path: string;
}

/** Renders what one strategy's model receives for one example; throws an error whose message is shown. */
export type ModelInputRenderer<P extends PromptSpec = PromptSpec> = (
  prompt: P,
  example: LabeledExample,
  context: ModelInputContext,
) => { pieces: ModelInputPiece[]; note?: string };

/**
 * Similarity: the example wrapped in the text template is embedded on its own, and so is every label text (an
 * ensemble's texts each), all through the same tokenizer and limit.
 */
export const renderSimilarityInput: ModelInputRenderer<Extract<PromptSpec, { strategy: 'similarity' }>> = (
  prompt,
  example,
  { labels, path },
) => {
  const perLabel = labelTexts(prompt, labels, path);
  const pieces: ModelInputPiece[] = [
    {
      role: 'input',
      caption: prompt.textTemplate === undefined ? 'Input text' : 'Input text, in the input wrapper',
      text: applyTextTemplate(prompt.textTemplate, example.text),
      measure: true,
    },
  ];
  labels.forEach((label, k) => {
    const texts = perLabel[k] ?? [];
    texts.forEach((text, i) => {
      const which = texts.length > 1 ? ` (${i + 1} of ${texts.length}, averaged)` : '';
      pieces.push({ role: 'label', caption: `Label “${label}”${which}`, text, measure: true });
    });
  });
  return {
    pieces,
    note: 'Each text is embedded on its own; the input gets the label whose embedding is most similar (cosine).',
  };
};

/**
 * The renderer of each strategy. A strategy missing here is shown as having no view yet: add its renderer in its
 * own module and one line here.
 */
export const MODEL_INPUT_RENDERERS: {
  readonly [S in PromptSpec['strategy']]?: ModelInputRenderer<Extract<PromptSpec, { strategy: S }>>;
} = {
  similarity: renderSimilarityInput,
  nli: renderNliInput,
};

/** What `prompt`'s strategy hands the model for `example`; an error names what is wrong with the prompt. */
export function renderModelInput(
  prompt: PromptSpec,
  example: LabeledExample,
  context: ModelInputContext,
): ModelInputRendering {
  const strategy: string = prompt.strategy;
  const renderer = Object.hasOwn(MODEL_INPUT_RENDERERS, strategy)
    ? (MODEL_INPUT_RENDERERS[prompt.strategy] as ModelInputRenderer | undefined)
    : undefined;
  if (renderer === undefined) {
    return { ok: false, error: `There is no view of the model's input for the "${strategy}" strategy yet.` };
  }
  try {
    return { ok: true, ...renderer(prompt, example, context) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
