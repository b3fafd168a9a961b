import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutputFile, writeOutputFile } from '../../../src/cli/output-file.ts';
import { ROOT, runCli } from './run-cli.ts';

let dir: string;
let experiment: string;
const EXPERIMENT_TEXT = '{"version": 1}\n';
/** Root ignores file permissions, so the read-only case only means something for other users. */
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'output-file-'));
  experiment = join(dir, 'experiment.json');
  await writeFile(experiment, EXPERIMENT_TEXT);
  await symlink(experiment, join(dir, 'link.json'));
  await link(experiment, join(dir, 'hard-link.json'));
  await mkdir(join(dir, 'folder'));
  await writeFile(join(dir, 'plain-file'), 'x');
});

afterAll(async () => {
  await chmod(join(dir, 'folder'), 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('checkOutputFile refuses before the run', () => {
  const cases: { name: string; out: () => string; message: RegExp }[] = [
    { name: 'the experiment file itself', out: () => experiment, message: /is the experiment file itself/ },
    {
      name: 'the same file through ..',
      out: () => join(dir, 'folder/../experiment.json'),
      message: /itself/,
    },
    { name: 'a symbolic link to it', out: () => join(dir, 'link.json'), message: /itself/ },
    { name: 'a hard link to it', out: () => join(dir, 'hard-link.json'), message: /itself/ },
    { name: 'a folder', out: () => join(dir, 'folder'), message: /is a folder/ },
    {
      name: 'a path under a file',
      out: () => join(dir, 'plain-file/results.json'),
      message: /cannot write results to .*plain-file\/results\.json: /,
    },
    { name: 'a device', out: () => '/dev/null', message: /not a regular file/ },
  ];
  for (const { name, out, message } of cases) {
    it(name, async () => {
      await expect(checkOutputFile(out(), experiment)).rejects.toThrow(message);
      expect(await readFile(experiment, 'utf8')).toBe(EXPERIMENT_TEXT);
    });
  }

  it.skipIf(isRoot)('a folder without write permission', async () => {
    await chmod(join(dir, 'folder'), 0o555);
    try {
      await expect(checkOutputFile(join(dir, 'folder/results.json'), experiment)).rejects.toThrow(
        /cannot write results to .*: permission denied\. Choose another --out path\./,
      );
    } finally {
      await chmod(join(dir, 'folder'), 0o755);
    }
  });

  it('accepts a new file in folders still to be made', async () => {
    await expect(checkOutputFile(join(dir, 'new/nested/results.json'), experiment)).resolves.toBeUndefined();
  });
});

describe('writeOutputFile', () => {
  it('replaces the target whole and leaves no temporary file', async () => {
    const target = join(dir, 'atomic/results.json');
    await mkdir(join(dir, 'atomic'));
    await writeFile(target, 'old');
    await writeOutputFile(target, 'new results');
    expect(await readFile(target, 'utf8')).toBe('new results');
    expect(await readdir(join(dir, 'atomic'))).toEqual(['results.json']);
  });

  it('on failure names the path and keeps the earlier file', async () => {
    await expect(writeOutputFile(join(dir, 'folder'), 'x')).rejects.toThrow(
      /^cannot write results to .*folder: it is a folder\.$/,
    );
    expect(await readdir(join(dir, 'folder'))).toEqual([]);
  });
});

describe('experiment CLI --out', () => {
  it('refuses --out equal to the experiment file, exit 1, the experiment untouched', async () => {
    const copy = join(dir, 'keywords.json');
    const original = await readFile(join(ROOT, 'tests/fixtures/experiments/keywords.json'), 'utf8');
    await writeFile(copy, original);
    const run = await runCli([copy, '--out', copy]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: --out .*keywords\.json is the experiment file itself/m);
    expect(run.stderr).not.toContain('running');
    expect(await readFile(copy, 'utf8')).toBe(original);
  });
});
