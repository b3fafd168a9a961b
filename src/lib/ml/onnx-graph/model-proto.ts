/**
 * Reading an ONNX ModelProto, adding nodes/outputs to its graph and entries to its metadata, without re-encoding it.
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
/** Field number of `ModelProto.metadata_props` in onnx.proto. */
const MODEL_METADATA_FIELD = 14;
/** Field number of `GraphProto.node` in onnx.proto. */
const GRAPH_NODE_FIELD = 1;
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

/** One protobuf field of a message: its number, where its tag starts, and (length-delimited) its body. */
interface Field {
  field: number;
  tagStart: number;
  /** Start and end of a length-delimited field's body; for other wire types, both are the field's end. */
  bodyStart: number;
  end: number;
}

/** The fields of the message in `bytes[start, end)`, in order. */
function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let offset = start;
  while (offset < end) {
    const tagStart = offset;
    const tag = readVarint(bytes, offset);
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    offset = tag.next;
    let bodyStart: number;
    if (wireType === WIRE_VARINT) offset = bodyStart = readVarint(bytes, offset).next;
    else if (wireType === WIRE_FIXED64) offset = bodyStart = offset + 8;
    else if (wireType === WIRE_FIXED32) offset = bodyStart = offset + 4;
    else if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = readVarint(bytes, offset);
      bodyStart = length.next;
      offset = bodyStart + length.value;
    } else {
      throw new Error(`Unsupported protobuf wire type ${wireType} at byte ${tagStart} of the ONNX model`);
    }
    if (offset > end) throw new Error('The ONNX model is truncated: a field runs past its end');
    yield { field, tagStart, bodyStart, end: offset };
  }
}

/** Byte range of the single `graph` field of a ModelProto: where its tag starts, its body's start and end. */
function locateGraphField(modelBytes: Uint8Array): { tagStart: number; bodyStart: number; bodyEnd: number } {
  let found: { tagStart: number; bodyStart: number; bodyEnd: number } | undefined;
  for (const { field, tagStart, bodyStart, end } of fields(modelBytes, 0, modelBytes.length)) {
    if (field !== MODEL_GRAPH_FIELD) continue;
    if (found) throw new Error('The ONNX model has two graph fields; re-save it with the onnx tools first');
    found = { tagStart, bodyStart, bodyEnd: end };
  }
  if (!found) throw new Error('The ONNX model has no graph field');
  return found;
}

/** A length-delimited field: tag, length, body. */
function lengthDelimited(field: number, body: Uint8Array): Uint8Array[] {
  return [
    Uint8Array.from([...writeVarint(field * 8 + WIRE_LENGTH_DELIMITED), ...writeVarint(body.length)]),
    body,
  ];
}

/** A change to a graph: nodes replaced (by their position among the graph's nodes), repeated fields appended. */
export interface GraphEdit {
  replacements?: ReadonlyMap<number, NodeProto>;
  addition?: GraphProto;
}

/**
 * Returns new model bytes whose graph also holds `addition`'s repeated fields (nodes, outputs,
 * ...), appended after the existing ones. The rest of the model, weights included, is copied
 * byte for byte: no re-encoding (fast for models of hundreds of MB, and fields newer than
 * `onnx-proto`'s schema survive).
 */
export function appendToGraph(modelBytes: Uint8Array, addition: GraphProto): Uint8Array {
  return rewriteGraph(modelBytes, { addition });
}

/**
 * Returns new model bytes with every edit made, in one copy: each replaced node (its index as `decodeGraph(...).node`
 * lists them) re-encoded in its place, the additions' repeated fields appended in the order given. Everything else,
 * weights included, is copied byte for byte, as by {@link appendToGraph}.
 * @throws Error when an index is not a node of the graph, or two edits replace the same node.
 */
export function rewriteGraph(modelBytes: Uint8Array, ...edits: GraphEdit[]): Uint8Array {
  const replacements = new Map<number, NodeProto>();
  for (const [index, node] of edits.flatMap((edit) => [...(edit.replacements ?? [])])) {
    if (replacements.has(index)) throw new Error(`Two edits replace node ${index} of the ONNX graph`);
    replacements.set(index, node);
  }
  const { tagStart, bodyStart, bodyEnd } = locateGraphField(modelBytes);
  const body: Uint8Array[] = [];
  if (replacements.size === 0) {
    body.push(modelBytes.subarray(bodyStart, bodyEnd));
  } else {
    let nodeIndex = 0;
    for (const field of fields(modelBytes, bodyStart, bodyEnd)) {
      const replacement = field.field === GRAPH_NODE_FIELD ? replacements.get(nodeIndex) : undefined;
      if (field.field === GRAPH_NODE_FIELD) nodeIndex += 1;
      if (replacement)
        body.push(...lengthDelimited(GRAPH_NODE_FIELD, onnx.NodeProto.encode(replacement).finish()));
      else body.push(modelBytes.subarray(field.tagStart, field.end));
    }
    const missing = [...replacements.keys()].filter((index) => index < 0 || index >= nodeIndex);
    if (missing.length > 0) {
      throw new Error(
        `The ONNX graph has ${nodeIndex} nodes; there is no node ${missing.join(', ')} to replace`,
      );
    }
  }
  for (const { addition } of edits) if (addition) body.push(onnx.GraphProto.encode(addition).finish());
  const bodyLength = body.reduce((total, piece) => total + piece.length, 0);
  const header = Uint8Array.from([
    ...writeVarint(MODEL_GRAPH_FIELD * 8 + WIRE_LENGTH_DELIMITED),
    ...writeVarint(bodyLength),
  ]);
  return concatBytes([modelBytes.subarray(0, tagStart), header, ...body, modelBytes.subarray(bodyEnd)]);
}

/** The pieces one after another, in one new array. */
function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  const result = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    result.set(piece, offset);
    offset += piece.length;
  }
  return result;
}

/**
 * The model's `metadata_props`, key to value, read without decoding the graph or the weights. Keys are unique in a
 * valid model; should one repeat, its last entry is kept.
 */
export function modelMetadata(modelBytes: Uint8Array): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { field, bodyStart, end } of fields(modelBytes, 0, modelBytes.length)) {
    if (field !== MODEL_METADATA_FIELD) continue;
    const entry = onnx.StringStringEntryProto.decode(modelBytes.subarray(bodyStart, end));
    entries.set(entry.key, entry.value);
  }
  return entries;
}

/**
 * Returns new model bytes with `entries` appended to the model's `metadata_props`. Protobuf reads a repeated field
 * written twice as one list, so the original bytes are kept whole and the entries follow them.
 */
export function withModelMetadata(modelBytes: Uint8Array, entries: ReadonlyMap<string, string>): Uint8Array {
  const pieces = [modelBytes];
  for (const [key, value] of entries) {
    pieces.push(
      ...lengthDelimited(MODEL_METADATA_FIELD, onnx.StringStringEntryProto.encode({ key, value }).finish()),
    );
  }
  return concatBytes(pieces);
}

/** ONNX element type numbers (TensorProto.DataType) used when declaring outputs. */
export const DataType = onnx.TensorProto.DataType;

/** ONNX attribute type numbers (AttributeProto.AttributeType) used when writing nodes. */
export const AttributeType = onnx.AttributeProto.AttributeType;
