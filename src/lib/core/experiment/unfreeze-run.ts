/**
 * @file Runs a head with unfrozen layers (`unfreeze` N > 0): checks the request against the loaded model, caches
 * each text's token-level hidden states of the layer below the unfrozen ones (memory estimated and reported
 * first), trains through the {@link LayerTrainer} port and scores exactly like a head on frozen features.
 *
 * Scoring reuses `runHead` (shots per class, metrics, intervals, costs) through handles: each "feature vector" it
 * is given holds one number, the index of a text's token states in a table kept here, and the trainer adapter
 * turns handles back into token states. So both kinds of head are selected, trained and scored by the same code.
 */
import type {
  Encoder,
  HeadTrainer,
  LayerTrainer,
  SerializedHead,
  TextTokenStates,
  TrainedHead,
} from '../ports.ts';
import { ExperimentError } from '../errors.ts';
import { layerIndex } from './layers.ts';
import { runHead, type HeadRunInput } from './run.ts';
import { HEAD_SETTINGS, layerLearningRateOf } from './settings.ts';
import type { HeadSpec, RunResult } from './types.ts';

/** Bytes per cached value (float32). */
const BYTES_PER_VALUE = 4;

/** The cap on tokens per text a head uses. */
export function headTokenCap(spec: Pick<HeadSpec, 'maxTokens'>): number {
  return spec.maxTokens ?? HEAD_SETTINGS.maxTokens.whenMissing;
}

/** Unfrozen layers a head asks for (0 = head only). */
export function headUnfreeze(spec: Pick<HeadSpec, 'unfreeze'>): number {
  return spec.unfreeze ?? HEAD_SETTINGS.unfreeze.whenMissing;
}

/**
 * Memory of cached token states: every kept token's vector, float32.
 * @param tokenCounts Each text's token count before truncation.
 */
export function tokenStateBytes(tokenCounts: readonly number[], cap: number, width: number): number {
  return tokenCounts.reduce((sum, count) => sum + Math.min(count, cap), 0) * width * BYTES_PER_VALUE;
}

/** "12.3 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Checks a head's `unfreeze` against the loaded model before any work: N within 1..feature layer, a model file
 * that is not quantized, an encoder that returns token states and a trainer for the layers.
 * @throws ExperimentError at `path` (the head's `unfreeze`) saying what to change.
 */
export function checkHeadUnfreeze(
  spec: Pick<HeadSpec, 'unfreeze' | 'layer'>,
  encoder: Pick<Encoder, 'numLayers' | 'dtype' | 'embedTokens'>,
  trainer: LayerTrainer | undefined,
  model: string,
  path: string,
): void {
  const unfreeze = headUnfreeze(spec);
  if (unfreeze === 0) return;
  const layer = layerIndex(spec.layer, encoder.numLayers) ?? encoder.numLayers;
  if (unfreeze > layer) {
    throw new ExperimentError(
      path,
      `${unfreeze} layers cannot be unfrozen under feature layer ${layer} of ${model}: use 0..${layer} ` +
        '(layer 0 is the embeddings, with no layer below it).',
    );
  }
  if (encoder.dtype === 'q8') {
    throw new ExperimentError(
      path,
      `${model} is loaded quantized (q8): its int8 weights cannot be trained. Use fp32 (or fp16) to unfreeze ` +
        'layers, or unfreeze 0.',
    );
  }
  if (!encoder.embedTokens || !trainer) {
    throw new ExperimentError(
      path,
      'training unfrozen layers is not available here yet (it runs with `npm run experiment`); set it to 0 to ' +
        'train the head alone.',
    );
  }
}

/** Token states of a list of texts and the time it took. */
export interface TimedTokenStates {
  states: TextTokenStates[];
  ms: number;
}

/** Token states by what they depend on besides the split (model, layer below, token cap, side of the split). */
export type TokenStateCache = Map<string, Promise<TimedTokenStates>>;

/** What {@link runUnfrozenHead} needs. */
export interface UnfrozenHeadInput extends Omit<
  HeadRunInput,
  'trainFeatures' | 'testFeatures' | 'trainer' | 'featureMs'
> {
  model: string;
  encoder: Encoder;
  layerTrainer: LayerTrainer;
  /**
   * Token states by key, shared between heads and kept between runs on the same split (the feature cache's
   * `tokenStates`, emptied with it when the data changes).
   */
  cache: TokenStateCache;
  /** Told the estimated memory of the cached states before they are computed. */
  onProgress?(message: string): void;
}

/** The head's run, scored, and its weights (head + unfrozen layers); the head itself is already released. */
export interface UnfrozenHeadOutcome {
  run: RunResult;
  head: SerializedHead;
}

async function tokenStates(
  input: UnfrozenHeadInput,
  side: 'train' | 'test',
  fromLayer: number,
  cap: number,
): Promise<TimedTokenStates> {
  const key = JSON.stringify(['token-states', input.model, fromLayer, cap, side]);
  const cached = input.cache.get(key);
  if (cached) return cached;
  const examples = side === 'train' ? input.train : input.test;
  const texts = examples.map((example) => example.text);
  const compute = async (): Promise<TimedTokenStates> => {
    const start = input.now();
    const embedTokens = input.encoder.embedTokens?.bind(input.encoder);
    if (!embedTokens) throw new Error(`${input.model} cannot return token states.`);
    const states = await embedTokens(texts, { layer: fromLayer, maxTokens: cap });
    if (states.length !== texts.length) {
      throw new Error(`${input.model} returned token states for ${states.length} of ${texts.length} texts.`);
    }
    return { states, ms: input.now() - start };
  };
  const promise = compute();
  input.cache.set(key, promise);
  promise.catch(() => {
    if (input.cache.get(key) === promise) input.cache.delete(key);
  });
  return promise;
}

/**
 * Trains a head with its top `unfreeze` layers and scores it on the test split.
 * @throws ExperimentError / RangeError for a request the model does not allow; the trainer's errors.
 */
export async function runUnfrozenHead(input: UnfrozenHeadInput): Promise<UnfrozenHeadOutcome> {
  const { spec, encoder } = input;
  const featureLayer = layerIndex(spec.layer, encoder.numLayers) ?? encoder.numLayers;
  const unfreeze = headUnfreeze(spec);
  const fromLayer = featureLayer - unfreeze;
  const cap = Math.min(headTokenCap(spec), encoder.maxTokens);
  const counts = await encoder.countTokens([...input.train, ...input.test].map((example) => example.text));
  input.onProgress?.(
    `Caching token states of layer ${fromLayer} for ${counts.length} texts (at most ${cap} tokens each): about ` +
      `${formatBytes(tokenStateBytes(counts, cap, encoder.dimension))} at width ${encoder.dimension}`,
  );
  const train = await tokenStates(input, 'train', fromLayer, cap);
  input.signal?.throwIfAborted();
  const test = await tokenStates(input, 'test', fromLayer, cap);
  input.signal?.throwIfAborted();
  const width = train.states[0]?.width ?? encoder.dimension;
  const actual = [...train.states, ...test.states].reduce((sum, text) => sum + text.states.length, 0);
  input.onProgress?.(
    `Cached token states: ${formatBytes(actual * BYTES_PER_VALUE)} (width ${width}); training head ` +
      `"${spec.name}" with ${unfreeze} unfrozen layer${unfreeze === 1 ? '' : 's'}`,
  );

  // Handles: row i of the table is train text i, row train.length + j is test text j.
  const table = [...train.states, ...test.states];
  const handle = (index: number) => Float32Array.of(index);
  const fromHandles = (features: Float32Array[]) =>
    features.map((feature) => {
      const text = table[feature[0] ?? -1];
      if (!text) throw new RangeError(`No token states for handle ${String(feature[0])}.`);
      return text;
    });
  let serialized: SerializedHead | undefined;
  const trainer: HeadTrainer = {
    async train(features, labelIndices, numClasses, options, onEpoch, signal) {
      const trained = await input.layerTrainer.train(
        { model: input.model, featureLayer, unfreeze, pooling: spec.pooling },
        fromHandles(features),
        labelIndices,
        numClasses,
        { ...options, layerLearningRate: layerLearningRateOf(spec) },
        onEpoch,
        signal,
      );
      const head: TrainedHead = {
        parameterCount: trained.parameterCount,
        predict: (rows) => trained.predict(fromHandles(rows)),
        toJSON: () => trained.toJSON(),
        dispose: () => trained.dispose(),
      };
      return head;
    },
  };
  const { run, head } = await runHead({
    ...input,
    trainFeatures: train.states.map((_, index) => handle(index)),
    testFeatures: test.states.map((_, index) => handle(train.states.length + index)),
    trainer,
    featureMs: { train: train.ms, test: test.ms },
  });
  try {
    serialized = head.toJSON();
  } finally {
    head.dispose();
  }
  return { run, head: serialized };
}
