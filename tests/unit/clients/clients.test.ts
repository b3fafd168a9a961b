/**
 * ModelClient and HeadClient driven through their worker factories: the real RPC layer over a MessageChannel,
 * a fake model worker (keyword encoders) and the real tfjs head on the cpu backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeadClient } from '../../../src/lib/clients/HeadClient.svelte.ts';
import { ModelClient } from '../../../src/lib/clients/ModelClient.svelte.ts';
import {
  RemoteEncoder,
  RemoteEncoderProvider,
  type ModelSwitch,
} from '../../../src/lib/clients/remote-ports.ts';
import type { EpochReport } from '../../../src/lib/core/ports.ts';
import type { HeadWorkerMethods, ModelWorkerMethods } from '../../../src/lib/workers/protocol.ts';
import {
  fakeModelWorker,
  FAKE_LOAD_PHASES,
  headWorker,
  serveOverChannel,
  type FakeModelWorkerOptions,
} from './worker-harness.ts';

const open: { close(): void }[] = [];

afterEach(() => {
  for (const port of open.splice(0)) port.close();
  delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
});

function modelClient(options: FakeModelWorkerOptions = {}) {
  const worker = fakeModelWorker(options);
  const starts: boolean[] = [];
  const client = new ModelClient(({ allowDownloads }) => {
    starts.push(allowDownloads);
    const port = serveOverChannel<ModelWorkerMethods>(worker.handlers);
    open.push(port);
    return port;
  });
  return { client, log: worker.log, starts };
}

function headClient(): HeadClient {
  return new HeadClient(() => {
    const port = serveOverChannel<HeadWorkerMethods>(headWorker());
    open.push(port);
    return port;
  });
}

const AUTO = { device: 'auto', dtype: 'auto' } as const;

describe('ModelClient', () => {
  it('loads a model: status, progress per file, what loaded and how', async () => {
    const { client, starts } = modelClient();
    expect(client.ready).toBe(false);
    const pending = client.load('fixtures/tiny-bert', AUTO);
    expect(client.status).toBe('loading');
    expect(client.modelId).toBe('fixtures/tiny-bert');
    const info = await pending;
    expect(info).toMatchObject({
      modelId: 'fixtures/tiny-bert',
      dimension: 4,
      numLayers: 2,
      source: 'served',
    });
    expect(client.status).toBe('ready');
    expect(client.ready).toBe(true);
    expect(client.files).toEqual([{ file: 'onnx/model.onnx', loaded: 10, total: 10, done: true }]);
    expect(client.phases).toEqual(FAKE_LOAD_PHASES);
    expect(client.loadedWith).toEqual({ target: 'fixtures/tiny-bert', choice: AUTO });
    expect(starts).toEqual([false]);
  });

  it('keeps the previous model after a failed load, and says so', async () => {
    const { client, log } = modelClient({ failing: new Set(['broken/model']) });
    await client.load('fixtures/tiny-bert', AUTO);
    await expect(client.load('broken/model', { device: 'wasm', dtype: 'fp32' })).rejects.toThrow(
      'Could not load broken/model: onnx/model.onnx is missing.',
    );
    expect(client.status).toBe('error');
    expect(client.error).toBe(
      'Could not load broken/model: onnx/model.onnx is missing.\n' +
        'Still using the previous model, fixtures/tiny-bert (wasm, fp32).',
    );
    expect(client.failedId).toBe('broken/model');
    expect(client.modelId).toBe('fixtures/tiny-bert');
    expect(client.ready).toBe(true);
    expect(client.loadedWith).toEqual({ target: 'fixtures/tiny-bert', choice: AUTO });
    expect(log.loads).toEqual(['fixtures/tiny-bert', 'broken/model']);
  });

  it('embeds with the loaded model and refuses before one is loaded', async () => {
    const { client, log } = modelClient();
    await expect(client.embed(['x'], { layer: -1, pooling: 'mean' })).rejects.toThrow(
      'No model is loaded yet',
    );
    await client.load('fixtures/tiny-bert', AUTO);
    const vectors = await client.embed(['a goal in the match', 'rain and snow'], {
      layer: 1,
      pooling: 'mean',
    });
    expect(vectors.map((vector) => [...vector])).toEqual([
      [0, 2, 0, Math.fround(0.1)],
      [0, 0, 2, Math.fround(0.1)],
    ]);
    expect(client.embedProgress).toBeUndefined();
    expect(log.embeds).toEqual([
      {
        model: 'fixtures/tiny-bert',
        texts: ['a goal in the match', 'rain and snow'],
        layer: 1,
        pooling: 'mean',
      },
    ]);
    expect(await client.countTokens(['one two three'])).toEqual([3]);
    await client.unload();
    expect(client.ready).toBe(false);
    expect(client.loadedWith).toBeUndefined();
    expect(await client.stats()).toMatchObject({ liveEncoders: 0, loads: 1, disposals: 1 });
  });
});

describe('ModelClient embed progress', () => {
  /** Every value written to `client.embedProgress`, in order (an instance accessor over the class's own). */
  function recordProgress(client: ModelClient): unknown[] {
    const written: unknown[] = [];
    let value = client.embedProgress;
    Object.defineProperty(client, 'embedProgress', {
      get: () => value,
      set: (next: typeof value) => {
        value = next;
        written.push(next === undefined ? undefined : { ...next });
      },
    });
    return written;
  }

  // Five progress events inside one frame: the page is told the total at the start and nothing at the end; the
  // events in between reach it once per frame at most (here no frame comes before the reply).
  it.each([
    {
      call: 'embed',
      worker: 'embed',
      run: (client: ModelClient) => client.embed(['a', 'b', 'c', 'd', 'e'], { layer: -1, pooling: 'mean' }),
      reply: { type: 'embedded', vectors: [], ms: 1 },
    },
    {
      call: 'embedTokens',
      worker: 'embed-tokens',
      run: (client: ModelClient) =>
        client.embedTokens(['a', 'b', 'c', 'd', 'e'], { layer: -1, maxTokens: 16 }),
      reply: { type: 'embedded-tokens', states: [], ms: 1 },
    },
    {
      call: 'classifyPairs',
      worker: 'classify-pairs',
      run: (client: ModelClient) =>
        client.classifyPairs(['a', 'b', 'c', 'd', 'e'].map((premise) => ({ premise, hypothesis: 'h' }))),
      reply: { type: 'pairs-classified', logits: [], tokens: 0, truncated: [] },
    },
  ] as const)('$call writes its progress at most once per frame', async ({ worker, run, reply }) => {
    const fake = fakeModelWorker();
    const handlers = fake.handlers as unknown as Record<
      string,
      (request: unknown, context: { emit(event: unknown): void }) => Promise<unknown>
    >;
    handlers[worker] = async (_request, { emit }) => {
      for (let done = 1; done <= 5; done++) emit({ type: 'embed-progress', done, total: 5 });
      return { reply };
    };
    const client = new ModelClient(() => {
      const port = serveOverChannel<ModelWorkerMethods>(fake.handlers);
      open.push(port);
      return port;
    });
    await client.load('fixtures/tiny-bert', AUTO);
    const written = recordProgress(client);
    await run(client);
    expect(written).toEqual([{ done: 0, total: 5 }, undefined]);
  });
});

describe('remote ports over ModelClient', () => {
  it('an encoder refuses to embed once another model replaced its own', async () => {
    const { client, log } = modelClient();
    await client.load('fixtures/tiny-bert', AUTO);
    const encoder = new RemoteEncoder(client);
    await client.load('fake/other', AUTO);
    await expect(encoder.embed(['x'], { layer: -1, pooling: 'mean' })).rejects.toThrow(
      'The model "fixtures/tiny-bert" is no longer loaded ("fake/other" is); run again.',
    );
    expect(log.embeds).toEqual([]);
  });

  it('loads another model with the same choice, then the original exactly as it was loaded', async () => {
    const { client, log } = modelClient();
    const original = { source: { kind: 'served', baseUrl: '/models/', id: 'fixtures/tiny-bert' } } as const;
    await client.load(original, { device: 'wasm', dtype: 'fp32' });
    const switches: ModelSwitch[] = [];
    const provider = new RemoteEncoderProvider(client, {
      onSwitch: (change) => switches.push(change),
      resolveTarget: async (model) => ({ source: { kind: 'served', baseUrl: '/models/', id: model } }),
    });
    expect((await provider.encoder('fixtures/tiny-bert')).modelId).toBe('fixtures/tiny-bert');
    expect(log.loads).toEqual(['fixtures/tiny-bert']);
    const other = await provider.encoder('fake/other');
    expect(await other.embed(['rain'], { layer: -1, pooling: 'mean' })).toHaveLength(1);
    await provider.release();
    expect(log.loads).toEqual(['fixtures/tiny-bert', 'fake/other', 'fixtures/tiny-bert']);
    expect(client.loadedWith).toEqual({ target: original, choice: { device: 'wasm', dtype: 'fp32' } });
    expect(switches.map((change) => change.kind)).toEqual(['loading', 'restoring', 'restored']);
    await provider.release();
    expect(log.loads).toHaveLength(3);
  });
});

describe('HeadClient', () => {
  const features = [
    [1, 0],
    [0.9, 0.1],
    [0, 1],
    [0.1, 0.9],
  ].map((values) => Float32Array.from(values));
  const input = (epochs: number) => ({
    features,
    labelIndices: [0, 0, 1, 1],
    numClasses: 2,
    options: { hidden: 0, epochs, learningRate: 0.1, seed: 1, batchSize: 4 },
  });

  it('trains in the worker with one report per epoch, then predicts with the trained head', async () => {
    const client = headClient();
    const reports: EpochReport[] = [];
    const reply = await client.train(input(30), undefined, (report) => reports.push(report));
    expect(client.status).toBe('done');
    expect(reports.map((report) => report.epoch)).toEqual(client.epochs.map((report) => report.epoch));
    expect(client.epochs).toHaveLength(30);
    expect(client.totalEpochs).toBe(30);
    expect(reply.parameterCount).toBe(2 * 2 + 2);
    expect(client.result).toEqual(reply);
    const probabilities = await client.predict(reply.head, [
      Float32Array.from([1, 0]),
      Float32Array.from([0, 1]),
    ]);
    expect(probabilities.map((row) => row.indexOf(Math.max(...row)))).toEqual([0, 1]);
    for (const row of probabilities) expect(row[0]! + row[1]!).toBeCloseTo(1, 5);
  });

  it('stops training when its signal aborts, reporting cancelled rather than an error', async () => {
    // As in the app (cross-origin isolated), the cancel also reaches the worker through a shared flag, which
    // matters here: this "worker" shares the test's thread, where a cancel message would wait for training.
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = true;
    const client = headClient();
    const controller = new AbortController();
    const training = client.train(input(500), controller.signal, () => controller.abort());
    await expect(training).rejects.toMatchObject({ name: 'CancelledError' });
    expect(client.status).toBe('cancelled');
    expect(client.error).toBeUndefined();
    expect(client.epochs.length).toBeLessThan(10);

    client.reset();
    expect([client.status, client.epochs, client.totalEpochs, client.result]).toEqual([
      'idle',
      [],
      0,
      undefined,
    ]);
  });
});
