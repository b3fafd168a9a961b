/**
 * @file `npm run experiment -- <experiment.json> [--out <results.json>]`: runs an experiment file headless with
 * the same core as the app, prints a summary table to stdout and progress to stderr, and optionally writes the
 * full results JSON. Errors are one `error: …` line and a non-zero exit (set DEBUG=1 for the stack).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExperimentError } from '../lib/core/errors.ts';
import { formatSummaryTable, runExperiment } from '../lib/core/experiment/run.ts';
import { parseExperiment } from '../lib/core/experiment/schema.ts';
import type { Experiment } from '../lib/core/experiment/types.ts';
import { DTYPES } from '../lib/core/models/files.ts';
import type { Dtype } from '../lib/core/ports.ts';
import { readJsonFile } from './json-file.ts';
import { createNodeDependencies } from './node-dependencies.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

const USAGE = `Usage: npm run experiment -- <experiment.json> [--out <results.json>] [--dtype fp32|fp16|q8]

Runs every prompt and head of an experiment file on the model it names, with the same code as the app.

  <experiment.json>   the experiment file (dataset and model paths are relative to it)
  --out, -o <file>    also write the full results (predictions, confusion matrices, costs) as JSON
  --dtype <dtype>     which ONNX weights to load: fp32 (default, onnx/model.onnx), fp16 or q8
  --help, -h          show this help

Models: an id such as "Xenova/all-MiniLM-L6-v2" is read from models/<id>/, "fixtures/<name>" from
tests/fixtures/models/<name>/ (run \`npm run fixtures\`), anything else as a folder path.
Progress goes to stderr, the summary table to stdout. Set DEBUG=1 to see stack traces.`;

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Paths on the command line are relative to where the user typed the command (npm run changes the cwd). */
function invocationDir(): string {
  const viaNpm = process.env.npm_lifecycle_event === 'experiment' && process.env.INIT_CWD;
  return viaNpm ? (process.env.INIT_CWD as string) : process.cwd();
}

function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        dtype: { type: 'string', default: 'fp32' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true as const };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'give the experiment file to run, e.g. `npm run experiment -- my-experiment.json`.'
        : `expected one experiment file, got ${positionals.length}: ${positionals.join(' ')}.`,
    );
  }
  const dtype = values.dtype as Dtype;
  if (!DTYPES.includes(dtype)) {
    throw new UsageError(`--dtype must be one of ${DTYPES.join(', ')}; got "${values.dtype}".`);
  }
  const base = invocationDir();
  return {
    help: false as const,
    experimentFile: resolve(base, positionals[0] as string),
    outFile: values.out === undefined ? undefined : resolve(base, values.out),
    dtype,
  };
}

function displayPath(path: string): string {
  const fromHere = relative(invocationDir(), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

async function main(argv: string[]): Promise<void> {
  const command = parseCommandLine(argv);
  if (command.help) {
    console.log(USAGE);
    return;
  }
  const shownFile = displayPath(command.experimentFile);
  const json = await readJsonFile(command.experimentFile, shownFile);
  try {
    await runFile(parseExperiment(json), command, shownFile);
  } catch (error) {
    // Say which file the field path belongs to; the core does not know the file name.
    if (error instanceof ExperimentError) {
      throw new ExperimentError(error.path, `${error.detail} (in ${shownFile})`);
    }
    throw error;
  }
}

/** Runs a validated experiment: summary table to stdout, progress to stderr, results JSON with --out. */
async function runFile(
  experiment: Experiment,
  command: { experimentFile: string; outFile: string | undefined; dtype: Dtype },
  shownFile: string,
): Promise<void> {
  const progress = (message: string) => process.stderr.write(`${message}\n`);
  // Ctrl-C stops the run at the next step, so encoders are still released before exiting.
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort(new Error('interrupted (Ctrl-C); no results were written.')));
  const dependencies = createNodeDependencies({
    experimentFile: command.experimentFile,
    projectRoot: PROJECT_ROOT,
    dtype: command.dtype,
    onProgress: progress,
    signal: interrupt.signal,
  });
  try {
    progress(`running "${experiment.name}" from ${shownFile}`);
    const results = await runExperiment(experiment, dependencies);
    process.stdout.write(`${formatSummaryTable(results)}\n`);
    if (command.outFile) {
      await mkdir(dirname(command.outFile), { recursive: true });
      await writeFile(command.outFile, `${JSON.stringify(results, null, 2)}\n`);
      progress(`results written to ${displayPath(command.outFile)}`);
    }
  } finally {
    await dependencies.dispose();
  }
}

function reportError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (error instanceof UsageError) process.stderr.write('Run with --help for usage.\n');
  if (process.env.DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}

process.on('uncaughtException', reportError);
process.on('unhandledRejection', reportError);

main(process.argv.slice(2)).catch(reportError);
