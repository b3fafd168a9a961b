/**
 * @file The Content-Security-Policy builder and the server's delivery of it: which policy each request gets, the
 * worker downloads flag, the meta tag in the built page and the report endpoint.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cspMiddleware, parseReport, withPolicyMeta } from '../../../scripts/vite/security-headers.ts';
import {
  ALLOW_DOWNLOADS_KEY,
  contentSecurityPolicy,
  CSP_REPORT_PATH,
  downloadsAllowed,
  HUB_CONNECT_SOURCES,
  policyForRequest,
  reportUriOf,
  workerUrlWithDownloads,
} from '../../../src/offline/csp.ts';

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(';').map((part) => {
      const [name = '', ...sources] = part.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

const HUB = ["'self'", ...HUB_CONNECT_SOURCES];

describe('contentSecurityPolicy', () => {
  test('allows the hub only when asked, and never inline scripts, blob: code or other origins', () => {
    const open = directives(contentSecurityPolicy({ hub: true }));
    const closed = directives(contentSecurityPolicy({ hub: false }));
    expect(open.get('connect-src')).toEqual(HUB);
    expect(closed.get('connect-src')).toEqual(["'self'"]);
    for (const policy of [open, closed]) {
      expect(policy.get('default-src')).toEqual(["'self'"]);
      expect(policy.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
      expect(policy.get('worker-src')).toEqual(["'self'"]);
      expect(policy.get('style-src')).toEqual(["'self'"]);
      expect(policy.get('object-src')).toEqual(["'none'"]);
    }
  });

  test('allows inline style elements only for the dev server', () => {
    expect(directives(contentSecurityPolicy({ hub: true, dev: true })).get('style-src')).toEqual([
      "'self'",
      "'unsafe-inline'",
    ]);
  });

  test('leaves header-only directives out of a meta tag', () => {
    const header = directives(contentSecurityPolicy({ hub: true, reportUri: CSP_REPORT_PATH }));
    const meta = directives(contentSecurityPolicy({ hub: true, meta: true, reportUri: CSP_REPORT_PATH }));
    expect(header.get('frame-ancestors')).toEqual(["'none'"]);
    expect(header.get('report-uri')).toEqual([CSP_REPORT_PATH]);
    expect(meta.has('frame-ancestors')).toBe(false);
    expect(meta.has('report-uri')).toBe(false);
  });
});

describe('policyForRequest', () => {
  const url = (path: string) => new URL(path, 'http://127.0.0.1:4173');

  test('documents may reach the hub (the page narrows that itself when downloads are off)', () => {
    const policy = policyForRequest({ url: url('/'), destination: 'document', accept: undefined });
    expect(directives(policy).get('connect-src')).toEqual(HUB);
  });

  test('without Sec-Fetch-Dest, a request accepting HTML counts as a document', () => {
    const policy = policyForRequest({ url: url('/'), destination: undefined, accept: 'text/html,*/*' });
    expect(directives(policy).get('connect-src')).toEqual(HUB);
  });

  test('a worker reaches the hub only with the exact downloads flag in its URL', () => {
    const connect = (path: string) =>
      directives(policyForRequest({ url: url(path), destination: 'worker', accept: '*/*' })).get(
        'connect-src',
      );
    expect(connect('/assets/model.worker-x.js')).toEqual(["'self'"]);
    expect(connect('/assets/model.worker-x.js?downloads=allowed')).toEqual(HUB);
    expect(connect('/assets/model.worker-x.js?downloads=true')).toEqual(["'self'"]);
    expect(connect('/assets/model.worker-x.js?downloads')).toEqual(["'self'"]);
  });

  test('an empty destination (fetch, the service worker precaching) gets the closed policy', () => {
    const policy = policyForRequest({ url: url('/index.html'), destination: 'empty', accept: '*/*' });
    expect(directives(policy).get('connect-src')).toEqual(["'self'"]);
  });
});

describe('workerUrlWithDownloads', () => {
  test('adds the flag when allowed and strips it otherwise, keeping other parameters', () => {
    const base = 'http://127.0.0.1:4173/';
    expect(workerUrlWithDownloads('/w.js?x=1', true, base).href).toBe(
      'http://127.0.0.1:4173/w.js?x=1&downloads=allowed',
    );
    expect(workerUrlWithDownloads('/w.js?downloads=allowed&x=1', false, base).href).toBe(
      'http://127.0.0.1:4173/w.js?x=1',
    );
  });
});

describe('downloadsAllowed', () => {
  test("only the exact string 'true' allows downloads; unreadable storage means off", () => {
    const store = (value: string | null) => ({
      getItem: (key: string) => (key === ALLOW_DOWNLOADS_KEY ? value : null),
    });
    expect(downloadsAllowed(store('true'))).toBe(true);
    expect(downloadsAllowed(store('TRUE'))).toBe(false);
    expect(downloadsAllowed(store(null))).toBe(false);
    expect(downloadsAllowed(undefined)).toBe(false);
    const throwing = {
      getItem(): string | null {
        throw new Error('SecurityError');
      },
    };
    expect(downloadsAllowed(throwing)).toBe(false);
  });
});

describe('reportUriOf', () => {
  test('finds the report-uri of a policy, or nothing', () => {
    expect(reportUriOf(contentSecurityPolicy({ hub: false, reportUri: '/r' }))).toBe('/r');
    expect(reportUriOf(contentSecurityPolicy({ hub: false }))).toBeUndefined();
    expect(reportUriOf(null)).toBeUndefined();
  });
});

describe('withPolicyMeta', () => {
  test('puts the policy right after <meta charset>, escaped for an attribute', () => {
    const html = withPolicyMeta(
      '<html><head>\n    <meta charset="UTF-8" />\n    <title>x</title></head></html>',
    );
    expect(html).toMatch(
      /<meta charset="UTF-8" \/>\n {4}<meta http-equiv="Content-Security-Policy" content="default-src &#39;self&#39;;/,
    );
    expect(html).not.toContain('report-uri');
    expect(html).not.toContain('frame-ancestors');
  });

  test('falls back to the start of <head>, and refuses a page without one', () => {
    expect(withPolicyMeta('<head><title>x</title></head>')).toMatch(/^<head>\n {4}<meta http-equiv/);
    expect(() => withPolicyMeta('<p>no head</p>')).toThrow(/no <head>/);
  });
});

describe('cspMiddleware', () => {
  let server: Server;
  let origin = '';

  beforeAll(async () => {
    const middleware = cspMiddleware({ dev: false });
    server = createServer((req, res) =>
      middleware(req, res, () => {
        res.end('ok');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    origin = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('sets the policy per request, reporting to the endpoint', async () => {
    const page = await fetch(`${origin}/`, { headers: { 'Sec-Fetch-Dest': 'document' } });
    const worker = await fetch(`${origin}/assets/w.js`, { headers: { 'Sec-Fetch-Dest': 'worker' } });
    expect(directives(page.headers.get('content-security-policy') ?? '').get('connect-src')).toEqual(HUB);
    const workerPolicy = directives(worker.headers.get('content-security-policy') ?? '');
    expect(workerPolicy.get('connect-src')).toEqual(["'self'"]);
    expect(workerPolicy.get('report-uri')).toEqual([CSP_REPORT_PATH]);
  });

  test('collects posted violation reports and lists them', async () => {
    const report = {
      'csp-report': { 'blocked-uri': 'https://example.com/x', 'effective-directive': 'connect-src' },
    };
    const posted = await fetch(`${origin}${CSP_REPORT_PATH}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/csp-report' },
      body: JSON.stringify(report),
    });
    expect(posted.status).toBe(204);
    const junk = await fetch(`${origin}${CSP_REPORT_PATH}`, { method: 'POST', body: 'not json' });
    expect(junk.status).toBe(204);
    const listed = (await (await fetch(`${origin}${CSP_REPORT_PATH}`)).json()) as {
      reports: { 'blocked-uri': string }[];
    };
    expect(listed.reports.map((r) => r['blocked-uri'])).toEqual(['https://example.com/x']);
    const wrongMethod = await fetch(`${origin}${CSP_REPORT_PATH}`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
  });

  test('parseReport accepts only report-uri bodies', () => {
    expect(parseReport('{"csp-report":{"blocked-uri":"x"}}')?.['blocked-uri']).toBe('x');
    expect(parseReport('{"other":1}')).toBeUndefined();
    expect(parseReport('[')).toBeUndefined();
  });
});
