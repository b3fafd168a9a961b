/**
 * Bad input the CLI must refuse with one clear error line and no stack trace, found by trying to break it
 * (tracker issue 9): oversized or endless files, devices and pipes, JSON nested 100,000 deep.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_BYTES } from '../../../src/lib/core/dataset/limits.ts';
import { MAX_EXPERIMENT_FILE_BYTES, MAX_JSON_DEPTH } from '../../../src/lib/core/experiment/limits.ts';
import { main } from '../../../src/cli/experiment.ts';
import { ROOT, runCli } from './run-cli.ts';

/** Control characters other than the newline, which no printed output may contain. */
function controlCharacters(text: string): string[] {
  return [...text].filter((char) => char !== '\n' && (char < ' ' || char === '\u007f'));
}

const CLI_TIMEOUT_MS = 120_000;
let dir: string;

/** An experiment whose dataset is `datasetPath` (relative to the experiment's folder). */
function experimentWith(datasetPath: string): string {
  return JSON.stringify({
    version: 1,
    name: 'bad input',
    model: 'fixtures/tiny-bert',
    dataset: { path: datasetPath, text: 'text', label: 'label' },
    split: { test: 0.3, seed: 42 },
    prompts: [{ name: 'bare labels', strategy: 'similarity', template: '{label}' }],
    heads: [],
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-bad-input-'));
  await symlink('/dev/zero', join(dir, 'zero.csv'));
  execFileSync('mkfifo', [join(dir, 'fifo.csv')]);
  // Sparse files: the size is what counts, no disk is used.
  await writeFile(join(dir, 'huge.csv'), '');
  await truncate(join(dir, 'huge.csv'), MAX_FILE_BYTES + 1);
  await writeFile(join(dir, 'huge-experiment.json'), '');
  await truncate(join(dir, 'huge-experiment.json'), MAX_EXPERIMENT_FILE_BYTES + 1);
  for (const [name, dataset] of [
    ['zero', 'zero.csv'],
    ['fifo', 'fifo.csv'],
    ['huge', 'huge.csv'],
  ] as const) {
    await writeFile(join(dir, `${name}.json`), experimentWith(dataset));
  }
  await writeFile(
    join(dir, 'diverging.json'),
    JSON.stringify({
      version: 1,
      name: 'a learning rate that diverges',
      model: 'fixtures/tiny-bert',
      dataset: { builtin: 'topics' },
      split: { test: 0.3, seed: 42 },
      prompts: [],
      heads: [
        {
          name: 'huge steps',
          layer: -1,
          pooling: 'mean',
          hidden: 0,
          epochs: 2,
          learningRate: 1e308,
          seed: 1,
        },
      ],
    }),
  );
  const depth = 100_000;
  await writeFile(join(dir, 'deep.json'), `{"version": 1, "x": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
  await writeFile(join(dir, 'deep-broken.json'), `{"version": 1, "x": ${'['.repeat(depth)}`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('experiment CLI refuses bad input with one clear line', () => {
  const cases: { name: string; file: string; expected: () => RegExp }[] = [
    {
      name: 'a dataset linked to /dev/zero',
      file: 'zero.json',
      expected: () => /zero\.csv is not a regular file/,
    },
    {
      name: 'a dataset that is a FIFO',
      file: 'fifo.json',
      expected: () => /fifo\.csv is not a regular file/,
    },
    {
      name: 'a dataset over the browser limit',
      file: 'huge.json',
      expected: () => /"huge\.csv" is 20,000,001 bytes; the app reads files up to 20 MB/,
    },
    {
      name: 'an experiment file over the import limit',
      file: 'huge-experiment.json',
      expected: () => /huge-experiment\.json is 50,000,001 bytes; a JSON file read here can be at most 50 MB/,
    },
    {
      name: 'an experiment file linked to a device',
      file: '/dev/zero',
      expected: () => /\/dev\/zero is not a regular file/,
    },
    {
      name: 'JSON nested 100,000 deep',
      file: 'deep.json',
      expected: () =>
        new RegExp(`deep\\.json nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`),
    },
    {
      name: 'unclosed JSON nested 100,000 deep',
      file: 'deep-broken.json',
      expected: () => /deep-broken\.json nests arrays and objects more than/,
    },
    {
      name: 'a head whose learning rate makes training diverge',
      file: 'diverging.json',
      expected: () =>
        /Head "huge steps" diverged: .* became NaN or infinite with learning rate 1e\+308\. Lower "learningRate"/,
    },
  ];

  for (const { name, file, expected } of cases) {
    it(
      name,
      async () => {
        const run = await runCli([file.startsWith('/') ? file : join(dir, file)]);
        expect(run.code).toBe(1);
        const errorLines = run.stderr.split('\n').filter((line) => line.startsWith('error: '));
        expect(errorLines).toHaveLength(1);
        expect(errorLines[0]).toMatch(expected());
        expect(run.stderr).not.toMatch(/^\s+at /m);
        expect(run.stderr).not.toContain('Maximum call stack');
      },
      CLI_TIMEOUT_MS,
    );
  }
});

describe('experiment CLI output', () => {
  it(
    'strips escape codes and line breaks from run and experiment names in the table and progress',
    async () => {
      const file = join(dir, 'escapes.json');
      await writeFile(
        file,
        JSON.stringify({
          version: 1,
          name: 'clears\u001b[2J\u001b[H the screen',
          model: 'fixtures/tiny-bert',
          dataset: { builtin: 'topics' },
          split: { test: 0.3, seed: 42 },
          prompts: [
            {
              name: 'evil\u001b]0;title\u0007 prompt\nsecond line',
              strategy: 'similarity',
              template: '{label}',
            },
          ],
          heads: [],
        }),
      );
      const run = await runCli([file]);
      expect(run.stderr).not.toMatch(/^error:/m);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^evil prompt second line +prompt +\d\.\d{3}/m);
      expect(run.stderr).toContain('running "clears the screen"');
      expect(controlCharacters(`${run.stdout}${run.stderr}`)).toEqual([]);
    },
    CLI_TIMEOUT_MS,
  );
});

describe('experiment CLI on Ctrl-C', () => {
  it(
    'stops, says which runs had finished and that nothing was written, and leaves --out as it was',
    async () => {
      const file = join(dir, 'interrupted.json');
      await writeFile(
        file,
        JSON.stringify({
          version: 1,
          name: 'interrupted',
          model: 'fixtures/tiny-bert',
          dataset: { builtin: 'topics' },
          split: { test: 0.3, seed: 42 },
          prompts: [{ name: 'bare labels', strategy: 'similarity', template: '{label}' }],
          heads: [
            {
              name: 'linear',
              layer: -1,
              pooling: 'mean',
              hidden: 0,
              epochs: 50,
              learningRate: 0.01,
              seed: 1,
            },
          ],
        }),
      );
      const outFile = join(dir, 'earlier-results.json');
      await writeFile(outFile, 'earlier results\n');
      const interrupt = new AbortController();
      let stderr = '';
      let stdout = '';
      const code = await main([file, '--out', outFile], {
        stdout: (text) => (stdout += text),
        stderr: (text) => {
          stderr += text;
          // Ctrl-C as soon as the first run has finished.
          if (text.startsWith('Prompt "bare labels": accuracy'))
            interrupt.abort(new Error('interrupted (Ctrl-C).'));
        },
        cwd: ROOT,
        env: {},
        signal: interrupt.signal,
      });
      expect(code).toBe(130);
      expect(stderr.split('\n').filter((line) => line.startsWith('error: '))).toEqual([
        expect.stringMatching(
          /^error: interrupted \(Ctrl-C\) after 1 of 2 runs had finished \("bare labels"\); no results were written; .*earlier-results\.json was left as it was\./,
        ),
      ]);
      expect(stdout).toBe('');
      expect(await readFile(outFile, 'utf8')).toBe('earlier results\n');
    },
    CLI_TIMEOUT_MS,
  );
});
