/**
 * @file The two Hugging Face hub endpoints the download uses: the model info API
 * (`GET {endpoint}/api/models/{id}/revision/{revision}?blobs=true`: commit, and per file its size, git blob id
 * and, for LFS files, SHA-256) and the file URL (`{endpoint}/{id}/resolve/{commit}/{path}`).
 */
import { HubResponseError, TransferError } from './errors.ts';
import { headerValue, openGet, readBodyText, type GetOptions, type HttpTimeouts } from './http.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** What the hub says one file should be; used to verify the download. */
export interface RemoteFile {
  path: string;
  size: number;
  /** SHA-256 of the content, for files stored with Git LFS (all weight files). */
  sha256?: string;
  /** Git blob SHA-1 of the content, for small files stored in git itself. */
  gitBlobSha1?: string;
}

export interface RepoListing {
  id: string;
  /** Commit the revision resolved to; files are downloaded from it so they all match. */
  commit: string;
  files: Map<string, RemoteFile>;
}

export interface HubConnection {
  /** Hub base URL without a trailing slash, e.g. `https://huggingface.co`. */
  endpoint: string;
  /** HF_TOKEN, sent to the endpoint only (never to the CDN it redirects to). */
  token?: string;
  timeouts?: HttpTimeouts;
  signal?: AbortSignal;
  /** Largest file listing accepted, in bytes; default {@link MAX_LISTING_BYTES}. */
  maxListingBytes?: number;
}

/** A listing of a repository with thousands of files is a few MB; anything past this is refused. */
export const MAX_LISTING_BYTES = 32 * 1024 * 1024;

interface ApiSibling {
  rfilename?: unknown;
  size?: unknown;
  blobId?: unknown;
  lfs?: { sha256?: unknown; oid?: unknown; size?: unknown } | null;
}

const USER_AGENT = 'prompt-vs-finetune-playground (npm run models)';

/** `{endpoint}` as given, without trailing slashes; throws when it is not an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(
      `HF_ENDPOINT must be an http(s) URL such as ${DEFAULT_ENDPOINT}; got ${JSON.stringify(endpoint)}.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`HF_ENDPOINT must start with http:// or https://; got ${JSON.stringify(endpoint)}.`);
  }
  return url.href.replace(/\/+$/, '');
}

/** Headers for hub requests; the token only goes to the endpoint's own origin. */
export function hubRequestOptions(hub: HubConnection, headers: Record<string, string> = {}): GetOptions {
  const originOnlyHeaders: Record<string, string> = hub.token ? { authorization: `Bearer ${hub.token}` } : {};
  return {
    headers: { 'user-agent': USER_AGENT, ...headers },
    originOnlyHeaders,
    timeouts: hub.timeouts,
    signal: hub.signal,
  };
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** URL of the model info API for `id` at `revision`, with per-file blob metadata. */
export function modelInfoUrl(endpoint: string, id: string, revision: string): URL {
  return new URL(
    `${endpoint}/api/models/${encodePath(id)}/revision/${encodeURIComponent(revision)}?blobs=true`,
  );
}

/** URL that serves (or redirects to) one file of `id` at `revision` (a commit, ideally). */
export function resolveFileUrl(endpoint: string, id: string, revision: string, path: string): URL {
  return new URL(`${endpoint}/${encodePath(id)}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`);
}

function isHexDigest(value: unknown, length: number): value is string {
  return typeof value === 'string' && value.length === length && /^[0-9a-f]+$/.test(value);
}

/** One `siblings[]` entry as a RemoteFile; the LFS hash is `lfs.sha256` here (`lfs.oid` in the tree API). */
function parseSibling(sibling: ApiSibling): RemoteFile | undefined {
  if (typeof sibling.rfilename !== 'string' || typeof sibling.size !== 'number') return undefined;
  const file: RemoteFile = { path: sibling.rfilename, size: sibling.size };
  const lfsHash = sibling.lfs?.sha256 ?? sibling.lfs?.oid;
  if (isHexDigest(lfsHash, 64)) {
    file.sha256 = lfsHash;
    if (typeof sibling.lfs?.size === 'number') file.size = sibling.lfs.size;
  } else if (isHexDigest(sibling.blobId, 40)) {
    file.gitBlobSha1 = sibling.blobId;
  }
  return file;
}

function parseListing(body: string, id: string, revision: string, url: URL): RepoListing {
  let json: { sha?: unknown; siblings?: unknown };
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    throw new HubResponseError(
      200,
      `${url.href} did not answer with JSON; is HF_ENDPOINT a Hugging Face hub?`,
    );
  }
  if (!Array.isArray(json.siblings)) {
    throw new HubResponseError(
      200,
      `${url.href} has no file list ("siblings"); is HF_ENDPOINT a Hugging Face hub?`,
    );
  }
  const files = new Map<string, RemoteFile>();
  for (const sibling of json.siblings as ApiSibling[]) {
    const file = parseSibling(sibling);
    if (file) files.set(file.path, file);
  }
  return { id, commit: typeof json.sha === 'string' ? json.sha : revision, files };
}

function describeApiFailure(status: number, id: string, revision: string, endpoint: string): string {
  if (status === 401 || status === 403 || status === 404) {
    return (
      `${endpoint} has no model ${JSON.stringify(id)} at revision ${JSON.stringify(revision)} (HTTP ${status}). ` +
      'Check the id and revision in the catalog; for a private or gated model set HF_TOKEN.'
    );
  }
  return `${endpoint} answered HTTP ${status} when listing the files of ${id}; try again later.`;
}

/**
 * Lists the files of `id` at `revision` with their sizes and hashes. Rejects with {@link HubResponseError} for a
 * missing model, {@link TransferError} for 5xx/429 (worth retrying) and `UnreachableError` when offline.
 */
export async function fetchRepoListing(
  hub: HubConnection,
  id: string,
  revision: string,
): Promise<RepoListing> {
  const url = modelInfoUrl(hub.endpoint, id, revision);
  const { response } = await openGet(url, hubRequestOptions(hub, { accept: 'application/json' }));
  const status = response.statusCode ?? 0;
  if (status !== 200) {
    response.resume();
    const message = describeApiFailure(status, id, revision, hub.endpoint);
    if (status >= 500 || status === 429) throw new TransferError(message);
    throw new HubResponseError(status, message);
  }
  const contentType = headerValue(response.headers, 'content-type') ?? '';
  const body = await readBodyText(
    response,
    hub.maxListingBytes ?? MAX_LISTING_BYTES,
    `The file listing of ${id} from ${hub.endpoint}`,
  );
  if (contentType !== '' && !contentType.includes('json')) {
    throw new HubResponseError(
      status,
      `${url.href} answered ${contentType}, not JSON; is HF_ENDPOINT a Hugging Face hub?`,
    );
  }
  return parseListing(body, id, revision, url);
}
