/**
 * @file The pure arithmetic of `npm run bench`: medians and spreads of timed samples, ratios of interleaved A/B
 * rounds, and whether a goal (P1–P6 of issue 13) is met. No clocks, no I/O: unit-tested in tests/unit/bench.
 */

/** Median of `values` (mean of the two middle values for an even count); NaN for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The `q` quantile (0 ≤ q ≤ 1) of `values`, linearly interpolated between order statistics; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`A quantile lies in [0, 1], got ${q}.`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below] as number;
  return low + ((sorted[above] as number) - low) * (position - below);
}

/** Median and spread of a list of samples. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Interquartile range: 75th minus 25th percentile. */
  iqr: number;
  n: number;
}

/** Median, extremes and interquartile range of `values` (all NaN for an empty list). */
export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    iqr: quantile(values, 0.75) - quantile(values, 0.25),
    n: values.length,
  };
}

/** One interleaved A/B round: the time (ms) of A and of B measured back to back. */
export interface PairedRound {
  a: number;
  b: number;
}

/**
 * Per-round ratios `numerator(round) / denominator(round)` of interleaved rounds: each ratio compares two runs made
 * under the same machine load, so the median of these is robust where a ratio of two separate medians is not.
 * Throws on a non-positive or non-finite denominator (a timing that cannot be right).
 */
export function roundRatios(rounds: readonly PairedRound[], numerator: 'a' | 'b'): number[] {
  const denominator = numerator === 'a' ? 'b' : 'a';
  return rounds.map((round, index) => {
    const below = round[denominator];
    if (!(below > 0) || !Number.isFinite(below) || !Number.isFinite(round[numerator])) {
      throw new RangeError(`Round ${index + 1} has an unusable time (${round.a} ms, ${round.b} ms).`);
    }
    return round[numerator] / below;
  });
}

/**
 * How a goal's ratio is read: `at-least` (a speed ratio, e.g. product speed / bare speed ≥ 0.95) or `at-most`
 * (a cost ratio, e.g. 8 variations' time / one's ≤ 1.1).
 */
export type GoalDirection = 'at-least' | 'at-most';

/** What a goal is, before it is measured. */
export interface GoalSpec {
  /** `P1`…`P6`, with a suffix when one goal has several parts (`P1-node`). */
  id: string;
  /** One line saying what the ratio compares, for the README table. */
  title: string;
  direction: GoalDirection;
  target: number;
}

/** A measured goal as bench.json records it. */
export interface GoalResult extends GoalSpec {
  /** Median of `samples`; null when nothing could be measured. */
  ratio: number | null;
  pass: boolean;
  /** One ratio per interleaved round (or per measurement), rounded for the file. */
  samples: number[];
  /** Spread of the samples (median, min, max, IQR). */
  spread: Spread | null;
  /** Why the goal has no ratio (a missing model, a failed step), or anything that qualifies it. */
  note?: string;
  /** Figures behind the ratio (times, counts, differences), free-form but JSON. */
  details?: Record<string, unknown>;
}

/** Rounds `value` to `digits` significant decimals after the point (for JSON that stays readable). */
export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Evaluates a goal on its samples: the ratio is their median, and it passes when that median is on the right side
 * of the target (inclusive). No samples (or any non-finite sample) gives no ratio and a fail, with `note` saying why.
 */
export function evaluateGoal(
  spec: GoalSpec,
  samples: readonly number[],
  extra: { note?: string; details?: Record<string, unknown> } = {},
): GoalResult {
  const usable = samples.length > 0 && samples.every((sample) => Number.isFinite(sample));
  const ratio = usable ? median(samples) : null;
  const pass =
    ratio !== null && (spec.direction === 'at-least' ? ratio >= spec.target : ratio <= spec.target);
  const note = usable
    ? extra.note
    : (extra.note ?? (samples.length === 0 ? 'not measured' : 'a sample was not a finite number'));
  return {
    ...spec,
    ratio: ratio === null ? null : round(ratio),
    pass,
    samples: samples.map((sample) => round(sample)),
    spread: usable ? mapSpread(spread(samples)) : null,
    ...(note === undefined ? {} : { note }),
    ...(extra.details === undefined ? {} : { details: extra.details }),
  };
}

function mapSpread(value: Spread): Spread {
  return {
    median: round(value.median),
    min: round(value.min),
    max: round(value.max),
    iqr: round(value.iqr),
    n: value.n,
  };
}

/** A goal that could not be measured at all (a missing model, a failed browser): no ratio, fails, says why. */
export function unmeasuredGoal(spec: GoalSpec, note: string): GoalResult {
  return evaluateGoal(spec, [], { note });
}
