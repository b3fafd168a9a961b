/**
 * @file What each transformer layer of an ONNX encoder holds, read without running anything: its parameter count
 * (the float weights of more than one value its nodes read: matrices, biases, norm scales and shifts) and the
 * width of the hidden states fed to it. Pure: for the cost shown before training, and the parameter counts
 * the trained layers report.
 */
import { elementTypes } from '../onnx-graph/element-types.ts';
import { layerOutputsOfGraph } from '../onnx-graph/layer-outputs.ts';
import { DataType, type GraphProto } from '../onnx-graph/model-proto.ts';
import { QUANTIZED_OPERATORS } from './onnx-tensors.ts';

/** One transformer layer's size. */
export interface LayerSize {
  /** Trainable values of the layer. */
  parameters: number;
}

/** The layer stack of a model as unfreezing sees it. */
export interface LayerStack {
  numLayers: number;
  /** `layers[i]` is transformer layer i (its output is hidden state i + 1). */
  layers: LayerSize[];
  /** Set when the layers cannot be trained, saying why (a quantized file). */
  untrainable?: string;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE]);

/** Counts each layer's parameters from node scopes; throws (from layer discovery) when there are no layers. */
export function layerStackOfGraph(graph: GraphProto): LayerStack {
  const { numLayers, stackScope } = layerOutputsOfGraph(graph, elementTypes(graph));
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const counted = Array.from({ length: numLayers }, () => new Set<string>());
  let quantized: string | undefined;
  for (const node of graph.node ?? []) {
    const name = node.name ?? '';
    if (!name.startsWith(stackScope)) continue;
    const layer = Number.parseInt(name.slice(stackScope.length), 10);
    const names = counted[layer];
    if (!names) continue;
    if (QUANTIZED_OPERATORS.has(node.opType ?? '')) quantized ??= `node "${name}" is ${node.opType ?? ''}`;
    for (const input of node.input ?? []) {
      const tensor = initializers.get(input);
      if (!tensor) continue;
      if (tensor.dataType === DataType.INT8 || tensor.dataType === DataType.UINT8) {
        quantized ??= `weight "${input}" is 8-bit`;
      }
      const size = (tensor.dims ?? []).reduce<number>((product, dim) => product * Number(dim), 1);
      if (FLOAT_TYPES.has(tensor.dataType ?? 0) && size > 1) names.add(input);
    }
  }
  const size = (name: string) =>
    (initializers.get(name)?.dims ?? []).reduce<number>((product, dim) => product * Number(dim), 1);
  return {
    numLayers,
    layers: counted.map((names) => ({ parameters: [...names].reduce((sum, name) => sum + size(name), 0) })),
    ...(quantized
      ? {
          untrainable: `the model file is quantized (${quantized}); load its fp32 or fp16 export to unfreeze.`,
        }
      : {}),
  };
}
