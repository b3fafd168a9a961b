/**
 * @file Tests src/lib/ml/onnx-graph on the fixture models: layer boundaries found from node
 * name scopes, and `hidden_states.N` outputs that onnxruntime-node runs (the last one equal to
 * `last_hidden_state`), plus the errors for models it cannot read; and the model's metadata entries, read and added.
 */
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIXTURES_DIR } from '../../../scripts/fixtures/make-fixtures.ts';
import { ElementType, GraphBuilder } from '../../../scripts/fixtures/onnx-builder.ts';
import {
  addHiddenStateOutputs,
  findLayerOutputs,
  hiddenStateOutputName,
  modelMetadata,
  withModelMetadata,
} from '../../../src/lib/ml/onnx-graph/index.ts';

const readModel = (id: string): Promise<Uint8Array> =>
  readFile(join(DEFAULT_FIXTURES_DIR, 'models', id, 'onnx', 'model.onnx'));

const int64 = (rows: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]?.length ?? 0]);

/** BERT feeds for two rows of 5 tokens, the second padded after 3. */
function bertFeeds(): Record<string, ort.Tensor> {
  return {
    input_ids: int64([
      [2, 600, 601, 250, 3],
      [2, 410, 3, 0, 0],
    ]),
    attention_mask: int64([
      [1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0],
    ]),
    token_type_ids: int64([
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]),
  };
}

async function run(modelBytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(modelBytes);
  try {
    return { outputNames: [...session.outputNames], results: await session.run(feeds) };
  } finally {
    await session.release();
  }
}

function values(tensor: ort.Tensor | undefined): Float32Array {
  if (!tensor) throw new Error('missing output');
  return tensor.data as Float32Array;
}

/** Largest absolute difference between two outputs of the same shape. */
function maxDifference(a: ort.Tensor | undefined, b: ort.Tensor | undefined): number {
  expect(a?.dims).toEqual(b?.dims);
  const right = values(b);
  return values(a).reduce((max, value, index) => Math.max(max, Math.abs(value - (right[index] ?? NaN))), 0);
}

/** A model whose node names have no layer scopes (as after some graph optimizers). */
function unscopedModel(): Uint8Array {
  const graph = new GraphBuilder();
  const input = graph.input('x', ElementType.float, ['batch_size', 4]);
  const weight = graph.floatTensor('w', [4, 4], new Float32Array(16).fill(0.5));
  const product = graph.node('MatMul', 'MatMul_0', [input, weight]);
  const output = graph.node('Relu', 'Relu_1', [product], {}, 'y');
  graph.output(output, ElementType.float, ['batch_size', 4]);
  return graph.encode('unscoped', { irVersion: 8, opset: 17, producer: 'test' });
}

describe('findLayerOutputs', () => {
  let tinyBert: Uint8Array;
  beforeAll(async () => {
    tinyBert = await readModel('tiny-bert');
  });

  it('finds the 4 tiny-bert layers and the embeddings output from /encoder/layer.N scopes', () => {
    expect(findLayerOutputs(tinyBert)).toEqual({
      stackScope: '/encoder/layer.',
      numLayers: 4,
      hiddenStates: [
        '/embeddings/LayerNorm/LayerNormalization_output_0',
        '/encoder/layer.0/output/LayerNorm/LayerNormalization_output_0',
        '/encoder/layer.1/output/LayerNorm/LayerNormalization_output_0',
        '/encoder/layer.2/output/LayerNorm/LayerNormalization_output_0',
        'last_hidden_state',
      ],
    });
  });

  it('finds nested scopes: /bert/encoder/layer.N in tiny-nli, /transformer/h.N in tiny-gpt2', async () => {
    const nli = findLayerOutputs(await readModel('tiny-nli'));
    expect(nli.stackScope).toBe('/bert/encoder/layer.');
    expect(nli.numLayers).toBe(4);
    expect(nli.hiddenStates[0]).toBe('/bert/embeddings/LayerNorm/LayerNormalization_output_0');
    expect(findLayerOutputs(await readModel('tiny-gpt2'))).toEqual({
      stackScope: '/transformer/h.',
      numLayers: 2,
      hiddenStates: [
        '/transformer/Add_output_0',
        '/transformer/h.0/Add_1_output_0',
        '/transformer/h.1/Add_1_output_0',
      ],
    });
  });

  it('says clearly when node names carry no layer scopes', () => {
    expect(() => findLayerOutputs(unscopedModel())).toThrow(
      /no node name has a layer scope such as \/encoder\/layer\.N\/.*"MatMul_0"/,
    );
  });

  it('says clearly when the bytes are not an ONNX model', () => {
    const html = new TextEncoder().encode('<!doctype html><html><body>index</body></html>');
    expect(() => findLayerOutputs(html)).toThrow(/not an ONNX model/);
    expect(() => findLayerOutputs(tinyBert.subarray(0, 1000))).toThrow(
      /not an ONNX model|ModelProto without graph/,
    );
  });

  it('skips the quantize node a q8 export puts after the layer output inside the same scope', () => {
    const graph = new GraphBuilder();
    const input = graph.input('x', ElementType.float, ['batch_size', 2]);
    const layer0 = graph.node('Relu', '/encoder/layer.0/output/Relu', [input]);
    const [quantized = ''] = graph.multiOutputNode(
      'DynamicQuantizeLinear',
      '/encoder/layer.0/output/Relu_output_0_QuantizeLinear',
      [layer0],
      {},
      ['q', 'q_scale', 'q_zero_point'],
    );
    const dequantized = graph.node('Cast', '/encoder/layer.1/dense/Cast', [quantized], {
      to: { int: ElementType.float },
    });
    const layer1 = graph.node('Add', '/encoder/layer.1/Add', [dequantized, layer0]);
    graph.output(layer1, ElementType.float, ['batch_size', 2]);
    const bytes = graph.encode('quantized', { irVersion: 8, opset: 17, producer: 'test' });
    expect(findLayerOutputs(bytes).hiddenStates).toEqual([
      'x',
      '/encoder/layer.0/output/Relu_output_0',
      '/encoder/layer.1/Add_output_0',
    ]);
  });

  it('asks which stack to use when a graph has several, and accepts the choice', () => {
    const graph = new GraphBuilder();
    let text = graph.input('text', ElementType.float, ['batch_size', 2]);
    let image = graph.input('image', ElementType.float, ['batch_size', 2]);
    for (let layer = 0; layer < 2; layer++) {
      text = graph.node('Relu', `/text_model/encoder/layers.${layer}/act/Relu`, [text]);
      image = graph.node('Relu', `/vision_model/encoder/layers.${layer}/act/Relu`, [image]);
    }
    graph.output(text, ElementType.float, ['batch_size', 2]);
    graph.output(image, ElementType.float, ['batch_size', 2]);
    const bytes = graph.encode('two-stacks', { irVersion: 8, opset: 17, producer: 'test' });
    expect(() => findLayerOutputs(bytes)).toThrow(
      /several layer stacks: "\/text_model\/encoder\/layers\." \(2 layers\)/,
    );
    expect(findLayerOutputs(bytes, { stackScope: '/vision_model/encoder/layers.' }).hiddenStates).toEqual([
      'image',
      '/vision_model/encoder/layers.0/act/Relu_output_0',
      '/vision_model/encoder/layers.1/act/Relu_output_0',
    ]);
  });
});

describe('addHiddenStateOutputs', () => {
  let tinyBert: Uint8Array;
  beforeAll(async () => {
    tinyBert = await readModel('tiny-bert');
  });

  it('adds hidden_states.N outputs; the last equals last_hidden_state exactly, earlier layers differ', async () => {
    const augmented = addHiddenStateOutputs(tinyBert, [0, 1, 2, 3, 4]);
    const { outputNames, results } = await run(augmented, bertFeeds());
    expect(outputNames).toEqual(['last_hidden_state', ...[0, 1, 2, 3, 4].map(hiddenStateOutputName)]);
    const last = results.last_hidden_state;
    expect(last?.dims).toEqual([2, 5, 32]);
    expect(Array.from(values(results['hidden_states.4']))).toEqual(Array.from(values(last)));
    for (let layer = 0; layer < 4; layer++) {
      expect(results[hiddenStateOutputName(layer)]?.dims).toEqual([2, 5, 32]);
      expect(maxDifference(results[hiddenStateOutputName(layer)], last), `layer ${layer}`).toBeGreaterThan(
        0.01,
      );
      expect(
        maxDifference(results[hiddenStateOutputName(layer)], results[hiddenStateOutputName(layer + 1)]),
      ).toBeGreaterThan(0.01);
    }
  });

  it('leaves the original graph intact: same nodes and weights first, outputs unchanged', async () => {
    const { onnx } = onnxProto;
    const before = onnx.ModelProto.decode(tinyBert);
    const after = onnx.ModelProto.decode(addHiddenStateOutputs(tinyBert, [2]));
    const names = (model: onnxProto.onnx.ModelProto) => (model.graph?.node ?? []).map((node) => node.name);
    expect(names(after)).toEqual([...names(before), 'hidden_states.2/Identity']);
    expect(after.graph?.initializer?.length).toBe(before.graph?.initializer?.length);
    expect(after.graph?.output?.map((output) => output.name)).toEqual([
      'last_hidden_state',
      'hidden_states.2',
    ]);
    expect(Number(after.irVersion)).toBe(Number(before.irVersion));
    const [original, augmented] = await Promise.all([
      run(tinyBert, bertFeeds()),
      run(addHiddenStateOutputs(tinyBert, [2]), bertFeeds()),
    ]);
    expect(maxDifference(original.results.last_hidden_state, augmented.results.last_hidden_state)).toBe(0);
  });

  it('declares each output as float [batch, sequence, hidden] and is idempotent', () => {
    const { onnx } = onnxProto;
    const once = addHiddenStateOutputs(tinyBert, [-1]);
    const output = onnx.ModelProto.decode(once).graph?.output?.find(
      (info) => info.name === 'hidden_states.4',
    );
    expect(output?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(output?.type?.tensorType?.shape?.dim?.map((dim) => dim.dimParam)).toEqual([
      'batch_size',
      'sequence_length',
      'hidden_size',
    ]);
    expect(addHiddenStateOutputs(once, [4])).toBe(once);
  });

  it('rejects layer indices outside 0..numLayers (or -1..-(numLayers+1)) and an empty request', () => {
    expect(() => addHiddenStateOutputs(tinyBert, [5])).toThrow(
      /Layer 5 does not exist: this model has 4 layers, so use 0/,
    );
    expect(() => addHiddenStateOutputs(tinyBert, [-6])).toThrow(/Layer -6 does not exist/);
    expect(() => addHiddenStateOutputs(tinyBert, [1.5])).toThrow(/Layer 1.5 does not exist/);
    expect(() => addHiddenStateOutputs(tinyBert, [])).toThrow(/at least one layer/);
    expect(() => addHiddenStateOutputs(unscopedModel(), [0])).toThrow(/no node name has a layer scope/);
  });

  it('works on the GPT-2 fixture with its KV cache: hidden states per layer, logits unchanged', async () => {
    const gpt2 = await readModel('tiny-gpt2');
    const tokenizerJson = JSON.parse(
      await readFile(join(DEFAULT_FIXTURES_DIR, 'models', 'tiny-gpt2', 'tokenizer.json'), 'utf8'),
    ) as { model: { vocab: Record<string, number> } };
    const tokens = [
      ['Text', ':', 'ĠThe', 'Ġfootball', 'Ġmatch'].map((token) => tokenizerJson.model.vocab[token] ?? 0),
    ];
    const emptyCache = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 12]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(tokens),
      attention_mask: int64([[1, 1, 1, 1, 1]]),
      position_ids: int64([[0, 1, 2, 3, 4]]),
    };
    for (let layer = 0; layer < 2; layer++) {
      feeds[`past_key_values.${layer}.key`] = emptyCache;
      feeds[`past_key_values.${layer}.value`] = emptyCache;
    }
    const original = await run(gpt2, feeds);
    const augmented = await run(addHiddenStateOutputs(gpt2, [0, 1, 2]), feeds);
    expect(augmented.outputNames.slice(-3)).toEqual([
      'hidden_states.0',
      'hidden_states.1',
      'hidden_states.2',
    ]);
    expect(maxDifference(original.results.logits, augmented.results.logits)).toBe(0);
    expect(augmented.results['hidden_states.2']?.dims).toEqual([1, 5, 48]);
    expect(
      maxDifference(augmented.results['hidden_states.0'], augmented.results['hidden_states.1']),
    ).toBeGreaterThan(0.01);
    expect(
      maxDifference(augmented.results['hidden_states.1'], augmented.results['hidden_states.2']),
    ).toBeGreaterThan(0.01);
  });
});

describe('model metadata', () => {
  const { onnx } = onnxProto;

  it('reads none from a model without metadata_props', async () => {
    expect(modelMetadata(await readModel('tiny-bert'))).toEqual(new Map());
  });

  it('adds entries after the bytes, which stay whole, and reads them back as protobuf and onnxruntime do', async () => {
    const original = await readModel('tiny-bert');
    const entries = new Map([
      ['graph_optimization_level', 'disabled'],
      ['note', 'ünïcode ✓'],
    ]);
    const tagged = withModelMetadata(original, entries);
    expect(Buffer.from(tagged.subarray(0, original.length)).equals(original)).toBe(true);
    expect(modelMetadata(tagged)).toEqual(entries);
    const decoded = onnx.ModelProto.decode(tagged);
    expect(decoded.metadataProps.map(({ key, value }) => [key, value])).toEqual([...entries]);
    expect(decoded.graph?.node?.length).toBe(onnx.ModelProto.decode(original).graph?.node?.length);
    const before = await run(original, bertFeeds());
    const after = await run(tagged, bertFeeds());
    expect(maxDifference(before.results.last_hidden_state, after.results.last_hidden_state)).toBe(0);
  });

  it('appends to metadata a model already has; a repeated key reads as its last entry', () => {
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      metadataProps: [{ key: 'author', value: 'a' }],
      graph: { name: 'g', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }] },
    }).finish();
    const tagged = withModelMetadata(
      model,
      new Map([
        ['author', 'b'],
        ['level', 'basic'],
      ]),
    );
    expect(onnx.ModelProto.decode(tagged).metadataProps.map(({ key, value }) => `${key}=${value}`)).toEqual([
      'author=a',
      'author=b',
      'level=basic',
    ]);
    expect(modelMetadata(tagged)).toEqual(
      new Map([
        ['author', 'b'],
        ['level', 'basic'],
      ]),
    );
  });
});
