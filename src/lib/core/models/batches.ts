/**
 * @file Batches for the encoder: texts of similar length together, each batch bounded by rows and by padded
 * tokens. A batch is padded to its longest text, so dataset order wastes work on padding (a third of the tokens on
 * the spam set) and lets one long text blow up memory; sorted by length, almost nothing is padding and a token
 * budget bounds memory whatever the longest text.
 */

/** Padded tokens per forward pass when the caller does not say (rows × longest text in the batch). */
export const DEFAULT_TOKEN_BUDGET = 8192;

export interface BatchLimits {
  /** Most texts in one batch. */
  maxRows: number;
  /** Most padded tokens in one batch (rows × its longest text); a single longer text still gets a batch. */
  tokenBudget?: number;
}

/**
 * Groups text indices into batches: indices sorted by token length (stable, so equal lengths keep input order),
 * then cut whenever one more text would exceed `maxRows` or the padded token budget. Every index appears exactly
 * once; callers put the results back in input order with the indices.
 * @throws RangeError when a length or a limit is not a positive integer (lengths may be 0).
 */
export function planBatches(lengths: readonly number[], limits: BatchLimits): number[][] {
  const budget = limits.tokenBudget ?? DEFAULT_TOKEN_BUDGET;
  for (const [name, value] of [
    ['maxRows', limits.maxRows],
    ['tokenBudget', budget],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}.`);
    }
  }
  lengths.forEach((length, index) => {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`Text ${index} has an invalid token length: ${String(length)}.`);
    }
  });
  const order = lengths.map((_, index) => index).sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
  const batches: number[][] = [];
  let current: number[] = [];
  for (const index of order) {
    // Sorted ascending, so the newest text is the batch's longest.
    const padded = (current.length + 1) * Math.max(1, lengths[index] as number);
    if (current.length > 0 && (current.length >= limits.maxRows || padded > budget)) {
      batches.push(current);
      current = [];
    }
    current.push(index);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
