/**
 * @file Contextual calibration (Zhao et al., 2021, "Calibrate before use"): a prompt's scores for inputs that
 * carry no content ("N/A", "", the mask token) show the label bias of the prompt itself. Dividing each example's
 * probabilities by that bias and renormalising removes it. Shared by every prompt strategy.
 */

/** The content-free inputs scored when a prompt asks for calibration; `[MASK]`-style tokens are added per model. */
export const CONTENT_FREE_INPUTS: readonly string[] = ['N/A', ''];

/**
 * The label bias of a prompt: the mean of its probabilities over the content-free inputs, renormalised.
 * @throws RangeError when there are no rows, rows differ in length, or a value is not a finite probability.
 */
export function contentFreeBias(contentFreeProbabilities: readonly (readonly number[])[]): number[] {
  const first = contentFreeProbabilities[0];
  if (first === undefined)
    throw new RangeError('Calibration needs the scores of at least one content-free input.');
  const sums = new Array<number>(first.length).fill(0);
  for (const row of contentFreeProbabilities) {
    if (row.length !== first.length) {
      throw new RangeError(`Content-free scores have ${row.length} labels, expected ${first.length}.`);
    }
    row.forEach((value, i) => {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`A content-free score is not a probability: ${value}.`);
      }
      sums[i] = (sums[i] as number) + value;
    });
  }
  return normalise(sums);
}

/**
 * Divides each row of probabilities by the bias (label by label) and renormalises the row. A bias of 0 for a
 * label is replaced by the smallest positive bias (the label was never chosen without content; dividing by 0
 * would make it always win).
 * @throws RangeError when a row's length differs from the bias's.
 */
export function calibrate(
  probabilities: readonly (readonly number[])[],
  bias: readonly number[],
): number[][] {
  const positive = bias.filter((value) => value > 0);
  const floor = positive.length === 0 ? 1 : Math.min(...positive);
  const divisor = bias.map((value) => (value > 0 ? value : floor));
  return probabilities.map((row) => {
    if (row.length !== divisor.length) {
      throw new RangeError(`Scores have ${row.length} labels but the calibration has ${divisor.length}.`);
    }
    return normalise(row.map((value, i) => value / (divisor[i] as number)));
  });
}

/** Scales non-negative values to sum to 1 (uniform when they sum to 0). */
function normalise(values: readonly number[]): number[] {
  const total = values.reduce((sum, value) => sum + value, 0);
  if (!(total > 0)) return values.map(() => 1 / values.length);
  return values.map((value) => value / total);
}
