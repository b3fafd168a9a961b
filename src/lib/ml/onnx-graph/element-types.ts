/**
 * Element types of the tensors of an ONNX graph, as far as they can be told without running
 * shape inference: declared types plus a forward pass over the nodes.
 */
import { DataType, type GraphProto, type NodeProto } from './model-proto.ts';

/** Operators whose output element type is fixed, whatever their inputs. */
const FIXED_OUTPUT_TYPES: Readonly<Record<string, number>> = {
  Shape: DataType.INT64,
  Size: DataType.INT64,
  NonZero: DataType.INT64,
  ArgMax: DataType.INT64,
  ArgMin: DataType.INT64,
  Equal: DataType.BOOL,
  Less: DataType.BOOL,
  LessOrEqual: DataType.BOOL,
  Greater: DataType.BOOL,
  GreaterOrEqual: DataType.BOOL,
  And: DataType.BOOL,
  Or: DataType.BOOL,
  Xor: DataType.BOOL,
  Not: DataType.BOOL,
  IsNaN: DataType.BOOL,
  IsInf: DataType.BOOL,
  // Quantized exports (q8): these sit right after a layer's last float node.
  DynamicQuantizeLinear: DataType.UINT8,
  MatMulInteger: DataType.INT32,
  ConvInteger: DataType.INT32,
};

const FLOAT_TYPES: ReadonlySet<number> = new Set([
  DataType.FLOAT,
  DataType.FLOAT16,
  DataType.DOUBLE,
  DataType.BFLOAT16,
]);

/** True for float32/float16/bfloat16/double element types. */
export function isFloatType(type: number | undefined): boolean {
  return type !== undefined && FLOAT_TYPES.has(type);
}

function outputType(node: NodeProto, types: ReadonlyMap<string, number>): number | undefined {
  const fixed = FIXED_OUTPUT_TYPES[node.opType ?? ''];
  if (fixed !== undefined) return fixed;
  const attribute = (name: string) => (node.attribute ?? []).find((candidate) => candidate.name === name);
  const inputs = node.input ?? [];
  switch (node.opType) {
    case 'Cast':
      return Number(attribute('to')?.i ?? 0) || undefined;
    case 'Constant':
      return attribute('value')?.t?.dataType ?? undefined;
    case 'QuantizeLinear':
      return types.get(inputs[2] ?? '') ?? DataType.UINT8;
    case 'DequantizeLinear':
      return types.get(inputs[1] ?? '') ?? DataType.FLOAT;
    case 'Where':
      return [inputs[1], inputs[2]].map((input) => types.get(input ?? '')).find((type) => type !== undefined);
    case 'Gather':
    case 'GatherElements':
    case 'GatherND':
      return types.get(inputs[0] ?? '');
    default:
      // Elementwise and float ops (Add, LayerNormalization, MatMul...): the first typed input.
      return inputs.map((input) => types.get(input)).find((type) => type !== undefined);
  }
}

/**
 * Element type (TensorProto.DataType) of each tensor whose type is declared (graph inputs,
 * initializers, value_info, outputs) or follows from its node's inputs. An fp16 export thus
 * gets float16 for its hidden states, an fp32 one float; unknown tensors are absent.
 */
export function elementTypes(graph: GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  const declare = (name: string | null | undefined, type: number | null | undefined) => {
    if (name && type) types.set(name, type);
  };
  for (const info of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    declare(info.name, info.type?.tensorType?.elemType);
  }
  for (const initializer of graph.initializer ?? []) declare(initializer.name, initializer.dataType);
  for (const node of graph.node ?? []) {
    const type = outputType(node, types);
    if (type === undefined) continue;
    for (const output of node.output ?? []) if (!types.has(output)) types.set(output, type);
  }
  return types;
}
