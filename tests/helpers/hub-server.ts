/**
 * @file A stand-in for the Hugging Face hub on 127.0.0.1, for download tests. It serves repositories of fixture
 * files in the hub's layout:
 * - `GET /api/models/{id}/revision/{rev}?blobs=true`: `{ id, sha, siblings: [{ rfilename, size, blobId, lfs? }] }`,
 *   where LFS files (`.onnx` by default) carry `lfs: { sha256, size, pointerSize }`;
 * - `GET /{id}/resolve/{rev}/{path}`: the file, with Range support (206 / 416); `rev` is the revision or commit;
 * - `GET /cdn/{sha256}`: any file by content hash, the target of redirects to a second server playing the CDN.
 * Per file it can be told to redirect to another server, break off transfers, stall, or serve wrong bytes; and to
 * behave with hostility: redirect in a loop or to `file://`, send a body longer than listed (without end), stall
 * in the middle of a body, or stream an endless listing. Every request is recorded.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

export interface HubRepoFixture {
  /** `org/name`. */
  id: string;
  /** Branch name the API answers for, besides the commit; default `main`. */
  revision?: string;
  /** Path inside the repo → content. */
  files: Record<string, Buffer>;
  /** Which files are stored with Git LFS (get a SHA-256 in the API); default: `.onnx` files. */
  isLfs?: (path: string) => boolean;
  /** The API lists names and sizes only, no hash of any kind (as a bare mirror might). */
  withoutHashes?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  range?: string;
  authorization?: string;
}

export interface TruncateOptions {
  /** Body bytes sent before the connection is destroyed. */
  afterBytes: number;
  /** How many responses of this file to break off; default 1. */
  times?: number;
}

export interface HubServer {
  /** Base URL, e.g. `http://127.0.0.1:43210`: what HF_ENDPOINT is set to. */
  readonly endpoint: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** The commit id the API reports for `id`. */
  commitOf(id: string): string;
  /** Requests for the file at `path` answer 302 to `target`'s `/cdn/{sha256}` (another host:port). */
  redirectFile(path: string, target: HubServer): void;
  /** Responses with the body of `path` send the full Content-Length, then only `afterBytes` and close the connection. */
  truncateFile(path: string, options: TruncateOptions): void;
  /** The next response for `path` never sends headers (the connection stays open, idle). */
  stallFileOnce(path: string): void;
  /** `path` is served with one byte changed (same size), so its hash does not match the API's. */
  corruptFile(path: string): void;
  /** Requests for `path` answer 302 to `location` as given (e.g. `file:///etc/passwd`). */
  redirectFileTo(path: string, location: string): void;
  /** Requests for `path` answer 302 to themselves, forever. */
  redirectFileInLoop(path: string): void;
  /**
   * `path` is served with its content followed by zeros that never end (until the client hangs up); with
   * `announce`, a Content-Length 1 MB longer than the file is sent, otherwise none (chunked).
   */
  overlongFile(path: string, options?: { announce?: boolean }): void;
  /** The next response for `path` sends its headers and `afterBytes` of the body, then nothing (left open). */
  stallFileMidBodyOnce(path: string, afterBytes: number): void;
  /** The model info API answers 200 with a JSON listing that never ends; returns the bytes sent so far. */
  endlessListing(): () => number;
  /** Undoes every behaviour set above. */
  resetBehaviours(): void;
  close(): Promise<void>;
}

interface StoredFile {
  path: string;
  content: Buffer;
  sha256: string;
  gitBlobSha1: string;
  lfs: boolean;
}

interface StoredRepo {
  id: string;
  withoutHashes: boolean;
  revision: string;
  commit: string;
  files: Map<string, StoredFile>;
}

interface Behaviours {
  redirects: Map<string, HubServer>;
  truncations: Map<string, { afterBytes: number; remaining: number }>;
  stalls: Set<string>;
  corrupt: Set<string>;
  locations: Map<string, string>;
  loops: Set<string>;
  overlong: Map<string, { announce: boolean }>;
  midBodyStalls: Map<string, number>;
  endlessListing: { sent: number } | undefined;
}

/** Reads every file below `dir` into a repo fixture (paths `/`-separated, relative to `dir`). */
export async function loadRepoFromFolder(id: string, dir: string): Promise<HubRepoFixture> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, Buffer> = {};
  for (const entry of entries.filter((item) => item.isFile())) {
    const absolute = join(entry.parentPath, entry.name);
    files[relative(dir, absolute).split(sep).join('/')] = await readFile(absolute);
  }
  return { id, files };
}

function hex(algorithm: 'sha1' | 'sha256', ...parts: (string | Buffer)[]): string {
  const hash = createHash(algorithm);
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

function storeRepo(fixture: HubRepoFixture): StoredRepo {
  const isLfs = fixture.isLfs ?? ((path: string) => path.endsWith('.onnx'));
  const files = new Map<string, StoredFile>();
  for (const [path, content] of Object.entries(fixture.files)) {
    const gitBlobSha1 = hex('sha1', `blob ${content.length}\0`, content);
    files.set(path, { path, content, sha256: hex('sha256', content), gitBlobSha1, lfs: isLfs(path) });
  }
  const commit = hex('sha1', fixture.id, ...[...files.values()].map((file) => file.gitBlobSha1));
  const withoutHashes = fixture.withoutHashes ?? false;
  return { id: fixture.id, withoutHashes, revision: fixture.revision ?? 'main', commit, files };
}

function sibling(file: StoredFile) {
  if (!file.lfs) return { rfilename: file.path, blobId: file.gitBlobSha1, size: file.content.length };
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.content.length}\n`;
  return {
    rfilename: file.path,
    blobId: hex('sha1', `blob ${pointer.length}\0`, pointer),
    size: file.content.length,
    lfs: { sha256: file.sha256, size: file.content.length, pointerSize: pointer.length },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function sendNotFound(response: ServerResponse, errorCode: string, message: string): void {
  response.setHeader('x-error-code', errorCode);
  sendJson(response, 404, { error: message });
}

/** `{ start, end }` (inclusive) for `Range: bytes=start-[end]`; 'unsatisfiable'; or undefined for no range. */
function parseRange(header: string | undefined, size: number) {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start >= size || end < start ? ('unsatisfiable' as const) : { start, end };
}

function servedBytes(file: StoredFile, behaviours: Behaviours): Buffer {
  if (!behaviours.corrupt.has(file.path)) return file.content;
  const wrong = Buffer.from(file.content);
  wrong[wrong.length >> 1] = (wrong[wrong.length >> 1] ?? 0) ^ 0xff;
  return wrong;
}

/** Sends the body, or only its first bytes followed by a reset when a truncation is armed for the file. */
function sendBody(response: ServerResponse, body: Buffer, path: string, behaviours: Behaviours): void {
  const truncation = behaviours.truncations.get(path);
  if (!truncation || truncation.remaining <= 0 || truncation.afterBytes >= body.length) {
    response.end(body);
    return;
  }
  truncation.remaining -= 1;
  // Half-close once the bytes are flushed: the client sees the connection end before Content-Length is reached.
  response.write(body.subarray(0, truncation.afterBytes), () => response.socket?.destroySoon());
}

/** Writes `chunk` again and again, respecting back-pressure, until the client hangs up. */
function writeForever(response: ServerResponse, chunk: Buffer, onChunk: () => void = () => undefined): void {
  const pump = (): void => {
    while (!response.destroyed && !response.writableEnded) {
      onChunk();
      if (!response.write(chunk)) {
        response.once('drain', pump);
        return;
      }
    }
  };
  response.on('error', () => undefined);
  pump();
}

function serveOverlong(response: ServerResponse, file: StoredFile, announce: boolean): void {
  const length = announce ? { 'content-length': file.content.length + 1024 * 1024 } : {};
  response.writeHead(200, { 'content-type': 'application/octet-stream', ...length });
  response.write(file.content);
  writeForever(response, Buffer.alloc(64 * 1024));
}

function serveFile(
  request: IncomingMessage,
  response: ServerResponse,
  file: StoredFile,
  behaviours: Behaviours,
) {
  if (behaviours.stalls.delete(file.path)) return;
  const overlong = behaviours.overlong.get(file.path);
  if (overlong) return serveOverlong(response, file, overlong.announce);
  const stallAfter = behaviours.midBodyStalls.get(file.path);
  if (stallAfter !== undefined) {
    behaviours.midBodyStalls.delete(file.path);
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': file.content.length,
    });
    response.write(file.content.subarray(0, stallAfter));
    return;
  }
  const content = servedBytes(file, behaviours);
  const range = parseRange(request.headers.range, content.length);
  const headers = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag: `"${file.sha256}"`,
  };
  if (range === 'unsatisfiable') {
    response.writeHead(416, { ...headers, 'content-range': `bytes */${content.length}` });
    response.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: content.length - 1 };
  const body = content.subarray(start, end + 1);
  const rangeHeaders = range ? { 'content-range': `bytes ${start}-${end}/${content.length}` } : {};
  response.writeHead(range ? 206 : 200, { ...headers, ...rangeHeaders, 'content-length': body.length });
  sendBody(response, body, file.path, behaviours);
}

function handleApi(
  url: URL,
  response: ServerResponse,
  repos: Map<string, StoredRepo>,
  behaviours: Behaviours,
): void {
  const endless = behaviours.endlessListing;
  if (endless) {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    const entry = Buffer.from(`${JSON.stringify({ rfilename: 'x'.repeat(200), size: 1 })},`.repeat(100));
    response.write('{"sha":"0","siblings":[');
    writeForever(response, entry, () => (endless.sent += entry.length));
    return;
  }
  const match = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
  const repo = match ? repos.get(decodeURIComponent(match[1] as string)) : undefined;
  if (!match || !repo) {
    // Like the real hub, a repository that does not exist (or is private) answers 401 to anonymous requests.
    sendJson(response, 401, { error: 'Repository not found' });
    return;
  }
  const revision = decodeURIComponent(match[2] as string);
  if (revision !== repo.revision && revision !== repo.commit) {
    sendNotFound(response, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    return;
  }
  const siblings = [...repo.files.values()].map((file) =>
    repo.withoutHashes ? { rfilename: file.path, size: file.content.length } : sibling(file),
  );
  sendJson(response, 200, { _id: repo.commit.slice(0, 24), id: repo.id, sha: repo.commit, siblings });
}

function handleResolve(
  request: IncomingMessage,
  response: ServerResponse,
  match: RegExpExecArray,
  repos: Map<string, StoredRepo>,
  behaviours: Behaviours,
) {
  const repo = repos.get(decodeURIComponent(match[1] as string));
  const revision = decodeURIComponent(match[2] as string);
  const path = (match[3] as string).split('/').map(decodeURIComponent).join('/');
  const file = repo?.files.get(path);
  if (!repo || (revision !== repo.revision && revision !== repo.commit)) {
    sendNotFound(response, 'RevisionNotFound', `Invalid rev id: ${revision}`);
  } else if (!file) {
    sendNotFound(response, 'EntryNotFound', `${path} does not exist on "${revision}"`);
  } else if (behaviours.loops.has(path) || behaviours.locations.has(path)) {
    const location = behaviours.locations.get(path) ?? (request.url as string);
    response.writeHead(302, { location, 'content-length': 0 });
    response.end();
  } else if (behaviours.redirects.has(path)) {
    const target = behaviours.redirects.get(path) as HubServer;
    response.writeHead(302, { location: `${target.endpoint}/cdn/${file.sha256}`, 'content-length': 0 });
    response.end();
  } else {
    serveFile(request, response, file, behaviours);
  }
}

function findBySha256(repos: Map<string, StoredRepo>, sha256: string): StoredFile | undefined {
  for (const repo of repos.values()) {
    for (const file of repo.files.values()) if (file.sha256 === sha256) return file;
  }
  return undefined;
}

function route(
  request: IncomingMessage,
  response: ServerResponse,
  repos: Map<string, StoredRepo>,
  behaviours: Behaviours,
) {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (url.pathname.startsWith('/api/models/')) return handleApi(url, response, repos, behaviours);
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (resolve) return handleResolve(request, response, resolve, repos, behaviours);
  const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
  const file = cdn ? findBySha256(repos, cdn[1] as string) : undefined;
  if (file) return serveFile(request, response, file, behaviours);
  sendNotFound(response, 'NotFound', `no route for ${url.pathname}`);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts a fake hub serving `repos` on 127.0.0.1 on a free port. */
export async function startHubServer(repos: HubRepoFixture[]): Promise<HubServer> {
  const stored = new Map(repos.map((fixture) => [fixture.id, storeRepo(fixture)]));
  const behaviours: Behaviours = {
    redirects: new Map(),
    truncations: new Map(),
    stalls: new Set(),
    corrupt: new Set(),
    locations: new Map(),
    loops: new Set(),
    overlong: new Map(),
    midBodyStalls: new Map(),
    endlessListing: undefined,
  };
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    requests.push({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      range: request.headers.range,
      authorization: request.headers.authorization,
    });
    route(request, response, stored, behaviours);
  });
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    commitOf: (id) => stored.get(id)?.commit ?? '',
    redirectFile: (path, target) => void behaviours.redirects.set(path, target),
    truncateFile: (path, { afterBytes, times = 1 }) =>
      void behaviours.truncations.set(path, { afterBytes, remaining: times }),
    stallFileOnce: (path) => void behaviours.stalls.add(path),
    corruptFile: (path) => void behaviours.corrupt.add(path),
    redirectFileTo: (path, location) => void behaviours.locations.set(path, location),
    redirectFileInLoop: (path) => void behaviours.loops.add(path),
    overlongFile: (path, { announce = false } = {}) => void behaviours.overlong.set(path, { announce }),
    stallFileMidBodyOnce: (path, afterBytes) => void behaviours.midBodyStalls.set(path, afterBytes),
    endlessListing() {
      const endless = { sent: 0 };
      behaviours.endlessListing = endless;
      return () => endless.sent;
    },
    resetBehaviours() {
      behaviours.redirects.clear();
      behaviours.truncations.clear();
      behaviours.stalls.clear();
      behaviours.corrupt.clear();
      behaviours.locations.clear();
      behaviours.loops.clear();
      behaviours.overlong.clear();
      behaviours.midBodyStalls.clear();
      behaviours.endlessListing = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}
