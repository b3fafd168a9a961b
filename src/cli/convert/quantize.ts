/**
 * @file A dynamic int8 quantizer for ONNX encoders, doing what onnxruntime's `quantize_dynamic` does, in
 * TypeScript and without Python: the weights become int8 once, at conversion time, and the activations are
 * quantized to uint8 at run time by the graph itself.
 *
 * - `MatMul(A, W)` with `W` a 2-D float32 initializer becomes
 *   `DynamicQuantizeLinear(A) → MatMulInteger(A_u8, W_i8, A_zero, W_zero) → Cast(float) → Mul(A_scale × W_scale)`;
 *   the bias `Add` that follows is left as it was. `Gemm(A, W, C)` (alpha 1, beta 1, no transA) is the same plus
 *   an `Add` of `C`.
 * - `Gather(E, ids)` with `E` a float32 initializer on axis 0 (an embedding table) becomes
 *   `Gather(E_i8, ids) → DequantizeLinear(scale, 0)`.
 * - Weights are symmetric int8 with zero point 0, per tensor or, with `perChannel`, per output column (MatMul/Gemm
 *   only). Rounding is half to even, as numpy's. MatMul/Gemm weights use 7 bits (±63) by default, embedding tables
 *   the full ±127: see `reduceRange`.
 *
 * Every rewritten node's final output keeps the original output name, so nothing downstream changes, and every new
 * node keeps the original node's name as a prefix, so layer boundaries found from name scopes
 * (`/encoder/layer.N/...`) are where they were. A candidate that cannot be rewritten (a float16 or rank-3
 * weight, a Gemm with transA or alpha ≠ 1, ...) is left in float and named in `skipped` with the reason.
 * The output is a pure function of the input bytes and the options: the same model gives the same bytes.
 * All of these operators run on onnxruntime-node and onnxruntime-web (WASM) from opset 10.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

const DataType = onnx.TensorProto.DataType;
const INT8_MAX = 127;

/** Options of {@link quantizeDynamic}. */
export interface QuantizeOptions {
  /** One scale per output column of a MatMul/Gemm weight instead of one per tensor (default false). */
  perChannel?: boolean;
  /** Quantize embedding tables read by `Gather` (default true). */
  gather?: boolean;
  /**
   * MatMul/Gemm weights in 7 bits (±63) instead of 8, as onnxruntime's `reduce_range` (default true). x86 CPUs with
   * AVX2 but without VNNI (many AMD EPYC/Ryzen and pre-Ice-Lake Intel parts) multiply uint8 × int8 pairs with
   * `vpmaddubsw`, which adds two products in a saturating int16: 2 × 255 × 127 overflows it, 2 × 255 × 63 does
   * not. With full-range weights onnxruntime-node on such a CPU was measured 16–46% of the output's range off
   * (tests/unit/convert/quantize.test.ts); with 7 bits it is within int8's error on every CPU. The file is made
   * once and run anywhere, so the safe choice is the default. Embedding tables (`Gather`) are only dequantized,
   * never multiplied in int8, and keep the full range.
   */
  reduceRange?: boolean;
}

/** A node the quantizer rewrote or left alone, by name, with what happened. */
export interface QuantizedNode {
  node: string;
  opType: string;
  weight: string;
}

/** A candidate node left in float, and why. */
export interface SkippedNode {
  node: string;
  opType: string;
  reason: string;
}

/** What {@link quantizeDynamic} produced. */
export interface QuantizeResult {
  bytes: Uint8Array;
  quantized: QuantizedNode[];
  skipped: SkippedNode[];
}

/** numpy's `round`: to the nearest integer, ties to even. */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Symmetric int8 quantization of `values` laid out as `[rows, columns]`: one scale for the whole tensor, or one
 * per column. A group that is all zeros gets scale 1 (any scale reproduces it).
 */
export function quantizeSymmetric(
  values: Float32Array,
  columns: number,
  options: { perChannel: boolean; reduceRange: boolean },
): { data: Int8Array; scales: Float32Array } {
  const limit = options.reduceRange ? 63 : INT8_MAX;
  const groups = options.perChannel ? columns : 1;
  const absMax = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) {
    const group = options.perChannel ? i % columns : 0;
    const magnitude = Math.abs(values[i]!);
    if (magnitude > absMax[group]!) absMax[group] = magnitude;
  }
  const scales = Float32Array.from(absMax, (max) => (max > 0 ? Math.fround(max / limit) : 1));
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const scale = scales[options.perChannel ? i % columns : 0]!;
    const q = roundHalfToEven(values[i]! / scale);
    data[i] = Math.max(-limit, Math.min(limit, q));
  }
  return { data, scales };
}

function floatInitializerValues(tensor: TensorProto): Float32Array {
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const values = new Float32Array(raw.length / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
    return values;
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function dimsOf(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map(Number);
}

function attribute(node: NodeProto, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((entry) => entry.name === name);
}

function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found?.i === undefined || found.i === null ? fallback : Number(found.i);
}

function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found?.f === undefined || found.f === null ? fallback : found.f;
}

/** Why a weight cannot be quantized, or undefined when it can. */
function weightProblem(tensor: TensorProto | undefined, name: string, rank: number): string | undefined {
  if (!tensor) return `its weight "${name}" is not an initializer`;
  if (tensor.dataType !== DataType.FLOAT)
    return `its weight "${name}" is ${DataType[tensor.dataType ?? 0] ?? 'not float32'}, not float32`;
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    return `its weight "${name}" is stored outside the file`;
  const dims = dimsOf(tensor);
  if (dims.length !== rank) return `its weight "${name}" has rank ${dims.length}, not ${rank}`;
  return undefined;
}

/** Transposes a row-major [rows, cols] matrix. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/**
 * Quantizes `modelBytes` (an ONNX ModelProto) dynamically to int8, as described in the file comment.
 * @throws Error when the bytes are not an ONNX model with a graph.
 */
export function quantizeDynamic(modelBytes: Uint8Array, options: QuantizeOptions = {}): QuantizeResult {
  const perChannel = options.perChannel ?? false;
  const reduceRange = options.reduceRange ?? true;
  const withGather = options.gather ?? true;
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0)
    throw new Error(`These ${modelBytes.length} bytes are not an ONNX model with a graph.`);
  const opset = (model.opsetImport ?? []).find((entry) => !entry.domain)?.version;
  if (opset === undefined || opset === null || Number(opset) < 10)
    throw new Error(
      `The model's default opset is ${String(opset ?? 'missing')}; dynamic quantization needs opset 10 or later ` +
        '(DynamicQuantizeLinear, MatMulInteger).',
    );

  const initializers = new Map<string, TensorProto>();
  for (const tensor of graph.initializer ?? []) initializers.set(tensor.name ?? '', tensor);
  const taken = new Set<string>([
    ...initializers.keys(),
    ...(graph.input ?? []).map((input) => input.name ?? ''),
    ...(graph.node ?? []).flatMap((node) => [...(node.output ?? []), node.name ?? '']),
  ]);
  const fresh = (wanted: string): string => {
    let name = wanted;
    for (let n = 1; taken.has(name); n++) name = `${wanted}_${n}`;
    taken.add(name);
    return name;
  };

  const added: TensorProto[] = [];
  const quantizedWeights = new Map<string, { data: string; scale: string; zero: string }>();
  const addInt8 = (name: string, dims: number[], data: Int8Array): string => {
    const tensorName = fresh(name);
    added.push({
      name: tensorName,
      dims,
      dataType: DataType.INT8,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return tensorName;
  };
  const addFloat = (name: string, dims: number[], data: Float32Array): string => {
    const tensorName = fresh(name);
    const raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
    added.push({ name: tensorName, dims, dataType: DataType.FLOAT, rawData: raw });
    return tensorName;
  };
  /** The int8 copy of weight `name` (made once, shared by every node reading it). */
  const quantizeWeight = (
    name: string,
    key: string,
    form: { perColumn: boolean; transposed: boolean; reduceRange: boolean },
  ) => {
    const { perColumn, transposed } = form;
    const cached = quantizedWeights.get(key);
    if (cached) return cached;
    const tensor = initializers.get(name)!;
    let dims = dimsOf(tensor);
    let values = floatInitializerValues(tensor);
    if (transposed) {
      values = transpose(values, dims[0]!, dims[1]!);
      dims = [dims[1]!, dims[0]!];
    }
    const { data, scales } = quantizeSymmetric(values, dims[1]!, {
      perChannel: perColumn,
      reduceRange: form.reduceRange,
    });
    const entry = {
      data: addInt8(`${name}_quantized`, dims, data),
      scale: addFloat(`${name}_scale`, perColumn ? [dims[1]!] : [], scales),
      zero: addInt8(`${name}_zero_point`, perColumn ? [dims[1]!] : [], new Int8Array(scales.length)),
    };
    quantizedWeights.set(key, entry);
    return entry;
  };

  const nodes: NodeProto[] = [];
  const quantized: QuantizedNode[] = [];
  const skipped: SkippedNode[] = [];
  const emit = (opType: string, name: string, inputs: string[], output: string, attrs = {}) => {
    nodes.push({ name: fresh(name), opType, input: inputs, output: [output], attribute: [], ...attrs });
    return output;
  };

  /** The MatMulInteger chain for `input @ weight`, ending in tensor `output`. */
  const integerMatMul = (
    scope: string,
    input: string,
    weight: { data: string; scale: string; zero: string },
    output: string,
  ): void => {
    const [q, scale, zero] = [
      fresh(`${scope}_quantized`),
      fresh(`${scope}_scale`),
      fresh(`${scope}_zero_point`),
    ];
    nodes.push({
      name: fresh(`${scope}_DynamicQuantizeLinear`),
      opType: 'DynamicQuantizeLinear',
      input: [input],
      output: [q, scale, zero],
      attribute: [],
    });
    const product = emit(
      'MatMulInteger',
      `${scope}_MatMulInteger`,
      [q, weight.data, zero, weight.zero],
      fresh(`${scope}_int32`),
    );
    const asFloat = fresh(`${scope}_float`);
    nodes.push({
      name: fresh(`${scope}_Cast`),
      opType: 'Cast',
      input: [product],
      output: [asFloat],
      attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }],
    });
    const scales = emit('Mul', `${scope}_scales_Mul`, [scale, weight.scale], fresh(`${scope}_scales`));
    emit('Mul', `${scope}_output_Mul`, [asFloat, scales], output);
  };

  for (const node of graph.node ?? []) {
    const name = node.name ?? '';
    const opType = node.opType ?? '';
    const inputs = node.input ?? [];
    const output = (node.output ?? [])[0];
    const skip = (reason: string) => {
      skipped.push({ node: name, opType, reason });
      nodes.push(node);
    };
    if (opType === 'MatMul' && output && inputs.length === 2) {
      const weightName = inputs[1]!;
      const weight = initializers.get(weightName);
      // Activation × activation (attention scores) is not a weight product: not a candidate at all.
      if (!weight) {
        nodes.push(node);
        continue;
      }
      const problem = weightProblem(weight, weightName, 2);
      if (problem) {
        skip(problem);
        continue;
      }
      integerMatMul(
        name,
        inputs[0]!,
        quantizeWeight(weightName, `${weightName}|n`, {
          perColumn: perChannel,
          transposed: false,
          reduceRange,
        }),
        output,
      );
      quantized.push({ node: name, opType, weight: weightName });
      continue;
    }
    if (opType === 'Gemm' && output && inputs.length >= 2) {
      const weightName = inputs[1]!;
      const problem =
        weightProblem(initializers.get(weightName), weightName, 2) ??
        (intAttribute(node, 'transA', 0) !== 0 ? 'it has transA' : undefined) ??
        (floatAttribute(node, 'alpha', 1) !== 1 ? 'its alpha is not 1' : undefined) ??
        (inputs[2] && floatAttribute(node, 'beta', 1) !== 1 ? 'its beta is not 1' : undefined);
      if (problem) {
        skip(problem);
        continue;
      }
      const transposed = intAttribute(node, 'transB', 0) !== 0;
      const weight = quantizeWeight(weightName, `${weightName}|${transposed ? 't' : 'n'}`, {
        perColumn: perChannel,
        transposed,
        reduceRange,
      });
      if (inputs[2]) {
        const product = fresh(`${name}_product`);
        integerMatMul(name, inputs[0]!, weight, product);
        emit('Add', `${name}_bias_Add`, [product, inputs[2]], output);
      } else {
        integerMatMul(name, inputs[0]!, weight, output);
      }
      quantized.push({ node: name, opType, weight: weightName });
      continue;
    }
    if (opType === 'Gather' && withGather && output && inputs.length === 2 && initializers.has(inputs[0]!)) {
      const tableName = inputs[0]!;
      const problem =
        weightProblem(initializers.get(tableName), tableName, 2) ??
        (intAttribute(node, 'axis', 0) !== 0 ? 'its axis is not 0' : undefined);
      if (problem) {
        skip(problem);
        continue;
      }
      const weight = quantizeWeight(tableName, `${tableName}|gather`, {
        perColumn: false,
        transposed: false,
        reduceRange: false,
      });
      const gathered = emit('Gather', `${name}_quantized`, [weight.data, inputs[1]!], fresh(`${name}_int8`), {
        attribute: node.attribute ?? [],
      });
      emit('DequantizeLinear', `${name}_DequantizeLinear`, [gathered, weight.scale, weight.zero], output);
      quantized.push({ node: name, opType, weight: tableName });
      continue;
    }
    nodes.push(node);
  }

  // Float weights still read by some node (or a graph output) stay; the rest are replaced by their int8 copies.
  const stillUsed = new Set<string>([
    ...nodes.flatMap((node) => node.input ?? []),
    ...(graph.output ?? []).map((entry) => entry.name ?? ''),
  ]);
  const kept = (graph.initializer ?? []).filter((tensor) => stillUsed.has(tensor.name ?? ''));
  graph.node = nodes;
  graph.initializer = [...kept, ...added];
  return { bytes: onnx.ModelProto.encode(model).finish(), quantized, skipped };
}
