/**
 * @file The top N transformer layers of an ONNX encoder as trainable TensorFlow.js computation: fed the cached
 * hidden states of the layer below them (and the attention mask), they compute the feature layer's hidden states
 * (or the model's own sentence embedding) with every weight of those layers a tfjs variable.
 */
import * as tf from '@tensorflow/tfjs';
import type { Pooling } from '../../core/experiment/types.ts';
import { elementTypes } from '../onnx-graph/element-types.ts';
import { layerOutputsOfGraph } from '../onnx-graph/layer-outputs.ts';
import { decodeGraph, type GraphProto } from '../onnx-graph/model-proto.ts';
import { SENTENCE_EMBEDDING_OUTPUT_NAME } from './names.ts';
import { compileSubgraph, type CompiledSubgraph } from './onnx-tfjs.ts';
import { UntrainableModelError } from './onnx-tensors.ts';

/** Which layers to unfreeze. */
export interface TopLayersOptions {
  /** The head's feature layer, resolved: 1..numLayers (hidden state index; 0 = embeddings has no layer below). */
  featureLayer: number;
  /** How many layers under the feature layer to train, 1..featureLayer. */
  unfreeze: number;
  pooling: Pooling;
  /** Named in errors, e.g. 'universal-sentence-encoder-lite'. */
  modelId: string;
}

/** A padded batch of cached states: `[B, T, width]` float states, `[B, T]` int32 mask (1 real, 0 padding). */
export interface StatesBatch {
  states: tf.Tensor3D;
  mask: tf.Tensor2D;
  /** Token ids `[B, T]`, for graphs that read `input_ids` in their layers (e.g. for its shape). */
  ids?: tf.Tensor2D;
}

/** The unfrozen layers of one model. */
export interface TopLayers {
  /** Hidden-state index fed in (the layer below the unfrozen ones). */
  readonly fromLayer: number;
  /** Hidden-state index computed (the head's feature layer). */
  readonly toLayer: number;
  /** Total layers of the model. */
  readonly numLayers: number;
  /** Values in the trained weights of the unfrozen layers (every weight matrix, bias, norm scale and shift). */
  readonly parameterCount: number;
  /** The trainable variables, by ONNX initializer name. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** The transformer layer (scope index, fromLayer..toLayer - 1) whose nodes read each variable. */
  readonly layerOf: ReadonlyMap<string, number>;
  /** The feature layer's hidden states `[B, T, H]`, or the sentence embedding `[B, H]` for pooling 'sentence'. */
  run(batch: StatesBatch): tf.Tensor;
  /** `run` followed by the pooling: one vector per text `[B, H]`. */
  features(batch: StatesBatch): tf.Tensor2D;
  dispose(): void;
}

/** Scope of one layer's nodes, e.g. `/encoder/layer.3/`. */
function layerScope(stackScope: string, layer: number): string {
  return `${stackScope}${layer}/`;
}

/** Masked pooling of `[B, T, H]` states, as pooling.ts computes it on the encoder's outputs. */
export function poolStates(states: tf.Tensor3D, mask: tf.Tensor2D, pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => {
    const maskFloat = tf.cast(mask, 'float32');
    if (pooling === 'cls') return tf.squeeze(tf.slice(states, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D;
    if (pooling === 'last') {
      const lastIndex = tf.cast(tf.sub(tf.sum(maskFloat, 1), 1), 'int32');
      const oneHot = tf.oneHot(tf.maximum(lastIndex, 0), states.shape[1]);
      return tf.sum(tf.mul(states, tf.expandDims(oneHot, 2)), 1) as tf.Tensor2D;
    }
    if (pooling !== 'mean')
      throw new RangeError(`Pooling "${pooling}" cannot be computed from token states.`);
    const summed = tf.sum(tf.mul(states, tf.expandDims(maskFloat, 2)), 1);
    const count = tf.maximum(tf.sum(maskFloat, 1, true), 1);
    return tf.div(summed, count) as tf.Tensor2D;
  });
}

function outputNames(graph: GraphProto): Set<string> {
  return new Set((graph.output ?? []).map((output) => output.name ?? ''));
}

/**
 * Builds the unfrozen layers from an ONNX model (fp32 or fp16; a quantized file is refused with the reason).
 * @throws RangeError for a feature layer or N the model does not allow; UntrainableModelError when the layers
 *   cannot be read or run (quantized, no layer scopes, unknown operators).
 */
export function buildTopLayers(modelBytes: Uint8Array, options: TopLayersOptions): TopLayers {
  return buildTopLayersOfGraph(decodeGraph(modelBytes), options);
}

/** {@link buildTopLayers} on an already decoded graph. */
export function buildTopLayersOfGraph(graph: GraphProto, options: TopLayersOptions): TopLayers {
  const { featureLayer, unfreeze, pooling, modelId } = options;
  let found: ReturnType<typeof layerOutputsOfGraph>;
  try {
    found = layerOutputsOfGraph(graph, elementTypes(graph));
  } catch (error) {
    throw new UntrainableModelError(
      `${modelId}: cannot find its transformer layers to unfreeze: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const { numLayers, stackScope, hiddenStates } = found;
  if (!Number.isInteger(featureLayer) || featureLayer < 0 || featureLayer > numLayers) {
    throw new RangeError(
      `${modelId} has hidden states 0..${numLayers}; feature layer ${featureLayer} is not one.`,
    );
  }
  if (!Number.isInteger(unfreeze) || unfreeze < 1 || unfreeze > featureLayer) {
    throw new RangeError(
      `unfreeze must be 1..${featureLayer} with feature layer ${featureLayer} of ${modelId} (the layers under ` +
        `it), got ${String(unfreeze)}.`,
    );
  }
  const fromLayer = featureLayer - unfreeze;
  const outputs = outputNames(graph);
  let output: string;
  if (pooling === 'sentence') {
    if (!outputs.has(SENTENCE_EMBEDDING_OUTPUT_NAME) || featureLayer !== numLayers) {
      throw new RangeError(
        `${modelId}: pooling "sentence" needs a model with a "${SENTENCE_EMBEDDING_OUTPUT_NAME}" output and ` +
          `the last layer (${numLayers}).`,
      );
    }
    output = SENTENCE_EMBEDDING_OUTPUT_NAME;
  } else {
    output =
      featureLayer === numLayers && outputs.has('last_hidden_state')
        ? 'last_hidden_state'
        : (hiddenStates[featureLayer] ?? '');
  }
  const trainedScopes = Array.from({ length: unfreeze }, (_, i) => layerScope(stackScope, fromLayer + i));
  const trainedLayerOf = (nodeName: string) => {
    const index = trainedScopes.findIndex((scope) => nodeName.startsWith(scope));
    return index < 0 ? undefined : fromLayer + index;
  };
  const layerOf = new Map<string, number>();
  const fedState = hiddenStates[fromLayer] ?? '';
  const subgraph: CompiledSubgraph = compileSubgraph(graph, {
    feeds: [fedState, 'attention_mask', 'input_ids', 'token_type_ids'],
    output,
    // A layer's parameters: float initializers of more than one value read by its nodes. Scalars (√d, ε, −1e4)
    // are constants of the architecture, not weights.
    isTrainable: (name, consumers) => {
      const initializer = (graph.initializer ?? []).find((tensor) => tensor.name === name);
      const size = (initializer?.dims ?? []).reduce<number>((product, dim) => product * Number(dim), 1);
      if (size <= 1) return false;
      // The first unfrozen layer reading it owns it (a weight shared by two layers is stored once).
      const layers = consumers
        .map((node) => trainedLayerOf(node.name ?? ''))
        .filter((layer) => layer !== undefined);
      if (layers.length === 0) return false;
      layerOf.set(name, Math.min(...layers));
      return true;
    },
  });
  if (subgraph.trainableCount === 0) {
    subgraph.dispose();
    throw new UntrainableModelError(`${modelId}: no weights found in ${trainedScopes.join(', ')}.`);
  }

  const run = (batch: StatesBatch): tf.Tensor => {
    const feeds = new Map<string, tf.Tensor>([
      [fedState, batch.states],
      ['attention_mask', batch.mask],
    ]);
    if (batch.ids) feeds.set('input_ids', batch.ids);
    else if (subgraph.reads.includes('input_ids')) feeds.set('input_ids', tf.zerosLike(batch.mask));
    if (subgraph.reads.includes('token_type_ids')) feeds.set('token_type_ids', tf.zerosLike(batch.mask));
    return subgraph.run(feeds);
  };
  return {
    fromLayer,
    toLayer: featureLayer,
    numLayers,
    parameterCount: subgraph.trainableCount,
    variables: subgraph.variables,
    layerOf,
    run,
    features(batch) {
      const out = run(batch);
      if (pooling === 'sentence') return out as tf.Tensor2D;
      return poolStates(out as tf.Tensor3D, batch.mask, pooling);
    },
    dispose: () => subgraph.dispose(),
  };
}

/** Weight values as plain numbers (a head file, the core's `SerializedHead`) or as sent between threads. */
export type WeightValues = readonly number[] | Float32Array;

/** The core's `UnfrozenLayersWeights`, whose values may also be Float32Arrays (a packed head from another thread). */
export interface UnfrozenWeightsInput {
  fromLayer: number;
  toLayer: number;
  weights: readonly { name: string; shape: readonly number[]; values: WeightValues; layer?: number }[];
}

/** Whether every value is a finite number (a loop: no copy of millions of values). */
export function allFinite(values: WeightValues): boolean {
  for (let index = 0; index < values.length; index++) {
    if (!Number.isFinite(values[index])) return false;
  }
  return true;
}

/**
 * Puts saved weights (a head file's `unfrozen`, or a packed head's) into freshly built layers of the same model and
 * layers.
 * @throws TypeError naming the first weight that is missing, extra, of another shape or not finite, or layers that
 *   differ from the saved ones.
 */
export function loadUnfrozenWeights(layers: TopLayers, saved: UnfrozenWeightsInput): void {
  const fail = (detail: string): never => {
    throw new TypeError(`Invalid unfrozen layers: ${detail}`);
  };
  if (saved.fromLayer !== layers.fromLayer || saved.toLayer !== layers.toLayer) {
    fail(
      `they were trained from layer ${saved.fromLayer} to ${saved.toLayer}, but these layers run from ` +
        `${layers.fromLayer} to ${layers.toLayer}.`,
    );
  }
  const byName = new Map(saved.weights.map((weight) => [weight.name, weight]));
  for (const name of byName.keys()) {
    if (!layers.variables.has(name)) fail(`the model has no weight "${name}" in these layers.`);
  }
  for (const [name, variable] of layers.variables) {
    const weight = byName.get(name) ?? fail(`weight "${name}" is missing.`);
    const layer = layers.layerOf.get(name);
    if (weight.layer !== undefined && weight.layer !== layer) {
      fail(`weight "${name}" was stored with layer ${weight.layer}, but layer ${String(layer)} reads it.`);
    }
    const size = variable.shape.reduce((product, dim) => product * dim, 1);
    if (weight.shape.join(',') !== variable.shape.join(',') || weight.values.length !== size) {
      fail(
        `weight "${name}" has shape [${weight.shape.join(', ')}], the model's is [${variable.shape.join(', ')}].`,
      );
    }
    if (!allFinite(weight.values)) fail(`weight "${name}" holds non-finite values.`);
  }
  for (const [name, variable] of layers.variables) {
    const weight = byName.get(name) as UnfrozenWeightsInput['weights'][number];
    tf.tidy(() =>
      variable.assign(tf.tensor(weight.values as Float32Array | number[], [...weight.shape], 'float32')),
    );
  }
}
