/**
 * @file How sure the numbers are: percentile-bootstrap intervals for a run's accuracy and macro-F1, and the exact
 * McNemar test between two runs scored on the same test examples. Pure arithmetic, seeded, so the browser and the
 * CLI print the same intervals for the same predictions.
 */
import { createRng, randomInt, type Rng } from '../rng/rng.ts';

/** A closed interval `[low, high]`. */
export type Interval = [number, number];

/** Resamples of the test examples behind every interval (the results format promises 1,000). */
export const BOOTSTRAP_RESAMPLES = 1000;
/** Seed of the resampling stream; fixed, so every run of an experiment is resampled with the same draws. */
export const BOOTSTRAP_SEED = 20_211_231;
/** Coverage of the intervals. */
export const INTERVAL_LEVEL = 0.95;

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  /** Two-sided coverage, 0 < level < 1. */
  level?: number;
}

export interface BootstrapIntervals {
  accuracyCI: Interval;
  macroF1CI: Interval;
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (R's type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('Cannot take a quantile of no values.');
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below] as number;
  return low + ((sorted[above] as number) - low) * (position - below);
}

/**
 * Percentile-bootstrap intervals of accuracy and macro-F1: the test examples are drawn with replacement
 * `resamples` times (same size as the test split), each draw scored, and the middle `level` of the scores kept.
 * Labels are indices into the experiment's labels; `numClasses` is how many there are (macro-F1 averages over
 * the labels each resample holds: a small resample can miss a class entirely, and counting that class as F1 0
 * would drag the interval below anything the classifier did; when every label occurs, this is the usual macro-F1).
 * @throws RangeError when the lists are empty or differ in length, or an option is out of range.
 */
export function bootstrapIntervals(
  trueIndices: readonly number[],
  predictedIndices: readonly number[],
  numClasses: number,
  options: BootstrapOptions = {},
): BootstrapIntervals {
  const steps = bootstrapSteps(trueIndices, predictedIndices, numClasses, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Longest stretch {@link bootstrapIntervalsCooperative} computes before letting other tasks run, in ms. */
export const COOPERATIVE_SLICE_MS = 8;

/**
 * {@link bootstrapIntervals}, the same numbers, computed in slices of at most about {@link COOPERATIVE_SLICE_MS}
 * with a new task between them (a `setTimeout`, which Node and browsers both have): on the app's main thread a
 * large test split's 1,000 resamples never block input or painting for long. It also starts in a task of its
 * own, after the scoring that produced the predictions, and hands its result over in another: what the caller
 * does with it (in the app, the run's result drawn on screen: 15-17 ms of CPU) ran in the last slice's task,
 * 20-22 ms of CPU together, the largest task of a prompt run (scripted walks of both builds, side by side).
 * @throws RangeError (as a rejection) like bootstrapIntervals.
 */
export async function bootstrapIntervalsCooperative(
  trueIndices: readonly number[],
  predictedIndices: readonly number[],
  numClasses: number,
  options: BootstrapOptions = {},
): Promise<BootstrapIntervals> {
  const steps = bootstrapSteps(trueIndices, predictedIndices, numClasses, options);
  for (;;) {
    await nextTask();
    const sliceEnd = performance.now() + COOPERATIVE_SLICE_MS;
    let step: IteratorResult<void, BootstrapIntervals>;
    do {
      step = steps.next();
    } while (!step.done && performance.now() < sliceEnd);
    if (step.done) {
      await nextTask();
      return step.value;
    }
  }
}

/** Resolves in a new task (after whatever the event loop has waiting). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The bootstrap, one resample per step; returns the intervals. Checks every input at the first step. */
function* bootstrapSteps(
  trueIndices: readonly number[],
  predictedIndices: readonly number[],
  numClasses: number,
  options: BootstrapOptions,
): Generator<void, BootstrapIntervals> {
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const level = options.level ?? INTERVAL_LEVEL;
  const n = trueIndices.length;
  if (n === 0) throw new RangeError('Cannot bootstrap zero test examples.');
  if (predictedIndices.length !== n) {
    throw new RangeError(`Got ${n} true labels but ${predictedIndices.length} predictions.`);
  }
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`Resamples must be a positive integer, got ${resamples}.`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`Level must be between 0 and 1, got ${level}.`);
  const inRange = (index: number): boolean => Number.isInteger(index) && index >= 0 && index < numClasses;
  for (let i = 0; i < n; i++) {
    const truth = trueIndices[i] as number;
    const column = predictedIndices[i] as number;
    if (!inRange(truth) || !inRange(column)) {
      throw new RangeError(`Label index out of range at example ${i}.`);
    }
  }
  // Flat counts and plain loops: this runs on the app's main thread after every run (1,000 × n draws), so it
  // allocates nothing per resample. The arithmetic is the same as the metrics module's
  // accuracyFromConfusion and perClassF1 (integer counts, classes summed in order), so the intervals are identical.
  // The draws depend only on (seed, n, resamples), never on the predictions: every run of an experiment shares
  // them, so they are drawn once and kept (see bootstrapDraws).
  const draws = bootstrapDraws(options.seed ?? BOOTSTRAP_SEED, n, resamples);
  const accuracies = new Float64Array(resamples);
  const f1s = new Float64Array(resamples);
  const cells = new Int32Array(numClasses * numClasses);
  const actual = new Int32Array(numClasses);
  const predicted = new Int32Array(numClasses);
  for (let r = 0; r < resamples; r++) {
    const picks = draws.row(r);
    const offset = draws.offset(r);
    cells.fill(0);
    actual.fill(0);
    predicted.fill(0);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const pick = picks[offset + i] as number;
      const truth = trueIndices[pick] as number;
      const column = predictedIndices[pick] as number;
      const cell = truth * numClasses + column;
      cells[cell] = (cells[cell] as number) + 1;
      actual[truth] = (actual[truth] as number) + 1;
      predicted[column] = (predicted[column] as number) + 1;
      if (truth === column) correct++;
    }
    accuracies[r] = correct / n;
    let sum = 0;
    let present = 0;
    for (let k = 0; k < numClasses; k++) {
      const total = (actual[k] as number) + (predicted[k] as number);
      if (total > 0) {
        const truePositives = cells[k * numClasses + k] as number;
        sum += truePositives === 0 ? 0 : (2 * truePositives) / total;
        present++;
      }
    }
    f1s[r] = present === 0 ? 0 : sum / present;
    yield;
  }
  const tail = (1 - level) / 2;
  const interval = (values: Float64Array): Interval => {
    // A typed array sorts numerically without a comparator (same order as `a - b`: the scores are never NaN or
    // -0), several times faster than an array of numbers with one.
    values.sort();
    return [quantileSorted(values, tail), quantileSorted(values, 1 - tail)];
  };
  return { accuracyCI: interval(accuracies), macroF1CI: interval(f1s) };
}

/**
 * Most draws kept per cached stream (2-byte indices: 4 MiB): 1,000 resamples of test splits up to 2,097
 * examples. Longer streams are drawn again on every call, one resample at a time.
 */
export const BOOTSTRAP_DRAWS_CACHED = 2 ** 21;
/** How many streams (distinct seed, test size, resamples) are kept; the app uses one per split. */
const CACHED_STREAMS = 4;

/** The example indices of each resample, in the order the seeded stream draws them. */
interface Draws {
  /** The array holding resample `r`'s n picks, starting at `offset(r)`; call it once per resample, in order. */
  row(r: number): Uint16Array | Int32Array;
  offset(r: number): number;
}

/** A kept stream: its picks, drawn a resample at a time as computations first need them. */
interface DrawStream {
  picks: Uint16Array;
  rng: Rng;
  /** Resamples whose picks are drawn (the first `filled × n` entries of `picks`). */
  filled: number;
}

const drawCache = new Map<string, DrawStream>();

/**
 * The resampling draws of `resamples` × `n` picks from the seeded stream: kept when they fit
 * {@link BOOTSTRAP_DRAWS_CACHED} (the least recently used stream is dropped past a few), each resample drawn the
 * first time a computation reaches it, so drawing is spread over a cooperative computation's slices too;
 * otherwise drawn again per resample into one reused row. Either way the picks are exactly those of
 * `randomInt(createRng(seed), n)` called `resamples × n` times in order.
 */
function bootstrapDraws(seed: number, n: number, resamples: number): Draws {
  const total = n * resamples;
  if (total > BOOTSTRAP_DRAWS_CACHED || n > 0xffff) {
    const rng = createRng(seed);
    const row = new Int32Array(n);
    return {
      row: () => {
        for (let i = 0; i < n; i++) row[i] = randomInt(rng, n);
        return row;
      },
      offset: () => 0,
    };
  }
  const key = `${seed}:${n}:${resamples}`;
  let stream = drawCache.get(key);
  if (stream === undefined) {
    stream = { picks: new Uint16Array(total), rng: createRng(seed), filled: 0 };
    if (drawCache.size >= CACHED_STREAMS) drawCache.delete(drawCache.keys().next().value as string);
  } else {
    drawCache.delete(key);
  }
  drawCache.set(key, stream);
  const kept = stream;
  return {
    row: (r) => {
      // In order, whichever computation gets there first (two may share a stream, interleaved).
      while (kept.filled <= r) {
        const base = kept.filled * n;
        for (let i = 0; i < n; i++) kept.picks[base + i] = randomInt(kept.rng, n);
        kept.filled++;
      }
      return kept.picks;
    },
    offset: (r) => r * n,
  };
}

/** The exact McNemar test between two runs on the same examples. */
export interface McNemarResult {
  /** Examples the first run got right and the second wrong. */
  onlyA: number;
  /** Examples the second run got right and the first wrong. */
  onlyB: number;
  /** Exact two-sided binomial p-value on the discordant pairs (1 when there are none). */
  p: number;
}

/**
 * Two-sided exact binomial p-value of `k` or fewer successes in `n` fair trials, doubled and capped at 1:
 * `min(1, 2·Σ_{i≤k} C(n,i)/2ⁿ)`. Summed in log space, so it stays exact to rounding for any n.
 */
export function exactMcNemarP(onlyA: number, onlyB: number): number {
  for (const [name, value] of [
    ['onlyA', onlyA],
    ['onlyB', onlyB],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`${name} must be a count (a non-negative integer), got ${value}.`);
    }
  }
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  // log C(n, i) for i = 0..k, then log-sum-exp.
  const logTerms: number[] = [];
  let logChoose = 0;
  for (let i = 0; i <= k; i++) {
    logTerms.push(logChoose);
    logChoose += Math.log(n - i) - Math.log(i + 1);
  }
  const top = Math.max(...logTerms);
  const logSum = top + Math.log(logTerms.reduce((sum, term) => sum + Math.exp(term - top), 0));
  return Math.min(1, 2 * Math.exp(logSum - n * Math.LN2));
}

/**
 * McNemar's exact test from two runs' per-example correctness (same examples, same order).
 * @throws RangeError when the lists differ in length.
 */
export function mcnemar(correctA: readonly boolean[], correctB: readonly boolean[]): McNemarResult {
  if (correctA.length !== correctB.length) {
    throw new RangeError(
      `The runs were scored on different examples (${correctA.length} vs ${correctB.length}): pair them first.`,
    );
  }
  let onlyA = 0;
  let onlyB = 0;
  correctA.forEach((right, i) => {
    if (right && !correctB[i]) onlyA++;
    else if (!right && correctB[i]) onlyB++;
  });
  return { onlyA, onlyB, p: exactMcNemarP(onlyA, onlyB) };
}

/** The fields of a run this module computes from its predictions. */
interface ScoredRun {
  name: string;
  predictions: readonly { id: string; label: string }[];
}

/**
 * Intervals for one run's predictions on the test examples (matched by id, in test order).
 * @throws RangeError when a test example has no prediction or a label is not one of `labels`.
 */
export function runIntervals(
  test: readonly { id: string; label: string }[],
  predictions: readonly { id: string; label: string }[],
  labels: readonly string[],
  options: BootstrapOptions = {},
): BootstrapIntervals {
  const { truth, predicted } = runIndices(test, predictions, labels);
  return bootstrapIntervals(truth, predicted, labels.length, options);
}

/**
 * Label indices of the test examples and of their predictions (matched by id, in test order).
 * @throws RangeError when a test example has no prediction or a label is not one of `labels`.
 */
function runIndices(
  test: readonly { id: string; label: string }[],
  predictions: readonly { id: string; label: string }[],
  labels: readonly string[],
): { truth: number[]; predicted: number[] } {
  const index = new Map(labels.map((label, i) => [label, i]));
  const predicted = new Map(predictions.map((prediction) => [prediction.id, prediction.label]));
  const indexOf = (label: string | undefined, what: string): number => {
    const found = label === undefined ? undefined : index.get(label);
    if (found === undefined)
      throw new RangeError(`${what} has a label that is not one of the dataset's labels.`);
    return found;
  };
  return {
    truth: test.map((example) => indexOf(example.label, `Test example "${example.id}"`)),
    predicted: test.map((example) =>
      indexOf(predicted.get(example.id), `The prediction for "${example.id}"`),
    ),
  };
}

/**
 * {@link runIntervals} computed cooperatively ({@link bootstrapIntervalsCooperative}): the same intervals, in short
 * tasks. What the run paths call, so the app's main thread stays responsive after each run.
 * @throws RangeError (as a rejection) like runIntervals.
 */
export async function runIntervalsCooperative(
  test: readonly { id: string; label: string }[],
  predictions: readonly { id: string; label: string }[],
  labels: readonly string[],
  options: BootstrapOptions = {},
): Promise<BootstrapIntervals> {
  const { truth, predicted } = runIndices(test, predictions, labels);
  return bootstrapIntervalsCooperative(truth, predicted, labels.length, options);
}

/**
 * McNemar between every pair of runs (a before b, in the order given), on the test examples. A run without a
 * prediction for every test example (one kept from another split, e.g. restored from an older save) is left out
 * of the pairs rather than compared on different examples.
 */
export function compareRuns(
  runs: readonly ScoredRun[],
  test: readonly { id: string; label: string }[],
): { a: string; b: string; onlyA: number; onlyB: number; p: number }[] {
  const complete: { name: string; correct: boolean[] }[] = [];
  for (const run of runs) {
    const predicted = new Map(run.predictions.map((prediction) => [prediction.id, prediction.label]));
    const correct = test.map((example) => {
      const label = predicted.get(example.id);
      return label === undefined ? undefined : label === example.label;
    });
    if (correct.every((value) => value !== undefined)) complete.push({ name: run.name, correct });
  }
  const comparisons = [];
  for (let a = 0; a < complete.length; a++) {
    for (let b = a + 1; b < complete.length; b++) {
      const first = complete[a] as (typeof complete)[number];
      const second = complete[b] as (typeof complete)[number];
      comparisons.push({ a: first.name, b: second.name, ...mcnemar(first.correct, second.correct) });
    }
  }
  return comparisons;
}
