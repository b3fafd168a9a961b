/**
 * @file `npm run workshop` (scripts/workshop): the certificate is made once and reused, the LAN addresses are the
 * machine's non-internal IPv4 ones, and the real `vite preview` server over HTTPS answers the app with the project's
 * headers, serves the handout and published experiments, and refuses every path outside the workshop folder.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureCertificate } from '../../../scripts/workshop/certificate.ts';
import { HANDOUT_CSP } from '../../../scripts/workshop/handout.ts';
import { lanAddresses } from '../../../scripts/workshop/network.ts';
import { HANDOUT_PATH, startWorkshop, type WorkshopServer } from '../../../scripts/workshop/server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let scratch = '';

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'pvf-workshop-unit-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('certificate', () => {
  test('is generated once, reused, and made anew for a new address or near its end', async () => {
    const dir = path.join(scratch, 'cert');
    const first = await ensureCertificate(dir, ['192.168.1.20']);
    expect(first.created).toBe(true);
    const san = new X509Certificate(first.cert).subjectAltName ?? '';
    expect(san).toContain('IP Address:192.168.1.20');
    expect(san).toContain('DNS:localhost');
    expect(await readFile(path.join(dir, 'key.pem'), 'utf8')).toBe(first.key);

    const again = await ensureCertificate(dir, ['192.168.1.20']);
    expect(again).toMatchObject({ created: false, cert: first.cert, key: first.key });

    const moved = await ensureCertificate(dir, ['10.0.0.7']);
    expect(moved.created).toBe(true);
    expect(new X509Certificate(moved.cert).subjectAltName).toContain('IP Address:10.0.0.7');

    const late = new Date(Date.parse(moved.notAfter) - 24 * 3600 * 1000);
    expect((await ensureCertificate(dir, ['10.0.0.7'], late)).created).toBe(true);
  });

  test('a damaged kept certificate is replaced, not used', async () => {
    const dir = path.join(scratch, 'damaged');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'certificate.json'), '{ not json');
    expect((await ensureCertificate(dir, [])).created).toBe(true);
  });
});

describe('lanAddresses', () => {
  const info = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) => ({
    address,
    family,
    internal,
    netmask: '',
    mac: '',
    cidr: null,
    ...(family === 'IPv6' ? { scopeid: 0 } : {}),
  });
  test.each([
    { name: 'loopback only', table: { lo: [info('127.0.0.1', 'IPv4', true)] }, want: [] },
    {
      name: 'Wi-Fi and Ethernet, IPv6 left out',
      table: {
        lo: [info('127.0.0.1', 'IPv4', true)],
        wlan0: [info('192.168.1.20', 'IPv4', false), info('fe80::1', 'IPv6', false)],
        eth0: [info('10.0.0.7', 'IPv4', false)],
      },
      want: ['192.168.1.20', '10.0.0.7'],
    },
    {
      name: 'the same address on two interfaces once',
      table: { a: [info('10.0.0.7', 'IPv4', false)], b: [info('10.0.0.7', 'IPv4', false)] },
      want: ['10.0.0.7'],
    },
  ])('$name', ({ table, want }) => {
    expect(lanAddresses(table as Parameters<typeof lanAddresses>[0])).toEqual(want);
  });
});

describe('workshop server', () => {
  let workshop: WorkshopServer;
  let outside = '';

  beforeAll(async () => {
    const outDir = path.join(scratch, 'dist');
    const experimentsDir = path.join(scratch, 'published');
    outside = path.join(scratch, 'secret.json');
    await mkdir(outDir, { recursive: true });
    await mkdir(experimentsDir, { recursive: true });
    await writeFile(path.join(outDir, 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(path.join(experimentsDir, 'spam-intro.json'), '{"version":1}');
    await writeFile(path.join(experimentsDir, 'not a name.json'), '{}');
    await writeFile(outside, '{"secret":true}');
    await symlink(outside, path.join(experimentsDir, 'linked.json'));
    workshop = await startWorkshop({
      root,
      outDir,
      experimentsDir,
      certDir: path.join(scratch, 'server-cert'),
      host: '127.0.0.1',
      port: 0,
      addresses: ['127.0.0.1'],
    });
  });

  afterAll(async () => {
    await workshop?.close();
  });

  /** GETs a raw path (sent as written, not normalised) over HTTPS, trusting only the workshop certificate. */
  function get(rawPath: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: workshop.port, path: rawPath, ca: workshop.certificate.cert },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  test('lists its address and serves the app over HTTPS with the isolation and CSP headers', async () => {
    expect(workshop.urls).toEqual([`https://127.0.0.1:${workshop.port}/`]);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>app</title>');
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(page.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  });

  test('serves the handout: the address, a QR code, the certificate steps, the published experiments', async () => {
    const handout = await get(HANDOUT_PATH);
    expect(handout.status).toBe(200);
    expect(handout.headers['content-type']).toContain('text/html');
    expect(handout.headers['content-security-policy']).toBe(HANDOUT_CSP);
    expect(handout.body).toContain(workshop.urls[0]);
    expect(handout.body).toContain('<svg');
    expect(handout.body).toContain('Advanced');
    expect(handout.body).toContain(`${workshop.urls[0]}?experiment=spam-intro`);
    expect(handout.body).not.toContain('not a name');
  });

  test('serves a published experiment and its list', async () => {
    const file = await get('/workshop/spam-intro.json');
    expect(file).toMatchObject({ status: 200, body: '{"version":1}' });
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    const list = JSON.parse((await get('/workshop/index.json')).body) as { experiments: { name: string }[] };
    expect(list.experiments.map((item) => item.name)).toEqual(['spam-intro']);
  });

  test.each([
    { path: '/workshop/../package.json', status: 400 },
    { path: '/workshop/%2e%2e%2fpackage.json', status: 400 },
    { path: '/workshop/..%2f..%2fsecret.json', status: 400 },
    { path: '/workshop/sub/spam-intro.json', status: 400 },
    { path: '/workshop/spam-intro', status: 400 },
    { path: '/workshop/not%20a%20name.json', status: 400 },
    { path: '/workshop/linked.json', status: 403 },
    { path: '/workshop/missing.json', status: 404 },
  ])('refuses $path with $status and no file content', async ({ path: rawPath, status }) => {
    const answer = await get(rawPath);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toContain('text/plain');
    expect(answer.body).not.toContain('secret');
    expect(answer.body).not.toContain('"name"');
  });
});
