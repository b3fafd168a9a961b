/**
 * @file Published experiments: experiment files the host puts in the workshop folder (default `workshop/`), served
 * read-only at `/workshop/<name>.json` and listed at `/workshop/index.json`. Students open one with
 * `/?experiment=<name>`; the app imports it through its usual validation. Names are plain words (letters, digits,
 * `-`, `_`), so no request can name a path outside the folder, and a symbolic link leading out of it is refused.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Connect } from 'vite';
import { MAX_EXPERIMENT_FILE_BYTES } from '../../src/lib/core/experiment/limits.ts';
import { PUBLISHED_NAME, PUBLISHED_URL_PREFIX } from '../../src/lib/state/workshop.ts';
import { realFileInside } from '../vite/serve-models.ts';

export { PUBLISHED_NAME, PUBLISHED_URL_PREFIX };

/** One entry of `/workshop/index.json`. */
export interface PublishedExperiment {
  /** The name used in links, e.g. `spam-intro`. */
  name: string;
  /** The path students open, e.g. `/?experiment=spam-intro`. */
  link: string;
}

/**
 * The experiment files in `dir` that can be published (a valid name, a real file inside the folder), sorted by name;
 * none when the folder is missing.
 */
export async function listPublished(dir: string): Promise<PublishedExperiment[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((entry) => entry.name.endsWith('.json'))
    .map((entry) => entry.name.slice(0, -'.json'.length))
    .filter((name) => PUBLISHED_NAME.test(name));
  const inside = await Promise.all(
    names.map(async (name) => {
      const real = await realFileInside(path.join(dir, `${name}.json`), dir);
      return real !== undefined && real !== 'outside';
    }),
  );
  return names
    .filter((_, index) => inside[index])
    .sort((a, b) => a.localeCompare(b))
    .map((name) => ({ name, link: `/?experiment=${name}` }));
}

/**
 * Connect middleware answering `/workshop/index.json` and `/workshop/<name>.json` from `dir`; any other path under
 * `/workshop/` is a 404 (never the app's `index.html`), a name with other characters a 400.
 */
export function createPublishedMiddleware(dir: string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const pathname = (req.url ?? '').split(/[?#]/, 1)[0] ?? '';
    if (!pathname.startsWith(PUBLISHED_URL_PREFIX)) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'Published experiments are read-only: use GET.');
    }
    const rest = pathname.slice(PUBLISHED_URL_PREFIX.length);
    const answer =
      rest === 'index.json'
        ? listPublished(dir).then((list) => sendJson(req, res, JSON.stringify({ experiments: list })))
        : sendExperiment(req, res, dir, rest);
    answer.catch((error: unknown) => {
      if (!res.headersSent) sendText(res, 500, `Could not serve ${pathname}: ${String(error)}`);
      else res.destroy();
    });
  };
}

async function sendExperiment(
  req: IncomingMessage,
  res: ServerResponse,
  dir: string,
  rest: string,
): Promise<void> {
  const name = rest.endsWith('.json') ? rest.slice(0, -'.json'.length) : undefined;
  if (name === undefined || !PUBLISHED_NAME.test(name)) {
    return sendText(
      res,
      400,
      'A published experiment is /workshop/<name>.json, the name made of letters, digits, "-" and "_".',
    );
  }
  const real = await realFileInside(path.join(dir, `${name}.json`), dir);
  if (real === 'outside')
    return sendText(res, 403, `Refused ${name}: it links to a file outside the workshop folder.`);
  const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
  if (real === undefined || !info?.isFile()) {
    return sendText(
      res,
      404,
      `No published experiment named "${name}": the host has no ${name}.json in the folder.`,
    );
  }
  if (info.size > MAX_EXPERIMENT_FILE_BYTES) {
    return sendText(
      res,
      413,
      `${name}.json is larger than an experiment file can be (${MAX_EXPERIMENT_FILE_BYTES} bytes).`,
    );
  }
  sendJson(req, res, await readFile(real, 'utf8'));
}

function commonHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-cache');
}

function sendJson(req: IncomingMessage, res: ServerResponse, body: string): void {
  res.statusCode = 200;
  commonHeaders(res);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A plain-text answer; exported for the handout route. */
export function sendText(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status;
  commonHeaders(res);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(message);
}
