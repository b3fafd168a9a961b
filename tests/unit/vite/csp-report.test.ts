/**
 * @file The dev/preview server's CSP report endpoint (scripts/vite/security-headers.ts) under hostile use: reports
 * from other pages, oversized bodies, escape codes meant for the host's terminal, listing from another machine.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  cspMiddleware,
  describeReport,
  MAX_REPORT_BYTES,
  reportRequestRefusal,
} from '../../../scripts/vite/security-headers.ts';
import { CSP_REPORT_PATH } from '../../../src/offline/csp.ts';

const printed: string[] = [];
const logger = { warn: (message: string) => printed.push(message) } as unknown as Logger;
let server: Server;
let base = '';

beforeAll(async () => {
  const middleware = cspMiddleware({ dev: true, logger });
  server = createServer((req, res) => middleware(req, res, () => res.end('ok')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(base + CSP_REPORT_PATH, {
    method: 'POST',
    headers: { 'Content-Type': 'application/csp-report', ...headers },
    body,
  });
}

async function listed(): Promise<string[]> {
  const response = await fetch(base + CSP_REPORT_PATH);
  const { reports } = (await response.json()) as { reports: { 'blocked-uri'?: string }[] };
  return reports.map((r) => r['blocked-uri'] ?? '');
}

const report = (blocked: string): string => JSON.stringify({ 'csp-report': { 'blocked-uri': blocked } });

describe('CSP report endpoint', () => {
  test('accepts a report from its own origin', async () => {
    const response = await post(report('https://own.example/a'), {
      Origin: base,
      'Sec-Fetch-Site': 'same-origin',
    });
    expect(response.status).toBe(204);
    expect(await listed()).toContain('https://own.example/a');
  });

  test.each([
    ['another origin', { Origin: 'http://evil.example' }],
    ['an opaque origin', { Origin: 'null' }],
    ['a cross-site fetch', { 'Sec-Fetch-Site': 'cross-site' }],
    ['a same-site fetch from another port', { Origin: 'http://127.0.0.1:1', 'Sec-Fetch-Site': 'same-site' }],
  ])('refuses a report from %s and neither keeps nor prints it', async (_, headers) => {
    const before = printed.length;
    const response = await post(report('https://evil.example/x'), headers);
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/own origin/);
    expect(await listed()).not.toContain('https://evil.example/x');
    expect(printed.length).toBe(before);
  });

  test('refuses a body over the cap with 413, keeping nothing', async () => {
    const big = report(`https://big.example/${'x'.repeat(MAX_REPORT_BYTES)}`);
    const response = await post(big).catch((error: unknown) => error);
    // The server may close the connection before the whole body is sent; either way nothing is kept.
    if (response instanceof Response) expect(response.status).toBe(413);
    expect((await listed()).some((uri) => uri.startsWith('https://big.example'))).toBe(false);
  });

  test('prints a report with escape codes removed, on one line', async () => {
    const hostile = 'https://x.example/\u001b[2J\u001b]0;pwned\u0007\r\nFAKE LINE\u009b31m';
    expect((await post(report(hostile))).status).toBe(204);
    const line = printed.at(-1) ?? '';
    expect(line).toContain('blocked https://x.example/  FAKE LINE31m');
    expect(Array.from(line).filter((c) => c < ' ' || (c >= '\u007f' && c <= '\u009f'))).toEqual([]);
  });
});

describe('describeReport', () => {
  test('cuts a long field with an ellipsis, by characters', () => {
    const line = describeReport({ receivedAt: '', 'blocked-uri': '😀'.repeat(300) });
    expect(line).toContain(`blocked ${'😀'.repeat(200)}…`);
  });

  test('describeReport shows "?" for missing or non-string fields', () => {
    expect(describeReport({ receivedAt: '', 'blocked-uri': 42 as unknown as string })).toBe(
      'Content-Security-Policy violation: ? blocked ? in ?',
    );
  });
});

describe('reportRequestRefusal', () => {
  const request = (
    method: string,
    remoteAddress: string,
    headers: Record<string, string> = {},
  ): IncomingMessage =>
    ({
      method,
      headers: { host: 'lan.example:5173', ...headers },
      socket: { remoteAddress },
    }) as unknown as IncomingMessage;

  test.each([
    [
      'a same-origin browser report from the LAN',
      request('POST', '10.0.0.7', { origin: 'http://lan.example:5173' }),
      true,
    ],
    [
      'a same-origin report by fetch metadata',
      request('POST', '10.0.0.7', { 'sec-fetch-site': 'same-origin' }),
      true,
    ],
    ['a bare POST from this machine', request('POST', '127.0.0.1'), true],
    ['a bare POST from another machine', request('POST', '10.0.0.7'), false],
    ['a listing from this machine', request('GET', '::1'), true],
    [
      'a listing from another machine, even same-origin',
      request('GET', '10.0.0.7', { origin: 'http://lan.example:5173' }),
      false,
    ],
    [
      'a report from another origin on this machine',
      request('POST', '127.0.0.1', { origin: 'http://evil.example' }),
      false,
    ],
  ])('%s → accepted %s', (_, req, accepted) => {
    expect(reportRequestRefusal(req) === undefined).toBe(accepted);
  });
});
