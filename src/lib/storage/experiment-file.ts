/**
 * @file Import and export of the experiment file (README, "Running an experiment from the terminal"): the same JSON
 * `npm run experiment` reads.
 * Import validates with the core's `parseExperimentText` and reports the first bad field's path; export writes
 * what `serializeExperiment` writes, so an exported file imports again and runs unchanged in the terminal.
 */
import { binaryFileKind } from '../core/dataset/decode.ts';
import { formatBytes, formatBytesOverLimit } from '../core/format.ts';
import { DatasetError, ExperimentError } from '../core/errors.ts';
import { MAX_EXPERIMENT_FILE_BYTES } from '../core/experiment/limits.ts';
import { loadExperimentDataset } from '../core/experiment/run.ts';
import { parseExperimentText, serializeExperiment } from '../core/experiment/schema.ts';
import type { Experiment } from '../core/experiment/types.ts';
import { verbalizerTexts } from '../core/prompts/instruction.ts';
import { labelTexts } from '../core/prompts/similarity.ts';

/** Largest experiment file imported; the CLI reads the same (see core/experiment/limits.ts). */
export { MAX_EXPERIMENT_FILE_BYTES };

/** Why a file could not be imported; nothing was imported. */
export class ImportError extends Error {
  override readonly name = 'ImportError';
  /** The offending field, e.g. `heads[0].epochs`; empty when the problem is the whole file. */
  readonly path: string;
  readonly fileName: string;

  constructor(fileName: string, message: string, path = '') {
    super(message);
    this.fileName = fileName;
    this.path = path;
  }
}

/** What `readExperimentFile` needs of a `File`: its name, size and text. */
export interface PickedFile {
  readonly name: string;
  readonly size: number;
  /** The file's bytes (a browser `File` has this). */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Reads and validates an experiment file the user picked.
 * @throws ImportError naming the file and, for an invalid field, its path and what to write instead.
 */
export async function readExperimentFile(file: PickedFile): Promise<Experiment> {
  if (file.size > MAX_EXPERIMENT_FILE_BYTES) {
    throw new ImportError(
      file.name,
      `The file is ${formatBytesOverLimit(file.size, MAX_EXPERIMENT_FILE_BYTES)}; an experiment file can be at most ` +
        `${formatBytes(MAX_EXPERIMENT_FILE_BYTES)}. Choose the experiment file itself, not a dataset or results file.`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (error) {
    throw new ImportError(
      file.name,
      `The file could not be read (${error instanceof Error ? error.message : String(error)}): check that it ` +
        'still exists and that you may read it, then try again.',
    );
  }
  // As File.text() reads it: UTF-8, an invalid byte becoming U+FFFD (which JSON parsing then reports in place).
  const text = new TextDecoder().decode(bytes);
  if (text.replace(/^\ufeff/, '').trim() === '') {
    throw new ImportError(
      file.name,
      'The file is empty. Choose an experiment file exported from this app (Export) or written as described ' +
        'in the README.',
    );
  }
  const binary = binaryContent(bytes, text);
  if (binary !== undefined) {
    throw new ImportError(
      file.name,
      `"${file.name}" is not an experiment file: it is ${binary}, not JSON text. Choose an experiment file ` +
        'exported from this app (Export) or written as described in the README.',
    );
  }
  try {
    const experiment = parseExperimentText(text);
    await checkAgainstDataset(experiment);
    return experiment;
  } catch (error) {
    if (error instanceof ExperimentError) throw new ImportError(file.name, error.message, error.path);
    if (error instanceof DatasetError) throw new ImportError(file.name, error.message, 'dataset');
    throw error;
  }
}

/**
 * What binary content the file holds, or undefined for text: a known file type from its leading bytes (the same
 * list the dataset upload checks), else any raw control character other than tab, line feed and carriage return,
 * which JSON text never contains.
 */
function binaryContent(bytes: Uint8Array, text: string): string | undefined {
  const kind = binaryFileKind(bytes);
  if (kind !== undefined) return kind;
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.exec(text);
  if (control === null) return undefined;
  const before = text.slice(0, control.index).split('\n');
  const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return (
    `binary data (the control character U+${code} at line ${before.length}, ` +
    `column ${(before[before.length - 1]?.length ?? 0) + 1})`
  );
}

/**
 * What the file check alone cannot see: when the dataset is in the app (built in, or rows inside the file), it
 * must be usable with the named columns, and label descriptions must name exactly its labels. A dataset file
 * named by `path` is not in the browser, so it is checked when it is opened instead.
 * @throws DatasetError when the dataset cannot be used; ExperimentError at the offending prompt field.
 */
async function checkAgainstDataset(experiment: Experiment): Promise<void> {
  if ('path' in experiment.dataset) return;
  const { dataset } = await loadExperimentDataset(experiment.dataset, (path) =>
    Promise.reject(new Error(`${path} is not available in the browser.`)),
  );
  experiment.prompts.forEach((prompt, index) => {
    const path = `prompts[${index}]`;
    if (prompt.strategy === 'instruction') verbalizerTexts(prompt, dataset.labels, path);
    else if (prompt.strategy === 'similarity') labelTexts(prompt, dataset.labels, path);
  });
}

/** What an export writes: the file text, and why it is not a valid experiment file if it is not. */
export interface ExportedFile {
  fileName: string;
  text: string;
  /** Set when the experiment does not validate: the file holds it as is, to be fixed before it can run. */
  problem?: string;
}

/** A file name from the experiment name: lower case, words joined by dashes, `.json`. */
export function experimentFileName(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${slug || 'experiment'}.json`;
}

/** The results file name next to an experiment's file: `topics.json` → `topics.results.json`. */
export function resultsFileName(name: string): string {
  return experimentFileName(name).replace(/\.json$/, '.results.json');
}

/**
 * The experiment as an experiment file. An experiment that does not validate (an unfinished edit) is still
 * written, as it is, so exporting never fails when it is the only way to keep the work; `problem` says what to
 * fix before the file can be imported or run.
 * @param experiment Plain data (a `$state.snapshot`).
 */
export function exportExperiment(experiment: Experiment): ExportedFile {
  const fileName = experimentFileName(experiment.name);
  try {
    return { fileName, text: serializeExperiment(experiment) };
  } catch (error) {
    if (!(error instanceof ExperimentError)) throw error;
    return { fileName, text: `${JSON.stringify(experiment, null, 2)}\n`, problem: error.message };
  }
}
