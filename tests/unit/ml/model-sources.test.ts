/**
 * @file The table of model sources (src/lib/ml/model-sources/): how each kind names the model and its files, and
 * the checks that run before transformers.js does, for the kinds that can be exercised in Node without a browser
 * (the folder kind is loaded for real in encoder.test.ts and encoder-files.test.ts).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelSource } from '../../../src/lib/core/ports.ts';
import { ModelFileMissingError } from '../../../src/lib/ml/model-errors.ts';
import { MODEL_SOURCES, sourceKindOf, type HubLocation } from '../../../src/lib/ml/model-sources/index.ts';

const HUB: HubLocation = {
  remoteHost: 'https://huggingface.co/',
  remotePathTemplate: '{model}/resolve/{revision}/',
  cacheKey: 'transformers-cache',
};

const blob = (text: string) => new Blob([text]);
const PICKED: ModelSource = {
  kind: 'files',
  name: 'mini',
  files: [
    { path: 'config.json', data: blob('{"model_type":"bert"}') },
    { path: 'tokenizer.json', data: blob('{}') },
    { path: 'tokenizer_config.json', data: blob('{}') },
    { path: 'onnx/model_quantized.onnx', data: blob('onnx bytes') },
  ],
};

describe('describing each kind', () => {
  it.each<[ModelSource, string, string, string]>([
    [{ kind: 'folder', path: '/m/tiny' }, '/m/tiny', '/m/tiny/onnx/model.onnx', '/m/tiny'],
    [
      { kind: 'served', baseUrl: '/models/', id: 'fixtures/tiny-bert' },
      '/models/fixtures/tiny-bert',
      '/models/fixtures/tiny-bert/onnx/model.onnx',
      'fixtures/tiny-bert',
    ],
    [
      { kind: 'hub', id: 'Xenova/all-MiniLM-L6-v2', revision: 'main', allowDownload: false },
      'Xenova/all-MiniLM-L6-v2 (Hugging Face hub)',
      'https://huggingface.co/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model.onnx',
      'Xenova/all-MiniLM-L6-v2',
    ],
    [PICKED, 'the picked folder "mini"', 'mini/onnx/model.onnx', 'mini'],
  ])('%o is "%s", its ONNX file "%s", its id "%s"', (source, description, onnxFile, id) => {
    const kind = sourceKindOf(source);
    expect(kind.describe(source)).toBe(description);
    expect(kind.fileLocation(source, 'onnx/model.onnx', HUB)).toBe(onnxFile);
    expect(kind.modelId(source)).toBe(id);
  });

  it('has an entry for every kind, and only a hub source that allows downloads may reach the network', () => {
    expect(Object.keys(MODEL_SOURCES).sort()).toEqual(['files', 'folder', 'hub', 'served']);
    const sources: ModelSource[] = [
      { kind: 'folder', path: '/m/tiny' },
      { kind: 'served', baseUrl: '/models/', id: 'fixtures/tiny-bert' },
      { kind: 'hub', id: 'a/b', revision: 'main', allowDownload: false },
      PICKED,
    ];
    for (const source of sources)
      expect(sourceKindOf(source).configure(source).allowRemoteModels).toBe(false);
    const downloading: ModelSource = { kind: 'hub', id: 'a/b', revision: 'v2', allowDownload: true };
    expect(sourceKindOf(downloading).configure(downloading)).toMatchObject({
      reference: 'a/b',
      revision: 'v2',
      allowRemoteModels: true,
      allowLocalModels: false,
    });
  });

  it('gives transformers.js a served id as it resolves it: hub-style ids under the base, deeper ids as paths', () => {
    const reference = (id: string) =>
      MODEL_SOURCES.served.configure({ kind: 'served', baseUrl: '/models/', id }).reference;
    expect(reference('Xenova/all-MiniLM-L6-v2')).toBe('Xenova/all-MiniLM-L6-v2');
    expect(reference('/fixtures/tiny-bert/')).toBe('fixtures/tiny-bert');
    expect(reference('a/b/c')).toBe('/models/a/b/c');
  });
});

describe('a picked folder', () => {
  const source = PICKED as Extract<ModelSource, { kind: 'files' }>;

  it('names a missing file and the ONNX files the folder does have', async () => {
    const check = MODEL_SOURCES.files.check(source, 'fp32', HUB);
    await expect(check).rejects.toBeInstanceOf(ModelFileMissingError);
    await expect(check).rejects.toThrow(
      'Model file missing: mini/onnx/model.onnx is not in the picked folder. Its onnx/ folder holds: ' +
        'onnx/model_quantized.onnx.',
    );
    await expect(MODEL_SOURCES.files.check(source, 'q8', HUB)).resolves.toBeUndefined();
  });

  it('is read in place, and answers transformers.js only for its own files', async () => {
    const sizes: number[] = [];
    const bytes = await MODEL_SOURCES.files.read(
      source,
      'onnx/model_quantized.onnx',
      HUB,
      () => {},
      (size) => sizes.push(size),
    );
    expect(new TextDecoder().decode(bytes)).toBe('onnx bytes');
    expect(sizes).toEqual([10]);
    const settings = MODEL_SOURCES.files.configure(source);
    const prefix = `${settings.localModelPath ?? ''}${settings.reference}/`;
    const config = await settings.fetch?.(`${prefix}config.json`);
    expect(await config?.text()).toBe('{"model_type":"bert"}');
    expect((await settings.fetch?.(`${prefix}generation_config.json`))?.status).toBe(404);
    expect((await settings.fetch?.('/elsewhere/config.json'))?.status).toBe(404);
  });
});

describe('a served folder', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('counts the HTML page a dev server answers for a missing file as missing, naming the URL', async () => {
    const asked: string[] = [];
    vi.stubGlobal('fetch', (url: string) => {
      asked.push(url);
      const html = url.endsWith('.onnx');
      return Promise.resolve(
        new Response(html ? '<!doctype html>' : '{}', {
          headers: { 'content-type': html ? 'text/html' : 'application/json' },
        }),
      );
    });
    const source = { kind: 'served', baseUrl: 'http://127.0.0.1:1/models/', id: 'tiny' } as const;
    await expect(MODEL_SOURCES.served.check(source, 'fp32', HUB)).rejects.toThrow(
      'Model file missing: http://127.0.0.1:1/models/tiny/onnx/model.onnx (HTTP 200, text/html).',
    );
    expect(asked).toHaveLength(4);
  });
});

describe('a hub model with downloads off', () => {
  it('fetches nothing and says how to get the file', async () => {
    const source = { kind: 'hub', id: 'a/b', revision: 'main', allowDownload: false } as const;
    await expect(MODEL_SOURCES.hub.read(source, 'onnx/model.onnx', HUB, () => {})).rejects.toThrow(
      /not in this browser's cache, and model downloads are off.*npm run models -- a\/b/,
    );
  });
});
