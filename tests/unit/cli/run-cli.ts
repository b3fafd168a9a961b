/**
 * Runs the experiment command in the test process: `main(argv, io)` with output captured and the repository as
 * the working directory, as `npm run experiment` has it. Only tests/unit/cli/entry.test.ts spawns the real
 * script.
 */
import { resolve } from 'node:path';
import { main } from '../../../src/cli/experiment.ts';

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
