/**
 * Heads with unfrozen layers as the browser trains them, in Node: the real orchestrator over ModelClient and
 * HeadClient (remote-ports.ts, remote-layers.ts), the real RPC layer over MessageChannels, a model worker whose
 * `embed-tokens` and `layer-model` run the tiny-bert fixture, and the real head worker handlers (layer-handlers.ts)
 * on the tfjs cpu backend. Checked: the same results as the terminal's path (the encoder and the layer trainer
 * called directly), the weights file handed to the head worker once for several heads, tfjs memory back to where
 * it was after training, prediction and a cancel, and a clear error when the worker does not hold the model. Head
 * files are written and imported in the head worker: an imported head labels texts with only features or token
 * states sent, as the terminal does, and its release frees its tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIXTURES_DIR } from '../../../scripts/fixtures/make-fixtures.ts';
import { HeadClient, type ImportedHeadFile } from '../../../src/lib/clients/HeadClient.svelte.ts';
import { ModelClient } from '../../../src/lib/clients/ModelClient.svelte.ts';
import { RemoteLayerTrainer } from '../../../src/lib/clients/remote-layers.ts';
import {
  RemoteEncoder,
  RemoteEncoderProvider,
  RemoteHeadTrainer,
} from '../../../src/lib/clients/remote-ports.ts';
import {
  buildHeadFile,
  headFileInfo,
  parseHeadFileText,
  predictWithHeadFile,
  predictWithHeadWeights,
  serializeHeadFile,
  UNFROZEN_PREDICT_CHUNK,
} from '../../../src/lib/core/heads/head-file.ts';
import { importedHeadWeights } from '../../../src/lib/clients/imported-head.ts';
import { buildDatasetFromRef } from '../../../src/lib/core/dataset/ref.ts';
import {
  createFeatureCache,
  prepareData,
  runParts,
  type ExperimentParts,
} from '../../../src/lib/core/experiment/orchestrator.ts';
import type { RunResult } from '../../../src/lib/core/experiment/types.ts';
import type { Encoder, SerializedHead } from '../../../src/lib/core/ports.ts';
import { createHeadTrainer } from '../../../src/lib/ml/tfjs-head.ts';
import { loadEncoder } from '../../../src/lib/ml/transformers-adapter.ts';
import { createLayerTrainer } from '../../../src/lib/ml/unfreeze/layer-trainer.ts';
import {
  HEAD_EVENT_TYPES,
  type HeadWorkerMethods,
  type ModelWorkerMethods,
  type PackedHead,
} from '../../../src/lib/workers/protocol.ts';
import { RpcClient, type Handlers } from '../../../src/lib/workers/rpc.ts';
import { fakeModelWorker, headWorker, serveOverChannel } from './worker-harness.ts';

const MODEL = 'fixtures/tiny-bert';
const FOLDER = join(DEFAULT_FIXTURES_DIR, 'models', 'tiny-bert');
const ONNX = join(FOLDER, 'onnx', 'model.onnx');

/** Two heads with unfrozen layers on the same model: one file handed over serves both. */
const PARTS: ExperimentParts = {
  model: MODEL,
  prompts: [],
  heads: [
    {
      name: 'top layer',
      layer: -1,
      pooling: 'mean',
      hidden: 0,
      epochs: 4,
      learningRate: 0.01,
      seed: 1,
      batchSize: 8,
      shotsPerClass: 6,
      unfreeze: 1,
      maxTokens: 16,
    },
    {
      name: 'two layers, hidden 4',
      layer: 3,
      pooling: 'cls',
      hidden: 4,
      epochs: 3,
      learningRate: 0.02,
      seed: 2,
      batchSize: 4,
      shotsPerClass: 4,
      unfreeze: 2,
      maxTokens: 12,
      layerLearningRate: 0.004,
    },
  ],
};

const data = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, { test: 0.3, seed: 42 });

let encoder: Encoder;
const open: { close(): void }[] = [];
/** Requests the model worker got for the weights file. */
let fileReads = 0;

/** The model worker, with the tiny-bert encoder behind the requests unfrozen layers make. */
function modelWorker(): Handlers<ModelWorkerMethods> {
  const fake = fakeModelWorker().handlers;
  return {
    ...fake,
    async load(request) {
      return {
        reply: {
          type: 'loaded',
          info: {
            modelId: MODEL,
            device: 'wasm',
            dtype: 'fp32',
            dimension: encoder.dimension,
            numLayers: encoder.numLayers,
            maxTokens: encoder.maxTokens,
            sentenceEmbedding: false,
            numThreads: 1,
            runtimeBuild: 'cpu',
            loadMs: 1,
            source: request.source.kind,
            requestedDevice: request.device,
            requestedDtype: request.dtype,
            notices: [],
            warmupMs: 1,
          },
        },
      };
    },
    async 'count-tokens'(request) {
      return { reply: { type: 'token-counts', counts: await encoder.countTokens(request.texts) } };
    },
    async embed(request) {
      const vectors = await encoder.embed(request.texts, request.options);
      return { reply: { type: 'embedded', vectors, ms: 1 } };
    },
    async 'embed-tokens'(request) {
      const states = await encoder.embedTokens!(request.texts, request.options);
      return { reply: { type: 'embedded-tokens', states, ms: 1 } };
    },
    async 'layer-model'() {
      fileReads++;
      const bytes = new Uint8Array(await readFile(ONNX));
      return {
        reply: { type: 'layer-model-bytes', modelId: MODEL, dtype: 'fp32', bytes },
        transfer: [bytes.buffer],
      };
    },
  };
}

/** Requests posted to the head worker since {@link watchHeadRequests}. */
let watched: { type: string }[] | undefined;

/** Records every request posted to the head worker from now on (the returned list grows). */
function watchHeadRequests(): { type: string }[] {
  watched = [];
  return watched;
}

async function clients(): Promise<{ model: ModelClient; head: HeadClient }> {
  const model = new ModelClient(() => {
    const port = serveOverChannel<ModelWorkerMethods>(modelWorker());
    open.push(port);
    return port;
  });
  const head = new HeadClient(() => {
    const port = serveOverChannel<HeadWorkerMethods>(headWorker());
    open.push(port);
    return {
      ...port,
      postMessage: (message, transfer) => {
        watched?.push(message as { type: string });
        port.postMessage(message, transfer);
      },
    };
  });
  await model.load(MODEL, { device: 'wasm', dtype: 'fp32' });
  return { model, head };
}

/** Runs `PARTS` the browser's way; returns the runs and the heads' weights. */
async function inBrowserWay(
  model: ModelClient,
  head: HeadClient,
  signal?: AbortSignal,
): Promise<{ runs: RunResult[]; heads: SerializedHead[] }> {
  const heads: SerializedHead[] = [];
  const runs = await runParts(
    PARTS,
    data,
    {},
    {
      encoders: new RemoteEncoderProvider(model, signal === undefined ? {} : { signal }),
      trainer: new RemoteHeadTrainer(head),
      layerTrainer: new RemoteLayerTrainer(model, head),
      cache: createFeatureCache(),
      now: () => 0,
      onTrainedHead: (trained) => heads.push(trained),
      ...(signal === undefined ? {} : { signal }),
    },
  );
  return { runs, heads };
}

/** The model as the model worker reports it loaded (what predicting with a head file checks against). */
function loadedModel() {
  return {
    modelId: MODEL,
    dtype: 'fp32',
    dimension: encoder.dimension,
    numLayers: encoder.numLayers,
  } as const;
}

/** Labels `texts` with an imported head the browser's way: token states or features from the model worker. */
function predictInWorker(
  model: ModelClient,
  head: HeadClient,
  imported: ImportedHeadFile,
  texts: readonly string[],
) {
  return predictWithHeadWeights(
    imported.info,
    new RemoteEncoder(model),
    importedHeadWeights(model, head, imported),
    texts,
    loadedModel(),
  );
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  encoder = await loadEncoder({ kind: 'folder', path: FOLDER }, { device: 'cpu', dtype: 'fp32' });
});

afterAll(async () => {
  await encoder.dispose();
});

afterEach(() => {
  watched = undefined;
  for (const port of open.splice(0)) port.close();
  delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
});

describe('heads with unfrozen layers over the workers', () => {
  it('give the terminal’s results, with the weights file handed over once for both heads', async () => {
    const { model, head } = await clients();
    const before = tf.memory().numTensors;
    fileReads = 0;
    const sent = watchHeadRequests() as { type: string; head?: PackedHead }[];
    const browser = await inBrowserWay(model, head);
    expect(fileReads).toBe(1);
    // The weights crossed both ways as Float32Arrays: the trained reply's (transferred) and each prediction's.
    const packedArrays = (packed: PackedHead | undefined) => [
      ...(packed?.layers.flatMap((layer) => [layer.kernel, layer.bias]) ?? []),
      ...(packed?.unfrozen?.weights.map((weight) => weight.values) ?? []),
    ];
    const received = packedArrays(head.result?.head as PackedHead);
    expect(received.length).toBeGreaterThan(16);
    expect(received.every((array) => array instanceof Float32Array && array.length > 0)).toBe(true);
    const predictions = sent.filter((request) => request.type === 'predict-layers');
    expect(predictions.length).toBeGreaterThan(0);
    for (const request of predictions) {
      expect(packedArrays(request.head).every((array) => array instanceof Float32Array)).toBe(true);
    }
    // Every tensor of the training and the predictions released (the handlers run on this thread's tfjs).
    expect(tf.memory().numTensors).toBe(before);

    const cliHeads: SerializedHead[] = [];
    const cli = await runParts(
      PARTS,
      data,
      {},
      {
        encoders: { encoder: async () => encoder },
        trainer: createHeadTrainer({ backend: 'cpu' }),
        layerTrainer: createLayerTrainer({ backend: 'cpu', modelBytes: () => readFile(ONNX) }),
        cache: createFeatureCache(),
        now: () => 0,
        onTrainedHead: (trained) => cliHeads.push(trained),
      },
    );
    expect(browser.runs.map((run) => run.name)).toEqual(['top layer', 'two layers, hidden 4']);
    browser.runs.forEach((run, i) => {
      const other = cli[i]!;
      expect(run.cost.trainedParameters).toBe(other.cost.trainedParameters);
      expect(run.predictions.map((p) => p.label)).toEqual(other.predictions.map((p) => p.label));
      run.predictions.forEach((prediction, k) => {
        for (const [label, score] of Object.entries(prediction.scores)) {
          expect(Math.abs(score - (other.predictions[k]!.scores[label] ?? NaN))).toBeLessThanOrEqual(1e-6);
        }
      });
    });
    // Head + 1 and 2 tiny-bert layers (8,544 parameters each): 32 × 3 + 3, and 32 × 4 + 4 + 4 × 3 + 3.
    expect(browser.runs.map((run) => run.cost.trainedParameters)).toEqual([8_544 + 99, 2 * 8_544 + 147]);
    expect(browser.heads.map((saved) => [saved.unfrozen?.fromLayer, saved.unfrozen?.toLayer])).toEqual([
      [3, 4],
      [1, 3],
    ]);
    expect(browser.heads).toEqual(cliHeads);
  });

  it('stops on cancel with every tensor released, and trains again afterwards', async () => {
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = true;
    const { model, head } = await clients();
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const long = {
      ...PARTS,
      heads: [{ ...PARTS.heads[0]!, epochs: 5000 }],
    };
    const stopped = runParts(
      long,
      data,
      {},
      {
        encoders: new RemoteEncoderProvider(model, { signal: controller.signal }),
        trainer: new RemoteHeadTrainer(head),
        layerTrainer: new RemoteLayerTrainer(model, head),
        cache: createFeatureCache(),
        now: () => 0,
        signal: controller.signal,
      },
    );
    // Cancel once training is under way (an epoch reported), not before.
    const watch = setInterval(() => {
      if (head.epochs.length > 0) controller.abort();
    }, 5);
    try {
      await expect(stopped).rejects.toMatchObject({ name: 'CancelledError' });
    } finally {
      clearInterval(watch);
    }
    expect(head.status).toBe('cancelled');
    expect(head.epochs.length).toBeLessThan(5000);
    // The client rejects at once; the worker stops at its next batch and then releases everything.
    await expect.poll(() => tf.memory().numTensors, { timeout: 30_000 }).toBe(before);
    const { runs } = await inBrowserWay(model, head);
    expect(runs).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('run an exported head file through the workers with the experiment’s scores, as the terminal does', async () => {
    const { model, head } = await clients();
    const { runs, heads } = await inBrowserWay(model, head);
    // The second head: feature layer 3 (not the last), cls pooling, a hidden layer, two unfrozen layers.
    const [spec, run, trained] = [PARTS.heads[1]!, runs[1]!, heads[1]!];
    const input = {
      experiment: 'topics',
      spec,
      labels: data.dataset.labels,
      backbone: { model: MODEL, dtype: 'fp32' as const, dimension: encoder.dimension },
      head: trained,
      run,
    };
    // Written in the head worker: the same text as the core writes, and the trained head left as it was.
    const bytes = await head.exportHeadFile(input);
    const text = new TextDecoder().decode(bytes);
    expect(text).toBe(serializeHeadFile(buildHeadFile(input)));
    expect(trained.unfrozen?.weights[0]?.values.length).toBeGreaterThan(0);
    const file = parseHeadFileText(text);
    expect(file.layers?.map((layer) => layer.layer)).toEqual([1, 2]);

    const texts = data.split.test.map((example) => example.text);
    // More texts than one chunk, so the head is used for several requests.
    const many = [...texts, ...texts, ...texts, ...texts, ...texts, ...texts].slice(
      0,
      UNFROZEN_PREDICT_CHUNK + 5,
    );
    const before = tf.memory().numTensors;
    fileReads = 0;
    const imported = await head.importHeadFile(new Blob([bytes]));
    expect(imported.info).toEqual(headFileInfo(file));
    expect(imported.info).not.toHaveProperty('head');
    const sent = watchHeadRequests();
    const browser = await predictInWorker(model, head, imported, many);
    // Two chunks, token states only: the weights never left the worker again.
    expect(sent.map((request) => request.type)).toEqual([
      'predict-imported-layers',
      'predict-imported-layers',
    ]);
    expect(sent.every((request) => !('head' in request))).toBe(true);
    expect(fileReads).toBe(0);
    // The layers stay built in the worker until the head is released.
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    expect(await head.memory()).toMatchObject({ imported: 1 });
    await head.releaseHead(imported);
    expect(await head.memory()).toEqual({ numTensors: before, imported: 0 });
    await expect(predictInWorker(model, head, imported, texts)).rejects.toThrow(
      /no longer holds the imported head .*import the head file again/,
    );

    const layers = createLayerTrainer({ backend: 'cpu', modelBytes: () => readFile(ONNX) });
    const terminal = await predictWithHeadFile(
      file,
      encoder,
      () => Promise.reject(new Error('not a frozen-feature head')),
      texts,
      encoder,
      (request, saved) => layers.fromJSON(request, saved),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(browser.slice(0, texts.length).map((p) => p.label)).toEqual(run.predictions.map((p) => p.label));
    expect(terminal.map((p) => p.label)).toEqual(run.predictions.map((p) => p.label));
    browser.forEach((prediction, k) => {
      for (const label of data.dataset.labels) {
        const expected = run.predictions[k % texts.length]!.scores[label] ?? NaN;
        expect(Math.abs((prediction.scores[label] ?? NaN) - expected)).toBeLessThanOrEqual(1e-6);
        if (k < texts.length) {
          expect(Math.abs((terminal[k]!.scores[label] ?? NaN) - expected)).toBeLessThanOrEqual(1e-6);
        }
      }
    });
  });

  it('import and label with a head on frozen features in the worker, and say which field of a bad file is wrong', async () => {
    const { model, head } = await clients();
    const spec = { ...PARTS.heads[0]!, name: 'frozen', unfreeze: 0, hidden: 4 };
    const trained = await createHeadTrainer({ backend: 'cpu' }).train(
      await encoder.embed(
        data.split.train.map((example) => example.text),
        { layer: -1, pooling: 'mean' },
      ),
      data.split.train.map((example) => data.dataset.labels.indexOf(example.label)),
      data.dataset.labels.length,
      { hidden: 4, epochs: 3, learningRate: 0.05, seed: 1, batchSize: 8 },
    );
    const saved = trained.toJSON();
    trained.dispose();
    const backbone = { model: MODEL, dtype: 'fp32' as const, dimension: encoder.dimension };
    const input = { experiment: 'topics', spec, labels: data.dataset.labels, backbone, head: saved };
    const bytes = await head.exportHeadFile(input);
    const file = parseHeadFileText(new TextDecoder().decode(bytes));
    const before = tf.memory().numTensors;
    const imported = await head.importHeadFile(new Blob([bytes]));
    const texts = data.split.test.map((example) => example.text);
    const sent = watchHeadRequests();
    const browser = await predictInWorker(model, head, imported, texts);
    expect(sent.map((request) => request.type)).toEqual(['predict-imported']);
    const terminal = await predictWithHeadFile(
      file,
      encoder,
      (weights) => createHeadTrainer({ backend: 'cpu' }).fromJSON(weights),
      texts,
      loadedModel(),
    );
    expect(browser).toEqual(terminal);
    await head.releaseHead(imported);
    expect(tf.memory().numTensors).toBe(before);

    const broken = new Blob([
      new TextDecoder().decode(bytes).replace('"pooling": "mean"', '"pooling": "max"'),
    ]);
    await expect(head.importHeadFile(broken)).rejects.toThrow(
      /Invalid head file: features\.pooling must be one of/,
    );
    await expect(head.importHeadFile(new Blob(['{"format": 1']))).rejects.toThrow(/it is not valid JSON/);
    expect(await head.memory()).toEqual({ numTensors: before, imported: 0 });
  });

  it('refuses to train or predict on a model the head worker does not hold, saying so', async () => {
    const port = serveOverChannel<HeadWorkerMethods>(headWorker());
    open.push(port);
    const rpc = new RpcClient<HeadWorkerMethods>(port, HEAD_EVENT_TYPES, 'head worker');
    const request = { model: MODEL, featureLayer: 4, unfreeze: 1, pooling: 'mean' } as const;
    const texts = [{ ids: Int32Array.of(1), states: new Float32Array(32), width: 32 }];
    await expect(
      rpc.call('train-layers', {
        key: 'never-held',
        request,
        texts,
        labelIndices: [0],
        numClasses: 2,
        options: { hidden: 0, epochs: 1, learningRate: 0.01, seed: 1, batchSize: 1 },
      }),
    ).rejects.toThrow(/does not hold the weights of fixtures\/tiny-bert \(it holds none\); run again/);
    await rpc.call('hold-layer-model', { key: 'held', bytes: new Uint8Array(await readFile(ONNX)) });
    await expect(
      rpc.call('predict-layers', {
        key: 'another',
        request,
        head: { inputSize: 32, hidden: 0, numClasses: 2, layers: [] },
        texts,
      }),
    ).rejects.toThrow(/it holds another model’s/);
  });
});
