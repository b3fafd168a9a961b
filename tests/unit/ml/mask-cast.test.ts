/**
 * @file src/lib/ml/onnx-graph/mask-cast.ts and `rewriteGraph`: the Casts to float of the 0/1 attention mask become
 * Gathers from [0, 1] with identical outputs (onnxruntime-node runs both graphs), every other Cast stays, and the
 * rest of the model is copied byte for byte.
 */
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FIXTURES_DIR } from '../../../scripts/fixtures/make-fixtures.ts';
import { ElementType, GraphBuilder } from '../../../scripts/fixtures/onnx-builder.ts';
import * as tf from '@tensorflow/tfjs';
import { exposeHiddenStates } from '../../../src/lib/ml/layer-access.ts';
import { compileSubgraph } from '../../../src/lib/ml/unfreeze/onnx-tfjs.ts';
import { decodeGraph, rewriteGraph, withoutMaskCasts } from '../../../src/lib/ml/onnx-graph/index.ts';

const { onnx } = onnxProto;
const ROWS = [
  [1, 1, 1, 1],
  [1, 1, 0, 0],
];
const int64 = (rows: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]?.length ?? 0]);

/** A model with int64 inputs `input_ids` and `maskInput` [2, 4], and the graph `build` adds, ending in `out`. */
function model(
  build: (g: GraphBuilder, mask: string, ids: string) => string,
  { maskInput = 'attention_mask', maskType = ElementType.int64, outType = ElementType.float, rank = 2 } = {},
): Uint8Array {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', ElementType.int64, ['batch', 'sequence']);
  const mask = g.input(maskInput, maskType, ['batch', 'sequence']);
  const last = build(g, mask, ids);
  g.node('Identity', 'out/Identity', [last], {}, 'out');
  g.output(
    'out',
    outType,
    Array.from({ length: rank }, (_, axis) => `d${axis}`),
  );
  return g.encode('mask_cast_test', { irVersion: 8, opset: 17, producer: 'test' });
}

const toFloat = { to: { int: ElementType.float } };
const axes = (g: GraphBuilder, name: string, values: number[]) =>
  g.int64Tensor(name, [values.length], values);

/** Runs `bytes` on `feeds` in onnxruntime-node and returns the output named `output`. */
async function run(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  output = 'out',
): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return (await session.run(feeds))[output]!;
  } finally {
    await session.release();
  }
}

const opTypes = (bytes: Uint8Array) => (decodeGraph(bytes).node ?? []).map((node) => node.opType);

describe('withoutMaskCasts', () => {
  it.each([
    {
      what: 'a Cast to float of the mask',
      build: (g: GraphBuilder, mask: string) => g.node('Cast', 'c', [mask], toFloat),
      replaced: 1,
    },
    {
      what: 'a Cast to float after two Unsqueezes, as PyTorch exports of BERT have',
      build: (g: GraphBuilder, mask: string) => {
        const rows = g.node('Unsqueeze', 'u1', [mask, axes(g, 'a1', [1])]);
        return g.node('Cast', 'c', [g.node('Unsqueeze', 'u2', [rows, axes(g, 'a2', [2])])], toFloat);
      },
      rank: 4,
      replaced: 1,
    },
    {
      what: 'a Cast to float after a Reshape and a Transpose',
      build: (g: GraphBuilder, mask: string) => {
        const shaped = g.node('Reshape', 'r', [mask, axes(g, 'shape', [2, 2, 2])]);
        return g.node(
          'Cast',
          'c',
          [g.node('Transpose', 't', [shaped], { perm: { ints: [2, 1, 0] } })],
          toFloat,
        );
      },
      rank: 3,
      replaced: 1,
    },
    {
      what: 'two Casts to float of the mask',
      build: (g: GraphBuilder, mask: string) =>
        g.node('Add', 'sum', [g.node('Cast', 'c1', [mask], toFloat), g.node('Cast', 'c2', [mask], toFloat)]),
      replaced: 2,
    },
    {
      what: 'a Cast of the mask to another type',
      build: (g: GraphBuilder, mask: string) =>
        g.node('Cast', 'c', [mask], { to: { int: onnx.TensorProto.DataType.INT32 } }),
      outType: onnx.TensorProto.DataType.INT32,
      replaced: 0,
    },
    {
      what: 'a Cast to float of the token ids',
      build: (g: GraphBuilder, _mask: string, ids: string) => g.node('Cast', 'c', [ids], toFloat),
      replaced: 0,
    },
    {
      what: 'a Cast to float of the mask’s running sum, which is not 0/1',
      build: (g: GraphBuilder, mask: string) =>
        g.node('Cast', 'c', [g.node('CumSum', 'cs', [mask, g.int64Tensor('axis', [], [1])])], toFloat),
      replaced: 0,
    },
    {
      what: 'a Cast to float of a float attention_mask, which cannot index the table',
      build: (g: GraphBuilder, mask: string) => g.node('Cast', 'c', [mask], toFloat),
      maskType: ElementType.float,
      replaced: 0,
    },
    {
      what: 'a Cast to float of an input that is not named attention_mask',
      build: (g: GraphBuilder, mask: string) => g.node('Cast', 'c', [mask], toFloat),
      maskInput: 'mask',
      replaced: 0,
    },
  ])(
    '$what: $replaced replaced, same outputs',
    async ({ build, replaced, maskInput, maskType, outType, rank }) => {
      const original = model(build, { maskInput, maskType, outType, rank });
      const result = withoutMaskCasts(original);
      expect(result.replaced).toBe(replaced);
      if (replaced === 0) {
        expect(result.bytes).toBe(original);
        return;
      }
      expect(opTypes(result.bytes).filter((op) => op === 'Cast')).toEqual([]);
      const feeds = {
        input_ids: int64([
          [5, 6, 7, 8],
          [9, 10, 0, 0],
        ]),
        [maskInput ?? 'attention_mask']: int64(ROWS),
      };
      const [before, after] = await Promise.all([run(original, feeds), run(result.bytes, feeds)]);
      expect(after.dims).toEqual(before.dims);
      expect(after.type).toBe(before.type);
      expect(Array.from(after.data as Float32Array)).toEqual(Array.from(before.data as Float32Array));
    },
  );

  it('keeps every node’s name and place, and names its table after no existing tensor', () => {
    const original = model((g, mask) => {
      g.floatTensor('attention_mask_as_float', [1], Float32Array.of(3));
      const cast = g.node('Cast', 'c', [mask], toFloat);
      return g.node('Add', 'plus', [cast, 'attention_mask_as_float']);
    });
    const graph = decodeGraph(withoutMaskCasts(original).bytes);
    expect(graph.node?.map((node) => [node.name, node.opType])).toEqual([
      ['c', 'Gather'],
      ['plus', 'Add'],
      ['out/Identity', 'Identity'],
    ]);
    expect(graph.node?.[0]?.input).toEqual(['attention_mask_as_float_2', 'attention_mask']);
    expect(graph.node?.[0]?.output).toEqual(['c_output_0']);
    expect(graph.initializer?.map((tensor) => tensor.name)).toEqual([
      'attention_mask_as_float',
      'attention_mask_as_float_2',
    ]);
  });

  it('follows the mask through nodes listed out of order', () => {
    const original = model((g, mask) => {
      const cast = g.node('Cast', 'c', ['later_output_0'], toFloat);
      g.node('Unsqueeze', 'later', [mask, axes(g, 'a', [1])]);
      return cast;
    });
    expect(withoutMaskCasts(original).replaced).toBe(1);
  });

  it('is computed alike by the unfrozen layers’ TensorFlow.js interpreter, which feeds the mask as int32', async () => {
    const graph = decodeGraph(
      withoutMaskCasts(model((g, mask) => g.node('Cast', 'c', [mask], toFloat))).bytes,
    );
    const compiled = compileSubgraph(graph, {
      feeds: ['attention_mask'],
      output: 'out',
      isTrainable: () => false,
    });
    try {
      const out = tf.tidy(() =>
        compiled.run(new Map([['attention_mask', tf.tensor(ROWS, undefined, 'int32')]])),
      );
      expect(out.dtype).toBe('float32');
      expect(await out.array()).toEqual(ROWS);
      out.dispose();
    } finally {
      compiled.dispose();
    }
  });

  it('gives the BERT fixture the same outputs without its Cast, in the one copy that also adds its layers', async () => {
    const tinyBert = await readFile(join(DEFAULT_FIXTURES_DIR, 'models', 'tiny-bert', 'onnx', 'model.onnx'));
    expect(opTypes(tinyBert)).toContain('Cast');
    const prepared = exposeHiddenStates(tinyBert, 4, 'tiny-bert');
    expect(opTypes(prepared.bytes)).not.toContain('Cast');
    expect(decodeGraph(prepared.bytes).output?.map((output) => output.name)).toContain('hidden_states.4');
    const feeds = {
      input_ids: int64([
        [2, 600, 601, 3],
        [2, 410, 3, 0],
      ]),
      attention_mask: int64(ROWS),
      token_type_ids: int64([
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]),
    };
    const [before, after] = await Promise.all([
      run(tinyBert, feeds, 'last_hidden_state'),
      run(prepared.bytes, feeds, 'last_hidden_state'),
    ]);
    expect(Array.from(after.data as Float32Array)).toEqual(Array.from(before.data as Float32Array));
  });
});

describe('rewriteGraph', () => {
  const original = model((g, mask) => g.node('Cast', 'c', [mask], toFloat));
  const identity = (name: string, input: string, output: string) => ({
    name,
    opType: 'Identity',
    input: [input],
    output: [output],
  });

  it('copies the untouched nodes byte for byte and appends each edit’s additions in order', () => {
    const rewritten = rewriteGraph(
      original,
      { replacements: new Map([[0, identity('c', 'input_ids', 'c_output_0')]]) },
      { addition: { node: [identity('first', 'out', 'first_out')] } },
      { addition: { node: [identity('second', 'first_out', 'second_out')] } },
    );
    const nodes = onnx.ModelProto.decode(rewritten).graph?.node ?? [];
    expect(nodes.map((node) => node.name)).toEqual(['c', 'out/Identity', 'first', 'second']);
    const encoded = (bytes: Uint8Array, index: number) =>
      onnx.NodeProto.encode(onnx.ModelProto.decode(bytes).graph!.node![index]!).finish();
    expect(encoded(rewritten, 1)).toEqual(encoded(original, 1));
  });

  it('refuses a node index the graph does not have, and two edits of one node', () => {
    const node = identity('c', 'input_ids', 'c_output_0');
    expect(() => rewriteGraph(original, { replacements: new Map([[2, node]]) })).toThrow(
      'The ONNX graph has 2 nodes; there is no node 2 to replace',
    );
    const edit = { replacements: new Map([[0, node]]) };
    expect(() => rewriteGraph(original, edit, edit)).toThrow('Two edits replace node 0 of the ONNX graph');
  });
});
