/**
 * @file The layer stack a head choice makes, and what it costs, before training: which layers stay frozen, which
 * are trained with the head (`unfreeze`), which are not used above the feature layer; parameters updated, memory
 * of the cached token states and an estimated training time. Pure: the fine-tune lab draws it.
 */

/** Float32 bytes per cached value. */
const BYTES_PER_VALUE = 4;
/**
 * Arithmetic throughput assumed for the time estimate when none was measured: tfjs's single-threaded WASM backend
 * on a laptop core, about 2 GFLOP/s on these matrix sizes. An estimate to compare choices, not a promise.
 */
export const ASSUMED_FLOPS_PER_SECOND = 2e9;
/** A training step (forward + backward) costs about three forward passes. */
const TRAIN_PASSES = 3;

/** One transformer layer of the stack, bottom (1) to top (numLayers). */
export interface StackLayer {
  /** Hidden-state index of the layer's output (1..numLayers). */
  index: number;
  role: 'frozen' | 'trained' | 'unused';
  parameters: number;
}

/** A head choice drawn as a stack, with its cost. */
export interface LayerStackPlan {
  /** Bottom to top. */
  layers: StackLayer[];
  headParameters: number;
  /** Head + trained layers. */
  parametersUpdated: number;
  /** Memory of the cached inputs: token states of the layer below the trained ones, or one vector per text. */
  cachedBytes: number;
  /** Estimated training time for all epochs, at {@link LayerStackPlan.flopsPerSecond}. */
  estimatedTrainMs: number;
  /** The rate the estimate assumes: the measured one when given, else {@link ASSUMED_FLOPS_PER_SECOND}. */
  flopsPerSecond: number;
  /** Whether that rate was measured on this machine. */
  measuredRate: boolean;
  /** Whether per-layer parameter counts are estimated from the hidden size (no exact counts given). */
  estimatedParameters: boolean;
}

/** What {@link planLayerStack} reads. */
export interface LayerStackInput {
  numLayers: number;
  /** Width of the hidden states. */
  hiddenSize: number;
  /** Exact parameters of each layer (bottom first), when known from the model file. */
  layerParameters?: readonly number[];
  /** The head's feature layer, resolved to 0..numLayers. */
  featureLayer: number;
  unfreeze: number;
  /** Head hidden units (0 = linear). */
  hidden: number;
  numClasses: number;
  trainTexts: number;
  /** Test texts: their token states (or vectors) are cached too. Default 0. */
  testTexts?: number;
  /** Measured arithmetic rate (FLOP/s) on this machine, e.g. the encoder's; absent uses the assumed one. */
  flopsPerSecond?: number;
  /** Average tokens per text after the cap. */
  tokensPerText: number;
  epochs: number;
}

/** A BERT-style layer with a 4× feed-forward: attention 4(H² + H), two norms 4H, feed-forward 8H² + 5H. */
export function estimatedLayerParameters(hiddenSize: number): number {
  return 12 * hiddenSize * hiddenSize + 13 * hiddenSize;
}

/** The parameters of a linear (hidden 0) or one-hidden-layer head. */
export function headParameters(inputSize: number, hidden: number, numClasses: number): number {
  return hidden > 0
    ? inputSize * hidden + hidden + hidden * numClasses + numClasses
    : inputSize * numClasses + numClasses;
}

/** Plans the stack; `unfreeze` is clamped to 0..featureLayer. */
export function planLayerStack(input: LayerStackInput): LayerStackPlan {
  const unfreeze = Math.max(0, Math.min(input.unfreeze, input.featureLayer));
  const estimated = input.layerParameters?.length !== input.numLayers;
  const layers: StackLayer[] = Array.from({ length: input.numLayers }, (_, i) => {
    const index = i + 1;
    const role =
      index > input.featureLayer ? 'unused' : index > input.featureLayer - unfreeze ? 'trained' : 'frozen';
    const parameters = estimated
      ? estimatedLayerParameters(input.hiddenSize)
      : (input.layerParameters?.[i] ?? 0);
    return { index, role, parameters };
  });
  const head = headParameters(input.hiddenSize, input.hidden, input.numClasses);
  const trained = layers
    .filter((layer) => layer.role === 'trained')
    .reduce((sum, l) => sum + l.parameters, 0);
  const tokens = input.trainTexts * input.tokensPerText;
  const cachedTexts = input.trainTexts + (input.testTexts ?? 0);
  const cachedBytes =
    (unfreeze > 0 ? cachedTexts * input.tokensPerText : cachedTexts) * input.hiddenSize * BYTES_PER_VALUE;
  // Two FLOPs per parameter per token through the trained layers, per text through the head.
  const flops = input.epochs * TRAIN_PASSES * (2 * trained * tokens + 2 * head * input.trainTexts);
  const measured = input.flopsPerSecond !== undefined && input.flopsPerSecond > 0;
  const rate = measured ? (input.flopsPerSecond as number) : ASSUMED_FLOPS_PER_SECOND;
  return {
    layers,
    headParameters: head,
    parametersUpdated: head + trained,
    cachedBytes,
    estimatedTrainMs: (flops / rate) * 1000,
    flopsPerSecond: rate,
    measuredRate: measured,
    estimatedParameters: estimated,
  };
}
