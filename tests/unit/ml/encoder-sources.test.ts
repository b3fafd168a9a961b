/**
 * @file Where the app loads an encoder from: each catalog model's status (served, cached, downloadable, missing)
 * and size per dtype, the source a load uses, a picked folder turned into a source, and the persisted download
 * setting. Pure client modules, tested in Node.
 */
import { describe, expect, test } from 'vitest';
import {
  APP_CATALOG,
  cacheKeyOf,
  catalogRows,
  filesToLoad,
  hasRealModel,
  hubFilesToCheck,
  resolveLoadSource,
} from '../../../src/lib/clients/model-catalog.ts';
import {
  DownloadSetting,
  readSetting,
  type SettingStore,
} from '../../../src/lib/clients/model-downloads.svelte.ts';
import { localModelSource, type PickedFile } from '../../../src/lib/clients/model-files.ts';
import type { ModelEntry } from '../../../src/lib/clients/model-index.ts';

const MINILM = 'Xenova/all-MiniLM-L6-v2';
const FIXTURES: ModelEntry[] = [
  { id: 'fixtures/tiny-bert', fixture: true, dtypes: ['fp32'], onnxBytes: { fp32: 281_303 } },
  { id: 'fixtures/tiny-nli', fixture: true, dtypes: ['fp32'], onnxBytes: { fp32: 289_770 } },
];

function rowOf(rows: ReturnType<typeof catalogRows>, id: string) {
  const row = rows.find((r) => r.model.id === id);
  if (!row) throw new Error(`no row for ${id}`);
  return row;
}

/** The `id|path` keys of every file `dtype` of `id` needs, as if downloaded earlier. */
function cachedKeys(id: string, dtype: 'fp32' | 'q8' | 'fp16'): Set<string> {
  return new Set(filesToLoad(dtype).map((path) => cacheKeyOf({ id, path })));
}

describe('catalog rows', () => {
  test('a fresh checkout: fixtures served, hub models missing with their command, sizes from the catalog', () => {
    const rows = catalogRows(APP_CATALOG, FIXTURES, new Set(), false);
    const minilm = rowOf(rows, MINILM);
    expect(minilm.status).toBe('missing');
    expect(minilm.command).toBe(`npm run models -- ${MINILM}`);
    expect(minilm.dtypes.map((d) => [d.dtype, d.bytes])).toEqual([
      ['fp32', 91_113_175],
      ['q8', 23_713_175],
      ['fp16', 46_013_175],
    ]);
    const bert = rowOf(rows, 'fixtures/tiny-bert');
    expect(bert.status).toBe('served');
    expect(bert.loadableDtypes).toEqual(['fp32']);
    expect(bert.command).toBe('npm run fixtures');
    // Not generated (not in the index): missing, with the generator command.
    expect(rowOf(rows, 'fixtures/tiny-gpt2').status).toBe('missing');
    expect(hasRealModel(rows, FIXTURES)).toBe(false);
  });

  test('downloads allowed: missing hub models become downloadable', () => {
    const rows = catalogRows(APP_CATALOG, FIXTURES, new Set(), true);
    expect(rowOf(rows, MINILM).status).toBe('downloadable');
    expect(rowOf(rows, 'fixtures/tiny-gpt2').status).toBe('missing');
  });

  test('a dtype counts as cached only when every file it loads is in the cache', () => {
    const partial = new Set([...cachedKeys(MINILM, 'q8')].filter((key) => !key.endsWith('.onnx')));
    expect(rowOf(catalogRows(APP_CATALOG, FIXTURES, partial, false), MINILM).status).toBe('missing');
    const rows = catalogRows(APP_CATALOG, FIXTURES, cachedKeys(MINILM, 'q8'), false);
    const minilm = rowOf(rows, MINILM);
    expect(minilm.status).toBe('cached');
    expect(minilm.loadableDtypes).toEqual(['q8']);
    expect(minilm.dtypes.find((d) => d.dtype === 'q8')?.cached).toBe(true);
    expect(hasRealModel(rows, FIXTURES)).toBe(true);
  });

  test('a model in models/ is served, with the real size of its ONNX file', () => {
    const served: ModelEntry[] = [
      ...FIXTURES,
      { id: MINILM, fixture: false, dtypes: ['fp32', 'q8'], onnxBytes: { fp32: 90_387_630, q8: 22_972_869 } },
    ];
    const minilm = rowOf(catalogRows(APP_CATALOG, served, new Set(), false), MINILM);
    expect(minilm.status).toBe('served');
    expect(minilm.loadableDtypes).toEqual(['fp32', 'q8']);
    expect(minilm.dtypes.find((d) => d.dtype === 'q8')).toEqual({
      dtype: 'q8',
      bytes: 713_175 + 22_972_869,
      served: true,
      cached: false,
    });
  });

  test('the cache lookup asks for the files each hub dtype loads', () => {
    const files = hubFilesToCheck(APP_CATALOG);
    expect(files).toContainEqual({ id: MINILM, revision: 'main', path: 'onnx/model_quantized.onnx' });
    expect(files).toContainEqual({ id: MINILM, revision: 'main', path: 'tokenizer_config.json' });
    expect(files.some((file) => file.id.startsWith('fixtures/'))).toBe(false);
  });
});

describe('resolveLoadSource', () => {
  test('prefers models/, then the browser cache, then a download', () => {
    const served: ModelEntry[] = [{ id: MINILM, fixture: false, dtypes: ['q8'], onnxBytes: {} }];
    const rows = catalogRows(APP_CATALOG, served, new Set(), true);
    expect(resolveLoadSource(MINILM, served, rows, true)).toEqual({
      ok: true,
      source: { kind: 'served', baseUrl: '/models/', id: MINILM },
      availableDtypes: ['q8'],
    });
    const cachedRows = catalogRows(APP_CATALOG, FIXTURES, cachedKeys(MINILM, 'fp32'), false);
    expect(resolveLoadSource(MINILM, FIXTURES, cachedRows, false)).toEqual({
      ok: true,
      source: { kind: 'hub', id: MINILM, revision: 'main', allowDownload: false },
      availableDtypes: ['fp32'],
    });
    const downloadRows = catalogRows(APP_CATALOG, FIXTURES, new Set(), true);
    expect(resolveLoadSource(MINILM, FIXTURES, downloadRows, true)).toEqual({
      ok: true,
      source: { kind: 'hub', id: MINILM, revision: 'main', allowDownload: true },
      availableDtypes: ['fp32', 'q8', 'fp16'],
    });
  });

  test('refuses a hub model that is nowhere while downloads are off, with the command', () => {
    const rows = catalogRows(APP_CATALOG, FIXTURES, new Set(), false);
    const outcome = resolveLoadSource(MINILM, FIXTURES, rows, false);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toContain(`\`npm run models -- ${MINILM}\``);
  });

  test('an id the app does not know comes from the hub when allowed, else from the server', () => {
    const rows = catalogRows(APP_CATALOG, FIXTURES, new Set(), false);
    expect(resolveLoadSource('org/private-model', FIXTURES, rows, false)).toEqual({
      ok: true,
      source: { kind: 'served', baseUrl: '/models/', id: 'org/private-model' },
    });
    expect(resolveLoadSource('org/private-model', FIXTURES, rows, true)).toEqual({
      ok: true,
      source: { kind: 'hub', id: 'org/private-model', revision: 'main', allowDownload: true },
    });
    // Not a hub id: only the server can have it.
    expect(resolveLoadSource('does-not/exist/deeper', FIXTURES, rows, true)).toMatchObject({
      source: { kind: 'served' },
    });
  });
});

describe('localModelSource', () => {
  const blob = (text: string) => new Blob([text]);
  const folder = (root: string, paths: string[]): PickedFile[] =>
    paths.map((path) => ({ relativePath: `${root}/${path}`, data: blob(path) }));
  const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'];

  test('takes the folder holding config.json, with paths inside it and the dtypes present', () => {
    const outcome = localModelSource([...folder('models/Xenova/all-MiniLM-L6-v2', MODEL_FILES)]);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.source.name).toBe('all-MiniLM-L6-v2');
    expect(outcome.source.files.map((f) => f.path).sort()).toEqual([...MODEL_FILES].sort());
    expect(outcome.availableDtypes).toEqual(['q8']);
  });

  test('refuses folders that hold no model, no weights, or several models', () => {
    expect(localModelSource([])).toEqual({ ok: false, error: expect.stringContaining('empty') });
    expect(localModelSource(folder('data', ['a.csv']))).toEqual({
      ok: false,
      error: expect.stringContaining('has no config.json'),
    });
    expect(localModelSource(folder('m', ['config.json', 'tokenizer.json']))).toEqual({
      ok: false,
      error: expect.stringContaining('has no ONNX weights'),
    });
    expect(localModelSource([...folder('all/a', MODEL_FILES), ...folder('all/b', MODEL_FILES)])).toEqual({
      ok: false,
      error: "The picked folder holds several models (a, b): pick one model's folder.",
    });
  });
});

describe('DownloadSetting', () => {
  function memoryStore(initial: Record<string, string> = {}): SettingStore & { data: Map<string, string> } {
    const data = new Map(Object.entries(initial));
    return {
      data,
      getItem: (key) => data.get(key) ?? null,
      setItem: (key, value) => void data.set(key, value),
      removeItem: (key) => void data.delete(key),
    };
  }

  test("is off by default and only the exact string 'true' turns it on", () => {
    expect(new DownloadSetting(memoryStore()).allowed).toBe(false);
    expect(readSetting(memoryStore({ 'pvf:allow-model-downloads': 'yes' }))).toBe(false);
    expect(new DownloadSetting(memoryStore({ 'pvf:allow-model-downloads': 'true' })).allowed).toBe(true);
  });

  test('writes through to the store: true when allowed, absent when not', () => {
    const store = memoryStore();
    const setting = new DownloadSetting(store);
    setting.allowed = true;
    expect(store.data.get('pvf:allow-model-downloads')).toBe('true');
    setting.allowed = false;
    expect(store.data.has('pvf:allow-model-downloads')).toBe(false);
  });
});
