/**
 * Runs the experiment command in the test process: `main(argv, io)` with output captured and the repository as
 * the working directory, as `npm run experiment` has it (and `npm run predict`'s, and an experiment that saves its
 * heads for it). Only tests/unit/cli/entry.test.ts spawns the real script.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../../src/cli/experiment.ts';
import { main as predict } from '../../../src/cli/predict.ts';
import type { ExperimentResults } from '../../../src/lib/core/experiment/types.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');

/** What one run of the command printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with `args`; `env` is the whole environment it sees (no DEBUG unless given). */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd: ROOT,
    env,
  });
  return { code, stdout, stderr };
}

/** Runs `npm run predict`'s command (src/cli/predict.ts) in the test process, like {@link runCli}. */
export async function runPredict(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await predict(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd: ROOT,
    env,
  });
  return { code, stdout, stderr };
}

/** An experiment run with `--save-heads` in a fresh temporary folder. */
export interface SavedHeadsRun {
  /** The temporary folder: remove it after the tests. */
  workDir: string;
  /** Where the head files were written (`workDir/heads`). */
  headsDir: string;
  results: ExperimentResults;
}

/**
 * Runs `experiment` with `--out` and `--save-heads` into a new temporary folder named from `prefix`.
 * @throws Error with the command's output when it fails.
 */
export async function runWithSavedHeads(experiment: string, prefix: string): Promise<SavedHeadsRun> {
  const workDir = await mkdtemp(join(tmpdir(), prefix));
  const headsDir = join(workDir, 'heads');
  const out = join(workDir, 'results.json');
  const run = await runCli([experiment, '--out', out, '--save-heads', headsDir]);
  if (run.code !== 0 || /^error:/m.test(run.stderr)) {
    throw new Error(`The experiment ${experiment} failed (exit ${run.code}):\n${run.stderr}`);
  }
  const results = JSON.parse(await readFile(out, 'utf8')) as ExperimentResults;
  return { workDir, headsDir, results };
}
