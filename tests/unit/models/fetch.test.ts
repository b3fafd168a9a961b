import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadModels, type DownloadRequest } from '../../../src/cli/download/download-models.ts';
import { createReporter } from '../../../src/cli/download/progress.ts';
import { main } from '../../../src/cli/models.ts';
import { parseCatalog, type Catalog } from '../../../src/lib/core/models/catalog.ts';
import {
  closedPort,
  loadRepoFromFolder,
  startHubServer,
  type HubRepoFixture,
  type HubServer,
} from '../../helpers/hub-server.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURE_DIR = join(ROOT, 'tests/fixtures/models/tiny-bert');
const REPO_ID = 'test-org/tiny-bert';
const WEIGHTS = 'onnx/model.onnx';
const TOKEN = 'test-token';
/** Refused connections must fail well within this, retries included. */
const FAIL_FAST_MS = 1500;

let repo: HubRepoFixture;
let hub: HubServer;
let cdn: HubServer;
/** Control characters other than the newline, which no printed output may contain. */
function controlCharacters(text: string): string[] {
  return [...text].filter((char) => char !== '\n' && (char < ' ' || char === '\u007f'));
}

let catalog: Catalog;
let workDir: string;
let catalogFile: string;

function catalogJson(dtypes: Record<string, { path: string; approxBytes: number }[]>, id = REPO_ID) {
  return {
    version: 1,
    models: [
      {
        id,
        origin: 'hub',
        revision: 'main',
        name: 'tiny-bert served by a fake hub',
        description: 'The fixture encoder, as a hub repository.',
        family: 'encoder',
        tasks: ['feature-extraction'],
        uses: ['similarity', 'head'],
        license: 'test fixture',
        source: `http://127.0.0.1/${id}`,
        files: ['config.json', 'tokenizer.json', 'tokenizer_config.json'].map((path) => ({ path, approxBytes: 1000 })),
        dtypes,
      },
    ],
  };
}

const FP32_ONLY = { fp32: [{ path: WEIGHTS, approxBytes: 280_000 }] };

function sourceFile(path: string): Buffer {
  const content = repo.files[path];
  if (!content) throw new Error(`fixture has no ${path}`);
  return content;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function download(modelsDir: string, overrides: Partial<DownloadRequest> = {}) {
  const output: string[] = [];
  const summary = await downloadModels({
    catalog,
    ids: [],
    dtypes: ['fp32'],
    modelsDir,
    hub: { endpoint: hub.endpoint, token: TOKEN, timeouts: { connectMs: 2000, idleMs: 2000 } },
    reporter: createReporter({ write: (text: string) => output.push(text) }),
    retry: { attempts: 3, delayMs: 0 },
    ...overrides,
  });
  return { summary, output: output.join('') };
}

async function expectModelIdenticalToFixture(modelsDir: string): Promise<void> {
  for (const path of Object.keys(repo.files)) {
    const downloaded = await readFile(join(modelsDir, REPO_ID, path));
    expect(downloaded.equals(sourceFile(path)), `${path} differs from the fixture`).toBe(true);
  }
  expect(await exists(join(modelsDir, REPO_ID, '.download'))).toBe(false);
}

function resolveRequests(server: HubServer, path: string) {
  return server.requests.filter((request) => request.url.endsWith(`/${path}`) && request.url.includes('/resolve/'));
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run models` in-process with `args` and only `env` as its environment. */
async function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: ROOT,
  });
  return { code, stdout, stderr };
}

function expectNoStackTrace(run: CliRun): void {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  repo = await loadRepoFromFolder(REPO_ID, FIXTURE_DIR);
  expect(Object.keys(repo.files).sort()).toEqual(['config.json', WEIGHTS, 'tokenizer.json', 'tokenizer_config.json']);
  hub = await startHubServer([repo]);
  cdn = await startHubServer([repo]);
  catalog = parseCatalog(catalogJson(FP32_ONLY));
  workDir = await mkdtemp(join(tmpdir(), 'models-fetch-'));
  catalogFile = join(workDir, 'catalog.json');
  await writeFile(catalogFile, JSON.stringify(catalogJson(FP32_ONLY)));
});

afterAll(async () => {
  await Promise.all([hub?.close(), cdn?.close()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const server of [hub, cdn]) {
    server.resetBehaviours();
    server.requests.length = 0;
  }
});

/** A fresh, empty models folder. */
function modelsDirFor(name: string): string {
  return join(workDir, name, 'models');
}

describe('downloading from a hub', () => {
  it('places every file byte-identical, from the resolved commit, following a redirect to another host', async () => {
    hub.redirectFile(WEIGHTS, cdn);
    const modelsDir = modelsDirFor('redirect');
    const { summary, output } = await download(modelsDir);

    expect(summary.failedModels).toBe(0);
    expect(summary.models[0]?.files.map((file) => file.outcome)).toEqual(Array(4).fill('downloaded'));
    await expectModelIdenticalToFixture(modelsDir);
    const weightsRequests = resolveRequests(hub, WEIGHTS);
    expect(weightsRequests).toHaveLength(1);
    expect(weightsRequests[0]?.url).toContain(`/${REPO_ID}/resolve/${hub.commitOf(REPO_ID)}/`);
    expect(cdn.requests.map((request) => request.url)).toEqual([expect.stringMatching(/^\/cdn\/[0-9a-f]{64}$/)]);
    // The token goes to the hub, never to the host it redirects to.
    expect(hub.requests.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(cdn.requests[0]?.authorization).toBeUndefined();
    expect(output).toMatch(/4 files, 299 kB \(sizes from the hub\)/);
    expect(output).toMatch(/onnx\/model\.onnx: verified and in place/);
  });

  it('resumes a transfer that broke off with a Range request, and places the correct file', async () => {
    hub.truncateFile(WEIGHTS, { afterBytes: 100_000 });
    const modelsDir = modelsDirFor('resume');
    const { summary, output } = await download(modelsDir);

    expect(summary.failedModels).toBe(0);
    const ranges = resolveRequests(hub, WEIGHTS).map((request) => request.range);
    expect(ranges).toEqual([undefined, 'bytes=100000-']);
    expect(output).toMatch(/connection broke off after 100000 of 281303 bytes.*retrying \(attempt 2 of 3\)/);
    await expectModelIdenticalToFixture(modelsDir);
  });

  it('keeps the .part after the last failed attempt, never a partial file under the final name, and resumes on the next run', async () => {
    hub.truncateFile(WEIGHTS, { afterBytes: 50_000, times: 2 });
    const modelsDir = modelsDirFor('resume-next-run');
    const folder = join(modelsDir, REPO_ID);
    const first = await download(modelsDir, { retry: { attempts: 2, delayMs: 0 } });

    expect(first.summary.failedModels).toBe(1);
    const failed = first.summary.models[0]?.files.find((file) => file.outcome === 'failed');
    expect(failed?.path).toBe(WEIGHTS);
    expect(failed?.error).toMatch(/failed after 2 attempts.*kept in .*\.download\/onnx\/model\.onnx\.part.*resume/);
    expect(await exists(join(folder, WEIGHTS))).toBe(false);
    expect((await stat(join(folder, '.download', `${WEIGHTS}.part`))).size).toBe(100_000);

    const listing = await runCli(['--list', '--dir', modelsDir, '--catalog', catalogFile], {});
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(/fp32\s+partial\s+~283 kB\s+118 kB on disk, missing onnx\/model\.onnx$/m);

    hub.resetBehaviours();
    hub.requests.length = 0;
    const second = await download(modelsDir);
    expect(second.summary.failedModels).toBe(0);
    expect(resolveRequests(hub, WEIGHTS).map((request) => request.range)).toEqual(['bytes=100000-']);
    await expectModelIdenticalToFixture(modelsDir);

    const after = await runCli(['--list', '--dir', modelsDir, '--catalog', catalogFile], {});
    expect(after.stdout).toMatch(/fp32\s+complete/);
  });

  it('retries a response that stalls', async () => {
    hub.stallFileOnce('tokenizer.json');
    const modelsDir = modelsDirFor('stall');
    const { summary, output } = await download(modelsDir, {
      hub: { endpoint: hub.endpoint, timeouts: { connectMs: 2000, idleMs: 300 } },
    });

    expect(summary.failedModels).toBe(0);
    expect(output).toMatch(/tokenizer\.json: .*sent nothing for 0\.3 s.*retrying/);
    expect(resolveRequests(hub, 'tokenizer.json')).toHaveLength(2);
    await expectModelIdenticalToFixture(modelsDir);
  });

  it('skips files already present and verified, and replaces one that was altered', async () => {
    const modelsDir = modelsDirFor('rerun');
    await download(modelsDir);
    hub.requests.length = 0;

    const rerun = await download(modelsDir);
    expect(rerun.summary.models[0]?.files.map((file) => file.outcome)).toEqual(Array(4).fill('already-verified'));
    expect(hub.requests.filter((request) => request.url.includes('/resolve/'))).toEqual([]);

    await writeFile(join(modelsDir, REPO_ID, 'tokenizer_config.json'), '{"tampered": true}');
    const repaired = await download(modelsDir);
    const outcomes = Object.fromEntries(repaired.summary.models[0]?.files.map((file) => [file.path, file.outcome]) ?? []);
    expect(outcomes).toEqual({
      [WEIGHTS]: 'already-verified',
      'tokenizer.json': 'already-verified',
      'tokenizer_config.json': 'downloaded',
      'config.json': 'already-verified',
    });
    await expectModelIdenticalToFixture(modelsDir);
  });

  it('checks small non-LFS files against their git blob id', async () => {
    hub.corruptFile('config.json');
    const modelsDir = modelsDirFor('blob-mismatch');
    const { summary } = await download(modelsDir);

    const failed = summary.models[0]?.files.filter((file) => file.outcome === 'failed');
    expect(failed?.map((file) => file.path)).toEqual(['config.json']);
    expect(failed?.[0]?.error).toMatch(/test-org\/tiny-bert\/config\.json: git blob SHA-1 mismatch: expected [0-9a-f]{40}, got [0-9a-f]{40}/);
    expect(await exists(join(modelsDir, REPO_ID, 'config.json'))).toBe(false);
    expect(await exists(join(modelsDir, REPO_ID, WEIGHTS))).toBe(true);
  });

  it('says which catalog file the hub does not have', async () => {
    const withFp16 = parseCatalog(catalogJson({ ...FP32_ONLY, fp16: [{ path: 'onnx/model_fp16.onnx', approxBytes: 1 }] }));
    const { summary } = await download(modelsDirFor('not-on-hub'), { catalog: withFp16, dtypes: ['fp16'] });

    const failed = summary.models[0]?.files.find((file) => file.outcome === 'failed');
    expect(failed?.path).toBe('onnx/model_fp16.onnx');
    expect(failed?.error).toMatch(/onnx\/model_fp16\.onnx is not in test-org\/tiny-bert at revision main.*ONNX files there: onnx\/model\.onnx/);
  });

  it('reports a repository the hub does not know, with what to check', async () => {
    const absent = parseCatalog(catalogJson(FP32_ONLY, 'test-org/absent'));
    const { summary } = await download(modelsDirFor('absent'), { catalog: absent });

    expect(summary.failedModels).toBe(1);
    expect(summary.models[0]?.error).toMatch(/has no model "test-org\/absent" at revision "main" \(HTTP 401\).*HF_TOKEN/);
  });

  it('fails fast, without retrying, when the endpoint refuses connections', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const startedAt = Date.now();
    const attempt = download(modelsDirFor('unreachable'), {
      hub: { endpoint },
      retry: { attempts: 5, delayMs: 1000 },
    });

    await expect(attempt).rejects.toThrow(`Could not reach ${endpoint} (connection refused)`);
    expect(Date.now() - startedAt).toBeLessThan(FAIL_FAST_MS);
  });
});

describe('downloading from a hostile hub', () => {
  it.each([
    ['never ends, without a length', false, /sent more than \d+ bytes/],
    ['announces a longer length', true, /announced \d+ bytes/],
  ])('stops a body that %s at the listed size, keeps nothing and does not retry', async (_, announce, sent) => {
    hub.overlongFile(WEIGHTS, { announce });
    const modelsDir = modelsDirFor(`overlong-${announce}`);
    const { summary } = await download(modelsDir);

    const failed = summary.models[0]?.files.filter((file) => file.outcome === 'failed');
    expect(failed?.map((file) => file.path)).toEqual([WEIGHTS]);
    expect(failed?.[0]?.error).toMatch(sent);
    expect(failed?.[0]?.error).toMatch(/more than the \d+ bytes its listing gives; the transfer was stopped/);
    expect(resolveRequests(hub, WEIGHTS)).toHaveLength(1);
    expect(await exists(join(modelsDir, REPO_ID, WEIGHTS))).toBe(false);
    expect(await exists(join(modelsDir, REPO_ID, '.download'))).toBe(false);
  });

  it('refuses a listing that never ends once it passes the cap', async () => {
    const sent = hub.endlessListing();
    const { summary } = await download(modelsDirFor('endless-listing'), {
      hub: { endpoint: hub.endpoint, maxListingBytes: 1024 * 1024, timeouts: { connectMs: 2000, idleMs: 2000 } },
    });

    expect(summary.failedModels).toBe(1);
    expect(summary.models[0]?.error).toMatch(/file listing of test-org\/tiny-bert .* is larger than 1048576 bytes/);
    // The server stops once the client hangs up: only the cap plus what was in flight was ever sent.
    expect(sent()).toBeLessThan(64 * 1024 * 1024);
  });

  it('never calls a file verified when the listing gives no hash for it', async () => {
    const bare = await startHubServer([{ ...repo, withoutHashes: true }]);
    try {
      const modelsDir = modelsDirFor('no-hashes');
      const first = await download(modelsDir, { hub: { endpoint: bare.endpoint } });
      expect(first.summary.models[0]?.files.map((file) => file.outcome)).toEqual(Array(4).fill('downloaded-size-only'));
      expect(first.output).not.toMatch(/verified and in place/);
      expect(first.output).toMatch(/onnx\/model\.onnx: in place, size checked only .*NOT verified/);
      const again = await download(modelsDir, { hub: { endpoint: bare.endpoint } });
      expect(again.summary.models[0]?.files.map((file) => file.outcome)).toEqual(
        Array(4).fill('already-present-size-only'),
      );
      expect(again.output).not.toMatch(/already present and verified/);
      await expectModelIdenticalToFixture(modelsDir);
    } finally {
      await bare.close();
    }
  });

  it.each([
    ['in a loop', (path: string) => hub.redirectFileInLoop(path), /redirects in a loop/],
    ['to file://', (path: string) => hub.redirectFileTo(path, 'file:///etc/passwd'), /file:\/\/\/etc\/passwd, which is not an http\(s\) address/],
  ])('fails a redirect %s at once, without retrying', async (_, arm, message) => {
    arm('tokenizer.json');
    const { summary } = await download(modelsDirFor(`redirect-${String(message).length}`), {
      retry: { attempts: 5, delayMs: 0 },
    });

    const failed = summary.models[0]?.files.filter((file) => file.outcome === 'failed');
    expect(failed?.map((file) => file.path)).toEqual(['tokenizer.json']);
    expect(failed?.[0]?.error).toMatch(message);
    expect(resolveRequests(hub, 'tokenizer.json')).toHaveLength(1);
  });

  it('fails a body that stalls midway after the stated idle time, then resumes it', async () => {
    hub.stallFileMidBodyOnce(WEIGHTS, 50_000);
    const modelsDir = modelsDirFor('stall-mid-body');
    const { summary, output } = await download(modelsDir, {
      hub: { endpoint: hub.endpoint, timeouts: { connectMs: 2000, idleMs: 300 } },
    });

    expect(summary.failedModels).toBe(0);
    expect(output).toMatch(/onnx\/model\.onnx: the connection broke off after 50000 of \d+ bytes .*sent nothing for 0\.3 s.*retrying/);
    expect(resolveRequests(hub, WEIGHTS).map((request) => request.range)).toEqual([undefined, 'bytes=50000-']);
    await expectModelIdenticalToFixture(modelsDir);
  });

  it('names a file-system error in words and counts the file as failed', async () => {
    const modelsDir = modelsDirFor('fs-error');
    // A file where the onnx/ folder must go.
    await mkdir(join(modelsDir, REPO_ID), { recursive: true });
    await writeFile(join(modelsDir, REPO_ID, 'onnx'), 'in the way');
    const { summary } = await download(modelsDir);

    const failed = summary.models[0]?.files.filter((file) => file.outcome === 'failed');
    expect(failed?.map((file) => file.path)).toEqual([WEIGHTS]);
    expect(failed?.[0]?.error).toMatch(/^could not write .*onnx: (a file is in the way of a folder|something else already exists there) \(E[A-Z]+\)$/);
    expect(summary.failedModels).toBe(1);
  });

  it('counts a model that failed as a whole in the CLI summary', async () => {
    const modelsDir = modelsDirFor('cli-fs-error');
    // A file where the model's folder must go.
    await mkdir(join(modelsDir, 'test-org'), { recursive: true });
    await writeFile(join(modelsDir, REPO_ID), 'in the way');
    const run = await runCli(['--all', '--dir', modelsDir, '--catalog', catalogFile], { HF_ENDPOINT: hub.endpoint });

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/0 failed, 1 model failed\./);
    expect(run.stdout).toMatch(/test-org\/tiny-bert: could not write .*: (a file is in the way of a folder|something else already exists there)/);
    expectNoStackTrace(run);
  });
});

describe('npm run models (CLI)', () => {
  it('exits non-zero on a checksum mismatch, naming the file, with nothing under its final name', async () => {
    hub.corruptFile(WEIGHTS);
    const modelsDir = modelsDirFor('cli-mismatch');
    const run = await runCli(['--all', '--dir', modelsDir, '--catalog', catalogFile], { HF_ENDPOINT: hub.endpoint });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/test-org\/tiny-bert\/onnx\/model\.onnx: SHA-256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(run.stdout).toMatch(/3 files downloaded, 0 already present and verified, 1 failed/);
    expect(run.stdout).toContain('test-org/tiny-bert/onnx/model.onnx');
    expect(await exists(join(modelsDir, REPO_ID, WEIGHTS))).toBe(false);
    expect(await exists(join(modelsDir, REPO_ID, '.download'))).toBe(false);
    expectNoStackTrace(run);
  });

  it('fails fast on an unreachable endpoint, naming the address and what to do', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(['--all', '--dir', modelsDirFor('cli-unreachable'), '--catalog', catalogFile], {
      HF_ENDPOINT: endpoint,
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Could not reach ${endpoint} (connection refused)`);
    expect(run.stderr).toMatch(/Check your network connection, or set HF_ENDPOINT/);
    expectNoStackTrace(run);
  });

  it('downloads hub models only when named or with --all: with no id and no npm model it says so', async () => {
    const run = await runCli(['--dir', modelsDirFor('cli-default'), '--catalog', catalogFile], {
      HF_ENDPOINT: hub.endpoint,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('The catalog lists no models that come with npm install. Name the hub models');
    expect(hub.requests).toEqual([]);
  });

  it('prints names with escape codes without them, so they cannot clear the screen', async () => {
    const evilCatalog = join(workDir, 'catalog-\u001b[2J\u001b[H\u0007x.json');
    await writeFile(evilCatalog, await readFile(catalogFile));
    const run = await runCli(['--list', '--dir', modelsDirFor('cli-escapes'), '--catalog', evilCatalog], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('catalog-x.json');
    expect(controlCharacters(`${run.stdout}${run.stderr}`)).toEqual([]);
  });

  it('lists the valid ids for an unknown id, and valid dtypes for an unknown dtype', async () => {
    // An id shaped like a hub id is looked up on the hub (tests/unit/models/any-hub.test.ts); this one cannot be.
    const unknownId = await runCli(['nope', '--catalog', catalogFile], { HF_ENDPOINT: hub.endpoint });
    expect(unknownId.code).toBe(2);
    expect(unknownId.stderr).toContain('Unknown model "nope". Valid ids: "test-org/tiny-bert". Nor is it a hub model id');

    const caseTwin = await runCli(['test-org/Tiny-Bert', '--catalog', catalogFile], { HF_ENDPOINT: hub.endpoint });
    expect(caseTwin.code).toBe(2);
    expect(caseTwin.stderr).toContain('Did you mean "test-org/tiny-bert"?');

    const unknownDtype = await runCli(['--dtype', 'int4', '--catalog', catalogFile], { HF_ENDPOINT: hub.endpoint });
    expect(unknownDtype.code).toBe(2);
    expect(unknownDtype.stderr).toContain('--dtype must be one of fp32, q8, fp16; got "int4".');
    expect(hub.requests).toEqual([]);
    expectNoStackTrace(unknownId);
  });
});
