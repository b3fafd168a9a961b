/**
 * @file One encoder pass per text per experiment: before the prompts and heads on a model run, every vector they
 * will read from the feature cache for the dataset's own texts — the test texts of similarity prompts without a
 * text template and both sides of the split for each head's layer and pooling — is computed together, each
 * distinct text through the encoder once with every output it needs (feature-store.ts `storedEmbedOutputs`), and
 * put in the cache under the keys the runs read. A head then shares the test-text vectors a similarity prompt needs
 * too, and a second layer or pooling costs no second pass. Texts wrapped in a text template are no other run's
 * texts: each template's are embedded once by the first prompt that uses it (the cache shares them), so a "run
 * all" still finishes its variations one by one. When a call runs only part of an experiment (the app runs the
 * variations, then one head at a time), the pass also computes the other parts' vectors of the texts it runs
 * anyway (`requestsAhead`), so spreading the runs over calls costs no second pass. Token counts of a prompt's
 * texts are taken once per encoder (`countTokensOnce`), not once per variation.
 */
import type { Encoder } from '../ports.ts';
import { applyTextTemplate } from '../prompts/similarity.ts';
import { storedEmbedOutputs, type OutputRequest, type StoreBinding } from './feature-store.ts';
import type { FeatureCache, PlannedRun, PreparedData } from './orchestrator.ts';
import { similarityEmbedding, type TimedVectors } from './run.ts';

/** A request of the shared pass and the feature-cache key its vectors go under. */
export interface KeyedRequest extends OutputRequest {
  key: string;
}

/** Cache keys of a frozen head's features, train side then test side (the keys `trainHead` reads). */
export function headFeatureKeys(featureKey: string): [train: string, test: string] {
  return [`${featureKey}:train`, `${featureKey}:test`];
}

/**
 * What the runs on one model will read from the cache and it does not hold yet: similarity prompts' templated
 * test texts, and the train and test texts of heads on frozen features (`frozen` says which heads are).
 */
export function sharedRequests(
  runs: readonly PlannedRun[],
  data: PreparedData,
  encoder: Pick<Encoder, 'sentenceEmbedding'>,
  cache: FeatureCache,
  frozen: (run: Extract<PlannedRun, { kind: 'head' }>) => boolean,
): KeyedRequest[] {
  const requests = new Map<string, KeyedRequest>();
  const want = (key: string, texts: () => string[], options: OutputRequest['options']): void => {
    if (!requests.has(key) && cache.get(key) === undefined)
      requests.set(key, { key, texts: texts(), options });
  };
  const { train, test } = data.split;
  for (const run of runs) {
    if (run.kind === 'prompt') {
      if (run.strategy !== 'similarity' || run.textTemplate !== undefined) continue;
      want(
        run.embeddingKey,
        () => test.map((example) => applyTextTemplate(run.textTemplate, example.text)),
        similarityEmbedding(encoder),
      );
    } else if (frozen(run)) {
      const [trainKey, testKey] = headFeatureKeys(run.featureKey);
      want(trainKey, () => train.map((example) => example.text), run.options);
      want(testKey, () => test.map((example) => example.text), run.options);
    }
  }
  return [...requests.values()];
}

/**
 * The requests of `ahead` (runs of the same experiment not run in this call) whose texts the pass runs anyway
 * (every text is in one of `requests`) and that `requests` do not already fill: computing them costs no pass of
 * its own, only another output of the same forward pass, so a later run on them runs no text at all.
 */
export function requestsAhead(
  requests: readonly KeyedRequest[],
  ahead: readonly KeyedRequest[],
): KeyedRequest[] {
  const covered = new Set(requests.flatMap((request) => request.texts));
  const keys = new Set(requests.map((request) => request.key));
  return ahead.filter(
    (request) => !keys.has(request.key) && request.texts.every((text) => covered.has(text)),
  );
}

/**
 * Computes `requests` in one shared pass and puts each result in the cache under its key (removed again if the
 * pass fails, so a later run retries).
 * @returns the pass, settled once every key is filled or the pass failed.
 */
export function fillShared(
  encoder: Encoder,
  requests: readonly KeyedRequest[],
  cache: FeatureCache,
  now: () => number,
  binding: StoreBinding,
): Promise<TimedVectors[]> {
  const pass = storedEmbedOutputs(encoder, requests, now, binding);
  requests.forEach(({ key }, k) => {
    const entry = pass.then((results) => results[k] as TimedVectors);
    cache.set(key, entry);
    entry.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
  });
  return pass;
}

/** "Embedding 600 distinct texts once (layer 2 sentence, layer 2 mean) for 3 prompts and 2 heads". */
export function sharedPassMessage(
  requests: readonly OutputRequest[],
  runs: readonly PlannedRun[],
  numLayers: number,
): string {
  const texts = new Set(requests.flatMap((request) => request.texts)).size;
  const outputs = [
    ...new Set(
      requests.map(({ options }) => {
        const layer = options.layer < 0 ? numLayers + 1 + options.layer : options.layer;
        return `layer ${layer} ${options.pooling}`;
      }),
    ),
  ];
  const prompts = runs.filter((run) => run.kind === 'prompt').length;
  const heads = runs.length - prompts;
  const parts = [
    ...(prompts > 0 ? [`${prompts} prompt${prompts === 1 ? '' : 's'}`] : []),
    ...(heads > 0 ? [`${heads} head${heads === 1 ? '' : 's'}`] : []),
  ];
  return `Embedding ${texts} distinct texts once (${outputs.join(', ')}) for ${parts.join(' and ')}`;
}
