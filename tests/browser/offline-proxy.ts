/**
 * @file A pass-through HTTP proxy in front of the tests' preview server, for the offline and CSP tests:
 * - it gives the test its own origin (a new port), so the service worker it installs and the CSP reports it
 *   triggers never meet another test file's;
 * - it can be unplugged: the port stops accepting connections and open ones are cut, as when the network or the
 *   server goes away (the browser's offline switch alone does not cover a service worker's own fetches);
 * - it records the CSP violation reports the browser posts to the report endpoint, and can rewrite `sw.js` to
 *   look like a new version of the app, or hold `sw.js` back so the page runs uncontrolled for a while.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CSP_REPORT_PATH } from '../../src/offline/csp.ts';

/** One `csp-report` body as a browser sends it. */
export interface CspReport {
  'document-uri'?: string;
  'blocked-uri'?: string;
  'effective-directive'?: string;
  'violated-directive'?: string;
}

/** A running proxy. */
export interface TestProxy {
  /** Origin with a trailing slash, e.g. 'http://127.0.0.1:41235/'. */
  url: string;
  /** CSP violation reports received, in arrival order. */
  reports: CspReport[];
  /** Requests received, as 'METHOD /path?query', in arrival order. */
  requests: string[];
  /** Appends `text` to every `sw.js` served from now on: the browser sees a new version of the service worker. */
  changeServiceWorker(text: string): void;
  /**
   * Holds every request for `sw.js` from now on until the returned function is called: the service worker cannot
   * install, so the page does what it does before one controls it.
   */
  holdServiceWorker(): () => void;
  /** Sets a response header on every answer for `path` from now on (e.g. a new Last-Modified: "the file changed"). */
  setResponseHeader(path: string, name: string, value: string): void;
  /** Stops accepting connections and cuts the open ones: the app's origin is gone. */
  unplug(): Promise<void>;
  /** Unplugs if needed; for `afterAll`. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** Response headers to drop, e.g. to act as a static host that sends no COOP/COEP/CSP. */
  stripHeaders?: string[];
}

/** Starts a proxy on a free port forwarding every request to `target` (an origin like 'http://127.0.0.1:4173'). */
export async function startProxy(target: string, options: ProxyOptions = {}): Promise<TestProxy> {
  const stripped = new Set((options.stripHeaders ?? []).map((name) => name.toLowerCase()));
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const reports: CspReport[] = [];
  const requests: string[] = [];
  let serviceWorkerSuffix = '';
  const headerOverrides = new Map<string, Record<string, string>>();
  let closed = false;
  let serviceWorkerHeld: Promise<void> | undefined;

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(`${req.method ?? 'GET'} ${path}`);
    if (path.split('?')[0] === CSP_REPORT_PATH && req.method === 'POST') {
      recordReport(req, res, reports);
      return;
    }
    if (serviceWorkerHeld && path.split('?')[0] === '/sw.js') {
      void serviceWorkerHeld.then(() => forward(req, res, path));
      return;
    }
    forward(req, res, path);
  });

  function forward(req: IncomingMessage, res: ServerResponse, path: string): void {
    const rewrite = serviceWorkerSuffix !== '' && path.split('?')[0] === '/sw.js';
    const headers = { ...req.headers };
    if (rewrite) {
      // The body to rewrite must come whole (no 304 to a conditional request) and uncompressed.
      delete headers['if-none-match'];
      delete headers['if-modified-since'];
      headers['accept-encoding'] = 'identity';
    }
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers },
      (answer) => {
        if (rewrite && answer.statusCode === 200) {
          rewriteBody(answer, res, serviceWorkerSuffix);
          return;
        }
        const overrides = headerOverrides.get(path.split('?')[0] ?? '');
        const kept = Object.entries(answer.headers).filter(([name]) => !stripped.has(name));
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, {
          ...Object.fromEntries(kept),
          ...overrides,
        });
        answer.pipe(res);
      },
    );
    outgoing.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`Proxy could not reach ${target}: ${error.message}`);
    });
    req.pipe(outgoing);
  }
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('The test proxy is not listening.');

  async function unplug(): Promise<void> {
    if (closed) return;
    closed = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await stopped;
  }

  return {
    url: `http://${HOST}:${address.port}/`,
    reports,
    requests,
    changeServiceWorker(text) {
      serviceWorkerSuffix += text;
    },
    holdServiceWorker() {
      let release = () => undefined as void;
      serviceWorkerHeld = new Promise<void>((resolve) => (release = resolve));
      return () => {
        serviceWorkerHeld = undefined;
        release();
      };
    },
    setResponseHeader(path, name, value) {
      headerOverrides.set(path, { ...headerOverrides.get(path), [name.toLowerCase()]: value });
    },
    unplug,
    close: unplug,
  };
}

function recordReport(req: IncomingMessage, res: ServerResponse, reports: CspReport[]): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { 'csp-report'?: CspReport };
      if (body['csp-report']) reports.push(body['csp-report']);
    } catch {
      // Not a report-uri body; the test will notice the missing report.
    }
    res.writeHead(204);
    res.end();
  });
}

/** Sends `answer` with `suffix` appended, fixing the length (and dropping an ETag that no longer matches). */
function rewriteBody(answer: IncomingMessage, res: ServerResponse, suffix: string): void {
  const chunks: Buffer[] = [];
  answer.on('data', (chunk: Buffer) => chunks.push(chunk));
  answer.on('end', () => {
    const body = Buffer.concat([...chunks, Buffer.from(suffix)]);
    const headers = { ...answer.headers, 'content-length': String(body.length) };
    delete headers.etag;
    res.writeHead(answer.statusCode ?? 200, answer.statusMessage, headers);
    res.end(body);
  });
}
