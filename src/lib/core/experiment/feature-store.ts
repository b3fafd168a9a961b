/**
 * @file Vectors kept across runs and page loads, one per text: the orchestrator's optional `store` port and the
 * two functions that read through it. A vector is stored under what it depends on — the model (its id and the
 * SHA-256 of its weights file), the dtype, the layer (0..numLayers), the pooling — and the hash of the text the
 * model read (after any text template, so the template is part of the key), so overlapping datasets share
 * vectors and only texts never seen run through the encoder. A store that fails never fails a run: its error is
 * reported and the vectors are computed as if nothing was stored.
 */
import type { EmbedOptions, Encoder } from '../ports.ts';
import { resolveLayer } from './layers.ts';
import { timedEmbed, type TimedVectors } from './run.ts';
import type { Pooling } from './types.ts';

/** Everything a stored vector depends on besides its text. */
export interface FeatureScope {
  modelId: string;
  /** SHA-256 of the model's weights file (see `Encoder.weightsHash`). */
  weightsHash: string;
  dtype: Encoder['dtype'];
  /** Hidden-state index 0..numLayers (never negative: -1 and numLayers share vectors). */
  layer: number;
  pooling: Pooling;
}

/** A stored vector and the encoder time it took (its share of the batch that computed it). */
export interface StoredVector {
  vector: Float32Array;
  ms: number;
}

/** Vectors per text in some persistent place (IndexedDB in the browser: storage/feature-cache.ts). */
export interface FeatureStore {
  /** The stored vector of each text (as the model reads it), in order; undefined where none is stored. */
  get(scope: FeatureScope, texts: readonly string[]): Promise<(StoredVector | undefined)[]>;
  /** Stores one vector per text; may keep only some (a full budget or quota), never throws for that. */
  put(scope: FeatureScope, texts: readonly string[], vectors: readonly StoredVector[]): Promise<void>;
}

/** A store and where its failures go. */
export interface StoreBinding {
  store?: FeatureStore;
  /** A store that threw; the run went on without it. */
  onStoreError?(error: unknown): void;
}

/** The scope of `encoder`'s vectors of one layer, or undefined when they cannot be stored (no weights hash). */
export function featureScope(
  encoder: Pick<Encoder, 'modelId' | 'weightsHash' | 'dtype' | 'numLayers'>,
  layer: number,
  pooling: Pooling,
): FeatureScope | undefined {
  if (encoder.weightsHash === undefined) return undefined;
  return {
    modelId: encoder.modelId,
    weightsHash: encoder.weightsHash,
    dtype: encoder.dtype,
    layer: resolveLayer(layer, encoder.numLayers, encoder.modelId),
    pooling,
  };
}

/** Stored vectors, or none when the store failed (reported). */
async function lookUp(
  binding: StoreBinding,
  store: FeatureStore,
  scope: FeatureScope,
  texts: readonly string[],
): Promise<(StoredVector | undefined)[]> {
  try {
    const found = await store.get(scope, texts);
    if (found.length === texts.length) return found;
    throw new Error(`The feature store returned ${found.length} entries for ${texts.length} texts.`);
  } catch (error) {
    binding.onStoreError?.(error);
    return texts.map(() => undefined);
  }
}

async function keep(
  binding: StoreBinding,
  store: FeatureStore,
  scope: FeatureScope,
  texts: readonly string[],
  vectors: readonly StoredVector[],
): Promise<void> {
  if (texts.length === 0) return;
  try {
    await store.put(scope, texts, vectors);
  } catch (error) {
    binding.onStoreError?.(error);
  }
}

/** Stored vectors usable next to each other: all of one width (a corrupted or foreign entry is dropped). */
function consistent(
  found: (StoredVector | undefined)[],
  width: number | undefined,
): (StoredVector | undefined)[] {
  const widths = new Map<number, number>();
  for (const entry of found)
    if (entry) widths.set(entry.vector.length, (widths.get(entry.vector.length) ?? 0) + 1);
  const common = width ?? [...widths].sort((a, b) => b[1] - a[1])[0]?.[0];
  return found.map((entry) =>
    entry && entry.vector.length === common && entry.vector.length > 0 && Number.isFinite(entry.ms)
      ? entry
      : undefined,
  );
}

/**
 * Like {@link timedEmbed}, reading and filling `binding.store`: only texts with no stored vector run through the
 * encoder (in one call). `ms` is the encoder time of every vector returned, stored ones included (each keeps
 * its share of the batch that computed it), so a run's costs do not depend on what was cached.
 */
export async function storedEmbed(
  encoder: Encoder,
  texts: readonly string[],
  options: EmbedOptions,
  now: () => number,
  binding: StoreBinding,
): Promise<TimedVectors> {
  const store = binding.store;
  const scope = store === undefined ? undefined : featureScope(encoder, options.layer, options.pooling);
  if (store === undefined || scope === undefined || texts.length === 0) {
    return timedEmbed(encoder, texts, options, now);
  }
  const found = consistent(await lookUp(binding, store, scope, texts), undefined);
  const missing = texts.flatMap((_, index) => (found[index] === undefined ? [index] : []));
  let computed: TimedVectors = { vectors: [], ms: 0 };
  if (missing.length > 0) {
    computed = await timedEmbed(
      encoder,
      missing.map((index) => texts[index] as string),
      options,
      now,
    );
  }
  return merge(binding, store, scope, texts, found, missing, computed);
}

/** Stored and computed vectors in text order; computed ones are stored (a mismatch recomputes nothing). */
async function merge(
  binding: StoreBinding,
  store: FeatureStore,
  scope: FeatureScope,
  texts: readonly string[],
  found: (StoredVector | undefined)[],
  missing: readonly number[],
  computed: TimedVectors,
): Promise<TimedVectors> {
  const share = missing.length === 0 ? 0 : computed.ms / missing.length;
  const fresh = computed.vectors.map((vector) => ({ vector, ms: share }));
  const entries = [...found];
  missing.forEach((index, k) => {
    entries[index] = fresh[k];
  });
  const width = fresh[0]?.vector.length;
  if (width !== undefined && found.some((entry) => entry !== undefined && entry.vector.length !== width)) {
    throw new Error(
      `Stored features of ${scope.modelId} (layer ${scope.layer}, ${scope.pooling}) do not match the model's ` +
        `width ${width}: clear the feature cache and run again.`,
    );
  }
  await keep(
    binding,
    store,
    scope,
    missing.map((index) => texts[index] as string),
    fresh,
  );
  const vectors = entries.map((entry) => (entry as StoredVector).vector);
  const ms = entries.reduce((sum, entry) => sum + (entry as StoredVector).ms, 0);
  return { vectors, ms };
}

/**
 * Vectors of every layer in `layers` for `texts`, reading and filling `binding.store`. Texts missing any layer
 * run through the encoder once: with `embedLayers` one forward pass gives all their layers; an encoder without
 * it is asked once per layer that is missing.
 * @returns one TimedVectors per layer, in `layers` order.
 */
export async function storedEmbedLayers(
  encoder: Encoder,
  texts: readonly string[],
  layers: readonly number[],
  pooling: Pooling,
  now: () => number,
  binding: StoreBinding,
): Promise<TimedVectors[]> {
  const store = binding.store;
  const scopes = layers.map((layer) =>
    store === undefined ? undefined : featureScope(encoder, layer, pooling),
  );
  const found = await Promise.all(
    scopes.map(async (scope) =>
      store === undefined || scope === undefined
        ? texts.map(() => undefined)
        : consistent(await lookUp(binding, store, scope, texts), undefined),
    ),
  );
  const missingPerLayer = found.map((entries) =>
    texts.flatMap((_, index) => (entries[index] === undefined ? [index] : [])),
  );
  const wanted = layers.flatMap((layer, k) => ((missingPerLayer[k]?.length ?? 0) > 0 ? [layer] : []));
  const computedPerLayer = new Map<number, TimedVectors>();
  const union = [...new Set(missingPerLayer.flat())].sort((a, b) => a - b);
  if (wanted.length > 0) {
    const unionTexts = union.map((index) => texts[index] as string);
    if (encoder.embedLayers !== undefined) {
      const start = now();
      const perLayer = await encoder.embedLayers(unionTexts, [...wanted], pooling);
      const ms = (now() - start) / wanted.length;
      if (perLayer.length !== wanted.length || perLayer.some((vectors) => vectors.length !== union.length)) {
        throw new Error(
          `Encoder "${encoder.modelId}" returned the wrong number of vectors for ${wanted.length} layers of ` +
            `${union.length} texts.`,
        );
      }
      wanted.forEach((layer, k) =>
        computedPerLayer.set(layer, { vectors: perLayer[k] as Float32Array[], ms }),
      );
    } else {
      for (const layer of wanted) {
        computedPerLayer.set(layer, await timedEmbed(encoder, unionTexts, { layer, pooling }, now));
      }
    }
  }
  const results: TimedVectors[] = [];
  for (const [k, layer] of layers.entries()) {
    const entries = found[k] as (StoredVector | undefined)[];
    const missing = missingPerLayer[k] as number[];
    const computed = computedPerLayer.get(layer);
    // The union's vectors, narrowed to the texts this layer misses.
    const position = new Map(union.map((index, row) => [index, row]));
    const share: TimedVectors =
      computed === undefined
        ? { vectors: [], ms: 0 }
        : {
            vectors: missing.map((index) => computed.vectors[position.get(index) as number] as Float32Array),
            ms: (computed.ms * missing.length) / Math.max(1, union.length),
          };
    const scope = scopes[k];
    if (store === undefined || scope === undefined) {
      results.push(share);
      continue;
    }
    results.push(await merge(binding, store, scope, texts, entries, missing, share));
  }
  return results;
}

/** Texts and the one output (layer and pooling) wanted for each of them: a request of {@link storedEmbedOutputs}. */
export interface OutputRequest {
  texts: readonly string[];
  options: EmbedOptions;
}

/** One distinct output of a set of requests, its distinct texts, and the vector of each once known. */
interface OutputPlan {
  options: EmbedOptions;
  scope: FeatureScope | undefined;
  texts: string[];
  vectors: Map<string, StoredVector>;
  fresh: string[];
}

/**
 * The vectors of several requests with each distinct text run through the encoder ONCE: requests naming the same
 * layer (-1 and numLayers alike) and pooling share vectors, a text several outputs need gets them all from one
 * forward pass (`embedOutputs`; an encoder without it is asked once per output, each text once per output), and
 * texts `binding.store` already holds are not run at all. Each text's vector costs its share of the call that
 * computed it (a stored one keeps its recorded share), so `ms` is the encoder time of a request's texts.
 * @returns one TimedVectors per request, in request order.
 * @throws Error when the encoder returns the wrong number of vectors, or stored vectors have another width.
 */
export async function storedEmbedOutputs(
  encoder: Encoder,
  requests: readonly OutputRequest[],
  now: () => number,
  binding: StoreBinding,
): Promise<TimedVectors[]> {
  const store = binding.store;
  const outputs = new Map<string, OutputPlan>();
  const outputOf = requests.map(({ texts, options }) => {
    const layer = resolveLayer(options.layer, encoder.numLayers, encoder.modelId);
    const id = JSON.stringify([layer, options.pooling]);
    let output = outputs.get(id);
    if (output === undefined) {
      output = {
        // As the first request names it (-1 and numLayers read the same hidden state).
        options,
        scope: store === undefined ? undefined : featureScope(encoder, layer, options.pooling),
        texts: [],
        vectors: new Map(),
        fresh: [],
      };
      outputs.set(id, output);
    }
    output.texts.push(...texts);
    return output;
  });
  const plans = [...outputs.values()];
  for (const output of plans) {
    output.texts = [...new Set(output.texts)];
    if (store !== undefined && output.scope !== undefined) {
      const found = consistent(await lookUp(binding, store, output.scope, output.texts), undefined);
      found.forEach((entry, index) => {
        if (entry !== undefined) output.vectors.set(output.texts[index] as string, entry);
      });
    }
    output.fresh = output.texts.filter((text) => !output.vectors.has(text));
  }
  await computeMissing(encoder, plans, now);
  for (const output of plans) {
    const first = output.fresh[0];
    const width = first === undefined ? undefined : output.vectors.get(first)?.vector.length;
    if (width !== undefined && [...output.vectors.values()].some((entry) => entry.vector.length !== width)) {
      throw new Error(
        `Stored features of ${encoder.modelId} (layer ${output.options.layer}, ${output.options.pooling}) do not ` +
          `match the model's width ${width}: clear the feature cache and run again.`,
      );
    }
    if (store !== undefined && output.scope !== undefined) {
      const fresh = output.fresh.map((text) => output.vectors.get(text) as StoredVector);
      await keep(binding, store, output.scope, output.fresh, fresh);
    }
  }
  return requests.map(({ texts }, k) => {
    const vectors = (outputOf[k] as OutputPlan).vectors;
    const entries = texts.map((text) => vectors.get(text) as StoredVector);
    return {
      vectors: entries.map((entry) => entry.vector),
      ms: entries.reduce((sum, entry) => sum + entry.ms, 0),
    };
  });
}

/** Runs every output's fresh texts through the encoder, each text in one pass for all the outputs it needs. */
async function computeMissing(
  encoder: Encoder,
  plans: readonly OutputPlan[],
  now: () => number,
): Promise<void> {
  const embedOutputs = encoder.embedOutputs?.bind(encoder);
  if (embedOutputs === undefined) {
    for (const output of plans) {
      if (output.fresh.length === 0) continue;
      const { vectors, ms } = await timedEmbed(encoder, output.fresh, output.options, now);
      const share = ms / output.fresh.length;
      output.fresh.forEach((text, row) =>
        output.vectors.set(text, { vector: vectors[row] as Float32Array, ms: share }),
      );
    }
    return;
  }
  // Texts grouped by the set of outputs they need: one call per group, one pass per text.
  const groups = new Map<string, { outputs: OutputPlan[]; texts: string[] }>();
  const needs = new Map<string, number[]>();
  plans.forEach((output, k) => {
    for (const text of output.fresh) {
      const list = needs.get(text);
      if (list === undefined) needs.set(text, [k]);
      else list.push(k);
    }
  });
  for (const [text, indices] of needs) {
    const id = indices.join(',');
    let group = groups.get(id);
    if (group === undefined) {
      group = { outputs: indices.map((k) => plans[k] as OutputPlan), texts: [] };
      groups.set(id, group);
    }
    group.texts.push(text);
  }
  for (const { outputs, texts } of groups.values()) {
    const start = now();
    const perOutput = await embedOutputs(
      texts,
      outputs.map((output) => output.options),
    );
    const share = (now() - start) / texts.length;
    if (perOutput.length !== outputs.length || perOutput.some((vectors) => vectors.length !== texts.length)) {
      throw new Error(
        `Encoder "${encoder.modelId}" returned the wrong number of vectors for ${outputs.length} outputs of ` +
          `${texts.length} texts.`,
      );
    }
    outputs.forEach((output, k) => {
      const vectors = perOutput[k] as Float32Array[];
      texts.forEach((text, row) =>
        output.vectors.set(text, { vector: vectors[row] as Float32Array, ms: share }),
      );
    });
  }
}
