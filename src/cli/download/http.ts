/**
 * @file A GET request with node:http(s) that follows redirects across hosts (the hub sends weight files to a CDN),
 * fails fast when a host cannot be reached, and aborts a response that stalls. The caller reads the body.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { HubResponseError, TransferError, UnreachableError } from './errors.ts';

export interface HttpTimeouts {
  /** DNS lookup + TCP connect; past this the host counts as unreachable. */
  connectMs: number;
  /** No byte received for this long, while waiting for headers or reading the body: the transfer has stalled. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { connectMs: 10_000, idleMs: 30_000 };

const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Errors that mean the host is not reachable at all (as opposed to a transfer that broke off). */
const UNREACHABLE_CODES: Record<string, string> = {
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNREFUSED: 'connection refused',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ENETDOWN: 'network down',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
};

export interface GetOptions {
  headers?: Record<string, string>;
  /** Sent only to `url`'s own origin, never to a host it redirects to (e.g. `authorization`). */
  originOnlyHeaders?: Record<string, string>;
  timeouts?: HttpTimeouts;
  signal?: AbortSignal;
}

export interface OpenedResponse {
  response: IncomingMessage;
  /** The URL that finally answered, after redirects. */
  url: URL;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns a request error into an {@link UnreachableError} or a retryable {@link TransferError}. */
function classifyRequestError(error: unknown, url: URL): Error {
  if (error instanceof UnreachableError || error instanceof TransferError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const code = errorCode(error);
  const reason = code === undefined ? undefined : UNREACHABLE_CODES[code];
  if (reason) return new UnreachableError(url.origin, reason);
  const message = error instanceof Error ? error.message : String(error);
  return new TransferError(`request to ${url.origin} failed: ${message}${code ? ` (${code})` : ''}`);
}

/** Destroys the request if DNS + connect take longer than `connectMs` (reused keep-alive sockets are connected). */
function armConnectTimeout(request: ReturnType<typeof httpRequest>, url: URL, connectMs: number): void {
  request.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => {
      request.destroy(new UnreachableError(url.origin, `no connection within ${connectMs / 1000} s`));
    }, connectMs);
    const clear = () => clearTimeout(timer);
    socket.once('connect', clear);
    socket.once('close', clear);
  });
}

/** One GET without following redirects; resolves with the response head, the body still unread. */
function getOnce(url: URL, headers: Record<string, string>, timeouts: HttpTimeouts, signal?: AbortSignal) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'GET', headers, signal });
    armConnectTimeout(request, url, timeouts.connectMs);
    let opened: IncomingMessage | undefined;
    request.setTimeout(timeouts.idleMs, () => {
      const error = new TransferError(`${url.origin} sent nothing for ${timeouts.idleMs / 1000} s`);
      // Mid-body, the reader sees this reason rather than a bare "aborted".
      opened?.destroy(error);
      request.destroy(error);
    });
    request.once('response', (response: IncomingMessage) => {
      opened = response;
      resolve(response);
    });
    request.once('error', (error) => reject(classifyRequestError(error, url)));
    request.end();
  });
}

/** Headers for one hop: origin-only headers go to the first origin only. */
function headersFor(hop: URL, first: URL, options: GetOptions): Record<string, string> {
  const sameOrigin = hop.origin === first.origin;
  return { ...options.headers, ...(sameOrigin ? options.originOnlyHeaders : {}) };
}

function redirectTarget(response: IncomingMessage, from: URL): URL | undefined {
  const location = response.headers.location;
  if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || !location) return undefined;
  return new URL(location, from);
}

/**
 * GETs `url`, following up to ten redirects (relative or to another host), and resolves with the first
 * non-redirect response, body unread. Rejects with {@link UnreachableError} when a host cannot be reached and
 * {@link TransferError} for other network failures. A response stalling for `idleMs` is destroyed with a
 * TransferError, which the body stream then emits. A redirect loop, a redirect to anything but http(s) (e.g.
 * `file://`) or too many redirects reject at once with {@link HubResponseError}: retrying cannot fix them.
 */
export async function openGet(url: URL, options: GetOptions = {}): Promise<OpenedResponse> {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const visited = new Set<string>();
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    visited.add(current.href);
    const response = await getOnce(current, headersFor(current, url, options), timeouts, options.signal);
    const next = redirectTarget(response, current);
    if (!next) return { response, url: current };
    response.resume();
    const status = response.statusCode ?? 0;
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new HubResponseError(
        status,
        `${current.href} redirected to ${next.href}, which is not an http(s) address; refused.`,
      );
    }
    if (visited.has(next.href)) {
      throw new HubResponseError(status, `${url.href} redirects in a loop (back to ${next.href}); refused.`);
    }
    current = next;
  }
  throw new HubResponseError(0, `${url.href} redirected more than ${MAX_REDIRECTS} times; refused.`);
}

/**
 * Reads a whole (small) response body as text, at most `maxBytes` of it: a longer body (announced or sent) is
 * cut off and rejects with {@link HubResponseError} naming `what` and the cap, before it can fill memory.
 */
export async function readBodyText(
  response: IncomingMessage,
  maxBytes: number,
  what: string,
): Promise<string> {
  const tooLarge = () =>
    new HubResponseError(
      response.statusCode ?? 0,
      `${what} is larger than ${maxBytes} bytes; refused (is HF_ENDPOINT a Hugging Face hub?).`,
    );
  if (Number(headerValue(response.headers, 'content-length') ?? 0) > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A header's single value, or undefined. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
