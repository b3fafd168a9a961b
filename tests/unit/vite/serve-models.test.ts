/**
 * @file The models middleware (scripts/vite/serve-models.ts) on a plain HTTP server over temporary folders:
 * symbolic links are followed only while they stay inside the served root, and every answer is `nosniff`.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createModelsMiddleware, findModelFolders } from '../../../scripts/vite/serve-models.ts';

let dir = '';
let server: Server;
let base = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'serve-models-'));
  const modelsDir = path.join(dir, 'models');
  const fixturesDir = path.join(dir, 'fixtures');
  const outside = path.join(dir, 'outside');
  await mkdir(path.join(modelsDir, 'org/model/onnx'), { recursive: true });
  await mkdir(fixturesDir, { recursive: true });
  await mkdir(path.join(outside, 'onnx'), { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), 'classified content');
  await writeFile(path.join(outside, 'onnx/model.onnx'), 'outside weights');
  await writeFile(path.join(modelsDir, 'org/model/config.json'), '{"model_type":"bert"}');
  await writeFile(path.join(modelsDir, 'org/model/onnx/model_quantized.onnx'), 'inside weights');
  // Links that stay inside the root are fine; links that leave it are not, whether to a file or a folder.
  await symlink(path.join(modelsDir, 'org/model/config.json'), path.join(modelsDir, 'org/model/alias.json'));
  await symlink(path.join(outside, 'secret.txt'), path.join(modelsDir, 'org/model/tokenizer.json'));
  await symlink(path.join(outside, 'onnx/model.onnx'), path.join(modelsDir, 'org/model/onnx/model.onnx'));
  await symlink(outside, path.join(modelsDir, 'escape'));
  await symlink('/etc/passwd', path.join(modelsDir, 'passwd'));
  const middleware = createModelsMiddleware(() => ({ modelsDir, fixturesDir }));
  server = createServer((req, res) =>
    middleware(req, res, () => {
      res.statusCode = 418;
      res.end('next');
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('serve-models symbolic links', () => {
  test('serves real files and links inside the root, with nosniff', async () => {
    for (const file of ['config.json', 'alias.json', 'onnx/model_quantized.onnx']) {
      const response = await fetch(`${base}/models/org/model/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get('x-content-type-options'), file).toBe('nosniff');
    }
  });

  test.each([
    ['a file linked outside', '/models/org/model/tokenizer.json'],
    ['an ONNX file linked outside', '/models/org/model/onnx/model.onnx'],
    ['a folder linked outside', '/models/escape/secret.txt'],
    ['a link to /etc/passwd', '/models/passwd'],
  ])('refuses %s with 403 and never sends its content', async (_, url) => {
    const response = await fetch(base + url);
    const body = await response.text();
    expect(response.status).toBe(403);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(body).toContain('outside the served model folder');
    expect(body).not.toContain('classified content');
    expect(body).not.toContain('weights');
    expect(body).not.toContain('root:');
  });

  test('the index lists no dtype whose file links outside, and no folder reached through a link', async () => {
    const models = await findModelFolders(path.join(dir, 'models'), '', false);
    expect(models.map((m) => [m.id, m.dtypes])).toEqual([['org/model', ['q8']]]);
  });
});
