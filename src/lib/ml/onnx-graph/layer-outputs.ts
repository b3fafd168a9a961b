/**
 * Finds the transformer layer boundaries of an exported ONNX graph from its node name
 * scopes, the way PyTorch/Optimum name them (`/encoder/layer.3/...`, `/bert/encoder/layer.3/...`,
 * `/layers.3/...`, `/model/layers.3/...`, `/h.3/...`, `/transformer/h.3/...`).
 */
import { elementTypes, isFloatType } from './element-types.ts';
import { decodeGraph, type GraphProto, type NodeProto } from './model-proto.ts';

/** Layer boundaries of a model, indexed like transformers' `hidden_states`. */
export interface LayerOutputs {
  /** Scope prefix shared by all layers, up to the index, e.g. `/encoder/layer.` or `/transformer/h.`. */
  stackScope: string;
  /** Number of transformer layers (blocks) found. */
  numLayers: number;
  /**
   * Tensor names, `numLayers + 1` of them: `[0]` is the embeddings output (the tensor feeding
   * layer 0), `[n]` the output of layer n-1 (output 0 of the last node of its scope in
   * topological order). So `[numLayers]` is the last layer, as `hidden_states[-1]` in Python.
   */
  hiddenStates: string[];
}

/** Options of findLayerOutputs. */
export interface FindLayerOptions {
  /** Which stack to use when a graph has several (e.g. `/vision_model/encoder/layers.`); see the error. */
  stackScope?: string;
}

/**
 * Matches the first numbered layer module of a node name: group 1 is the stack's scope
 * (`/bert/encoder/layer.`), group 2 the layer index.
 */
const LAYER_SCOPE = /^((?:.*?\/)?(?:layer|layers|h|block|blocks)\.)(\d+)\//;

/** Scope examples listed in error messages. */
const KNOWN_SCOPES = '/encoder/layer.N/, /layers.N/, /model/layers.N/, /h.N/, /transformer/h.N/';

/** Node indices in topological order (the file order when it already is one, as ONNX requires). */
function topologicalOrder(graph: GraphProto): number[] {
  const nodes = graph.node ?? [];
  const available = new Set<string>(['']);
  for (const input of graph.input ?? []) available.add(input.name ?? '');
  for (const initializer of graph.initializer ?? []) available.add(initializer.name ?? '');
  const producer = new Map<string, number>();
  nodes.forEach((node, index) => (node.output ?? []).forEach((output) => producer.set(output, index)));

  const order: number[] = [];
  const state = new Uint8Array(nodes.length); // 0 unvisited, 1 in progress, 2 done
  // Iterative depth-first search from each node in file order keeps file order where it is valid.
  for (let root = 0; root < nodes.length; root++) {
    const stack: Array<{ index: number; next: number }> = [{ index: root, next: 0 }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      if (!frame) break;
      if (state[frame.index] === 2) {
        stack.pop();
        continue;
      }
      state[frame.index] = 1;
      const inputs = nodes[frame.index]?.input ?? [];
      let descended = false;
      while (frame.next < inputs.length) {
        const input = inputs[frame.next++] ?? '';
        const from = producer.get(input);
        if (from === undefined || available.has(input) || state[from] === 2) continue;
        if (state[from] === 1) throw new Error(`The ONNX graph has a cycle through tensor "${input}"`);
        stack.push({ index: from, next: 0 });
        descended = true;
        break;
      }
      if (!descended) {
        state[frame.index] = 2;
        order.push(frame.index);
        stack.pop();
      }
    }
  }
  return order;
}

/** Groups node indices by layer stack and layer index. */
function layerStacks(nodes: readonly NodeProto[]): Map<string, Map<number, number[]>> {
  const stacks = new Map<string, Map<number, number[]>>();
  nodes.forEach((node, index) => {
    const match = LAYER_SCOPE.exec(node.name ?? '');
    if (!match) return;
    const [, scope = '', layer = ''] = match;
    const layers = stacks.get(scope) ?? new Map<number, number[]>();
    stacks.set(scope, layers);
    const members = layers.get(Number(layer)) ?? [];
    layers.set(Number(layer), members);
    members.push(index);
  });
  return stacks;
}

function chooseStack(
  stacks: Map<string, Map<number, number[]>>,
  nodes: readonly NodeProto[],
  options: FindLayerOptions,
): [string, Map<number, number[]>] {
  if (options.stackScope !== undefined) {
    const layers = stacks.get(options.stackScope);
    if (!layers) {
      throw new Error(
        `No layers under scope "${options.stackScope}". Scopes in this graph: ${[...stacks.keys()].join(', ') || 'none'}.`,
      );
    }
    return [options.stackScope, layers];
  }
  if (stacks.size === 0) {
    const examples = nodes
      .slice(0, 5)
      .map((node) => `"${node.name ?? ''}"`)
      .join(', ');
    throw new Error(
      `Cannot find transformer layers: no node name has a layer scope such as ${KNOWN_SCOPES} ` +
        `(first node names: ${examples}). The model was probably exported or optimized without PyTorch ` +
        'module scopes; export it with Optimum (torch.onnx) to read intermediate layers.',
    );
  }
  if (stacks.size > 1) {
    const described = [...stacks].map(([scope, layers]) => `"${scope}" (${layers.size} layers)`).join(', ');
    throw new Error(`The graph has several layer stacks: ${described}. Pass stackScope to choose one.`);
  }
  const [only] = stacks;
  if (!only) throw new Error('unreachable: one stack expected');
  return only;
}

/** The tensor feeding layer 0, found where layer 1 reads layer 0's output (same relative node, same input slot). */
function embeddingsOutput(
  nodes: readonly NodeProto[],
  stackScope: string,
  layerNodes: (layer: number) => number[],
  firstLayerOutput: string,
  order: readonly number[],
): string {
  const relative = (name: string, layer: number) => name.slice(`${stackScope}${layer}/`.length);
  const layer0 = new Map(layerNodes(0).map((index) => [relative(nodes[index]?.name ?? '', 0), nodes[index]]));
  const produced0 = new Set(layerNodes(0).flatMap((index) => nodes[index]?.output ?? []));
  const votes = new Map<string, number>();
  for (const index of layerNodes(1)) {
    const node = nodes[index];
    (node?.input ?? []).forEach((input, slot) => {
      if (input !== firstLayerOutput) return;
      const twin = layer0.get(relative(node?.name ?? '', 1))?.input?.[slot];
      if (twin && !produced0.has(twin)) votes.set(twin, (votes.get(twin) ?? 0) + 1);
    });
  }
  const [best] = [...votes].sort((a, b) => b[1] - a[1]);
  if (best) return best[0];
  // One layer only (or unlike layers): the first input of layer 0's first node, if produced outside it.
  const first = order.find((index) => layerNodes(0).includes(index));
  const input = first === undefined ? undefined : nodes[first]?.input?.[0];
  if (input && !produced0.has(input)) return input;
  throw new Error(`Cannot tell which tensor feeds the first layer "${stackScope}0/"`);
}

/**
 * The last node of a layer scope that can be the layer's output: in topological order, skipping
 * nodes without inputs (Constant) and nodes whose output is known not to be float (a q8 export
 * quantizes the layer output with a DynamicQuantizeLinear named inside the same scope).
 */
function layerOutput(
  nodes: readonly NodeProto[],
  members: readonly number[],
  rank: ReadonlyMap<number, number>,
  types: ReadonlyMap<string, number>,
): string | undefined {
  const latestFirst = [...members].sort((a, b) => (rank.get(b) ?? -1) - (rank.get(a) ?? -1));
  for (const index of latestFirst) {
    const node = nodes[index];
    const output = node?.output?.[0];
    if (!output || (node?.input ?? []).length === 0) continue;
    const type = types.get(output);
    if (type === undefined || isFloatType(type)) return output;
  }
  return undefined;
}

/** findLayerOutputs on an already decoded graph, with its element types (see element-types.ts). */
export function layerOutputsOfGraph(
  graph: GraphProto,
  types: ReadonlyMap<string, number>,
  options: FindLayerOptions = {},
): LayerOutputs {
  const nodes = graph.node ?? [];
  const [stackScope, layers] = chooseStack(layerStacks(nodes), nodes, options);
  const numLayers = layers.size;
  for (let layer = 0; layer < numLayers; layer++) {
    if (!layers.has(layer)) {
      const found = [...layers.keys()].sort((a, b) => a - b).join(', ');
      throw new Error(`Layer scopes "${stackScope}N/" are not numbered 0..${numLayers - 1}: found ${found}`);
    }
  }
  const order = topologicalOrder(graph);
  const rank = new Map(order.map((index, position) => [index, position]));
  const layerNodes = (layer: number): number[] => layers.get(layer) ?? [];
  const outputs = Array.from({ length: numLayers }, (_, layer) => {
    const output = layerOutput(nodes, layerNodes(layer), rank, types);
    if (!output) throw new Error(`No node of layer scope "${stackScope}${layer}/" produces a float tensor`);
    return output;
  });
  const embeddings = embeddingsOutput(nodes, stackScope, layerNodes, outputs[0] ?? '', order);
  return { stackScope, numLayers, hiddenStates: [embeddings, ...outputs] };
}

/**
 * Discovers the layer boundaries of an ONNX model from node name scopes. Throws a clear
 * error when the bytes are not an ONNX model, no scope is recognisable, the layer indices have
 * gaps, or several stacks exist (choose one with `options.stackScope`).
 */
export function findLayerOutputs(modelBytes: Uint8Array, options: FindLayerOptions = {}): LayerOutputs {
  const graph = decodeGraph(modelBytes);
  return layerOutputsOfGraph(graph, elementTypes(graph), options);
}
