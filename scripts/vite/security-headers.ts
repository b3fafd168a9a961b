/**
 * @file Vite plugin delivering the app's Content-Security-Policy (src/offline/csp.ts):
 * - `vite` and `vite preview`: a `Content-Security-Policy` header on every response, chosen per request
 *   (documents allow the hub, worker scripts only when their URL asks for it), reporting violations to
 *   {@link CSP_REPORT_PATH}, where they are printed in the terminal and listed for tests (`GET`). Reports are
 *   taken only from the app's own origin (never from another page), size-capped, and printed with control
 *   characters made visible; the list is given only to clients on this machine;
 * - `vite build`: the document policy as a `<meta>` tag in `index.html`, for static hosts that send no headers
 *   (the service worker adds the headers once it serves the app).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Connect, Logger, Plugin } from 'vite';
import { CSP_REPORT_PATH, contentSecurityPolicy, policyForRequest } from '../../src/offline/csp.ts';
import { terminalSafe } from '../../src/lib/core/text/terminal.ts';

/** One violation as browsers send it to a `report-uri` (the `csp-report` object), plus when it arrived. */
export interface CspViolationReport {
  'document-uri'?: string;
  'blocked-uri'?: string;
  'violated-directive'?: string;
  'effective-directive'?: string;
  'source-file'?: string;
  'line-number'?: number;
  receivedAt: string;
}

/** Reports kept per server; older ones are dropped beyond this. */
const MAX_REPORTS = 500;
/** Larger report bodies are refused (a report is well under 4 KB). */
export const MAX_REPORT_BYTES = 16 * 1024;

/** Vite plugin: CSP headers and a report endpoint in dev and preview, a CSP meta tag in the built `index.html`. */
export function securityHeaders(): Plugin {
  let isBuild = false;
  return {
    name: 'pvf-security-headers',
    configResolved(config) {
      isBuild = config.command === 'build';
    },
    configureServer(server) {
      server.middlewares.use(cspMiddleware({ dev: true, logger: server.config.logger }));
    },
    configurePreviewServer(server) {
      server.middlewares.use(cspMiddleware({ dev: false, logger: server.config.logger }));
    },
    transformIndexHtml: {
      order: 'pre',
      handler(html) {
        return isBuild ? withPolicyMeta(html) : html;
      },
    },
  };
}

/** Inserts the document policy right after `<meta charset>` (which must stay first), or first in `<head>`. */
export function withPolicyMeta(html: string): string {
  const policy = contentSecurityPolicy({ hub: true, meta: true }).replaceAll("'", '&#39;');
  const tag = `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
  const charset = /<meta\s+charset=[^>]*>/i.exec(html);
  if (charset) {
    const end = charset.index + charset[0].length;
    return `${html.slice(0, end)}\n    ${tag}${html.slice(end)}`;
  }
  if (!/<head[^>]*>/i.test(html)) {
    throw new Error('index.html has no <head> to put the Content-Security-Policy meta tag in.');
  }
  return html.replace(/<head[^>]*>/i, (head) => `${head}\n    ${tag}`);
}

/**
 * Connect middleware: answers {@link CSP_REPORT_PATH} (POST a report, GET the list) and otherwise sets the policy
 * header before the later middlewares (static files, models, Vite's transforms) answer.
 */
export function cspMiddleware(options: { dev: boolean; logger?: Logger }): Connect.NextHandleFunction {
  const reports: CspViolationReport[] = [];
  return (req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === CSP_REPORT_PATH) {
      handleReportRequest(req, res, reports, options.logger);
      return;
    }
    const policy = policyForRequest(
      { url, destination: header(req, 'sec-fetch-dest'), accept: header(req, 'accept') },
      { dev: options.dev, reportUri: CSP_REPORT_PATH },
    );
    res.setHeader('Content-Security-Policy', policy);
    next();
  };
}

function handleReportRequest(
  req: IncomingMessage,
  res: ServerResponse,
  reports: CspViolationReport[],
  logger: Logger | undefined,
): void {
  const refusal = reportRequestRefusal(req);
  if (refusal !== undefined) {
    res.statusCode = 403;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(refusal);
    return;
  }
  if (req.method === 'GET') {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end(JSON.stringify({ reports }));
    return;
  }
  if (req.method !== 'POST') {
    res.statusCode = 405;
    res.setHeader('Allow', 'GET, POST');
    res.end(`Use POST to send a CSP report to ${CSP_REPORT_PATH}, GET to list them.`);
    return;
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_REPORT_BYTES) return refuseTooLarge(req, res);
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REPORT_BYTES) return refuseTooLarge(req, res);
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.writableEnded) return;
    res.statusCode = 204;
    res.end();
    const report = parseReport(Buffer.concat(chunks).toString('utf8'));
    if (!report) return;
    reports.push(report);
    if (reports.length > MAX_REPORTS) reports.shift();
    logger?.warn(describeReport(report), { timestamp: true });
  });
}

/** Answers 413 once and stops reading a body that is over the cap. */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  if (res.writableEnded) return;
  res.statusCode = 413;
  res.setHeader('Connection', 'close');
  res.end(`A CSP report is at most ${MAX_REPORT_BYTES} bytes.`);
  req.pause();
}

/** Longest a report field is printed, in characters. */
const MAX_FIELD_CHARS = 200;

/** The terminal line for one report; every field from the page is made terminal-safe and cut short. */
export function describeReport(report: CspViolationReport): string {
  const field = (value: unknown): string => {
    const chars = Array.from(terminalSafe(typeof value === 'string' ? value : '?'));
    return chars.length > MAX_FIELD_CHARS ? `${chars.slice(0, MAX_FIELD_CHARS).join('')}…` : chars.join('');
  };
  return (
    `Content-Security-Policy violation: ${field(report['effective-directive'] ?? report['violated-directive'])} ` +
    `blocked ${field(report['blocked-uri'])} in ${field(report['source-file'] ?? report['document-uri'])}`
  );
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Why a request to the report endpoint is refused, or undefined when it is accepted. Browsers mark every request
 * from another page (`Origin`, `Sec-Fetch-Site`), so a report must come from the app's own origin; a request
 * without those marks is not from a browser page and is accepted only from this machine, as is listing reports.
 */
export function reportRequestRefusal(req: IncomingMessage): string | undefined {
  const host = header(req, 'host');
  const origin = header(req, 'origin');
  const site = header(req, 'sec-fetch-site');
  const local = LOOPBACK.has(req.socket.remoteAddress ?? '');
  const ownOrigin = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  if (origin !== undefined && !ownOrigin) return `CSP reports are accepted only from this app's own origin.`;
  if (site !== undefined && site !== 'same-origin')
    return `CSP reports are accepted only from this app's own origin.`;
  if (origin === undefined && site === undefined && !local) {
    return 'CSP reports from outside a browser page are accepted only from this machine.';
  }
  if (req.method === 'GET' && !local) return 'CSP reports are listed only to this machine.';
  return undefined;
}

/** The `csp-report` object of a `report-uri` body, or undefined when the body is not one. */
export function parseReport(body: string): CspViolationReport | undefined {
  try {
    const parsed = JSON.parse(body) as { 'csp-report'?: unknown };
    const report = parsed['csp-report'];
    if (typeof report !== 'object' || report === null) return undefined;
    return { ...(report as Omit<CspViolationReport, 'receivedAt'>), receivedAt: new Date().toISOString() };
  } catch {
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
