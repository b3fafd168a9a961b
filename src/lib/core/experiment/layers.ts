/**
 * @file The one reading of a head's `layer` against a model: hidden states run 0..numLayers (0 = the embeddings
 * output, numLayers = the last layer), and negative numbers count from the end (-1 = last, -(numLayers + 1) = 0).
 * The schema check, the model adapter and the layer picker all resolve layers here.
 */

/**
 * The hidden-state index 0..numLayers that `layer` names, or undefined when the model has no such layer
 * (out of range, or not a whole number).
 * @param numLayers The model's transformer layers.
 */
export function layerIndex(layer: number, numLayers: number): number | undefined {
  if (!Number.isInteger(layer)) return undefined;
  const index = layer < 0 ? numLayers + 1 + layer : layer;
  return index >= 0 && index <= numLayers ? index : undefined;
}

/**
 * The layers a model has, in words: "m has layers 0..4 (0 = embeddings output, 4 = last layer), or -1..-5
 * counting from the end."
 */
export function layerRangeText(numLayers: number, model: string): string {
  return (
    `${model} has layers 0..${numLayers} (0 = embeddings output, ${numLayers} = last layer), ` +
    `or -1..-${numLayers + 1} counting from the end.`
  );
}

/** "Layer 7 does not exist: m has layers 0..4 (…), or -1..-5 counting from the end." */
export function missingLayerMessage(layer: number, numLayers: number, model: string): string {
  return `Layer ${String(layer)} does not exist: ${layerRangeText(numLayers, model)}`;
}

/**
 * Like `layerIndex`, for callers that cannot go on without the layer.
 * @param model How to name the model in the message, e.g. its id.
 * @throws RangeError naming the layer and the layers the model has.
 */
export function resolveLayer(layer: number, numLayers: number, model: string): number {
  const index = layerIndex(layer, numLayers);
  if (index === undefined) {
    throw new RangeError(missingLayerMessage(layer, numLayers, model));
  }
  return index;
}
