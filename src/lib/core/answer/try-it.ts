/**
 * @file Try it: classify one new sentence with every scored run. A similarity prompt keeps its label vectors, a
 * head its trained weights (`SerializedHead`), each with the embedding it reads; the caller embeds the sentence
 * once per distinct embedding ({@link embeddingRequests}) and {@link predictAll} scores it. A strategy that cannot
 * reuse a kept state this way (NLI, instruction prompts, …) registers as `on-demand` with its own `run`, so it
 * plugs in without touching this file.
 */
import type { EmbedOptions, SerializedHead } from '../ports.ts';
import { applyTextTemplate, argmax, cosine } from '../prompts/similarity.ts';
import { emptyRecord } from '../records.ts';
import type { RunResult } from '../experiment/types.ts';

interface PredictorBase {
  /** The run's name and kind, as in the results. */
  name: string;
  kind: RunResult['kind'];
  /** The model reference whose embeddings the predictor reads. */
  model: string;
  labels: readonly string[];
}

/** A similarity prompt: cosine between the sentence's embedding and each label's averaged vector. */
export interface SimilarityPredictor extends PredictorBase {
  method: 'similarity';
  textTemplate?: string | undefined;
  embedding: EmbedOptions;
  labelVectors: readonly Float32Array[];
}

/** A trained head on frozen features of one layer and pooling. */
export interface HeadPredictor extends PredictorBase {
  method: 'head';
  embedding: EmbedOptions;
  head: SerializedHead;
}

/** Any other strategy: scores a sentence itself, when the user asks (it may be slow). */
export interface OnDemandPredictor extends PredictorBase {
  method: 'on-demand';
  /** Why it is not live, e.g. "NLI runs the model once per label". */
  reason: string;
  run(text: string, signal?: AbortSignal): Promise<Record<string, number>>;
}

export type TryItPredictor = SimilarityPredictor | HeadPredictor | OnDemandPredictor;

/** One run's answer for the sentence. */
export interface TryItResult {
  name: string;
  kind: RunResult['kind'];
  /** The predicted label; absent when the run was not scored live. */
  label?: string;
  /** Score per label (null-prototype record): cosine similarities for prompts, probabilities for heads. */
  scores?: Record<string, number>;
  /** Why there is no live prediction (on demand, another model loaded). */
  note?: string;
}

/** One embedding of the sentence that some predictors read. */
export interface EmbeddingRequest {
  key: string;
  /** The sentence with the prompt's text template applied. */
  text: string;
  options: EmbedOptions;
}

function requestKey(text: string, options: EmbedOptions): string {
  return JSON.stringify([text, options.layer, options.pooling]);
}

function requestOf(predictor: SimilarityPredictor | HeadPredictor, sentence: string): EmbeddingRequest {
  const text =
    predictor.method === 'similarity' ? applyTextTemplate(predictor.textTemplate, sentence) : sentence;
  return { key: requestKey(text, predictor.embedding), text, options: predictor.embedding };
}

/**
 * The distinct embeddings of `sentence` that the live predictors on `model` need (one per text template and
 * layer/pooling), so the caller runs the encoder as few times as possible.
 */
export function embeddingRequests(
  sentence: string,
  predictors: readonly TryItPredictor[],
  model: string,
): EmbeddingRequest[] {
  const requests = new Map<string, EmbeddingRequest>();
  for (const predictor of predictors) {
    if (predictor.method === 'on-demand' || predictor.model !== model) continue;
    const request = requestOf(predictor, sentence);
    requests.set(request.key, request);
  }
  return [...requests.values()];
}

/**
 * A head's class probabilities for one feature vector: each layer is `x·K + b` (kernel row-major
 * `[inputs, outputs]`), ReLU between layers and softmax at the end, as the trainer builds it.
 * @throws RangeError when the vector or a layer does not fit the head's shapes.
 */
export function headProbabilities(head: SerializedHead, features: Float32Array): number[] {
  if (features.length !== head.inputSize) {
    throw new RangeError(`The head reads ${head.inputSize} features, got ${features.length}.`);
  }
  let x: ArrayLike<number> = features;
  head.layers.forEach((layer, index) => {
    const [rows, columns] = layer.kernelShape;
    if (rows !== x.length || layer.kernel.length !== rows * columns || layer.bias.length !== columns) {
      throw new RangeError(
        `Head layer ${index} does not fit: kernel [${rows}, ${columns}], input ${x.length}.`,
      );
    }
    const out = new Array<number>(columns);
    for (let j = 0; j < columns; j++) {
      let sum = layer.bias[j] as number;
      for (let i = 0; i < rows; i++) sum += (x[i] as number) * (layer.kernel[i * columns + j] as number);
      out[j] = index < head.layers.length - 1 ? Math.max(0, sum) : sum;
    }
    x = out;
  });
  const logits = Array.from(x);
  const top = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - top));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

function labelled(
  labels: readonly string[],
  values: readonly number[],
): { label: string; scores: Record<string, number> } {
  const scores = emptyRecord<number>();
  labels.forEach((label, k) => {
    scores[label] = values[k] as number;
  });
  return { label: labels[argmax(values)] as string, scores };
}

/**
 * Scores `sentence` with every predictor whose embedding is in `embeddings` (by {@link EmbeddingRequest} key).
 * Predictors on another model, or on demand, get a note instead of a prediction.
 */
export function predictAll(
  sentence: string,
  predictors: readonly TryItPredictor[],
  model: string,
  embeddings: ReadonlyMap<string, Float32Array>,
): TryItResult[] {
  return predictors.map((predictor): TryItResult => {
    const { name, kind } = predictor;
    if (predictor.method === 'on-demand') return { name, kind, note: `Run on demand: ${predictor.reason}.` };
    if (predictor.model !== model) {
      return {
        name,
        kind,
        note: `Load "${predictor.model}" to try this run: it reads that model's embeddings.`,
      };
    }
    const vector = embeddings.get(requestOf(predictor, sentence).key);
    if (!vector) return { name, kind, note: 'Not embedded yet.' };
    const values =
      predictor.method === 'similarity'
        ? predictor.labelVectors.map((labelVector) => cosine(vector, labelVector))
        : headProbabilities(predictor.head, vector);
    return { name, kind, ...labelled(predictor.labels, values) };
  });
}
