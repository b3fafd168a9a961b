/**
 * Reading an ONNX ModelProto, and adding nodes/outputs to its graph without re-encoding it.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** A decoded graph (protobuf message interface of `onnx-proto`). */
export type GraphProto = onnxProto.onnx.IGraphProto;
/** A decoded node. */
export type NodeProto = onnxProto.onnx.INodeProto;
/** A graph input/output/value_info entry. */
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** Field number of `ModelProto.graph` in onnx.proto. */
const MODEL_GRAPH_FIELD = 7;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Bytes that are not a (complete) ONNX model: an HTML error page, a truncated download, another file. */
export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
}

/**
 * Decodes ONNX model bytes and returns the graph; throws a clear error when the bytes are not
 * an ONNX model (an HTML error page, a truncated download, a tokenizer file...).
 */
export function decodeGraph(modelBytes: Uint8Array): GraphProto {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(modelBytes);
  } catch (error) {
    throw new OnnxFormatError(
      `These ${modelBytes.length} bytes are not an ONNX model (protobuf decoding failed: ${String(error)}). ` +
        'Check that the .onnx file is complete and not an HTML or JSON error page.',
      { cause: error },
    );
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0) {
    throw new OnnxFormatError(
      `These ${modelBytes.length} bytes decode to an ONNX ModelProto without graph nodes: not a usable model. ` +
        'Check that the .onnx file is complete.',
    );
  }
  return graph;
}

function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let position = offset; position < bytes.length && position < offset + 10; position++) {
    const byte = bytes[position] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: position + 1 };
  }
  throw new Error(`Truncated or malformed protobuf varint at byte ${offset} of the ONNX model`);
}

function writeVarint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/** Byte range of the single `graph` field of a ModelProto: where its tag starts, its body's start and end. */
function locateGraphField(modelBytes: Uint8Array): { tagStart: number; bodyStart: number; bodyEnd: number } {
  let found: { tagStart: number; bodyStart: number; bodyEnd: number } | undefined;
  let offset = 0;
  while (offset < modelBytes.length) {
    const tagStart = offset;
    const tag = readVarint(modelBytes, offset);
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    offset = tag.next;
    if (wireType === WIRE_VARINT) offset = readVarint(modelBytes, offset).next;
    else if (wireType === WIRE_FIXED64) offset += 8;
    else if (wireType === WIRE_FIXED32) offset += 4;
    else if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = readVarint(modelBytes, offset);
      const bodyStart = length.next;
      offset = bodyStart + length.value;
      if (field === MODEL_GRAPH_FIELD) {
        if (found)
          throw new Error('The ONNX model has two graph fields; re-save it with the onnx tools first');
        found = { tagStart, bodyStart, bodyEnd: offset };
      }
    } else {
      throw new Error(`Unsupported protobuf wire type ${wireType} at byte ${tagStart} of the ONNX model`);
    }
    if (offset > modelBytes.length) throw new Error('The ONNX model is truncated: a field runs past its end');
  }
  if (!found) throw new Error('The ONNX model has no graph field');
  return found;
}

/**
 * Returns new model bytes whose graph also holds `addition`'s repeated fields (nodes, outputs,
 * ...), appended after the existing ones. The rest of the model, weights included, is copied
 * byte for byte: no re-encoding (fast for models of hundreds of MB, and fields newer than
 * `onnx-proto`'s schema survive).
 */
export function appendToGraph(modelBytes: Uint8Array, addition: GraphProto): Uint8Array {
  const { tagStart, bodyStart, bodyEnd } = locateGraphField(modelBytes);
  const extra = onnx.GraphProto.encode(addition).finish();
  const header = [
    MODEL_GRAPH_FIELD * 8 + WIRE_LENGTH_DELIMITED,
    ...writeVarint(bodyEnd - bodyStart + extra.length),
  ];
  const result = new Uint8Array(
    tagStart + header.length + (bodyEnd - bodyStart) + extra.length + (modelBytes.length - bodyEnd),
  );
  let offset = 0;
  const put = (bytes: ArrayLike<number>): void => {
    result.set(bytes, offset);
    offset += bytes.length;
  };
  put(modelBytes.subarray(0, tagStart));
  put(header);
  put(modelBytes.subarray(bodyStart, bodyEnd));
  put(extra);
  put(modelBytes.subarray(bodyEnd));
  return result;
}

/** ONNX element type numbers (TensorProto.DataType) used when declaring outputs. */
export const DataType = onnx.TensorProto.DataType;
