/**
 * @file Prompting an embedding model by label descriptions: each label becomes one or more texts, their
 * embeddings are averaged, and a text is classified by the label vector it is most similar to (cosine).
 */
import { ExperimentError, fieldPath, quoteList } from '../errors.ts';
import type { Prediction, SimilarityPrompt } from '../experiment/types.ts';
import { emptyRecord } from '../records.ts';
import { COOPERATIVE_SLICE_MS, nextTask } from '../stats/uncertainty.ts';

/** The placeholder a similarity template must contain. */
export const LABEL_PLACEHOLDER = '{label}';
/** The placeholder a text template must contain. */
export const TEXT_PLACEHOLDER = '{text}';

/** Replaces every placeholder literally (no `$&`-style replacement patterns, whatever the value holds). */
function fill(template: string, placeholder: string, value: string): string {
  return template.split(placeholder).join(value);
}

/**
 * The texts to embed for each label, in `labels` order. A template gives one text per label; descriptions
 * give one text or a list (an ensemble) per label.
 * @param path Where the prompt sits in the experiment, for error messages, e.g. `prompts[1]`.
 * @throws ExperimentError when a label has no description, a description names an unknown label, or the
 *   prompt has neither a template nor descriptions.
 */
export function labelTexts(
  prompt: Pick<SimilarityPrompt, 'template' | 'descriptions'>,
  labels: readonly string[],
  path = 'prompt',
): string[][] {
  const { template, descriptions } = prompt;
  if (descriptions !== undefined) {
    const descriptionsPath = fieldPath(path, 'descriptions');
    const unknown = Object.keys(descriptions).filter((key) => !labels.includes(key));
    if (unknown.length > 0) {
      throw new ExperimentError(
        fieldPath(descriptionsPath, unknown[0] as string),
        `${quoteList(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not a label of the dataset: ` +
          `describe exactly these labels: ${quoteList(labels)}.`,
      );
    }
    return labels.map((label) => {
      const description = Object.hasOwn(descriptions, label) ? descriptions[label] : undefined;
      const labelPath = fieldPath(descriptionsPath, label);
      if (description === undefined) {
        throw new ExperimentError(
          labelPath,
          `label "${label}" has no description: add one (a text or a list of texts) for every label.`,
        );
      }
      const texts = typeof description === 'string' ? [description] : description;
      if (texts.length === 0 || texts.some((text) => text.trim() === '')) {
        throw new ExperimentError(
          labelPath,
          'descriptions must be non-empty texts: write what the label means.',
        );
      }
      return [...texts];
    });
  }
  if (template !== undefined) {
    if (!template.includes(LABEL_PLACEHOLDER)) {
      throw new ExperimentError(
        fieldPath(path, 'template'),
        `the template must contain ${LABEL_PLACEHOLDER}, e.g. "This text is about ${LABEL_PLACEHOLDER}."`,
      );
    }
    return labels.map((label) => [fill(template, LABEL_PLACEHOLDER, label)]);
  }
  throw new ExperimentError(
    path,
    `a similarity prompt needs a "template" (e.g. "${LABEL_PLACEHOLDER}") or "descriptions" for each label.`,
  );
}

/** Wraps an input text in the prompt's text template (`{text}` placeholder); no template leaves it as is. */
export function applyTextTemplate(textTemplate: string | undefined, text: string): string {
  return textTemplate === undefined ? text : fill(textTemplate, TEXT_PLACEHOLDER, text);
}

/**
 * Element-wise mean of equally long vectors.
 * @throws RangeError for an empty list or vectors of different lengths.
 */
export function meanVector(vectors: readonly Float32Array[]): Float32Array {
  const [first] = vectors;
  if (first === undefined) throw new RangeError('Cannot average zero vectors.');
  const sum = new Float64Array(first.length);
  for (const vector of vectors) {
    if (vector.length !== first.length) {
      throw new RangeError(`Cannot average vectors of lengths ${first.length} and ${vector.length}.`);
    }
    for (let i = 0; i < vector.length; i++) sum[i] = (sum[i] ?? 0) + (vector[i] ?? 0);
  }
  return Float32Array.from(sum, (value) => value / vectors.length);
}

/**
 * Cosine similarity in [-1, 1]; 0 when either vector is all zeros (no direction to compare).
 * @throws RangeError for vectors of different lengths.
 */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(`Cannot compare vectors of lengths ${a.length} and ${b.length}.`);
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/**
 * Index of the largest value; the first one wins ties, so results never depend on sort stability.
 * @throws RangeError for an empty list.
 */
export function argmax(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('argmax of an empty list.');
  let best = 0;
  values.forEach((value, index) => {
    if (value > (values[best] as number)) best = index;
  });
  return best;
}

/** Sum of squares of a vector's components, in index order (as {@link cosine} accumulates it). */
function squaredNorm(vector: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number;
    sum += x * x;
  }
  return sum;
}

/**
 * One text's prediction: exactly {@link cosine} against each label vector (the same sums in the same order),
 * with the label vectors' squared norms computed once for all texts.
 */
function classifyOne(
  vector: Float32Array,
  id: string,
  labelVectors: readonly Float32Array[],
  labelNorms: readonly number[],
  labels: readonly string[],
): Prediction {
  const norm = squaredNorm(vector);
  const similarities = labelVectors.map((labelVector, k) => {
    if (labelVector.length !== vector.length) {
      throw new RangeError(`Cannot compare vectors of lengths ${vector.length} and ${labelVector.length}.`);
    }
    let dot = 0;
    for (let i = 0; i < vector.length; i++) dot += (vector[i] as number) * (labelVector[i] as number);
    const labelNorm = labelNorms[k] as number;
    return norm === 0 || labelNorm === 0 ? 0 : dot / Math.sqrt(norm * labelNorm);
  });
  const scores = emptyRecord<number>();
  labels.forEach((label, k) => {
    scores[label] = similarities[k] as number;
  });
  return { id, label: labels[argmax(similarities)] as string, scores };
}

function checkClassifyShapes(
  textVectors: readonly Float32Array[],
  labelVectors: readonly Float32Array[],
  labels: readonly string[],
  ids: readonly string[],
): void {
  if (labelVectors.length !== labels.length) {
    throw new RangeError(`Got ${labelVectors.length} label vectors for ${labels.length} labels.`);
  }
  if (ids.length !== textVectors.length) {
    throw new RangeError(`Got ${ids.length} ids for ${textVectors.length} text vectors.`);
  }
}

/**
 * Classifies each text vector by its most similar label vector. Scores are the cosine per label.
 * @param labelVectors One (averaged) vector per label, in `labels` order.
 * @param ids The example id of each text vector.
 */
export function classifyBySimilarity(
  textVectors: readonly Float32Array[],
  labelVectors: readonly Float32Array[],
  labels: readonly string[],
  ids: readonly string[],
): Prediction[] {
  checkClassifyShapes(textVectors, labelVectors, labels, ids);
  const labelNorms = labelVectors.map(squaredNorm);
  return textVectors.map((vector, i) =>
    classifyOne(vector, ids[i] as string, labelVectors, labelNorms, labels),
  );
}

/**
 * {@link classifyBySimilarity}, the same predictions, computed in slices of at most about `sliceMs` with a new
 * task before each (as the bootstrap, `bootstrapIntervalsCooperative`): on the app's main thread scoring a large
 * test split never blocks input or painting for long.
 * @throws RangeError (as a rejection) like classifyBySimilarity.
 */
export async function classifyBySimilarityCooperative(
  textVectors: readonly Float32Array[],
  labelVectors: readonly Float32Array[],
  labels: readonly string[],
  ids: readonly string[],
  sliceMs = COOPERATIVE_SLICE_MS,
): Promise<Prediction[]> {
  checkClassifyShapes(textVectors, labelVectors, labels, ids);
  const labelNorms = labelVectors.map(squaredNorm);
  const predictions: Prediction[] = [];
  while (predictions.length < textVectors.length) {
    await nextTask();
    const sliceEnd = performance.now() + sliceMs;
    do {
      const i = predictions.length;
      predictions.push(
        classifyOne(textVectors[i] as Float32Array, ids[i] as string, labelVectors, labelNorms, labels),
      );
    } while (predictions.length < textVectors.length && performance.now() < sliceEnd);
  }
  return predictions;
}
