/**
 * @file The real entry point, spawned as `npm run experiment` runs it (tsx src/cli/experiment.ts): exactly two
 * smoke tests, one success and one failure, for what only a real process shows (exit code, stdout and stderr
 * streams, no stray runtime banners). Everything else runs `main` in the test process (run-cli.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';
import { ROOT } from './run-cli.ts';

const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'src/cli/experiment.ts');
const EXPERIMENTS = join(ROOT, 'tests/fixtures/experiments');
/** Spawning tsx + loading transformers.js and tfjs takes a few seconds on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;

function spawnCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const { DEBUG: _debug, ...inherited } = process.env;
    const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, env: inherited });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'experiment-entry-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('the experiment command as a process', () => {
  it(
    'exits 0 with the table on stdout, progress on stderr, the results file, and no tfjs banner',
    async () => {
      const outFile = join(workDir, 'results.json');
      const run = await spawnCli([join(EXPERIMENTS, 'keywords.json'), '--out', outFile]);
      expect(run.stderr).not.toMatch(/^error:/m);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^run\s+kind\s+accuracy/);
      expect(run.stdout).toContain('hidden 16, 8 per class');
      expect(run.stderr).toContain('Reading the dataset');
      expect(run.stderr).not.toMatch(/tfjs-node|looks like you are running TensorFlow\.js/);
      const results = JSON.parse(await readFile(outFile, 'utf8')) as ExperimentResults;
      expect(results.runs).toHaveLength(5);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'exits 1 with one error line and no stack trace when the experiment cannot run',
    async () => {
      const run = await spawnCli([join(EXPERIMENTS, 'invalid/missing-dataset.json')]);
      expect(run.code).toBe(1);
      expect(run.stderr.split('\n').filter((line) => line.startsWith('error: '))).toEqual([
        expect.stringContaining(join(EXPERIMENTS, 'invalid/no-such-file.csv')),
      ]);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stdout).toBe('');
    },
    CLI_TIMEOUT_MS,
  );
});
