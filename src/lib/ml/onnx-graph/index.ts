/**
 * @file Pure functions over ONNX model bytes (no runtime imports): find the transformer layer
 * boundaries of an export from its node name scopes, and add `hidden_states.N` graph outputs so
 * any layer can be read next to the model's own outputs; make the attention mask float without a Cast; and read
 * or add the model's metadata entries.
 */
export { addHiddenStateOutputs, hiddenStateEdit, hiddenStateOutputName } from './hidden-states.ts';
export { findLayerOutputs, type FindLayerOptions, type LayerOutputs } from './layer-outputs.ts';
export { maskCastEdit, withoutMaskCasts } from './mask-cast.ts';
export {
  decodeGraph,
  modelMetadata,
  OnnxFormatError,
  rewriteGraph,
  withModelMetadata,
} from './model-proto.ts';
