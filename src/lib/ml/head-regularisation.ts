/**
 * @file What every head trainer shares about the optional training settings (dropout, weight decay, validation,
 * early stopping): their checks, with the same messages, and the seeded dropout masks. The head on frozen features
 * (tfjs-head.ts) and the head trained with unfrozen layers (unfreeze/train.ts) both use these, so a setting means
 * the same in both. The validation slice and class weights are pure and live in core/heads/training-data.ts.
 */
import type { HeadTrainingOptions } from '../core/ports.ts';

/** @throws RangeError naming `field` when `value` is not a positive integer. */
export function assertPositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Head training option "${field}" must be a positive integer, got ${String(value)}.`);
  }
}

/**
 * Checks the optional training settings (dropout, weight decay, validation and early stopping).
 * @throws RangeError naming the first setting that is out of range or needs another one.
 */
export function validateRegularisation(options: HeadTrainingOptions): void {
  const { dropout = 0, weightDecay = 0, validation = 0, patience } = options;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`Head option "dropout" must be at least 0 and below 1, got ${String(dropout)}.`);
  }
  if (dropout > 0 && options.hidden === 0) {
    throw new RangeError(
      'Head option "dropout" applies to the hidden layer: set "hidden" above 0 or remove it.',
    );
  }
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
    throw new RangeError(
      `Head option "weightDecay" must be 0 or a positive number, got ${String(weightDecay)}.`,
    );
  }
  if (!(validation >= 0 && validation < 1)) {
    throw new RangeError(
      `Head option "validation" must be at least 0 and below 1, got ${String(validation)}.`,
    );
  }
  if (patience !== undefined) {
    assertPositiveInteger(patience, 'patience');
    if (validation === 0) {
      throw new RangeError('Head option "patience" (early stopping) needs a "validation" fraction above 0.');
    }
  }
}

/**
 * Inverted dropout multipliers as tf.dropout computes them, drawn from `rng`: each of `count` units is dropped (0)
 * with probability `rate`, the others scaled by 1 / (1 − rate). Row-major `[rows, hidden]` for a batch.
 */
export function dropoutMask(rng: () => number, rate: number, count: number): Float32Array {
  const keep = 1 / (1 - rate);
  return Float32Array.from({ length: count }, () => (rng() < rate ? 0 : keep));
}
