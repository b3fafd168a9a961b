/**
 * @file Batches for the encoder: texts of similar length together, cut where an estimated cost is lowest, each
 * batch bounded by rows and by padded tokens. A batch is padded to its longest text, so dataset order wastes work on
 * padding (a third of the tokens on the spam set) and lets one long text blow up memory. Sorted by length, the cuts
 * trade the fixed cost of each forward pass against the padding and attention work a bigger batch adds
 * ({@link BatchCost}), and a token budget bounds memory whatever the longest text.
 */

/** Padded tokens per forward pass when the caller does not say (rows × longest text in the batch). */
export const DEFAULT_TOKEN_BUDGET = 8192;

/**
 * Estimated time of one forward pass of `rows` texts padded to `longest` tokens:
 * `perCall + rows × longest × (perToken + perTokenPerLength × longest)`. Only the ratios matter to the planner.
 */
export interface BatchCost {
  /** Fixed cost of a forward pass, whatever its size (session call, kernel launches, tensors in and out). */
  perCall: number;
  /** Cost of each padded token through the layers' matrix multiplies. */
  perToken: number;
  /** Extra cost of each padded token per token of the batch's length (attention scores and their softmax). */
  perTokenPerLength: number;
}

/** Hidden width of the model the constants below were measured on (all-MiniLM-L6-v2's shape). */
const CALIBRATION_WIDTH = 384;
/** Fixed cost of a forward pass, µs (calibrated: see {@link batchCostFor}). */
const PER_CALL_US = 2700;
/** Cost of a padded token at {@link CALIBRATION_WIDTH}, µs (calibrated: see {@link batchCostFor}). */
const PER_TOKEN_US = 225;
/** Activations one batch may hold (its feed-forward layer's output, 4 × width floats a token), bytes. */
const ACTIVATION_BUDGET_BYTES = 3 * 1024 * 1024;

/** @throws RangeError when `width` (a model's hidden size) is not a positive integer. */
function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1) {
    throw new RangeError(`The model's width must be a positive integer, got ${String(width)}.`);
  }
}

/**
 * The cost model of an encoder `width` wide (hidden size). `perCall` and `perToken` were fitted with
 * `npx tsx scripts/perf/batch-cost.ts` on a model of all-MiniLM-L6-v2's shape (onnxruntime-node, 2 shared cores,
 * fastest of 8 rounds per shape, shapes within {@link tokenBudgetFor}'s budget): a forward pass costs about as much
 * as 12 tokens. The rest is derived, not fitted: a token's matrix multiplies grow with width² (the per-call cost
 * does not), and attention adds 2 × length × width multiply-adds a token to the layers' 12 × width² (4 × width² in
 * the query, key, value and output projections, 8 × width² in a feed-forward layer 4 × width wide), so
 * `perTokenPerLength = perToken / (6 × width)`.
 * @throws RangeError when `width` is not a positive integer.
 */
export function batchCostFor(width: number): BatchCost {
  checkWidth(width);
  const perToken = PER_TOKEN_US * (width / CALIBRATION_WIDTH) ** 2;
  return { perCall: PER_CALL_US, perToken, perTokenPerLength: perToken / (6 * width) };
}

/**
 * Padded tokens per batch for an encoder `width` wide: as many as keep the feed-forward activations (taken as
 * 4 × width floats a token) within 3 MiB, 512 tokens at width 384, at most {@link DEFAULT_TOKEN_BUDGET}. Measured
 * with `scripts/perf/batch-cost.ts` on the MiniLM-shaped model (four runs, 2 shared cores), texts of 128 tokens
 * cost 1.2–2.5× more a token in batches of 8–32 than of 1–4 (presumably the activations leaving the cache), so one batch
 * of 32 was slower than one text at a time; shorter texts showed no clear rise up to 2,048 tokens.
 * @throws RangeError when `width` is not a positive integer.
 */
export function tokenBudgetFor(width: number): number {
  checkWidth(width);
  return Math.max(1, Math.min(DEFAULT_TOKEN_BUDGET, Math.floor(ACTIVATION_BUDGET_BYTES / (16 * width))));
}

/** {@link batchCostFor} the calibration model's width: the planner's costs when the caller gives none. */
export const DEFAULT_BATCH_COST: BatchCost = batchCostFor(CALIBRATION_WIDTH);

export interface BatchLimits {
  /** Most texts in one batch. */
  maxRows: number;
  /** Most padded tokens in one batch (rows × its longest text); a single longer text still gets a batch. */
  tokenBudget?: number;
  /** The cost model the cuts minimise; {@link DEFAULT_BATCH_COST} when left out. */
  cost?: BatchCost;
}

/** {@link BatchCost}'s estimate for one batch; an empty text still costs one token of padding. */
export function batchCost(rows: number, longest: number, cost: BatchCost): number {
  const tokens = Math.max(1, longest);
  return cost.perCall + rows * tokens * (cost.perToken + cost.perTokenPerLength * tokens);
}

/**
 * Groups text indices into batches: indices sorted by token length (stable, so equal lengths keep input order),
 * then cut into consecutive runs that minimise the summed {@link batchCost} (dynamic programming over the sorted
 * lengths, O(texts × maxRows)), no run over `maxRows` texts or over the padded token budget unless it is a single
 * text. Every index appears exactly once; callers put the results back in input order with the indices.
 * @throws RangeError when a length or a limit is not a positive integer (lengths may be 0), or a cost is not a
 * finite number ≥ 0.
 */
export function planBatches(lengths: readonly number[], limits: BatchLimits): number[][] {
  const budget = limits.tokenBudget ?? DEFAULT_TOKEN_BUDGET;
  const cost = limits.cost ?? DEFAULT_BATCH_COST;
  for (const [name, value] of [
    ['maxRows', limits.maxRows],
    ['tokenBudget', budget],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}.`);
    }
  }
  for (const [name, value] of Object.entries(cost)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Batch cost ${name} must be a finite number ≥ 0, got ${String(value)}.`);
    }
  }
  lengths.forEach((length, index) => {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`Text ${index} has an invalid token length: ${String(length)}.`);
    }
  });
  const order = lengths.map((_, index) => index).sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
  const count = order.length;
  // best[j]: least cost of the first j sorted texts; rowsOf[j]: the size of the last batch in that plan.
  const best = new Float64Array(count + 1);
  const rowsOf = new Int32Array(count + 1);
  for (let end = 1; end <= count; end++) {
    // Sorted ascending, so the text just before `end` is the longest of any batch ending there.
    const longest = Math.max(1, lengths[order[end - 1] as number] as number);
    best[end] = Number.POSITIVE_INFINITY;
    for (let rows = 1; rows <= Math.min(limits.maxRows, end); rows++) {
      if (rows > 1 && rows * longest > budget) break;
      const total = (best[end - rows] as number) + batchCost(rows, longest, cost);
      // On a tie the bigger batch wins: fewer forward passes for the same estimate.
      if (total <= (best[end] as number)) {
        best[end] = total;
        rowsOf[end] = rows;
      }
    }
  }
  const batches: number[][] = [];
  for (let end = count; end > 0; end -= rowsOf[end] as number) {
    batches.push(order.slice(end - (rowsOf[end] as number), end));
  }
  return batches.reverse();
}
