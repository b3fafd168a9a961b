/**
 * @file Vite plugin delivering the app's Content-Security-Policy (src/offline/csp.ts):
 * - `vite` and `vite preview`: a `Content-Security-Policy` header on every response, chosen per request
 *   (documents allow the hub, worker scripts only when their URL asks for it), reporting violations to
 *   {@link CSP_REPORT_PATH}, where they are printed in the terminal and listed for tests (`GET`);
 * - `vite build`: the document policy as a `<meta>` tag in `index.html`, for static hosts that send no headers
 *   (the service worker adds the headers once it serves the app).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Connect, Logger, Plugin } from 'vite';
import { CSP_REPORT_PATH, contentSecurityPolicy, policyForRequest } from '../../src/offline/csp.ts';

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
const MAX_REPORT_BYTES = 64 * 1024;

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
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_REPORT_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    res.statusCode = size > MAX_REPORT_BYTES ? 413 : 204;
    res.end();
    if (size > MAX_REPORT_BYTES) return;
    const report = parseReport(Buffer.concat(chunks).toString('utf8'));
    if (!report) return;
    reports.push(report);
    if (reports.length > MAX_REPORTS) reports.shift();
    logger?.warn(
      `Content-Security-Policy violation: ${report['effective-directive'] ?? report['violated-directive'] ?? '?'} ` +
        `blocked ${report['blocked-uri'] ?? '?'} in ${report['source-file'] ?? report['document-uri'] ?? '?'}`,
      { timestamp: true },
    );
  });
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
