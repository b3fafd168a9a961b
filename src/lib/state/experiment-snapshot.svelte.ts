/**
 * @file The open experiment read without its uploaded rows, so that an edit costs nothing per row: a plain copy
 * that holds the rows by reference (never copying, proxying or serialising them), and validation that checks the
 * rows once per array instead of on every edit.
 */
import { ExperimentError } from '../core/errors.ts';
import { checkInlineRows, parseExperiment } from '../core/experiment/schema.ts';
import type { Experiment, InlineDatasetRef } from '../core/experiment/types.ts';
import type { Row } from '../storage/hash.ts';
import { inlineRows } from '../storage/rows.ts';

/**
 * The experiment as plain data, read deeply (so inside an effect or derivation every field is a dependency)
 * except the uploaded rows, which are kept by reference: they are never copied, and never change in place.
 */
export function snapshotExperiment(experiment: Experiment): Experiment {
  const rows = inlineRows(experiment.dataset);
  if (!rows) return $state.snapshot(experiment) as Experiment;
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(experiment)) {
    if (key !== 'dataset') {
      plain[key] = $state.snapshot(value);
      continue;
    }
    const dataset: Record<string, unknown> = {};
    for (const [field, cell] of Object.entries(value as object)) {
      dataset[field] = field === 'rows' ? rows : $state.snapshot(cell);
    }
    plain[key] = dataset;
  }
  return plain as unknown as Experiment;
}

/** Outcome of checking one rows array with given text and label fields: its first problem, or null. */
const checkedRows = new WeakMap<readonly Row[], Map<string, ExperimentError | null>>();

/**
 * The first problem of `rows` as an inline dataset with fields `text` and `label` (null when they are fine),
 * checked by the experiment file's own validation once per array and fields; undefined when it could not tell.
 */
function rowsProblem(rows: readonly Row[], text: string, label: string): ExperimentError | null | undefined {
  const key = JSON.stringify([text, label]);
  const known = checkedRows.get(rows)?.get(key);
  if (known !== undefined) return known;
  let problem: ExperimentError | null;
  try {
    // The check parseExperiment runs on inline rows, without the copies it makes of them.
    checkInlineRows(rows, text, label);
    problem = null;
  } catch (error) {
    if (!(error instanceof ExperimentError) || !error.path.startsWith('dataset.rows')) return undefined;
    problem = error;
  }
  // A cache nothing renders: it must not trigger updates.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  const byFields = checkedRows.get(rows) ?? new Map<string, ExperimentError | null>();
  byFields.set(key, problem);
  checkedRows.set(rows, byFields);
  return problem;
}

/**
 * Validates the experiment as the experiment file's `parseExperiment` does, with the same first error, but
 * checks uploaded rows only once per rows array: valid rows are stood in for by one row with the same fields.
 * @throws ExperimentError naming the first offending field's path.
 */
export function checkExperiment(experiment: Experiment): void {
  // Validation reads the rune state directly (no copy); inside a derivation every field read is a dependency.
  const rows = inlineRows(experiment.dataset);
  if (!rows) {
    parseExperiment(experiment);
    return;
  }
  const { text, label } = experiment.dataset as InlineDatasetRef;
  const valid =
    typeof text === 'string' && typeof label === 'string' && rowsProblem(rows, text, label) === null;
  if (!valid) {
    parseExperiment(experiment);
    return;
  }
  // Null-prototype: the field names are the user's.
  const standInRow = Object.create(null) as Row;
  standInRow[text] = '';
  standInRow[label] = '';
  parseExperiment({ ...experiment, dataset: { ...experiment.dataset, rows: [standInRow] } });
}
