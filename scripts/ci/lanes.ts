/**
 * @file Runs the static checks of `npm test` as two lanes at once (lint: eslint + prettier; types: svelte-check +
 * tsc), instead of one after the other. Each lane's commands run in order and stop at the first failure; a lane's
 * output is held back and printed whole when it ends, so two lanes never interleave; the process fails when any
 * lane failed, after printing all of them.
 *
 * Usage: `tsx scripts/ci/lanes.ts` (the lanes of {@link CHECK_LANES}).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A named list of shell commands that run one after the other. */
export interface Lane {
  name: string;
  commands: string[];
}

/** How a lane ended: its combined output, and the exit code of the command that ended it (0: all passed). */
export interface LaneResult {
  name: string;
  code: number;
  output: string;
  seconds: number;
}

/**
 * The static checks of `npm test`: package.json's `lint` and `check` scripts, one lane each, so the commands are
 * declared once, there.
 */
export const CHECK_LANES: Lane[] = [
  { name: 'lint', commands: ['npm run --silent lint'] },
  { name: 'types', commands: ['npm run --silent check'] },
];

/** Runs one shell command, its stdout and stderr appended to `chunks`; resolves with its exit code. */
function runCommand(command: string, cwd: string, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, { cwd, shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${error.message}\n`));
      resolve(127);
    });
    child.on('close', (code, signal) => {
      if (signal !== null) chunks.push(Buffer.from(`(ended by ${signal})\n`));
      resolve(code ?? 1);
    });
  });
}

/** Runs a lane's commands in order, stopping at the first that fails. */
async function runLane(lane: Lane, cwd: string): Promise<LaneResult> {
  const started = performance.now();
  const chunks: Buffer[] = [];
  let code = 0;
  for (const command of lane.commands) {
    chunks.push(Buffer.from(`> ${command}\n`));
    code = await runCommand(command, cwd, chunks);
    if (code !== 0) break;
  }
  const seconds = (performance.now() - started) / 1000;
  return { name: lane.name, code, output: Buffer.concat(chunks).toString('utf8'), seconds };
}

/**
 * Runs every lane at once in `cwd` (commands find the project's binaries: node_modules/.bin is put first on PATH
 * by npm, as for any npm script). `report` gets each lane's result whole, in the order the lanes end.
 */
export async function runLanes(
  lanes: Lane[],
  cwd: string,
  report: (result: LaneResult) => void = () => {},
): Promise<LaneResult[]> {
  return Promise.all(
    lanes.map(async (lane) => {
      const result = await runLane(lane, cwd);
      report(result);
      return result;
    }),
  );
}

/** The block printed for a lane: a header with its verdict and time, then its whole output. */
export function formatLane(result: LaneResult): string {
  const verdict = result.code === 0 ? 'passed' : `FAILED (exit code ${result.code})`;
  const output = result.output.endsWith('\n') || result.output === '' ? result.output : `${result.output}\n`;
  return `=== ${result.name}: ${verdict} in ${result.seconds.toFixed(1)} s ===\n${output}`;
}

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const results = await runLanes(CHECK_LANES, root, (result) => process.stdout.write(formatLane(result)));
  const failed = results.filter((result) => result.code !== 0).map((result) => result.name);
  if (failed.length > 0) {
    process.stderr.write(`Static checks failed: ${failed.join(', ')}.\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
