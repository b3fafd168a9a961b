import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubIdProblem, hubModelFromListing } from '../../../src/cli/download/any-hub.ts';
import { main } from '../../../src/cli/models.ts';
import { loadRepoFromFolder, startHubServer, type HubRepoFixture, type HubServer } from '../../helpers/hub-server.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURE_DIR = join(ROOT, 'tests/fixtures/models/tiny-bert');
/** Served by the fake hub, listed by no catalog. */
const FREE_ID = 'some-org/tiny-bert-anywhere';
/** A repository without tokenizer.json and without ONNX weights. */
const BARE_ID = 'some-org/pytorch-only';
const WEIGHTS = 'onnx/model.onnx';

let repo: HubRepoFixture;
let hub: HubServer;
let workDir: string;
let catalogFile: string;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function runCli(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--catalog', catalogFile], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HF_ENDPOINT: hub.endpoint },
    cwd: ROOT,
  });
  return { code, stdout, stderr };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function fixtureFile(path: string): Buffer {
  const content = repo.files[path];
  if (!content) throw new Error(`fixture has no ${path}`);
  return content;
}

beforeAll(async () => {
  repo = await loadRepoFromFolder(FREE_ID, FIXTURE_DIR);
  const bare: HubRepoFixture = {
    id: BARE_ID,
    files: {
      'config.json': fixtureFile('config.json'),
      'pytorch_model.bin': Buffer.alloc(64, 1),
      'README.md': Buffer.from('# no onnx here\n'),
    },
  };
  hub = await startHubServer([repo, bare]);
  workDir = await mkdtemp(join(tmpdir(), 'models-any-hub-'));
  catalogFile = join(workDir, 'catalog.json');
  // A catalog that lists none of the repositories above.
  await writeFile(catalogFile, JSON.stringify({ version: 1, models: [] }));
});

afterAll(async () => {
  await hub?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('hubIdProblem', () => {
  it.each([
    ['Xenova/bert-base-uncased', undefined],
    ['onnx-community/Qwen2.5-0.5B-Instruct', undefined],
    ['a/b', undefined],
    ['bert-base-uncased', /exactly one slash/],
    ['a/b/c', /exactly one slash/],
    ['../etc', /letters, digits/],
    ['org/..', /letters, digits/],
    ['org/na..me', /"\.\."/],
    ['org/na--me', /"--"/],
    ['org/name.', /start and end/],
    ['-org/name', /start and end/],
    ['org/na me', /letters, digits/],
    ['org/na%2Fme', /letters, digits/],
    ['fixtures/tiny-bert', /reserved for the test models/],
    ['Fixtures/x', /reserved/],
    ['/name', /1 to 96/],
    [`org/${'x'.repeat(97)}`, /1 to 96/],
  ])('%s', (id, expected) => {
    const problem = hubIdProblem(id);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});

describe('hubModelFromListing', () => {
  const listing = {
    id: 'o/n',
    commit: 'c'.repeat(40),
    files: new Map(
      ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', WEIGHTS].map(
        (path, index) => [path, { path, size: 10 + index }],
      ),
    ),
  };

  it('pins the commit and picks the shared files, the optional special tokens map and the dtype weights', () => {
    const model = hubModelFromListing(listing, ['fp32']);
    expect(model.revision).toBe(listing.commit);
    expect(model.files.map((file) => file.path)).toEqual([
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
    ]);
    expect(model.dtypes).toEqual({ fp32: [{ path: WEIGHTS, approxBytes: 14 }] });
  });

  it('refuses a dtype whose ONNX file is missing, naming it and what the repository has', () => {
    expect(() => hubModelFromListing(listing, ['fp32', 'q8'])).toThrow(
      /lacks onnx\/model_quantized\.onnx needed for fp32 \+ q8; it has: config\.json, onnx\/model\.onnx, special_tokens_map\.json/,
    );
  });
});

describe('npm run models -- <hub id not in the catalog>', () => {
  it('downloads the files picked from the listing into models/<id>/ and verifies them', async () => {
    const modelsDir = join(workDir, 'download');
    const run = await runCli([FREE_ID, '--dir', modelsDir]);
    expect(run.stderr).toContain(`${FREE_ID}: not in the catalog`);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/4 files downloaded, 0 already present and verified, 0 failed\./);
    for (const path of Object.keys(repo.files)) {
      const downloaded = await readFile(join(modelsDir, FREE_ID, path));
      expect(downloaded.equals(fixtureFile(path)), `${path} differs from the fixture`).toBe(true);
    }
    expect(await exists(join(modelsDir, FREE_ID, '.download'))).toBe(false);
    // Files are fetched from the commit the listing reported, not from a moving branch.
    const fileRequests = hub.requests.filter((request) => request.url.includes(`/${FREE_ID}/resolve/`));
    expect(fileRequests.length).toBeGreaterThan(0);
    for (const request of fileRequests) expect(request.url).toContain(`/resolve/${hub.commitOf(FREE_ID)}/`);

    const again = await runCli([FREE_ID, '--dir', modelsDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 files downloaded, 4 already present and verified/);
  });

  it('resumes a partial download from its .part file', async () => {
    const modelsDir = join(workDir, 'resume');
    const part = join(modelsDir, FREE_ID, '.download', `${WEIGHTS}.part`);
    await mkdir(join(part, '..'), { recursive: true });
    await writeFile(part, fixtureFile(WEIGHTS).subarray(0, 100_000));
    const before = hub.requests.length;
    const run = await runCli([FREE_ID, '--dir', modelsDir]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const weightRequests = hub.requests
      .slice(before)
      .filter((request) => request.url.includes('/resolve/') && request.url.endsWith(`/${WEIGHTS}`));
    expect(weightRequests.map((request) => request.range)).toEqual(['bytes=100000-']);
    expect((await readFile(join(modelsDir, FREE_ID, WEIGHTS))).equals(fixtureFile(WEIGHTS))).toBe(true);
  });

  it('refuses a repository without the needed files, listing what it has, and writes nothing', async () => {
    const modelsDir = join(workDir, 'bare');
    const run = await runCli([BARE_ID, '--dir', modelsDir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `${BARE_ID} (commit ${hub.commitOf(BARE_ID)}) lacks tokenizer.json, tokenizer_config.json, onnx/model.onnx needed for fp32; it has: README.md, config.json, pytorch_model.bin.`,
    );
    expect(await exists(join(modelsDir, BARE_ID))).toBe(false);
  });

  it('refuses a repository the hub does not have', async () => {
    const run = await runCli(['some-org/not-there', '--dir', join(workDir, 'absent')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/not in the catalog, whose ids are: none\): .* has no model "some-org\/not-there"/);
  });

  it.each(['../../etc/passwd', 'no-slash', 'org/na me', 'org/..'])(
    'refuses the bad id %j before any request',
    async (id) => {
      const before = hub.requests.length;
      const run = await runCli([id, '--dir', join(workDir, 'bad')]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/Unknown model .*Nor is it a hub model id: /);
      expect(hub.requests.length).toBe(before);
    },
  );
});
