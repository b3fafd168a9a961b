/**
 * @file Any hidden layer through the transformers.js encoder: `embed(texts, { layer })` on the fixtures, checked
 * against onnxruntime-node run directly on the model file (only the tokenizer is shared), plus the errors a user meets
 * (a layer the model does not have, config.json and ONNX file from different models, an export without layer
 * scopes, an HTML page instead of the model) and the served (browser) loading path over HTTP.
 */
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pooling } from '../../../src/lib/core/experiment/types.ts';
import type { Encoder, LoadProgress } from '../../../src/lib/core/ports.ts';
import { addHiddenStateOutputs, hiddenStateOutputName } from '../../../src/lib/ml/onnx-graph/index.ts';
import { loadBatchTokenizer, loadEncoder } from '../../../src/lib/ml/transformers-adapter.ts';

const MODELS = resolve(import.meta.dirname, '../../fixtures/models');
const TINY_BERT = join(MODELS, 'tiny-bert');
const POOLINGS: readonly Pooling[] = ['mean', 'cls', 'last'];

const texts = [
  'the football team scored a late goal',
  'rain and snow are in the forecast for tomorrow',
  'a delicious pizza with cheese for dinner',
  'sports',
  'please review the attached project report before the meeting',
];

/** Pools `[rows, tokens, size]` hidden states over the attention mask, as transformers' feature extraction does. */
function pool(tensor: ort.Tensor, mask: BigInt64Array, pooling: Pooling): Float32Array[] {
  const [rows, tokens, size] = tensor.dims as [number, number, number];
  const data = tensor.data as Float32Array;
  return Array.from({ length: rows }, (_, row) => {
    const real = Array.from({ length: tokens }, (_, token) => token).filter(
      (token) => mask[row * tokens + token] !== 0n,
    );
    const start = (token: number) => (row * tokens + token) * size;
    if (pooling === 'cls') return data.slice(start(0), start(0) + size);
    const lastToken = real.at(-1) ?? 0;
    if (pooling === 'last') return data.slice(start(lastToken), start(lastToken) + size);
    const sums = new Float64Array(size);
    for (const token of real)
      for (let d = 0; d < size; d++) sums[d] = (sums[d] ?? 0) + (data[start(token) + d] ?? 0);
    return Float32Array.from(sums, (sum) => sum / real.length);
  });
}

/**
 * Reference features straight from onnxruntime-node: the original model file (for `last_hidden_state`) or a copy
 * with one `hidden_states.N` output, fed by the model's own tokenizer.
 */
async function referenceFeatures(
  folder: string,
  output: string,
  pooling: Pooling,
  maxTokens: number,
): Promise<Float32Array[]> {
  const original = await readFile(join(folder, 'onnx/model.onnx'));
  const layer = /^hidden_states\.(\d+)$/.exec(output)?.[1];
  const bytes = layer === undefined ? original : addHiddenStateOutputs(original, [Number(layer)]);
  const batch = (await loadBatchTokenizer(folder)).tokenize(texts, maxTokens);
  const dims = batch.dims;
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
    };
    if (batch.tokenTypeIds && session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', batch.tokenTypeIds, dims);
    }
    const results = await session.run(feeds);
    const tensor = results[output];
    if (!tensor) throw new Error(`the reference session returned no ${output}`);
    return pool(tensor, batch.attentionMask, pooling);
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: Float32Array[], b: Float32Array[]): number {
  expect(a).toHaveLength(b.length);
  return a.reduce(
    (max, vector, row) =>
      vector.reduce(
        (rowMax, value, column) => Math.max(rowMax, Math.abs(value - (b[row]?.[column] ?? NaN))),
        max,
      ),
    0,
  );
}

/** A copy of the tiny-bert fixture in a temporary folder, with `change` applied; removed after the test file. */
const copies: string[] = [];
async function fixtureCopy(change: (folder: string) => Promise<void>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tiny-bert-layers-'));
  copies.push(folder);
  await cp(TINY_BERT, folder, { recursive: true });
  await change(folder);
  return folder;
}

afterAll(async () => {
  await Promise.all(copies.map((folder) => rm(folder, { recursive: true, force: true })));
});

describe('hidden layers of the tiny-bert fixture', () => {
  let encoder: Encoder;
  const progress: LoadProgress[] = [];

  beforeAll(async () => {
    encoder = await loadEncoder(
      { kind: 'folder', path: TINY_BERT },
      { device: 'cpu', dtype: 'fp32', onProgress: (event) => progress.push(event) },
    );
  });

  afterAll(async () => {
    await encoder.dispose();
  });

  it('counts 4 layers, so hidden states 0..4, from config.json and the graph alike', () => {
    expect(encoder.numLayers).toBe(4);
  });

  it('gives exactly the last_hidden_state features for layer 4 and for -1, for every pooling', async () => {
    for (const pooling of POOLINGS) {
      const expected = await referenceFeatures(TINY_BERT, 'last_hidden_state', pooling, encoder.maxTokens);
      expect(await encoder.embed(texts, { layer: 4, pooling }), pooling).toEqual(expected);
      expect(await encoder.embed(texts, { layer: -1, pooling }), pooling).toEqual(expected);
    }
  });

  it('gives each layer 0..3 its own hidden states, exactly those of the graph at that depth', async () => {
    const byLayer: Float32Array[][] = [];
    for (let layer = 0; layer <= 4; layer++) {
      byLayer.push(await encoder.embed(texts, { layer, pooling: 'mean' }));
    }
    for (let layer = 0; layer < 4; layer++) {
      const expected = await referenceFeatures(
        TINY_BERT,
        hiddenStateOutputName(layer),
        'mean',
        encoder.maxTokens,
      );
      expect(byLayer[layer], `layer ${layer}`).toEqual(expected);
      for (let other = layer + 1; other <= 4; other++) {
        expect(
          maxAbsDifference(byLayer[layer] ?? [], byLayer[other] ?? []),
          `layer ${layer} vs ${other}`,
        ).toBeGreaterThan(1e-3);
      }
    }
  });

  it('counts negative layers from the end: -5 is the embeddings output, -3 is layer 2', async () => {
    expect(await encoder.embed(texts, { layer: -5, pooling: 'cls' })).toEqual(
      await encoder.embed(texts, { layer: 0, pooling: 'cls' }),
    );
    expect(await encoder.embed(texts, { layer: -3, pooling: 'last' })).toEqual(
      await encoder.embed(texts, { layer: 2, pooling: 'last' }),
    );
  });

  it('gives the same layer-2 vectors whatever the batch size', async () => {
    const one = await encoder.embed(texts, { layer: 2, pooling: 'mean', batchSize: 1 });
    const all = await encoder.embed(texts, { layer: 2, pooling: 'mean', batchSize: 32 });
    expect(maxAbsDifference(one, all)).toBeLessThan(1e-5);
  });

  it('names the allowed range for a layer the model does not have', async () => {
    for (const layer of [5, -6, 1.5]) {
      const error = await encoder
        .embed(texts, { layer, pooling: 'mean' })
        .catch((caught: unknown) => caught as Error);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toBe(
        `Layer ${layer} does not exist: ${TINY_BERT} has layers 0..4 (0 = embeddings output, 4 = last layer), ` +
          'or -1..-5 counting from the end.',
      );
    }
  });

  it('reports the model file under its own name only, and writes nothing into the model folder', async () => {
    const files = progress.map((event) => event.file);
    expect(files.filter((file) => /hidden-states/.test(file))).toEqual([]);
    const modelDone = progress.filter((event) => event.status === 'done' && event.file === 'onnx/model.onnx');
    expect(modelDone).toHaveLength(1);
    expect(modelDone[0]?.total).toBe((await readFile(join(TINY_BERT, 'onnx/model.onnx'))).length);
    expect(await readdir(join(TINY_BERT, 'onnx'))).toEqual(['model.onnx']);
    // The in-memory hand-over is removed once the session exists.
    const { env } = await import('@huggingface/transformers');
    expect(env.useCustomCache).toBe(false);
    expect(env.customCache).toBeNull();
  });
});

describe('hidden layers of other fixture families', () => {
  it('reads every layer of the GPT-2 causal LM; its last layer is the last block', async () => {
    const gpt2 = await loadEncoder(
      { kind: 'folder', path: join(MODELS, 'tiny-gpt2') },
      { device: 'cpu', dtype: 'fp32' },
    );
    try {
      expect(gpt2.numLayers).toBe(2);
      const layers = [];
      for (let layer = 0; layer <= 2; layer++)
        layers.push(await gpt2.embed(texts, { layer, pooling: 'last' }));
      expect(maxAbsDifference(layers[0] ?? [], layers[1] ?? [])).toBeGreaterThan(1e-3);
      expect(maxAbsDifference(layers[1] ?? [], layers[2] ?? [])).toBeGreaterThan(1e-3);
      expect(await gpt2.embed(texts, { layer: -1, pooling: 'last' })).toEqual(layers[2]);
    } finally {
      await gpt2.dispose();
    }
  });

  it('loads two models at once without mixing up their graphs', async () => {
    const [bert, nli] = await Promise.all(
      ['tiny-bert', 'tiny-nli'].map((id) =>
        loadEncoder({ kind: 'folder', path: join(MODELS, id) }, { device: 'cpu', dtype: 'fp32' }),
      ),
    );
    try {
      if (!bert || !nli) throw new Error('both encoders should load');
      expect(await bert.embed(texts, { layer: 2, pooling: 'mean' })).toEqual(
        await referenceFeatures(TINY_BERT, hiddenStateOutputName(2), 'mean', bert.maxTokens),
      );
      // The NLI fixture has no last_hidden_state: its last layer comes from the added output.
      expect(await nli.embed(texts, { layer: -1, pooling: 'mean' })).toEqual(
        await referenceFeatures(join(MODELS, 'tiny-nli'), hiddenStateOutputName(4), 'mean', nli.maxTokens),
      );
    } finally {
      await Promise.all([bert?.dispose(), nli?.dispose()]);
    }
  });
});

describe('models whose layers cannot be read', () => {
  it('refuses to load when config.json and the ONNX file disagree on the layer count', async () => {
    const folder = await fixtureCopy(async (copy) => {
      const config = JSON.parse(await readFile(join(copy, 'config.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(join(copy, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 6 }));
    });
    await expect(
      loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' }),
    ).rejects.toThrow(
      `config.json says the model has 6 layers, but ${folder}/onnx/model.onnx has 4 ` +
        '(scopes /encoder/layer.0/ to /encoder/layer.3/): the two files come from different models.',
    );
  });

  it('still loads an export without layer scopes: the last layer works, others say why they cannot', async () => {
    const folder = await fixtureCopy(async (copy) => {
      const { onnx } = onnxProto;
      const model = onnx.ModelProto.decode(await readFile(join(copy, 'onnx/model.onnx')));
      model.graph?.node?.forEach((node, index) => (node.name = `node_${index}`));
      await writeFile(join(copy, 'onnx/model.onnx'), onnx.ModelProto.encode(model).finish());
    });
    const unscoped = await loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' });
    try {
      expect(unscoped.numLayers).toBe(4);
      expect(await unscoped.embed(texts, { layer: -1, pooling: 'mean' })).toEqual(
        await referenceFeatures(TINY_BERT, 'last_hidden_state', 'mean', unscoped.maxTokens),
      );
      await expect(unscoped.embed(texts, { layer: 2, pooling: 'mean' })).rejects.toThrow(
        /Layer 2 of .* cannot be read, only the last layer \(-1\) can: Cannot find transformer layers: no node name has a layer scope/,
      );
    } finally {
      await unscoped.dispose();
    }
  });

  it('names the ONNX file when it is not a model (an HTML page saved in its place)', async () => {
    const folder = await fixtureCopy((copy) =>
      writeFile(join(copy, 'onnx/model.onnx'), '<!doctype html><html><body>Not found</body></html>'),
    );
    await expect(
      loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' }),
    ).rejects.toThrow(
      `${folder}/onnx/model.onnx is not a usable ONNX model: These 50 bytes are not an ONNX model`,
    );
  });
});

describe('the served (browser) loading path, over HTTP', () => {
  let server: Server;
  const requests: string[] = [];
  const nodeFetch = globalThis.fetch;
  let restoreTransformersEnv: () => void;
  let expectedLayer1: Float32Array[];
  let expectedLast: Float32Array[];

  beforeAll(async () => {
    // The references read the fixture folder, so they are computed before the page-like setup below.
    expectedLayer1 = await referenceFeatures(TINY_BERT, hiddenStateOutputName(1), 'cls', 128);
    expectedLast = await referenceFeatures(TINY_BERT, 'last_hidden_state', 'mean', 128);
    // Serves tests/fixtures/models/ at /models/fixtures/, answering a missing file with index.html like Vite does.
    server = createServer((request, response) => {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
      requests.push(`${request.method ?? ''} ${path}`);
      const relative = normalize(path.replace(/^\/models\/fixtures\//, ''));
      readFile(join(MODELS, relative))
        .then((body) => {
          const type = extname(relative) === '.json' ? 'application/json' : 'application/octet-stream';
          response.writeHead(200, { 'content-type': type, 'content-length': body.length });
          response.end(request.method === 'HEAD' ? undefined : body);
        })
        .catch(() => {
          response.writeHead(200, { 'content-type': 'text/html' });
          response.end('<!doctype html><title>app</title>');
        });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // As in a page: "/models/..." resolves against the app's origin, and transformers.js fetches instead of
    // reading the file system.
    const pageFetch = (input: string | URL | Request, init?: RequestInit) =>
      nodeFetch(typeof input === 'string' ? new URL(input, origin) : input, init);
    globalThis.fetch = pageFetch as typeof fetch;
    const { env } = await import('@huggingface/transformers');
    const saved = { useFS: env.useFS, fetch: env.fetch };
    env.useFS = false;
    env.fetch = pageFetch;
    restoreTransformersEnv = () => Object.assign(env, saved);
  });

  afterAll(async () => {
    globalThis.fetch = nodeFetch;
    restoreTransformersEnv();
    await new Promise((done) => server.close(done));
  });

  it('downloads the model once, with progress, and reads any layer exactly as from the folder', async () => {
    const progress: LoadProgress[] = [];
    const served = await loadEncoder(
      { kind: 'served', baseUrl: '/models/', id: 'fixtures/tiny-bert' },
      { device: 'cpu', dtype: 'fp32', onProgress: (event) => progress.push(event) },
    );
    try {
      expect(served.numLayers).toBe(4);
      const modelGets = requests.filter(
        (request) => request === 'GET /models/fixtures/tiny-bert/onnx/model.onnx',
      );
      expect(modelGets).toHaveLength(1);
      expect(requests.filter((request) => /hidden-states/.test(request))).toEqual([]);
      const size = (await readFile(join(TINY_BERT, 'onnx/model.onnx'))).length;
      expect(progress).toContainEqual({ file: 'onnx/model.onnx', loaded: size, total: size, status: 'done' });
      expect(served.maxTokens).toBe(128);
      expect(await served.embed(texts, { layer: 1, pooling: 'cls' })).toEqual(expectedLayer1);
      expect(await served.embed(texts, { layer: -1, pooling: 'mean' })).toEqual(expectedLast);
    } finally {
      await served.dispose();
    }
  });

  it('names a served model file that the server answers with its HTML page', async () => {
    await expect(
      loadEncoder(
        { kind: 'served', baseUrl: '/models/', id: 'fixtures/tiny-bert' },
        { device: 'cpu', dtype: 'q8' },
      ),
    ).rejects.toThrow(
      'Model file missing: /models/fixtures/tiny-bert/onnx/model_quantized.onnx (HTTP 200, text/html)',
    );
  });
});
