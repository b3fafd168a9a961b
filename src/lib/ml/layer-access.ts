/**
 * @file Which hidden layers a loaded model can return: the ONNX graph is extended with a `hidden_states.N` output
 * for every layer (onnx-graph/), after checking that its layers agree with config.json. The same copy of the graph
 * also gets its attention mask made float without a Cast (onnx-graph/mask-cast.ts): identical outputs, and the
 * browser is spared optimising onnxruntime's largest WebAssembly function.
 */
import {
  decodeGraph,
  findLayerOutputs,
  hiddenStateEdit,
  maskCastEdit,
  OnnxFormatError,
  rewriteGraph,
} from './onnx-graph/index.ts';
import { ModelFileError } from './model-errors.ts';

/** Which hidden layers a loaded model can return. */
export interface LayerAccess {
  /** Transformer layers: hidden states run 0 (embeddings output) to numLayers (last layer). */
  numLayers: number;
  /** Set when only the last layer can be read, saying why (e.g. an export without layer scopes). */
  unavailable?: string;
}

/**
 * Adds a `hidden_states.N` output for every layer 0..numLayers to the model bytes, and replaces the Casts of the
 * attention mask (`maskCastEdit`), in one copy. The layer count found in the graph must agree with config.json's
 * (`configLayers`). A graph whose layers cannot be found still loads, with only its last layer readable (its mask
 * Casts still replaced); bytes that are not an ONNX model fail here with a message naming the file (`location`).
 * @throws ModelFileError for bytes that are not an ONNX model, or layers that disagree with config.json.
 */
export function exposeHiddenStates(
  bytes: Uint8Array,
  configLayers: number | undefined,
  location: string,
): { bytes: Uint8Array; layers: LayerAccess } {
  let found: ReturnType<typeof findLayerOutputs>;
  try {
    found = findLayerOutputs(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof OnnxFormatError) {
      throw new ModelFileError(
        location,
        `${location} is not a usable ONNX model: ${reason} Download or copy it again.`,
        { cause: error },
      );
    }
    return { bytes: edited(bytes), layers: { numLayers: configLayers ?? 0, unavailable: reason } };
  }
  if (configLayers !== undefined && configLayers !== found.numLayers) {
    throw new ModelFileError(
      location,
      `config.json says the model has ${configLayers} layers, but ${location} has ${found.numLayers} ` +
        `(scopes ${found.stackScope}0/ to ${found.stackScope}${found.numLayers - 1}/): the two files come from ` +
        'different models. Copy config.json and the ONNX file from the same export.',
    );
  }
  const all = Array.from({ length: found.numLayers + 1 }, (_, layer) => layer);
  return { bytes: edited(bytes, all), layers: { numLayers: found.numLayers } };
}

/**
 * `bytes` with the mask Casts replaced and, given `layers`, their hidden-state outputs added, in one copy; the same
 * bytes when neither changes anything.
 */
function edited(bytes: Uint8Array, layers?: readonly number[]): Uint8Array {
  const graph = decodeGraph(bytes);
  const edits = [maskCastEdit(graph), ...(layers ? [hiddenStateEdit(graph, layers)] : [])];
  const changes = edits.some((edit) => edit.addition || edit.replacements);
  return changes ? rewriteGraph(bytes, ...edits) : bytes;
}
