/**
 * @file `npm run predict -- <head file> (--text "…" | --file <csv/jsonl> --text-column <name>) [--json]`: labels
 * texts with a head saved by the app's export or `npm run experiment -- … --save-heads <dir>`, on the model it was
 * trained on, with the same core code as the app. Prints one line per text (label, its probability, the text), or
 * with `--json` one JSON object per line: `{"text", "label", "scores"}`. A head trained with unfrozen layers runs
 * them as training did: token states of the layer below them (onnxruntime), then the saved layers rebuilt from the
 * model's ONNX file on tfjs (WASM backend), the pooling and the head, 64 texts at a time.
 *
 * `main(argv, io)` is the whole command with its outside world passed in, as in experiment.ts.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkFileSize, MAX_FILE_BYTES } from '../lib/core/dataset/limits.ts';
import { decodeDatasetBytes } from '../lib/core/dataset/decode.ts';
import { formatFromFileName, parseTable } from '../lib/core/dataset/parse.ts';
import { quoteList } from '../lib/core/errors.ts';
import {
  checkHeadBackbone,
  parseHeadFile,
  predictWithHeadFile,
  type HeadFile,
  type TextPrediction,
} from '../lib/core/heads/head-file.ts';
import { DTYPES, ONNX_FILE_BY_DTYPE } from '../lib/core/models/files.ts';
import type { Dtype } from '../lib/core/ports.ts';
import { terminalSafe } from '../lib/core/text/terminal.ts';
import { createHeadTrainer } from '../lib/ml/tfjs-head.ts';
import { createLayerTrainer } from '../lib/ml/unfreeze/layer-trainer.ts';
import { loadEncoder } from '../lib/ml/transformers-adapter.ts';
import { readBoundedFile } from './bounded-read.ts';
import type { CliIo } from './experiment.ts';
import { modelFileHash } from './head-files.ts';
import { readJsonFile } from './json-file.ts';
import { resolveModelFolder } from './model-folder.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

const USAGE = `Usage: npm run predict -- <head.json> (--text "…" | --file <texts.csv|.jsonl> --text-column <name>)
                              [--json] [--model <id or folder>] [--dtype fp32|fp16|q8]

Labels texts with a saved head (the app's head export, or npm run experiment -- … --save-heads <dir>) on the
model it was trained on. A head trained with unfrozen layers runs them too (its file holds their weights).

  <head.json>           the head file
  --text, -t <text>     a text to label (repeat for several)
  --file, -f <file>     a CSV, TSV, JSONL or JSON file of texts; needs --text-column
  --text-column <name>  the column (field) of --file holding the texts
  --json                one JSON object per text and line: {"text", "label", "scores"}
  --model <id|folder>   load the model from here instead of the one the head file names (it must be the same
                        model file: its SHA-256 is checked)
  --dtype <dtype>       the precision to load; must be the one the head was trained with (the default)
  --help, -h            show this help

Errors are one "error: …" line and a non-zero exit (set DEBUG=1 for the stack).`;

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface PredictCommand {
  headFile: string;
  texts?: string[];
  file?: { path: string; column: string };
  json: boolean;
  model?: string;
  dtype?: Dtype;
}

function invocationDir(io: CliIo): string {
  const viaNpm = io.env.npm_lifecycle_event === 'predict' && io.env.INIT_CWD;
  return viaNpm ? (io.env.INIT_CWD as string) : io.cwd;
}

function parseCommandLine(argv: string[], io: CliIo): PredictCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        text: { type: 'string', short: 't', multiple: true },
        file: { type: 'string', short: 'f' },
        'text-column': { type: 'string' },
        json: { type: 'boolean', default: false },
        model: { type: 'string' },
        dtype: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'give the head file, e.g. `npm run predict -- heads/linear-head.head.json --text "…"`.'
        : `expected one head file, got ${positionals.length}: ${positionals.join(' ')}.`,
    );
  }
  const hasTexts = values.text !== undefined;
  if (hasTexts === (values.file !== undefined)) {
    throw new UsageError('give either --text "…" (one or more) or --file <texts.csv> --text-column <name>.');
  }
  if (values.file !== undefined && values['text-column'] === undefined) {
    throw new UsageError('--file needs --text-column <name>: the column holding the texts.');
  }
  if (values.file === undefined && values['text-column'] !== undefined) {
    throw new UsageError('--text-column goes with --file.');
  }
  const dtype = values.dtype as Dtype | undefined;
  if (dtype !== undefined && !DTYPES.includes(dtype)) {
    throw new UsageError(`--dtype must be one of ${DTYPES.join(', ')}; got "${String(values.dtype)}".`);
  }
  const base = invocationDir(io);
  return {
    headFile: resolve(base, positionals[0] as string),
    ...(values.text === undefined ? {} : { texts: values.text }),
    ...(values.file === undefined
      ? {}
      : { file: { path: resolve(base, values.file), column: values['text-column'] as string } }),
    json: values.json,
    ...(values.model === undefined ? {} : { model: values.model }),
    ...(dtype === undefined ? {} : { dtype }),
  };
}

/** The texts of one column of a table file, in row order, read with the app's dataset limits. */
async function readTexts(path: string, column: string): Promise<string[]> {
  const name = basename(path);
  const format = formatFromFileName(name);
  let bytes: Uint8Array;
  try {
    bytes = await readBoundedFile(path, MAX_FILE_BYTES, (size) => checkFileSize(size, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`File not found: ${path}.`, { cause: error });
    throw error;
  }
  const table = parseTable(decodeDatasetBytes(bytes, name), format);
  if (!table.columns.includes(column)) {
    throw new Error(`${name} has no column "${column}"; its columns are ${quoteList(table.columns)}.`);
  }
  return table.rows.map((row) => row[column] ?? '');
}

/** One line per prediction: the label, its probability, and the text on one line. */
function formatLine(text: string, prediction: TextPrediction): string {
  const probability = prediction.scores[prediction.label] ?? 0;
  const oneLine = terminalSafe(text).replace(/\s+/g, ' ').trim();
  const shown = oneLine.length > 80 ? `${oneLine.slice(0, 79)}…` : oneLine;
  return `${terminalSafe(prediction.label)}\t${probability.toFixed(4)}\t${shown}`;
}

async function run(command: PredictCommand, io: CliIo): Promise<void> {
  const file: HeadFile = parseHeadFile(await readJsonFile(command.headFile));
  const dtype = command.dtype ?? file.backbone.dtype;
  const folder =
    command.model === undefined
      ? resolveModelFolder(file.backbone.model, dirname(command.headFile), PROJECT_ROOT)
      : resolveModelFolder(command.model, invocationDir(io), PROJECT_ROOT);
  // Refuse a wrong model file or dtype before loading anything.
  const fileHash = await modelFileHash(folder, dtype).catch(() => undefined);
  const cheap = { modelId: folder, dtype, dimension: file.backbone.dimension, numLayers: 0 };
  checkHeadBackbone(file, fileHash === undefined ? cheap : { ...cheap, fileHash }, folder);
  const texts = command.texts ?? (await readTexts(command.file?.path ?? '', command.file?.column ?? ''));
  const encoder = await loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype });
  try {
    // The browser's backend, so the same head gives the same scores; cpu (with a notice) when WASM cannot start.
    const trainer = createHeadTrainer({
      backend: 'wasm',
      fallback: { backend: 'cpu', onFallback: (message) => io.stderr(`${message}\n`) },
    });
    const loaded = {
      modelId: folder,
      dtype: encoder.dtype,
      dimension: encoder.dimension,
      numLayers: encoder.numLayers,
      ...(fileHash === undefined ? {} : { fileHash }),
    };
    // Unfrozen layers are rebuilt from the very file the encoder runs, on tfjs WASM as in training.
    const layers = createLayerTrainer({
      backend: 'wasm',
      modelBytes: () => readFile(join(folder, ONNX_FILE_BY_DTYPE[dtype])),
    });
    const predictions = await predictWithHeadFile(
      file,
      encoder,
      (head) => trainer.fromJSON(head),
      texts,
      loaded,
      (request, head) => layers.fromJSON(request, head),
    );
    const lines = predictions.map((prediction, index) => {
      const text = texts[index] as string;
      return command.json
        ? JSON.stringify({ text, label: prediction.label, scores: prediction.scores })
        : formatLine(text, prediction);
    });
    io.stdout(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  } finally {
    await encoder.dispose();
  }
}

/**
 * Runs the command: `argv` are the arguments after the script name.
 * @returns the exit code: 0 on success, 1 when the texts could not be labeled, 2 for a usage mistake.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    const command = parseCommandLine(argv, io);
    if (command === 'help') io.stdout(`${USAGE}\n`);
    else await run(command, io);
    return 0;
  } catch (error) {
    const message = terminalSafe(error instanceof Error ? error.message : String(error));
    io.stderr(`error: ${message}\n`);
    if (error instanceof UsageError) io.stderr('Run with --help for usage.\n');
    if (io.env.DEBUG && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}
