/**
 * @file `npm run experiment -- <experiment.json> [--out <results.json>]`: runs an experiment file headless with
 * the same core as the app, prints a summary table to stdout and progress to stderr, and optionally writes the
 * full results JSON. Errors are one `error: …` line and a non-zero exit (set DEBUG=1 for the stack).
 *
 * `main(argv, io)` is the whole command with its outside world passed in (output, working directory,
 * environment, Ctrl-C), so tests run it in their own process; run as a script, this file calls it with the
 * process's own.
 */
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ExperimentError } from '../lib/core/errors.ts';
import { runExperiment, type RunPart } from '../lib/core/experiment/orchestrator.ts';
import { formatLearningCurve } from '../lib/core/experiment/learning-curve.ts';
import { formatSummaryTable } from '../lib/core/experiment/run.ts';
import { datasetProvenance, reportHtml, reportMarkdown } from '../lib/core/report/report.ts';
import { parseExperiment } from '../lib/core/experiment/schema.ts';
import type { Experiment, ExperimentResults, HeadSpec } from '../lib/core/experiment/types.ts';
import { buildHeadFile, type HeadFile } from '../lib/core/heads/head-file.ts';
import { DTYPES } from '../lib/core/models/files.ts';
import type { Dtype, SerializedHead } from '../lib/core/ports.ts';
import { terminalSafe } from '../lib/core/text/terminal.ts';
import { readJsonFile } from './json-file.ts';
import { backboneModelName, checkHeadFolder, modelFileHash, writeHeadFiles } from './head-files.ts';
import { resolveModelFolder } from './model-folder.ts';
import { createNodeDependencies, type NodeDependencies } from './node-dependencies.ts';
import { checkOutputFile, writeOutputFile } from './output-file.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

const USAGE = `Usage: npm run experiment -- <experiment.json> [--out <results.json>] [--report <report.md|report.html>]
                      [--dtype fp32|fp16|q8] [--save-heads <folder>]

Runs every prompt and head of an experiment file on the model it names, with the same code as the app.

  <experiment.json>   the experiment file (dataset and model paths are relative to it)
  --out, -o <file>    also write the full results (predictions, confusion matrices, costs) as JSON
  --report <file>     also write a report: the answer, CIs, McNemar in words, the measured comparison
                      table, confusion matrices, settings; Markdown (.md) or self-contained HTML (.html)
  --dtype <dtype>     which ONNX weights to load: fp32 (default, onnx/model.onnx), fp16 or q8
  --save-heads <dir>  also write each trained head as a head file, <dir>/<head name>.head.json, for
                      \`npm run predict\`
  --help, -h          show this help

Models: an id such as "Xenova/all-MiniLM-L6-v2" is read from models/<id>/, "fixtures/<name>" from
tests/fixtures/models/<name>/ (run \`npm run fixtures\`), anything else as a folder path.
Progress goes to stderr, the summary table to stdout. Set DEBUG=1 to see stack traces.`;

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** The run was stopped by Ctrl-C; the message says how far it got and what was kept. */
class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** What the command reads from and writes to, besides files. */
export interface CliIo {
  /** Receives the summary table (and --help). */
  stdout(text: string): void;
  /** Receives progress lines and errors. */
  stderr(text: string): void;
  /** The directory the command was started in. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborts the run at the next step (Ctrl-C). */
  signal?: AbortSignal;
}

/** Paths on the command line are relative to where the user typed the command (npm run changes the cwd). */
function invocationDir(io: CliIo): string {
  const viaNpm = io.env.npm_lifecycle_event === 'experiment' && io.env.INIT_CWD;
  return viaNpm ? (io.env.INIT_CWD as string) : io.cwd;
}

function parseCommandLine(argv: string[], io: CliIo) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        report: { type: 'string' },
        dtype: { type: 'string', default: 'fp32' },
        'save-heads': { type: 'string' },
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
  const base = invocationDir(io);
  const reportFormat = values.report === undefined ? undefined : reportFormatOf(values.report);
  const outFile = values.out === undefined ? undefined : resolve(base, values.out);
  const reportFile = values.report === undefined ? undefined : resolve(base, values.report);
  if (outFile !== undefined && outFile === reportFile) {
    throw new UsageError('--out and --report name the same file; give each its own.');
  }
  return {
    help: false as const,
    experimentFile: resolve(base, positionals[0] as string),
    outFile,
    report:
      reportFile === undefined || reportFormat === undefined
        ? undefined
        : { file: reportFile, format: reportFormat },
    headsDir: values['save-heads'] === undefined ? undefined : resolve(base, values['save-heads']),
    dtype,
  };
}

/** The report's format from its file name: Markdown for .md/.markdown, HTML for .html/.htm. */
function reportFormatOf(file: string): 'markdown' | 'html' {
  const lower = file.toLowerCase();
  if (lower.endsWith('.md') || lower.endsWith('.markdown')) return 'markdown';
  if (lower.endsWith('.html') || lower.endsWith('.htm')) return 'html';
  throw new UsageError(
    `--report must name a .md or .html file (the extension picks the format); got "${file}".`,
  );
}

function displayPath(path: string, io: CliIo): string {
  const fromHere = relative(invocationDir(io), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

/**
 * Runs the command: `argv` are the arguments after the script name.
 * @returns the exit code: 0 on success, 1 when the experiment could not run, 2 for a usage mistake.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const safeIo = terminalSafeIo(io);
  try {
    await runCommand(argv, safeIo);
    return 0;
  } catch (error) {
    return reportError(error, safeIo);
  }
}

/**
 * `io` with every control character stripped from what is printed (run, prompt and file names reach it inside
 * messages), keeping only the newlines; the single-line messages also lose theirs, where they are composed.
 */
function terminalSafeIo(io: CliIo): CliIo {
  return {
    ...io,
    stdout: (text) => io.stdout(terminalSafe(text, { keepNewlines: true })),
    stderr: (text) => io.stderr(terminalSafe(text, { keepNewlines: true })),
  };
}

async function runCommand(argv: string[], io: CliIo): Promise<void> {
  const command = parseCommandLine(argv, io);
  if (command.help) {
    io.stdout(`${USAGE}\n`);
    return;
  }
  const shownFile = displayPath(command.experimentFile, io);
  const json = await readJsonFile(command.experimentFile, shownFile);
  // Before minutes of work, not after: a results path that would overwrite the input or cannot be written.
  if (command.outFile) await checkOutputFile(command.outFile, command.experimentFile);
  if (command.report) {
    await checkOutputFile(command.report.file, command.experimentFile, '--report', 'report.html');
  }
  if (command.headsDir) await checkHeadFolder(command.headsDir);
  try {
    await runFile(parseExperiment(json), command, shownFile, io);
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
  command: {
    experimentFile: string;
    outFile: string | undefined;
    headsDir: string | undefined;
    report: { file: string; format: 'markdown' | 'html' } | undefined;
    dtype: Dtype;
  },
  shownFile: string,
  io: CliIo,
): Promise<void> {
  const progress = (message: string) => io.stderr(`${terminalSafe(message)}\n`);
  const finished: string[] = [];
  const dependencies = createNodeDependencies({
    experimentFile: command.experimentFile,
    projectRoot: PROJECT_ROOT,
    dtype: command.dtype,
    onProgress: progress,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  progress(`running "${experiment.name}" from ${shownFile}`);
  const trainedHeads = new Map<number, SerializedHead>();
  const running = runExperiment(experiment, {
    ...dependencies,
    onRun: (run) => finished.push(run.name),
    ...(command.headsDir === undefined
      ? {}
      : { onTrainedHead: (head: SerializedHead, part: RunPart) => trainedHeads.set(part.index, head) }),
  });
  let results;
  try {
    results = await untilInterrupted(running, io.signal);
  } catch (error) {
    if (!io.signal?.aborted) {
      await dependencies.dispose();
      throw error;
    }
    // A step in progress (embedding thousands of texts) does not look at the signal: answer Ctrl-C now, and
    // release the encoders once that step has let go of them.
    void running.catch(() => undefined).finally(() => dependencies.dispose());
    const total = experiment.prompts.length + experiment.heads.length;
    const names =
      finished.length === 0 ? '' : ` (${finished.map((name) => JSON.stringify(name)).join(', ')})`;
    const files = [command.outFile, command.report?.file].filter((file) => file !== undefined);
    const kept =
      files.length > 0
        ? `no results were written; ${files.map((file) => displayPath(file, io)).join(' and ')} ${files.length === 1 ? 'was' : 'were'} left as ${files.length === 1 ? 'it was' : 'they were'}`
        : 'no results were written';
    throw new InterruptedError(
      `interrupted (Ctrl-C) after ${finished.length} of ${total} runs had finished${names}; ${kept}. ` +
        'Run the command again to redo them.',
    );
  }
  try {
    io.stdout(`${formatSummaryTable(results)}\n`);
    if (results.learningCurve !== undefined) io.stdout(`\n${formatLearningCurve(results.learningCurve)}\n`);
    if (command.outFile) {
      await writeOutputFile(command.outFile, `${JSON.stringify(results, null, 2)}\n`);
      progress(`results written to ${displayPath(command.outFile, io)}`);
    }
    if (command.headsDir) {
      const files = await headFiles(experiment, results, trainedHeads, command, dependencies);
      for (const path of await writeHeadFiles(command.headsDir, files)) {
        progress(`head file written to ${displayPath(path, io)}`);
      }
    }
    if (command.report) {
      const input = {
        results,
        experiment,
        dataset: datasetProvenance(experiment.dataset),
        generatedAt: new Date().toISOString(),
        producedBy: 'npm run experiment',
      };
      const text = command.report.format === 'html' ? reportHtml(input) : reportMarkdown(input);
      await writeOutputFile(command.report.file, text, 'the report');
      progress(`report written to ${displayPath(command.report.file, io)}`);
    }
  } finally {
    await dependencies.dispose();
  }
}

/** One head file per trained head, in experiment order, with the backbone it was trained on. */
async function headFiles(
  experiment: Experiment,
  results: ExperimentResults,
  trainedHeads: ReadonlyMap<number, SerializedHead>,
  command: { experimentFile: string; dtype: Dtype },
  dependencies: NodeDependencies,
): Promise<HeadFile[]> {
  if (trainedHeads.size === 0) return [];
  const encoder = await dependencies.encoder(experiment.model);
  const folder = resolveModelFolder(experiment.model, dirname(command.experimentFile), PROJECT_ROOT);
  const backbone = {
    model: backboneModelName(experiment.model, folder, PROJECT_ROOT),
    fileHash: await modelFileHash(folder, command.dtype),
    dtype: encoder.dtype,
    dimension: encoder.dimension,
  };
  return [...trainedHeads]
    .sort(([a], [b]) => a - b)
    .map(([index, head]) => {
      const spec = experiment.heads[index] as HeadSpec;
      const run = results.runs.find((candidate) => candidate.kind === 'head' && candidate.name === spec.name);
      return buildHeadFile({
        experiment: experiment.name,
        spec,
        labels: results.labels,
        backbone,
        head,
        ...(run === undefined ? {} : { run }),
      });
    });
}

/** `work`, or a rejection as soon as `signal` aborts, whichever comes first. */
function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolvePromise, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Prints one `error: …` line (usage advice, the stack with DEBUG) and returns the exit code. */
function reportError(error: unknown, io: CliIo): number {
  const message = terminalSafe(error instanceof Error ? error.message : String(error));
  io.stderr(`error: ${message}\n`);
  if (error instanceof UsageError) io.stderr('Run with --help for usage.\n');
  if (io.env.DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return error instanceof UsageError ? 2 : error instanceof InterruptedError ? EXIT_INTERRUPTED : 1;
}

/** Runs `main` with this process's arguments, streams and environment; Ctrl-C aborts the run. */
function runAsScript(): void {
  const interrupt = new AbortController();
  // A second Ctrl-C finds no listener left and ends the process at once (Node's default).
  process.once('SIGINT', () => interrupt.abort(new InterruptedError('interrupted (Ctrl-C).')));
  const io: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
    signal: interrupt.signal,
  };
  const fail = (error: unknown): void => {
    process.exitCode = reportError(error, terminalSafeIo(io));
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
    // Interrupted: a step still running in the background (see runFile) must not hold the process open.
    if (code === EXIT_INTERRUPTED) process.exit(code);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) runAsScript();
