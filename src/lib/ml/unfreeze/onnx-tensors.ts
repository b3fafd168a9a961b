/**
 * @file Values of ONNX tensors (initializers and `Constant` attributes) as plain typed arrays: float32 and float16
 * weights become Float32Array, integer tensors (shapes, axes, indices) Int32Array. A quantized model (int8/uint8
 * weights, quantize/dequantize operators) is refused with the reason, since its weights cannot be trained.
 */
import { DataType } from '../onnx-graph/model-proto.ts';
import type { GraphProto, NodeProto } from '../onnx-graph/model-proto.ts';
import type onnxProto from 'onnx-proto';

/** A decoded tensor (protobuf message interface of `onnx-proto`). */
export type TensorProto = onnxProto.onnx.ITensorProto;

/** A tensor's values: floats for float16/float32/double, 32-bit integers for every integer and bool type. */
export type TensorValues =
  | { kind: 'float'; shape: number[]; values: Float32Array }
  | { kind: 'int'; shape: number[]; values: Int32Array }
  | { kind: 'bool'; shape: number[]; values: Int32Array };

/** Operators only a quantized export has. */
export const QUANTIZED_OPERATORS: ReadonlySet<string> = new Set([
  'DynamicQuantizeLinear',
  'QuantizeLinear',
  'DequantizeLinear',
  'MatMulInteger',
  'ConvInteger',
  'QLinearMatMul',
  'QLinearConv',
  'MatMulNBits',
  'DynamicQuantizeMatMul',
  'QAttention',
]);

/** A model whose layers cannot be trained here: quantized, stored outside the file, or using unknown operators. */
export class UntrainableModelError extends Error {
  override readonly name = 'UntrainableModelError';
}

function quantizedReason(what: string): string {
  return (
    `${what}: this model file is quantized (int8/q8), and quantized weights cannot be trained or reproduced ` +
    'exactly in TensorFlow.js. Load the fp32 (or fp16) export of the model (onnx/model.onnx or ' +
    'onnx/model_fp16.onnx) to unfreeze layers, or train the head alone (unfreeze 0).'
  );
}

/**
 * Throws {@link UntrainableModelError} when `nodes` (the nodes to run) include a quantization operator, or any of
 * their initializers is an 8-bit integer tensor.
 */
export function assertNotQuantized(nodes: readonly NodeProto[], graph: GraphProto): void {
  const quantized = nodes.find((node) => QUANTIZED_OPERATORS.has(node.opType ?? ''));
  if (quantized)
    throw new UntrainableModelError(
      quantizedReason(`node "${quantized.name ?? ''}" is ${quantized.opType ?? ''}`),
    );
  const used = new Set(nodes.flatMap((node) => node.input ?? []));
  const eightBit = (graph.initializer ?? []).find(
    (tensor) =>
      used.has(tensor.name ?? '') &&
      (tensor.dataType === DataType.INT8 || tensor.dataType === DataType.UINT8),
  );
  if (eightBit) throw new UntrainableModelError(quantizedReason(`weight "${eightBit.name ?? ''}" is 8-bit`));
}

/** IEEE 754 half-precision bits to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function toNumber(value: number | { toNumber(): number }): number {
  return typeof value === 'number' ? value : value.toNumber();
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

function view(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

function floatValues(tensor: TensorProto, count: number, where: string): Float32Array {
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  switch (tensor.dataType) {
    case DataType.FLOAT: {
      if (!raw) return Float32Array.from(tensor.floatData ?? []);
      const data = view(raw);
      return Float32Array.from({ length: count }, (_, i) => data.getFloat32(i * 4, true));
    }
    case DataType.FLOAT16: {
      // Without raw data, float16 values sit in int32_data, one per element.
      if (!raw) return Float32Array.from(tensor.int32Data ?? [], halfToFloat);
      const data = view(raw);
      return Float32Array.from({ length: count }, (_, i) => halfToFloat(data.getUint16(i * 2, true)));
    }
    case DataType.DOUBLE: {
      if (!raw) return Float32Array.from(tensor.doubleData ?? []);
      const data = view(raw);
      return Float32Array.from({ length: count }, (_, i) => data.getFloat64(i * 8, true));
    }
    default:
      throw new UntrainableModelError(`${where}: unsupported float type ${String(tensor.dataType)}.`);
  }
}

function intValues(tensor: TensorProto, count: number, where: string): Int32Array {
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  const type = tensor.dataType;
  if (type === DataType.INT64) {
    if (!raw) return Int32Array.from(tensor.int64Data ?? [], toNumber);
    const data = view(raw);
    return Int32Array.from({ length: count }, (_, i) => Number(data.getBigInt64(i * 8, true)));
  }
  if (
    type === DataType.INT32 ||
    type === DataType.BOOL ||
    type === DataType.INT8 ||
    type === DataType.UINT8
  ) {
    if (!raw) return Int32Array.from(tensor.int32Data ?? []);
    const bytesPer = type === DataType.INT32 ? 4 : 1;
    const data = view(raw);
    return Int32Array.from({ length: count }, (_, i) =>
      bytesPer === 4
        ? data.getInt32(i * 4, true)
        : type === DataType.INT8
          ? data.getInt8(i)
          : data.getUint8(i),
    );
  }
  throw new UntrainableModelError(`${where}: unsupported tensor type ${String(type)}.`);
}

/**
 * Reads an ONNX tensor's values.
 * @throws UntrainableModelError for weights stored in an external file or of an unsupported type.
 */
export function tensorValues(tensor: TensorProto): TensorValues {
  const where = `tensor "${tensor.name ?? ''}"`;
  if (tensor.dataLocation === 1 || (tensor.externalData ?? []).length > 0) {
    throw new UntrainableModelError(
      `${where} is stored in an external data file, which unfreezing does not read. Use a single-file export.`,
    );
  }
  const shape = (tensor.dims ?? []).map(toNumber);
  const count = elementCount(shape);
  const type = tensor.dataType ?? 0;
  let result: TensorValues;
  if (type === DataType.FLOAT || type === DataType.FLOAT16 || type === DataType.DOUBLE) {
    result = { kind: 'float', shape, values: floatValues(tensor, count, where) };
  } else if (type === DataType.BOOL) {
    result = { kind: 'bool', shape, values: intValues(tensor, count, where) };
  } else {
    result = { kind: 'int', shape, values: intValues(tensor, count, where) };
  }
  if (result.values.length !== count) {
    throw new UntrainableModelError(
      `${where} holds ${result.values.length} values but its shape [${shape.join(', ')}] needs ${count}.`,
    );
  }
  return result;
}
