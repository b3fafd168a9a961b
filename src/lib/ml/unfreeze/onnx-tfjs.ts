/**
 * @file Runs a slice of an ONNX graph in TensorFlow.js, differentiably: the nodes between fed tensors (a layer's
 * input hidden states, the attention mask) and a wanted output, with chosen initializers as trainable variables.
 * Because the layers run exactly the operators of the exported graph, the tfjs computation reproduces the ONNX
 * model (checked by the parity tests) for BERT-family exports and the converted Universal Sentence Encoder alike.
 *
 * Integer tensors (shapes, axes, indices; int64 in ONNX) are int32 in tfjs. Only the operators an encoder layer
 * uses are implemented; any other is refused, naming it.
 */
import * as tf from '@tensorflow/tfjs';
import { DataType, type GraphProto, type NodeProto } from '../onnx-graph/model-proto.ts';
import {
  assertNotQuantized,
  tensorValues,
  UntrainableModelError,
  type TensorValues,
} from './onnx-tensors.ts';

type Attribute = NonNullable<NodeProto['attribute']>[number];

function attribute(node: NodeProto, name: string): Attribute | undefined {
  return (node.attribute ?? []).find((candidate) => candidate.name === name);
}

function toNumber(value: number | { toNumber(): number } | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'number' ? value : value.toNumber();
}

function intAttribute(node: NodeProto, name: string, fallback: number): number {
  return toNumber(attribute(node, name)?.i) ?? fallback;
}

function intsAttribute(node: NodeProto, name: string): number[] | undefined {
  const found = attribute(node, name);
  return found ? (found.ints ?? []).map((value) => toNumber(value) ?? 0) : undefined;
}

function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found?.f ?? fallback;
}

/** A tfjs tensor from decoded ONNX values. */
export function tensorFrom(values: TensorValues): tf.Tensor {
  return values.kind === 'float'
    ? tf.tensor(values.values, values.shape, 'float32')
    : tf.tensor(values.values, values.shape, values.kind === 'bool' ? 'bool' : 'int32');
}

/** The integer values of a small tensor (a shape, axes, an index), read synchronously. */
function ints(tensor: tf.Tensor | undefined): number[] {
  if (!tensor) return [];
  return Array.from(tensor.dataSync(), (value) => Math.trunc(Number(value)));
}

function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Numpy-style broadcast of two shapes. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

function castTo(x: tf.Tensor, to: number): tf.Tensor {
  if (to === DataType.FLOAT || to === DataType.FLOAT16 || to === DataType.DOUBLE)
    return tf.cast(x, 'float32');
  if (to === DataType.BOOL) return tf.cast(x, 'bool');
  return tf.cast(x, 'int32');
}

function matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (b.rank === 2 && a.rank > 2) {
    const rows = a.shape.slice(0, -1);
    const product = tf.matMul(a.reshape([-1, a.shape[a.rank - 1] ?? 0]) as tf.Tensor2D, b as tf.Tensor2D);
    return product.reshape([...rows, b.shape[1] ?? 0]);
  }
  if (a.rank === 2 && b.rank === 2) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const left = a.rank === batch.length + 2 ? a : tf.broadcastTo(a, [...batch, ...a.shape.slice(-2)]);
  const right = b.rank === batch.length + 2 ? b : tf.broadcastTo(b, [...batch, ...b.shape.slice(-2)]);
  return tf.matMul(left, right);
}

function reduce(
  node: NodeProto,
  x: tf.Tensor,
  axesInput: tf.Tensor | undefined,
  op: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor,
): tf.Tensor {
  const keep = intAttribute(node, 'keepdims', 1) === 1;
  const axes = intsAttribute(node, 'axes') ?? (axesInput ? ints(axesInput) : []);
  if (axes.length === 0) {
    if (intAttribute(node, 'noop_with_empty_axes', 0) === 1) return x;
    return op(
      x,
      Array.from({ length: x.rank }, (_, i) => i),
      keep,
    );
  }
  return op(
    x,
    axes.map((axis) => normaliseAxis(axis, x.rank)),
    keep,
  );
}

function unsqueeze(x: tf.Tensor, axes: number[]): tf.Tensor {
  const rank = x.rank + axes.length;
  let out = x;
  for (const axis of axes.map((a) => normaliseAxis(a, rank)).sort((a, b) => a - b))
    out = tf.expandDims(out, axis);
  return out;
}

function reshape(x: tf.Tensor, shape: number[]): tf.Tensor {
  const resolved = shape.map((dim, i) => (dim === 0 ? (x.shape[i] ?? 0) : dim));
  return tf.reshape(x, resolved);
}

function slice(x: tf.Tensor, inputs: (tf.Tensor | undefined)[]): tf.Tensor {
  const starts = ints(inputs[1]);
  const ends = ints(inputs[2]);
  const axes = inputs[3] ? ints(inputs[3]) : starts.map((_, i) => i);
  const steps = inputs[4] ? ints(inputs[4]) : starts.map(() => 1);
  const begin = x.shape.map(() => 0);
  const size = x.shape.map((dim) => dim);
  axes.forEach((rawAxis, i) => {
    if ((steps[i] ?? 1) !== 1)
      throw new UntrainableModelError('Slice with a step other than 1 is not supported.');
    const axis = normaliseAxis(rawAxis, x.rank);
    const dim = x.shape[axis] ?? 0;
    const clamp = (value: number) => Math.min(Math.max(value < 0 ? value + dim : value, 0), dim);
    const from = clamp(starts[i] ?? 0);
    const to = clamp(ends[i] ?? dim);
    begin[axis] = from;
    size[axis] = Math.max(to - from, 0);
  });
  return tf.slice(x, begin, size);
}

function gather(node: NodeProto, data: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  const axis = normaliseAxis(intAttribute(node, 'axis', 0), data.rank);
  const dim = data.shape[axis] ?? 0;
  const fixed = tf.tidy(() => {
    const asInt = tf.cast(indices, 'int32');
    // The dimension as an int32 scalar: a plain number would make the sum (and the indices) float32.
    return tf.where(tf.less(asInt, 0), tf.add(asInt, tf.scalar(dim, 'int32')), asInt);
  });
  if (fixed.rank === 0) return tf.squeeze(tf.gather(data, fixed.reshape([1]), axis), [axis]);
  return tf.gather(data, fixed, axis);
}

function layerNorm(node: NodeProto, x: tf.Tensor, scale: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor {
  const axis = normaliseAxis(intAttribute(node, 'axis', -1), x.rank);
  const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
  const epsilon = floatAttribute(node, 'epsilon', 1e-5);
  const { mean, variance } = tf.moments(x, axes, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  const scaled = tf.mul(normed, scale);
  return bias ? tf.add(scaled, bias) : scaled;
}

type Operator = (node: NodeProto, inputs: (tf.Tensor | undefined)[]) => tf.Tensor;

function required(inputs: (tf.Tensor | undefined)[], index: number, node: NodeProto): tf.Tensor {
  const input = inputs[index];
  if (!input) throw new Error(`Node "${node.name ?? ''}" (${node.opType ?? ''}) has no input ${index}.`);
  return input;
}

function arithmetic(op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): Operator {
  return (node, inputs) => op(required(inputs, 0, node), required(inputs, 1, node));
}

function unary(op: (x: tf.Tensor) => tf.Tensor): Operator {
  return (node, inputs) => op(required(inputs, 0, node));
}

/** The operators implemented, by ONNX op type. */
const OPERATORS: ReadonlyMap<string, Operator> = new Map<string, Operator>([
  ['Identity', unary((x) => x)],
  ['Add', arithmetic(tf.add)],
  ['Sub', arithmetic(tf.sub)],
  ['Mul', arithmetic(tf.mul)],
  [
    'Div',
    arithmetic((a, b) => (a.dtype === 'int32' && b.dtype === 'int32' ? tf.floorDiv(a, b) : tf.div(a, b))),
  ],
  ['Pow', arithmetic(tf.pow)],
  ['MatMul', arithmetic(matMul)],
  ['Equal', arithmetic(tf.equal)],
  ['Less', arithmetic(tf.less)],
  ['Greater', arithmetic(tf.greater)],
  ['Not', unary(tf.logicalNot)],
  ['Sqrt', unary(tf.sqrt)],
  ['Reciprocal', unary(tf.reciprocal)],
  ['Neg', unary(tf.neg)],
  ['Exp', unary(tf.exp)],
  ['Erf', unary(tf.erf)],
  ['Tanh', unary(tf.tanh)],
  ['Relu', unary(tf.relu)],
  ['Sigmoid', unary(tf.sigmoid)],
  ['Sin', unary(tf.sin)],
  ['Cos', unary(tf.cos)],
  [
    'Max',
    (node, inputs) =>
      inputs.slice(1).reduce<tf.Tensor>((a, b) => (b ? tf.maximum(a, b) : a), required(inputs, 0, node)),
  ],
  [
    'Min',
    (node, inputs) =>
      inputs.slice(1).reduce<tf.Tensor>((a, b) => (b ? tf.minimum(a, b) : a), required(inputs, 0, node)),
  ],
  [
    'Softmax',
    (node, inputs) => {
      const x = required(inputs, 0, node);
      const axis = normaliseAxis(intAttribute(node, 'axis', -1), x.rank);
      if (axis !== x.rank - 1) throw new UntrainableModelError('Softmax over an axis other than the last.');
      return tf.softmax(x);
    },
  ],
  [
    'LayerNormalization',
    (node, inputs) => layerNorm(node, required(inputs, 0, node), required(inputs, 1, node), inputs[2]),
  ],
  [
    'ReduceMean',
    (node, inputs) =>
      reduce(node, required(inputs, 0, node), inputs[1], (x, axes, keep) => tf.mean(x, axes, keep)),
  ],
  [
    'ReduceSum',
    (node, inputs) =>
      reduce(node, required(inputs, 0, node), inputs[1], (x, axes, keep) => tf.sum(x, axes, keep)),
  ],
  ['Reshape', (node, inputs) => reshape(required(inputs, 0, node), ints(required(inputs, 1, node)))],
  [
    'Transpose',
    (node, inputs) => {
      const x = required(inputs, 0, node);
      return tf.transpose(x, intsAttribute(node, 'perm'));
    },
  ],
  [
    'Unsqueeze',
    (node, inputs) => unsqueeze(required(inputs, 0, node), intsAttribute(node, 'axes') ?? ints(inputs[1])),
  ],
  [
    'Squeeze',
    (node, inputs) => {
      const x = required(inputs, 0, node);
      const axes = intsAttribute(node, 'axes') ?? (inputs[1] ? ints(inputs[1]) : undefined);
      return tf.squeeze(
        x,
        axes?.map((axis) => normaliseAxis(axis, x.rank)),
      );
    },
  ],
  ['Cast', (node, inputs) => castTo(required(inputs, 0, node), intAttribute(node, 'to', DataType.FLOAT))],
  [
    'Shape',
    (node, inputs) => {
      const shape = required(inputs, 0, node).shape;
      const start = intAttribute(node, 'start', 0);
      const end = toNumber(attribute(node, 'end')?.i) ?? shape.length;
      return tf.tensor1d(shape.slice(start, end), 'int32');
    },
  ],
  ['Gather', (node, inputs) => gather(node, required(inputs, 0, node), required(inputs, 1, node))],
  [
    'Concat',
    (node, inputs) => {
      const parts = inputs.filter((input): input is tf.Tensor => input !== undefined);
      const axis = normaliseAxis(intAttribute(node, 'axis', 0), parts[0]?.rank ?? 1);
      return tf.concat(parts, axis);
    },
  ],
  ['Slice', (node, inputs) => slice(required(inputs, 0, node), inputs)],
  [
    'Range',
    (node, inputs) => {
      const [start = 0, limit = 0, delta = 1] = inputs.map((input) => Number(input?.dataSync()[0] ?? 0));
      const dtype = required(inputs, 0, node).dtype === 'float32' ? 'float32' : 'int32';
      return tf.range(start, limit, delta, dtype);
    },
  ],
  [
    'Where',
    (node, inputs) => {
      const condition = tf.cast(required(inputs, 0, node), 'bool');
      const a = required(inputs, 1, node);
      const b = required(inputs, 2, node);
      const shape = broadcastShape(broadcastShape(condition.shape, a.shape), b.shape);
      return tf.where(tf.broadcastTo(condition, shape), tf.broadcastTo(a, shape), tf.broadcastTo(b, shape));
    },
  ],
  [
    'Expand',
    (node, inputs) => {
      const x = required(inputs, 0, node);
      return tf.broadcastTo(x, broadcastShape(x.shape, ints(required(inputs, 1, node))));
    },
  ],
  [
    'ConstantOfShape',
    (node, inputs) => {
      const shape = ints(required(inputs, 0, node));
      const value = attribute(node, 'value')?.t;
      if (!value) return tf.zeros(shape);
      const decoded = tensorValues(value);
      return tf.fill(shape, decoded.values[0] ?? 0, decoded.kind === 'float' ? 'float32' : 'int32');
    },
  ],
]);

/** The ONNX operators {@link compileSubgraph} can run. */
export const SUPPORTED_OPERATORS: readonly string[] = [...OPERATORS.keys(), 'Constant'].sort();

/** What to cut out of a graph. */
export interface SubgraphSpec {
  /** Tensors given at run time (a layer's input hidden states, `attention_mask`, ...). */
  feeds: readonly string[];
  /** The tensor to compute. */
  output: string;
  /** Initializers (by name) to train; every other one stays constant. */
  isTrainable: (initializer: string, consumers: readonly NodeProto[]) => boolean;
}

/** A compiled slice of an ONNX graph. */
export interface CompiledSubgraph {
  /** The trainable initializers, as tfjs variables (by initializer name). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Graph inputs and fed tensors the slice actually reads. */
  readonly reads: readonly string[];
  /** Number of values in the trainable variables. */
  readonly trainableCount: number;
  /** Computes the output from the feeds (call inside `tf.tidy` or a gradient function). */
  run(feeds: ReadonlyMap<string, tf.Tensor>): tf.Tensor;
  /** Releases constants and variables. */
  dispose(): void;
}

/**
 * Compiles the nodes `output` depends on, stopping at fed tensors and initializers.
 * @throws UntrainableModelError for a quantized slice, an unknown operator, or a graph input that is not fed.
 */
export function compileSubgraph(graph: GraphProto, spec: SubgraphSpec): CompiledSubgraph {
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node);
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const fed = new Set(spec.feeds);
  const graphInputs = new Set((graph.input ?? []).map((input) => input.name ?? ''));

  // Depth-first from the output; post-order gives a topological order of the needed nodes.
  const needed: NodeProto[] = [];
  const visited = new Set<NodeProto>();
  const reads = new Set<string>();
  const usedInitializers = new Set<string>();
  const visit = (tensor: string): void => {
    if (tensor === '') return;
    if (fed.has(tensor)) {
      reads.add(tensor);
      return;
    }
    if (initializers.has(tensor)) {
      usedInitializers.add(tensor);
      return;
    }
    const node = producer.get(tensor);
    if (!node) {
      const what = graphInputs.has(tensor) ? 'graph input' : 'tensor';
      throw new UntrainableModelError(
        `Computing "${spec.output}" needs the ${what} "${tensor}", which is not given (given: ${spec.feeds.join(', ')}).`,
      );
    }
    if (visited.has(node)) return;
    visited.add(node);
    const stack: Array<{ node: NodeProto; next: number }> = [{ node, next: 0 }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as { node: NodeProto; next: number };
      const inputs = frame.node.input ?? [];
      if (frame.next < inputs.length) {
        const input = inputs[frame.next++] ?? '';
        if (input === '') continue;
        if (fed.has(input)) reads.add(input);
        else if (initializers.has(input)) usedInitializers.add(input);
        else {
          const from = producer.get(input);
          if (!from) {
            const what = graphInputs.has(input) ? 'graph input' : 'tensor';
            throw new UntrainableModelError(
              `Computing "${spec.output}" needs the ${what} "${input}", which is not given ` +
                `(given: ${spec.feeds.join(', ')}).`,
            );
          }
          if (!visited.has(from)) {
            visited.add(from);
            stack.push({ node: from, next: 0 });
          }
        }
        continue;
      }
      needed.push(frame.node);
      stack.pop();
    }
  };
  visit(spec.output);

  assertNotQuantized(needed, graph);
  const unknown = [...new Set(needed.map((node) => node.opType ?? ''))].filter(
    (op) => op !== 'Constant' && !OPERATORS.has(op),
  );
  if (unknown.length > 0) {
    throw new UntrainableModelError(
      `The layers use ONNX operators unfreezing cannot run: ${unknown.join(', ')} (supported: ` +
        `${SUPPORTED_OPERATORS.join(', ')}). An optimized or fused export needs the plain Optimum export instead.`,
    );
  }

  const consumers = new Map<string, NodeProto[]>();
  for (const node of needed) {
    for (const input of node.input ?? []) {
      if (!usedInitializers.has(input)) continue;
      const list = consumers.get(input) ?? [];
      consumers.set(input, list);
      list.push(node);
    }
  }
  const constants = new Map<string, tf.Tensor>();
  const variables = new Map<string, tf.Variable>();
  let trainableCount = 0;
  try {
    for (const name of usedInitializers) {
      const values = tensorValues(initializers.get(name) ?? {});
      const tensor = tensorFrom(values);
      if (values.kind === 'float' && spec.isTrainable(name, consumers.get(name) ?? [])) {
        variables.set(name, tf.variable(tensor, true));
        trainableCount += tensor.size;
        tensor.dispose();
      } else {
        constants.set(name, tensor);
      }
    }
    for (const node of needed) {
      if (node.opType !== 'Constant') continue;
      const value = attribute(node, 'value')?.t;
      if (!value) throw new UntrainableModelError(`Constant node "${node.name ?? ''}" has no tensor value.`);
      constants.set(node.output?.[0] ?? '', tensorFrom(tensorValues(value)));
    }
  } catch (error) {
    tf.dispose([...constants.values(), ...variables.values()]);
    throw error;
  }

  const runNodes = needed.filter((node) => node.opType !== 'Constant');
  return {
    variables,
    reads: [...reads],
    trainableCount,
    run(feeds) {
      const values = new Map<string, tf.Tensor>();
      const lookup = (name: string): tf.Tensor | undefined => {
        if (name === '') return undefined;
        const value = values.get(name) ?? feeds.get(name) ?? variables.get(name) ?? constants.get(name);
        if (!value) throw new Error(`Tensor "${name}" was not computed before it is read.`);
        return value;
      };
      for (const node of runNodes) {
        const operator = OPERATORS.get(node.opType ?? '') as Operator;
        values.set(node.output?.[0] ?? '', operator(node, (node.input ?? []).map(lookup)));
      }
      const result = lookup(spec.output);
      if (!result) throw new Error(`"${spec.output}" was not computed.`);
      return result;
    },
    dispose() {
      tf.dispose([...constants.values(), ...variables.values()]);
    },
  };
}
