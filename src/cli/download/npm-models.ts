/**
 * @file Builds the catalog's npm-origin models: each comes with `npm install` inside an npm package (a pinned
 * dependency) and is converted, offline, into `models/<id>/` in hub layout by the converter registered for its
 * package. Also reads back which package version a folder was built from, for `npm run models -- --list`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NpmCatalogModel } from '../../lib/core/models/catalog.ts';
import { formatBytes } from '../../lib/core/format.ts';
import {
  CONVERTER_VERSION,
  convertUseLite,
  locateUseLitePackage,
  USE_LITE_PACKAGE,
  type ConversionResult,
} from '../convert/use-lite.ts';
import type { Reporter } from './progress.ts';

/** What turns one npm package into a model folder. */
export interface NpmConverter {
  /** The installed package's version (throws, saying to run npm install, when it is not installed). */
  installedVersion(): Promise<string>;
  /** Version of the converter's output format; a folder built by another one is rebuilt. */
  converterVersion: number;
  /** Converts into `folder` unless it is already built from the same package and converter versions. */
  convert(folder: string): Promise<ConversionResult>;
}

/** The converters this project has, by npm package name. */
export const NPM_CONVERTERS: ReadonlyMap<string, NpmConverter> = new Map([
  [
    USE_LITE_PACKAGE,
    {
      installedVersion: async () => (await locateUseLitePackage()).version,
      converterVersion: CONVERTER_VERSION,
      convert: (folder: string) => convertUseLite(folder),
    },
  ],
]);

/** What building one npm model did. */
export interface NpmBuildResult {
  id: string;
  /** `built` (converted now) or `skipped` (already built from the same package version). */
  outcome: 'built' | 'skipped';
  /** Package version the folder is built from. */
  version: string;
  /** Path inside the folder → bytes. */
  files: Map<string, number>;
  ms: number;
}

/** The converter for `model.package`; throws naming the packages that have one. */
export function converterFor(
  model: NpmCatalogModel,
  converters: ReadonlyMap<string, NpmConverter> = NPM_CONVERTERS,
): NpmConverter {
  const converter = converters.get(model.package);
  if (converter) return converter;
  const known = [...converters.keys()].map((name) => JSON.stringify(name)).join(', ') || 'none';
  throw new Error(
    `${model.id}: this project has no converter for the npm package ${JSON.stringify(model.package)} ` +
      `(converters exist for ${known}). Fix "package" in the catalog.`,
  );
}

/**
 * Converts `model` into `<modelsDir>/<id>/` (or leaves it when current) and reports what it did, how long it took
 * and the sizes. The installed package must be the version the catalog describes: another version means
 * package.json and the catalog disagree, and the error says which to change.
 */
export async function buildNpmModel(
  model: NpmCatalogModel,
  modelsDir: string,
  reporter: Reporter,
  converters: ReadonlyMap<string, NpmConverter> = NPM_CONVERTERS,
): Promise<NpmBuildResult> {
  const converter = converterFor(model, converters);
  const installed = await converter.installedVersion();
  if (installed !== model.version) {
    throw new Error(
      `${model.id}: the catalog describes ${model.package}@${model.version}, but ${installed} is installed. ` +
        `Run npm install to get the version package.json pins, or update the catalog entry to ${installed}.`,
    );
  }
  const folder = join(modelsDir, model.id);
  const result = await converter.convert(folder);
  const total = [...result.files.values()].reduce((sum, bytes) => sum + bytes, 0);
  const seconds = (result.ms / 1000).toFixed(1);
  if (result.skipped) {
    reporter.info(`${model.id}: already built from ${model.package}@${result.version}, skipped.`);
  } else {
    reporter.info(
      `${model.id}: converted ${model.package}@${result.version} into ${folder} in ${seconds} s, no download:`,
    );
    for (const [path, bytes] of result.files) reporter.info(`  ${path}  ${formatBytes(bytes)}`);
    reporter.info(`  total  ${formatBytes(total)}`);
  }
  return {
    id: model.id,
    outcome: result.skipped ? 'skipped' : 'built',
    version: result.version,
    files: result.files,
    ms: result.ms,
  };
}

/** Where a folder's build stands, from its `conversion.json` marker. */
export type NpmBuildState =
  | { state: 'current'; version: string }
  | { state: 'outdated'; version: string; detail: string }
  | { state: 'absent' };

/** Reads `<folder>/conversion.json` and compares it with the installed package and converter. */
export async function npmBuildState(
  model: NpmCatalogModel,
  folder: string,
  converters: ReadonlyMap<string, NpmConverter> = NPM_CONVERTERS,
): Promise<NpmBuildState> {
  let marker: { source?: unknown; version?: unknown; converter?: unknown };
  try {
    marker = JSON.parse(await readFile(join(folder, 'conversion.json'), 'utf8')) as typeof marker;
  } catch {
    return { state: 'absent' };
  }
  const version = typeof marker.version === 'string' ? marker.version : 'an unknown version';
  const converter = converters.get(model.package);
  const installed = await converter?.installedVersion().catch(() => undefined);
  if (marker.source !== model.package) {
    return { state: 'outdated', version, detail: `built from another package (${String(marker.source)})` };
  }
  if (installed !== undefined && version !== installed) {
    return { state: 'outdated', version, detail: `built from ${version}, ${installed} is installed` };
  }
  if (converter && marker.converter !== converter.converterVersion) {
    return { state: 'outdated', version, detail: 'built by an older converter' };
  }
  return { state: 'current', version };
}
