/**
 * @file Pure functions over ONNX model bytes (no runtime imports): find the transformer layer
 * boundaries of an export from its node name scopes, and add `hidden_states.N` graph outputs so
 * any layer can be read next to the model's own outputs; and make the attention mask float without a Cast.
 */
export { addHiddenStateOutputs, hiddenStateEdit, hiddenStateOutputName } from './hidden-states.ts';
export { findLayerOutputs, type FindLayerOptions, type LayerOutputs } from './layer-outputs.ts';
export { maskCastEdit, withoutMaskCasts } from './mask-cast.ts';
export { decodeGraph, OnnxFormatError, rewriteGraph } from './model-proto.ts';
