/**
 * @file The attention mask made float without a `Cast`. Exports from PyTorch cast the 0/1 `attention_mask` (int64)
 * to float to build the additive attention bias. onnxruntime-web's `Cast` kernel, a conversion between any two
 * element types, is one 490 kB WebAssembly function: a few runs make it hot, and V8 then optimises it on the
 * browser's compile threads for 1–3 s of CPU, beside the page (docs/performance.md, round 7). Looking each 0/1 value
 * up in the float table [0, 1] (a `Gather`) gives the same floats.
 */
import {
  AttributeType,
  DataType,
  decodeGraph,
  rewriteGraph,
  type GraphEdit,
  type GraphProto,
  type NodeProto,
} from './model-proto.ts';

/** The graph input every tokenizer fills with 0 (padding) and 1 (a token), as int64 (or int32). */
const MASK_INPUT = 'attention_mask';
/** Ops whose output holds only values of their first input: what comes out of them is still a 0/1 mask. */
const VALUE_PRESERVING = new Set([
  'Identity',
  'Unsqueeze',
  'Squeeze',
  'Reshape',
  'Flatten',
  'Expand',
  'Transpose',
]);

/**
 * Returns the model with every `Cast` to float of the attention mask (the graph input `attention_mask`, or what
 * only reshaping ops made of it) replaced by a `Gather` from [0, 1] with the same name and output, and the number
 * replaced. Outputs are identical for a mask of zeros and ones, which is what the app's tokenizers make. Other
 * casts, and models without such a cast, are left alone (the same bytes are returned).
 */
export function withoutMaskCasts(modelBytes: Uint8Array): { bytes: Uint8Array; replaced: number } {
  const edit = maskCastEdit(decodeGraph(modelBytes));
  const replaced = edit.replacements?.size ?? 0;
  return { bytes: replaced === 0 ? modelBytes : rewriteGraph(modelBytes, edit), replaced };
}

/** What {@link withoutMaskCasts} changes in `graph`, as an edit (empty when there is nothing to replace). */
export function maskCastEdit(graph: GraphProto): GraphEdit {
  const nodes = graph.node ?? [];
  // Only an integer mask can index the table (an export that takes a float mask casts nothing worth replacing).
  const maskType = (graph.input ?? []).find((input) => input.name === MASK_INPUT)?.type?.tensorType?.elemType;
  if (maskType !== DataType.INT64 && maskType !== DataType.INT32) return {};
  const masks = new Set([MASK_INPUT]);
  // Nodes are usually in order; repeat until nothing changes so that an unsorted graph is followed too.
  for (let grew = true; grew;) {
    grew = false;
    for (const node of nodes) {
      const [output] = node.output ?? [];
      const isMask =
        isDefaultDomain(node) && VALUE_PRESERVING.has(node.opType ?? '') && masks.has(node.input?.[0] ?? '');
      if (isMask && output && !masks.has(output)) {
        masks.add(output);
        grew = true;
      }
    }
  }
  const table = freeName(graph, 'attention_mask_as_float');
  const replacements = new Map<number, NodeProto>();
  nodes.forEach((node, index) => {
    const to = node.attribute?.find((attribute) => attribute.name === 'to');
    const castsMaskToFloat =
      node.opType === 'Cast' &&
      isDefaultDomain(node) &&
      masks.has(node.input?.[0] ?? '') &&
      Number(to?.i) === DataType.FLOAT;
    if (!castsMaskToFloat) return;
    replacements.set(index, {
      name: node.name,
      opType: 'Gather',
      domain: '',
      input: [table, node.input![0]!],
      output: node.output,
      attribute: [{ name: 'axis', type: AttributeType.INT, i: 0 }],
    });
  });
  if (replacements.size === 0) return {};
  const values = new Uint8Array(Float32Array.of(0, 1).buffer);
  return {
    replacements,
    addition: { initializer: [{ name: table, dims: [2], dataType: DataType.FLOAT, rawData: values }] },
  };
}

function isDefaultDomain(node: NodeProto): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

/** `base`, or `base_2`, `base_3`… : the first name no tensor of the graph has. */
function freeName(graph: GraphProto, base: string): string {
  const taken = new Set<string>();
  for (const list of [graph.input, graph.output, graph.initializer, graph.valueInfo]) {
    for (const entry of list ?? []) if (entry.name) taken.add(entry.name);
  }
  for (const node of graph.node ?? []) for (const output of node.output ?? []) taken.add(output);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  return name;
}
