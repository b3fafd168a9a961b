/**
 * @file The `/models/` routes of the preview server (scripts/vite/serve-models.ts), over raw HTTP: real files
 * with the right headers, real 404s instead of index.html, HEAD, no way out of the model folders.
 */
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtureDir = path.join(root, 'tests/fixtures/models/tiny-bert');

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends `rawPath` exactly as written (fetch would normalise `..` and `%2e%2e` away before sending). */
function send(method: string, rawPath: string): Promise<RawResponse> {
  const base = new URL(inject('baseUrl'));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, method, path: rawPath, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${rawPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('serve-models plugin', () => {
  test('serves a fixture JSON file with its content type and same-origin resource policy', async () => {
    const response = await send('GET', '/models/fixtures/tiny-bert/config.json');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
    const config = JSON.parse(response.body.toString('utf8')) as { model_type?: string };
    expect(config.model_type).toBe('bert');
  });

  test('streams the ONNX file byte for byte as octet-stream, and answers HEAD with its size only', async () => {
    const onnxPath = path.join(fixtureDir, 'onnx/model.onnx');
    const expected = await readFile(onnxPath);
    const get = await send('GET', '/models/fixtures/tiny-bert/onnx/model.onnx');
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(get.body.equals(expected)).toBe(true);

    const head = await send('HEAD', '/models/fixtures/tiny-bert/onnx/model.onnx');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe((await stat(onnxPath)).size);
    expect(head.body.length).toBe(0);
  });

  test('a missing model file is a plain 404 naming it, never the app page', async () => {
    for (const missing of [
      '/models/does-not/exist/config.json',
      '/models/fixtures/tiny-bert/onnx/model_fp16.onnx',
    ]) {
      const response = await send('GET', missing);
      expect(response.status, missing).toBe(404);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      const body = response.body.toString('utf8');
      expect(body).toContain(missing);
      expect(body).not.toContain('<html');
    }
  });

  test('refuses paths that try to leave the model folders', async () => {
    const attempts = [
      '/models/%2e%2e/package.json',
      '/models/fixtures/%2e%2e%2f%2e%2e%2fpackage.json',
      '/models/fixtures/tiny-bert/..%5c..%5cpackage.json',
      '/models/fixtures//tiny-bert/config.json',
      '/models/%00/config.json',
    ];
    for (const attempt of attempts) {
      const response = await send('GET', attempt);
      expect(response.status, attempt).toBe(400);
      expect(response.body.toString('utf8'), attempt).not.toContain('"name"');
    }
  });

  test('only GET and HEAD are allowed', async () => {
    const response = await send('POST', '/models/fixtures/tiny-bert/config.json');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  test('index.json lists the fixture model with the dtypes it ships and their sizes', async () => {
    const response = await send('GET', '/models/index.json');
    expect(response.status).toBe(200);
    const index = JSON.parse(response.body.toString('utf8')) as {
      models: { id: string; fixture: boolean; dtypes: string[] }[];
    };
    const onnxSize = (await stat(path.join(fixtureDir, 'onnx/model.onnx'))).size;
    expect(index.models).toContainEqual({
      id: 'fixtures/tiny-bert',
      fixture: true,
      dtypes: ['fp32'],
      onnxBytes: { fp32: onnxSize },
    });
    for (const model of index.models) expect(model.fixture).toBe(model.id.startsWith('fixtures/'));
  });
});
