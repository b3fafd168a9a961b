/**
 * Exposes intermediate layers of an ONNX model as extra graph outputs `hidden_states.N`,
 * so a runtime returns them next to the model's own outputs.
 */
import { layerIndex } from '../../core/experiment/layers.ts';
import { elementTypes } from './element-types.ts';
import { layerOutputsOfGraph, type FindLayerOptions } from './layer-outputs.ts';
import { DataType, decodeGraph, rewriteGraph, type GraphEdit, type GraphProto } from './model-proto.ts';

/** Graph output name of hidden state `layer` (0 = embeddings, N = output of layer N-1). */
export function hiddenStateOutputName(layer: number): string {
  return `hidden_states.${layer}`;
}

/**
 * Returns new model bytes with an `Identity` node and a graph output `hidden_states.N` for each
 * requested layer, indexed as in `findLayerOutputs` (0 = embeddings, numLayers = last
 * layer; negative indices count from the end, -1 = last). Outputs are declared with the
 * tensor's element type and symbolic dims [batch, sequence, hidden]. Requesting an output the
 * model already has is a no-op for that layer. Throws, naming the allowed range, on a bad index.
 */
export function addHiddenStateOutputs(
  modelBytes: Uint8Array,
  layers: readonly number[],
  options: FindLayerOptions = {},
): Uint8Array {
  const edit = hiddenStateEdit(decodeGraph(modelBytes), layers, options);
  return edit.addition ? rewriteGraph(modelBytes, edit) : modelBytes;
}

/** What {@link addHiddenStateOutputs} adds to `graph`, as an edit (no addition when every output is there). */
export function hiddenStateEdit(
  graph: GraphProto,
  layers: readonly number[],
  options: FindLayerOptions = {},
): GraphEdit {
  if (layers.length === 0) throw new Error('addHiddenStateOutputs needs at least one layer index');
  const types = elementTypes(graph);
  const { hiddenStates, numLayers } = layerOutputsOfGraph(graph, types, options);
  const resolved = layers.map((layer) => {
    const index = layerIndex(layer, numLayers);
    if (index === undefined) {
      throw new Error(
        `Layer ${layer} does not exist: this model has ${numLayers} layers, so use 0 (embeddings) to ${numLayers} ` +
          `(last layer), or -1 to -${numLayers + 1} counting from the end.`,
      );
    }
    return index;
  });

  const existingOutputs = new Set((graph.output ?? []).map((output) => output.name));
  const tensorNames = new Set<string>([
    ...(graph.input ?? []).map((input) => input.name ?? ''),
    ...(graph.initializer ?? []).map((initializer) => initializer.name ?? ''),
    ...(graph.node ?? []).flatMap((node) => [node.name ?? '', ...(node.output ?? [])]),
  ]);
  const batchAndSequence = (graph.input ?? [])
    .find((input) => input.name === 'input_ids')
    ?.type?.tensorType?.shape?.dim?.map(
      (dim, axis) => dim.dimParam || (axis === 0 ? 'batch_size' : 'sequence_length'),
    );
  const [batch = 'batch_size', sequence = 'sequence_length'] = batchAndSequence ?? [];

  const addition: GraphProto = { node: [], output: [] };
  for (const layer of [...new Set(resolved)].sort((a, b) => a - b)) {
    const name = hiddenStateOutputName(layer);
    if (existingOutputs.has(name)) continue;
    const identityName = `${name}/Identity`;
    if (tensorNames.has(name) || tensorNames.has(identityName)) {
      throw new Error(
        `The model already has a tensor or node named "${name}"; cannot add it as a hidden-state output`,
      );
    }
    const source = hiddenStates[layer] ?? '';
    addition.node?.push({ name: identityName, opType: 'Identity', input: [source], output: [name] });
    addition.output?.push({
      name,
      type: {
        tensorType: {
          elemType: types.get(source) ?? DataType.FLOAT,
          shape: { dim: [{ dimParam: batch }, { dimParam: sequence }, { dimParam: 'hidden_size' }] },
        },
      },
    });
  }
  return (addition.node ?? []).length === 0 ? {} : { addition };
}
