/**
 * @file Models in models/ beyond the catalog: a folder with config.json and an ONNX file (e.g. fetched with
 * `npm run models -- <any hub id>`) is listed by the models server's index and offered by the app; a folder
 * without weights, or one the catalog lists, is not offered again.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findModelFolders } from '../../../scripts/vite/serve-models.ts';
import { localModelsBeyondCatalog } from '../../../src/lib/clients/model-catalog.ts';
import type { ModelEntry } from '../../../src/lib/clients/model-index.ts';
import { parseCatalog } from '../../../src/lib/core/models/catalog.ts';

const CATALOG = parseCatalog({
  version: 1,
  models: [
    {
      id: 'listed-org/listed',
      origin: 'hub',
      revision: 'main',
      name: 'Listed',
      description: 'In the catalog.',
      family: 'encoder',
      tasks: ['feature-extraction'],
      uses: ['similarity'],
      license: 'MIT',
      source: 'https://example.invalid/listed',
      files: [{ path: 'config.json', approxBytes: 1 }],
      dtypes: { fp32: [{ path: 'onnx/model.onnx', approxBytes: 1 }] },
    },
  ],
});

let dir: string;

async function folder(id: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, id, path, '..'), { recursive: true });
    await writeFile(join(dir, id, path), content);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-models-'));
  await folder('Xenova/bert-base-uncased', {
    'config.json': '{}',
    'tokenizer.json': '{}',
    'onnx/model_quantized.onnx': 'q8 weights',
  });
  await folder('listed-org/listed', { 'config.json': '{}', 'onnx/model.onnx': 'fp32' });
  await folder('someone/config-only', { 'config.json': '{}' });
  await folder('someone/unfinished', { '.download/onnx/model.onnx.part': 'part' });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('local models beyond the catalog', () => {
  test('the index lists each folder with a config.json, with its ONNX dtypes and sizes', async () => {
    const found = await findModelFolders(dir, '', false);
    expect(found.map((entry) => [entry.id, entry.dtypes, entry.onnxBytes])).toEqual([
      ['listed-org/listed', ['fp32'], { fp32: 4 }],
      ['someone/config-only', [], {}],
      ['Xenova/bert-base-uncased', ['q8'], { q8: 10 }],
    ]);
  });

  test('the app offers the loadable folders the catalog does not list', async () => {
    const served = (await findModelFolders(dir, '', false)) as ModelEntry[];
    expect(localModelsBeyondCatalog(served, CATALOG).map((entry) => entry.id)).toEqual(['Xenova/bert-base-uncased']);
  });

  test('untrained fixtures outside the catalog stay listed', () => {
    const fixture: ModelEntry = { id: 'fixtures/extra', fixture: true, dtypes: ['fp32'], onnxBytes: { fp32: 1 } };
    expect(localModelsBeyondCatalog([fixture], CATALOG)).toEqual([fixture]);
  });
});
