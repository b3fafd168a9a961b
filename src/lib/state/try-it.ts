/**
 * @file What the try-it box keeps of each run the app scores (a prompt's label vectors, a head's weights) and
 * how it classifies a sentence with them through the loaded model. The scoring itself is the core's
 * (core/answer/try-it.ts).
 */
import {
  embeddingRequests,
  predictAll,
  type HeadPredictor,
  type OnDemandPredictor,
  type SimilarityPredictor,
  type TryItPredictor,
  type TryItResult,
} from '../core/answer/try-it.ts';
import { similarityEmbedding } from '../core/experiment/run.ts';
import type { HeadSpec, RunResult, SimilarityPrompt } from '../core/experiment/types.ts';
import type { SerializedHead } from '../core/ports.ts';
import { emptyRecord } from '../core/records.ts';
import type { ModelClient } from '../clients/ModelClient.svelte.ts';

/** A scored similarity prompt as a predictor; `sentenceEmbedding` says what the model it ran on compares. */
export function promptPredictor(
  prompt: SimilarityPrompt,
  experimentModel: string,
  labels: readonly string[],
  labelVectors: readonly Float32Array[],
  sentenceEmbedding: boolean,
): SimilarityPredictor {
  return {
    method: 'similarity',
    name: prompt.name,
    kind: 'prompt',
    model: prompt.model ?? experimentModel,
    labels: [...labels],
    textTemplate: prompt.textTemplate,
    embedding: similarityEmbedding({ sentenceEmbedding }),
    labelVectors: [...labelVectors],
  };
}

/** A trained head as a predictor, reading the layer and pooling it was trained on. */
export function headPredictor(
  spec: HeadSpec,
  model: string,
  labels: readonly string[],
  head: SerializedHead,
): HeadPredictor {
  return {
    method: 'head',
    name: spec.name,
    kind: 'head',
    model,
    labels: [...labels],
    embedding: { layer: spec.layer, pooling: spec.pooling },
    head,
  };
}

/**
 * A head trained with unfrozen layers as a predictor: a sentence goes through those layers (token states of the
 * layer below them) before the head, so it cannot reuse a pooled embedding and runs on demand through `classify`
 * (class probabilities in label order).
 */
export function unfrozenHeadPredictor(
  spec: HeadSpec,
  model: string,
  labels: readonly string[],
  classify: (text: string, signal?: AbortSignal) => Promise<number[]>,
): OnDemandPredictor {
  const unfreeze = spec.unfreeze ?? 0;
  return {
    method: 'on-demand',
    name: spec.name,
    kind: 'head',
    model,
    labels: [...labels],
    reason:
      `it runs the sentence through its ${unfreeze} trained layer${unfreeze === 1 ? '' : 's'} ` +
      'in the head worker',
    async run(text, signal) {
      const probabilities = await classify(text, signal);
      const scores = emptyRecord<number>();
      labels.forEach((label, index) => {
        scores[label] = probabilities[index] ?? Number.NaN;
      });
      return scores;
    },
  };
}

/** `predictors` with `predictor` in place of any earlier one of the same run. */
export function withPredictor(
  predictors: readonly TryItPredictor[],
  predictor: TryItPredictor,
): TryItPredictor[] {
  return [
    ...predictors.filter((other) => !(other.kind === predictor.kind && other.name === predictor.name)),
    predictor,
  ];
}

/** The predictors of the runs shown, in the runs' order. */
export function predictorsOf(
  predictors: readonly TryItPredictor[],
  runs: readonly RunResult[],
): TryItPredictor[] {
  return runs
    .map((run) => predictors.find((predictor) => predictor.kind === run.kind && predictor.name === run.name))
    .filter((predictor) => predictor !== undefined);
}

/**
 * Classifies `sentence` with every predictor: embeds it once per distinct embedding with the loaded model, then
 * scores. Predictors on another model, or on demand, come back with a note.
 * @throws Error when no model is loaded, or the embedding fails or is cancelled.
 */
export async function tryText(
  client: ModelClient,
  predictors: readonly TryItPredictor[],
  sentence: string,
  signal?: AbortSignal,
): Promise<TryItResult[]> {
  const model = client.info?.modelId;
  if (!client.ready || model === undefined) {
    throw new Error('No model is loaded yet. Load a model in the Model section first.');
  }
  const embeddings = new Map<string, Float32Array>();
  for (const request of embeddingRequests(sentence, predictors, model)) {
    const [vector] = await client.embed([request.text], request.options, signal);
    if (vector) embeddings.set(request.key, vector);
  }
  return predictAll(sentence, predictors, model, embeddings);
}
