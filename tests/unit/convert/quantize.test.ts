/**
 * @file The dynamic int8 quantizer (src/cli/convert/quantize.ts): which graph shapes it rewrites and which it leaves
 * in float with a note, that the rewritten graphs run on onnxruntime and give the float outputs within the error
 * int8 allows, that its bytes are deterministic, that tiny-bert's q8 embeddings stay close to fp32, and that the
 * real Universal Sentence Encoder Lite q8 file is refused for unfreezing with the reason.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIXTURES_DIR } from '../../../scripts/fixtures/make-fixtures.ts';
import { ElementType, GraphBuilder } from '../../../scripts/fixtures/onnx-builder.ts';
import { createRng } from '../../../src/lib/core/rng/rng.ts';
import {
  quantizeDynamic,
  quantizeSymmetric,
  roundHalfToEven,
  type QuantizeOptions,
} from '../../../src/cli/convert/quantize.ts';
import { USE_LITE_QUANTIZATION } from '../../../src/cli/convert/use-lite.ts';
import { layerStackOfGraph } from '../../../src/lib/ml/unfreeze/layer-parameters.ts';
import { UntrainableModelError } from '../../../src/lib/ml/unfreeze/onnx-tensors.ts';
import { buildTopLayers } from '../../../src/lib/ml/unfreeze/top-layers.ts';
import { loadBatchTokenizer } from '../../../src/lib/ml/transformers-adapter.ts';
import { ensureUseLite } from '../../helpers/use-lite.ts';

const { onnx } = onnxProto;

function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => (rng() * 2 - 1) * scale);
}

/** A one-input graph: `x` [2, 3, 8] float in, whatever `body` builds, `y` out. */
function model(body: (g: GraphBuilder, x: string) => string, input: 'float' | 'ids' = 'float'): Uint8Array {
  const g = new GraphBuilder();
  const x =
    input === 'float' ? g.input('x', ElementType.float, [2, 3, 8]) : g.input('x', ElementType.int64, [2, 3]);
  const y = body(g, x);
  g.node('Identity', '/out/Identity', [y], {}, 'y');
  g.output('y', ElementType.float, []);
  return g.encode('test', { irVersion: 8, opset: 17, producer: 'test' });
}

async function run(bytes: Uint8Array, input: ort.Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const { y } = await session.run({ x: input });
    return y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function opTypes(bytes: Uint8Array): string[] {
  return (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((node) => node.opType ?? '');
}

const floatInput = new ort.Tensor('float32', randomValues(2 * 3 * 8, 3), [2, 3, 8]);
const idsInput = new ort.Tensor('int64', BigInt64Array.from([0, 5, 9, 2, 2, 11], BigInt), [2, 3]);

interface Case {
  name: string;
  bytes: Uint8Array;
  options?: QuantizeOptions;
  input?: ort.Tensor;
  quantized: string[];
  skipped: { node: string; reason: RegExp }[];
  /** Operators the quantized graph must have (and, when `float` is true, must not have MatMulInteger). */
  ops: string[];
}

const W = randomValues(8 * 4, 1);
const CASES: Case[] = [
  {
    name: 'MatMul with a 2-D float weight, per tensor',
    bytes: model((g, x) => g.node('MatMul', '/dense/MatMul', [x, g.floatTensor('w', [8, 4], W)])),
    quantized: ['/dense/MatMul'],
    skipped: [],
    ops: ['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Identity'],
  },
  {
    name: 'MatMul with a 2-D float weight, per column, then its bias Add',
    bytes: model((g, x) =>
      g.node('Add', '/dense/Add', [
        g.node('MatMul', '/dense/MatMul', [x, g.floatTensor('w', [8, 4], W)]),
        g.floatTensor('b', [4], randomValues(4, 2)),
      ]),
    ),
    options: { perChannel: true },
    quantized: ['/dense/MatMul'],
    skipped: [],
    ops: ['DynamicQuantizeLinear', 'MatMulInteger', 'Add'],
  },
  {
    name: 'two MatMuls sharing one weight (quantized once)',
    bytes: model((g, x) => {
      const w = g.floatTensor('w', [8, 8], randomValues(64, 4));
      return g.node('MatMul', '/b/MatMul', [g.node('MatMul', '/a/MatMul', [x, w]), w]);
    }),
    quantized: ['/a/MatMul', '/b/MatMul'],
    skipped: [],
    ops: ['MatMulInteger'],
  },
  {
    name: 'activation × activation (attention scores): not a candidate, left as it is',
    bytes: model((g, x) =>
      g.node('MatMul', '/scores/MatMul', [
        x,
        g.node('Transpose', '/scores/Transpose', [x], { perm: { ints: [0, 2, 1] } }),
      ]),
    ),
    quantized: [],
    skipped: [],
    ops: ['Transpose', 'MatMul', 'Identity'],
  },
  {
    name: 'a rank-3 weight: left in float with a note',
    bytes: model((g, x) => g.node('MatMul', '/batched/MatMul', [x, g.floatTensor('w3', [1, 8, 4], W)])),
    quantized: [],
    skipped: [{ node: '/batched/MatMul', reason: /rank 3, not 2/ }],
    ops: ['MatMul', 'Identity'],
  },
  {
    name: 'Gemm with transB and a bias',
    bytes: model((g, x) => {
      const flat = g.node('Reshape', '/flat/Reshape', [x, g.int64Tensor('shape', [2], [6, 8])]);
      return g.node(
        'Gemm',
        '/fc/Gemm',
        [flat, g.floatTensor('wt', [4, 8], W), g.floatTensor('c', [4], W.slice(0, 4))],
        {
          transB: 1,
        },
      );
    }),
    options: { perChannel: true },
    quantized: ['/fc/Gemm'],
    skipped: [],
    ops: ['Reshape', 'MatMulInteger', 'Add'],
  },
  {
    name: 'Gemm with alpha ≠ 1: left in float with a note',
    bytes: model((g, x) => {
      const flat = g.node('Reshape', '/flat/Reshape', [x, g.int64Tensor('shape', [2], [6, 8])]);
      return g.node('Gemm', '/fc/Gemm', [flat, g.floatTensor('w', [8, 4], W)], { alpha: { float: 0.5 } });
    }),
    quantized: [],
    skipped: [{ node: '/fc/Gemm', reason: /alpha is not 1/ }],
    ops: ['Reshape', 'Gemm'],
  },
  {
    name: 'Gather from an embedding table',
    bytes: model(
      (g, x) =>
        g.node('Gather', '/embeddings/Gather', [g.floatTensor('table', [12, 8], randomValues(96, 5)), x]),
      'ids',
    ),
    input: idsInput,
    quantized: ['/embeddings/Gather'],
    skipped: [],
    ops: ['Gather', 'DequantizeLinear'],
  },
  {
    name: 'Gather, with embedding tables turned off',
    bytes: model(
      (g, x) =>
        g.node('Gather', '/embeddings/Gather', [g.floatTensor('table', [12, 8], randomValues(96, 5)), x]),
      'ids',
    ),
    options: { gather: false },
    input: idsInput,
    quantized: [],
    skipped: [],
    ops: ['Gather', 'Identity'],
  },
];

describe('quantizeDynamic on graph shapes', () => {
  it.each(CASES)('$name', async ({ bytes, options, input, quantized, skipped, ops }) => {
    const result = quantizeDynamic(bytes, options);
    expect(result.quantized.map((entry) => entry.node)).toEqual(quantized);
    expect(result.skipped.map((entry) => entry.node)).toEqual(skipped.map((entry) => entry.node));
    result.skipped.forEach((entry, index) => expect(entry.reason).toMatch(skipped[index]!.reason));
    const types = opTypes(result.bytes);
    for (const op of ops) expect(types).toContain(op);
    if (quantized.length === 0) expect(types).toEqual(opTypes(bytes));
    // The quantized graph runs and stays within int8's error of the float one (relative to the output's range);
    // nothing is left to chance: an unquantized graph must give the float output exactly.
    const feed = input ?? floatInput;
    const [reference, actual] = [await run(bytes, feed), await run(result.bytes, feed)];
    expect(actual.length).toBe(reference.length);
    const range = Math.max(...reference.map(Math.abs));
    const worst = Math.max(...actual.map((value, i) => Math.abs(value - reference[i]!)));
    if (quantized.length === 0) expect(worst).toBe(0);
    else {
      expect(worst).toBeGreaterThan(0);
      expect(worst / range).toBeLessThan(0.03);
    }
  });

  it('writes int8 weights in place of the float ones and keeps a float weight something else still reads', () => {
    const shared = model((g, x) => {
      const w = g.floatTensor('w', [8, 8], randomValues(64, 4));
      return g.node('Add', '/add/Add', [g.node('MatMul', '/a/MatMul', [x, w]), w]);
    });
    const initializers = onnx.ModelProto.decode(quantizeDynamic(shared).bytes).graph!.initializer!;
    const byName = new Map(initializers.map((tensor) => [tensor.name, tensor.dataType]));
    expect(byName.get('w')).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(byName.get('w_quantized')).toBe(onnx.TensorProto.DataType.INT8);
    const alone = onnx.ModelProto.decode(quantizeDynamic(CASES[0]!.bytes).bytes).graph!.initializer!;
    expect(alone.map((tensor) => tensor.name)).toEqual(['w_quantized', 'w_scale', 'w_zero_point']);
  });

  it('multiplies 7-bit weights by default (no int16 saturation on AVX2 without VNNI), dequantizes 8-bit tables', () => {
    const largest = (bytes: Uint8Array, name: string) => {
      const tensor = onnx.ModelProto.decode(bytes).graph!.initializer!.find((entry) => entry.name === name)!;
      return Math.max(
        ...new Int8Array(tensor.rawData!.buffer, tensor.rawData!.byteOffset, tensor.rawData!.length).map(
          Math.abs,
        ),
      );
    };
    expect(largest(quantizeDynamic(CASES[0]!.bytes).bytes, 'w_quantized')).toBe(63);
    expect(largest(quantizeDynamic(CASES[0]!.bytes, { reduceRange: false }).bytes, 'w_quantized')).toBe(127);
    const gather = CASES.find((entry) => entry.name === 'Gather from an embedding table')!;
    expect(largest(quantizeDynamic(gather.bytes).bytes, 'table_quantized')).toBe(127);
  });

  it('refuses bytes that are not a model, and a model older than opset 10', () => {
    expect(() => quantizeDynamic(new TextEncoder().encode('<html>not found</html>'))).toThrow();
    const g = new GraphBuilder();
    g.node('Identity', '/id', [g.input('x', ElementType.float, [1])], {}, 'y');
    g.output('y', ElementType.float, [1]);
    expect(() => quantizeDynamic(g.encode('old', { irVersion: 4, opset: 9, producer: 'test' }))).toThrow(
      /opset is 9; dynamic quantization needs opset 10/,
    );
  });
});

describe('quantizeSymmetric', () => {
  it('maps the largest magnitude to ±127 (±63 reduced), per tensor or per column, ties to even', () => {
    const values = Float32Array.of(1, -0.5, 0.25, -2, 0, 0);
    const perTensor = quantizeSymmetric(values, 2, { perChannel: false, reduceRange: false });
    expect([...perTensor.scales]).toEqual([Math.fround(2 / 127)]);
    expect([...perTensor.data]).toEqual([64, -32, 16, -127, 0, 0]);
    const perColumn = quantizeSymmetric(values, 2, { perChannel: true, reduceRange: false });
    expect([...perColumn.scales]).toEqual([Math.fround(1 / 127), Math.fround(2 / 127)]);
    expect([...perColumn.data]).toEqual([127, -32, 32, -127, 0, 0]);
    // 1 / fround(2 / 63) falls just under 31.5: the scale is stored as float32 before dividing.
    expect([...quantizeSymmetric(values, 2, { perChannel: false, reduceRange: true }).data]).toEqual([
      31, -16, 8, -63, 0, 0,
    ]);
    expect([
      ...quantizeSymmetric(new Float32Array(4), 2, { perChannel: true, reduceRange: false }).scales,
    ]).toEqual([1, 1]);
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfToEven)).toEqual([0, 2, 2, 0, -2, 2, 3]);
  });
});

describe('real models', () => {
  let tinyBert: Uint8Array;
  beforeAll(async () => {
    tinyBert = await readFile(join(DEFAULT_FIXTURES_DIR, 'models', 'tiny-bert', 'onnx', 'model.onnx'));
  });

  it('is deterministic: the same model and options give the same bytes', () => {
    const first = quantizeDynamic(tinyBert, { perChannel: true });
    expect(Buffer.from(quantizeDynamic(tinyBert, { perChannel: true }).bytes).equals(first.bytes)).toBe(true);
    expect(Buffer.from(quantizeDynamic(tinyBert).bytes).equals(first.bytes)).toBe(false);
  });

  it("keeps tiny-bert's mean-pooled embeddings within cosine 0.995 of fp32, every weight product quantized", async () => {
    const { bytes, quantized, skipped } = quantizeDynamic(tinyBert, USE_LITE_QUANTIZATION);
    expect(skipped).toEqual([]);
    // 4 layers × (q, k, v, attention output, FFN in, FFN out), plus the embedding tables.
    expect(quantized.filter((entry) => entry.opType === 'MatMul')).toHaveLength(24);
    expect(quantized.some((entry) => entry.opType === 'Gather')).toBe(true);
    expect(bytes.length).toBeLessThan(tinyBert.length / 2);

    const tokenizer = await loadBatchTokenizer(join(DEFAULT_FIXTURES_DIR, 'models', 'tiny-bert'));
    const batch = tokenizer.tokenize(
      [
        'The striker scored twice.',
        'Rain is expected all week long, with strong winds.',
        'Pasta with basil.',
      ],
      64,
    );
    const embed = async (model: Uint8Array) => {
      const session = await ort.InferenceSession.create(model);
      try {
        const feeds: Record<string, ort.Tensor> = {
          input_ids: new ort.Tensor('int64', batch.inputIds, batch.dims),
          attention_mask: new ort.Tensor('int64', batch.attentionMask, batch.dims),
        };
        if (session.inputNames.includes('token_type_ids'))
          feeds.token_type_ids = new ort.Tensor(
            'int64',
            new BigInt64Array(batch.inputIds.length),
            batch.dims,
          );
        const hidden = (await session.run(feeds)).last_hidden_state!;
        const [rows, tokens, size] = hidden.dims as [number, number, number];
        const data = hidden.data as Float32Array;
        return Array.from({ length: rows }, (_, row) => {
          const sum = new Float64Array(size);
          let count = 0;
          for (let t = 0; t < tokens; t++) {
            if (batch.attentionMask[row * tokens + t] === 0n) continue;
            count++;
            for (let d = 0; d < size; d++) sum[d]! += data[(row * tokens + t) * size + d]!;
          }
          return Array.from(sum, (value) => value / count);
        });
      } finally {
        await session.release();
      }
    };
    const [reference, actual] = [await embed(tinyBert), await embed(bytes)];
    reference.forEach((vector, row) => {
      const other = actual[row]!;
      const dot = vector.reduce((sum, value, i) => sum + value * other[i]!, 0);
      const norm = (v: number[]) => Math.hypot(...v);
      const cosine = dot / (norm(vector) * norm(other));
      expect(cosine).toBeGreaterThan(0.995);
      expect(cosine).toBeLessThan(1);
    });
  });

  it('the built-in model ships a q8 file that unfreezing refuses with the reason', async () => {
    const folder = await ensureUseLite();
    const bytes = await readFile(join(folder, 'onnx', 'model_quantized.onnx'));
    expect(opTypes(bytes)).toContain('MatMulInteger');
    const options = { featureLayer: 2, unfreeze: 1, pooling: 'mean', modelId: 'use-lite q8' } as const;
    expect(() => buildTopLayers(bytes, options)).toThrow(UntrainableModelError);
    expect(() => buildTopLayers(bytes, options)).toThrow(/quantized \(int8\/q8\).*fp32/);
    expect(layerStackOfGraph(onnx.ModelProto.decode(bytes).graph!).untrainable).toMatch(/quantized/);
  }, 120_000);
});
