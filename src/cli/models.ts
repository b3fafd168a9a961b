/**
 * @file `npm run models -- [<id>...] [--dtype fp32|q8|fp16] [--list]`: downloads the catalog's models
 * (models/catalog.json) from the Hugging Face hub, or the mirror in HF_ENDPOINT, into models/<id>/ in hub layout,
 * with a progress bar per file, resume, SHA-256 checks and atomic placement; `--list` shows what is on disk.
 * Errors are one `error: …` line and a non-zero exit (set DEBUG=1 for the stack).
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CATALOG_DTYPES,
  CatalogLookupError,
  parseCatalog,
  type Catalog,
  type CatalogModel,
} from '../lib/core/models/catalog.ts';
import { formatBytes } from '../lib/core/format.ts';
import { modelStatuses, type ModelDtypeStatus } from '../lib/core/models/status.ts';
import type { Dtype } from '../lib/core/ports.ts';
import { downloadModels, selectModels, type DownloadSummary } from './download/download-models.ts';
import { DEFAULT_ENDPOINT, normalizeEndpoint } from './download/hub-api.ts';
import { modelFolder, readStoredFiles } from './download/local-files.ts';
import { createReporter } from './download/progress.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const DEFAULT_MODELS_DIR = resolve(PROJECT_ROOT, 'models');
const DEFAULT_CATALOG = resolve(DEFAULT_MODELS_DIR, 'catalog.json');
const EXIT_INTERRUPTED = 130;

const USAGE = `Usage: npm run models -- [<id>...] [--dtype fp32|q8|fp16] [--list]

Downloads the models of models/catalog.json from the Hugging Face hub into models/<id>/ (hub layout): a
progress bar per file, resume of interrupted files, sizes and SHA-256 checked against the hub's metadata, and
files renamed into place only once verified. Already verified files are skipped.

  <id>...            models to download (default: every hub model in the catalog)
  --dtype <dtype>    weights to download: fp32 (default, onnx/model.onnx), q8 (onnx/model_quantized.onnx) or
                     fp16 (onnx/model_fp16.onnx); repeat it or separate with commas for several
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

interface Command {
  help: boolean;
  list: boolean;
  ids: string[];
  dtypes: Dtype[];
  modelsDir: string;
  catalogFile: string;
}

/** Paths on the command line are relative to where the user typed the command (npm run changes the cwd). */
function invocationDir(): string {
  const viaNpm = process.env.npm_lifecycle_event === 'models' && process.env.INIT_CWD;
  return viaNpm ? (process.env.INIT_CWD as string) : process.cwd();
}

function displayPath(path: string): string {
  const fromHere = relative(invocationDir(), path);
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

function parseCommandLine(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dtype: { type: 'string', multiple: true, default: [] },
        list: { type: 'boolean', short: 'l', default: false },
        dir: { type: 'string' },
        catalog: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const base = invocationDir();
  return {
    help: values.help,
    list: values.list,
    ids: positionals,
    dtypes: parseDtypes(values.dtype),
    modelsDir: values.dir === undefined ? DEFAULT_MODELS_DIR : resolve(base, values.dir),
    catalogFile: values.catalog === undefined ? DEFAULT_CATALOG : resolve(base, values.catalog),
  };
}

async function loadCatalog(file: string): Promise<Catalog> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read the catalog ${displayPath(file)}; pass another one with --catalog <file>.`, {
      cause: error,
    });
  }
  let json;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${displayPath(file)} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseCatalog(json);
  } catch (error) {
    throw new Error(`${(error as Error).message} (in ${displayPath(file)})`, { cause: error });
  }
}

function statusLine(status: ModelDtypeStatus, folder: string): string {
  const size = `~${formatBytes(status.approxBytes)}`;
  const detail =
    status.state === 'complete'
      ? displayPath(folder)
      : status.state === 'partial'
        ? `${formatBytes(status.storedBytes)} on disk, missing ${status.missingPaths.join(', ')}`
        : '';
  return `  ${status.dtype.padEnd(5)} ${status.state.padEnd(9)} ${size.padStart(10)}  ${detail}`.trimEnd();
}

function modelHeading(model: CatalogModel): string {
  const kind = model.origin === 'fixture' && model.untrained ? ', UNTRAINED test model' : '';
  return `${model.id}  (${model.family}: ${model.uses.join(', ')}${kind}; license: ${model.license})`;
}

async function listCatalog(catalog: Catalog, command: Command): Promise<void> {
  const models = command.ids.length === 0 ? catalog.models : selectModels(catalog, command.ids);
  const lines = [
    `Models in ${displayPath(command.catalogFile)} (sizes are catalog estimates; a download prints the hub's exact sizes):`,
  ];
  for (const model of models) {
    const folder = modelFolder(model, command.modelsDir, PROJECT_ROOT);
    const lookup = await readStoredFiles(model, folder);
    lines.push(
      '',
      modelHeading(model),
      ...modelStatuses(model, lookup).map((status) => statusLine(status, folder)),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function summaryLines(summary: DownloadSummary): string[] {
  const files = summary.models.flatMap((model) => model.files);
  const count = (outcome: string) => files.filter((file) => file.outcome === outcome).length;
  const lines = [
    `${count('downloaded')} files downloaded, ${count('already-verified')} already present and verified, ` +
      `${count('failed')} failed.`,
  ];
  for (const model of summary.models) {
    if (model.error) lines.push(`  ${model.id}: ${model.error}`);
    for (const file of model.files.filter((entry) => entry.outcome === 'failed')) {
      lines.push(`  ${model.id}/${file.path}: ${file.error ?? 'failed'}`);
    }
  }
  return lines;
}

async function download(catalog: Catalog, command: Command): Promise<void> {
  const interrupt = new AbortController();
  // Ctrl-C aborts the transfer; the .part files stay and resume on the next run.
  process.once('SIGINT', () => interrupt.abort());
  const endpoint = normalizeEndpoint(process.env.HF_ENDPOINT || DEFAULT_ENDPOINT);
  const token = process.env.HF_TOKEN || undefined;
  const summary = await downloadModels({
    catalog,
    ids: command.ids,
    dtypes: command.dtypes,
    modelsDir: command.modelsDir,
    hub: { endpoint, token, signal: interrupt.signal },
    reporter: createReporter(process.stderr),
  });
  process.stdout.write(`${summaryLines(summary).join('\n')}\n`);
  if (summary.failedModels > 0) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const command = parseCommandLine(argv);
  if (command.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const catalog = await loadCatalog(command.catalogFile);
  try {
    await (command.list ? listCatalog(catalog, command) : download(catalog, command));
  } catch (error) {
    // An unknown id is a usage mistake: the message already lists the valid ids.
    if (error instanceof CatalogLookupError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

function reportError(error: unknown): void {
  const aborted = error instanceof Error && error.name === 'AbortError';
  const message = aborted
    ? 'interrupted. Partial downloads are kept in models/<id>/.download/ and resume when you run the command again.'
    : error instanceof Error
      ? error.message
      : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (error instanceof UsageError) process.stderr.write('Run with --help for usage.\n');
  if (process.env.DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = aborted ? EXIT_INTERRUPTED : error instanceof UsageError ? 2 : 1;
}

process.on('uncaughtException', reportError);
process.on('unhandledRejection', reportError);

main(process.argv.slice(2)).catch(reportError);
