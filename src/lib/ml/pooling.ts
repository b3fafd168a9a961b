/**
 * @file Pooling: one vector per text from a model's token vectors, over the tokens its attention mask marks as
 * real (padding never counts). Pure arithmetic on typed arrays, shared by every encoder.
 */
import { POOLINGS } from '../core/experiment/schema.ts';
import type { Pooling } from '../core/experiment/types.ts';

/** The poolings computed here from token vectors; `sentence` is an output of the model itself instead. */
export type TokenPooling = Exclude<Pooling, 'sentence'>;
export const TOKEN_POOLINGS: readonly TokenPooling[] = ['mean', 'cls', 'last'];

/**
 * Checks that `pooling` is one the playground knows (the settings table's list).
 * @throws RangeError listing the allowed values.
 */
export function assertPooling(pooling: Pooling): void {
  if (!POOLINGS.includes(pooling)) {
    throw new RangeError(
      `Unknown pooling "${String(pooling)}". Use one of: ${POOLINGS.map((p) => `"${p}"`).join(', ')}.`,
    );
  }
}

/** A padded batch of token vectors, row-major `[rows, tokens, size]`, and its attention mask `[rows, tokens]`. */
export interface TokenStates {
  data: Float32Array;
  dims: readonly [rows: number, tokens: number, size: number];
  /** 1 (or 1n) for a real token, 0 for padding. */
  mask: ArrayLike<bigint | number>;
}

/**
 * One pooled vector per row: `mean` averages the real tokens (in float64, so the result does not depend on how
 * much padding the batch added), `cls` takes the first token, `last` the last real token.
 * @throws RangeError when the data or mask does not match the dims.
 */
export function poolBatch(states: TokenStates, pooling: TokenPooling): Float32Array[] {
  const [rows, tokens, size] = states.dims;
  if (states.data.length !== rows * tokens * size || states.mask.length !== rows * tokens) {
    throw new RangeError(
      `Token states of ${states.data.length} numbers and a mask of ${states.mask.length} do not fit dims ` +
        `[${rows}, ${tokens}, ${size}].`,
    );
  }
  if (!TOKEN_POOLINGS.includes(pooling)) {
    throw new RangeError(
      `"${String(pooling)}" is not computed from token vectors; use one of ${TOKEN_POOLINGS.join(', ')}.`,
    );
  }
  const pooled: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    pooled.push(poolRow(states.data, states.mask, row * tokens * size, row * tokens, tokens, size, pooling));
  }
  return pooled;
}

/** Pools one text's token vectors (rows of `hidden`, shape [tokens, size] at `offset`) into one vector. */
function poolRow(
  hidden: Float32Array,
  mask: ArrayLike<bigint | number>,
  offset: number,
  maskOffset: number,
  tokens: number,
  size: number,
  pooling: TokenPooling,
): Float32Array {
  const pooled = new Float32Array(size);
  const isReal = (token: number) => Number(mask[maskOffset + token]) !== 0;
  if (pooling === 'cls') {
    pooled.set(hidden.subarray(offset, offset + size));
    return pooled;
  }
  if (pooling === 'last') {
    let last = 0;
    for (let token = 0; token < tokens; token++) if (isReal(token)) last = token;
    pooled.set(hidden.subarray(offset + last * size, offset + (last + 1) * size));
    return pooled;
  }
  // Accumulate in float64 so the mean does not depend on how many padding rows the batch added.
  const sum = new Float64Array(size);
  let count = 0;
  for (let token = 0; token < tokens; token++) {
    if (!isReal(token)) continue;
    count++;
    const row = offset + token * size;
    for (let d = 0; d < size; d++) sum[d] = (sum[d] ?? 0) + (hidden[row + d] ?? 0);
  }
  for (let d = 0; d < size; d++) pooled[d] = (sum[d] ?? 0) / Math.max(count, 1);
  return pooled;
}
