/**
 * @file The clocks of `npm run bench`: interleaved A/B rounds (A and B alternate, ABBA order, so slow drift in the
 * shared machine's load falls on both), and a counter of onnxruntime-node forward passes (every session's `run`),
 * which says how many texts went through an encoder whatever code path sent them.
 */
import * as ort from 'onnxruntime-node';
import type { PairedRound } from './stats.ts';

/** Rounds of an interleaved measurement, plus what the last run of each side returned. */
export interface Interleaved<A, B> {
  rounds: PairedRound[];
  lastA: A;
  lastB: B;
}

/** How many untimed warm-up rounds, then timed rounds. */
export interface RoundPlan {
  warmup: number;
  rounds: number;
}

async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

/**
 * Runs `a` and `b` back to back `plan.warmup` times untimed, then `plan.rounds` times timed, alternating which goes
 * first (A B, B A, A B, …). Each round's pair is measured under the same load, so per-round ratios are fair.
 */
export async function interleave<A, B>(
  a: () => Promise<A>,
  b: () => Promise<B>,
  plan: RoundPlan,
): Promise<Interleaved<A, B>> {
  if (plan.rounds < 1) throw new RangeError('An interleaved measurement needs at least one timed round.');
  for (let round = 0; round < plan.warmup; round++) {
    await a();
    await b();
  }
  const rounds: PairedRound[] = [];
  let lastA: A | undefined;
  let lastB: B | undefined;
  for (let round = 0; round < plan.rounds; round++) {
    if (round % 2 === 0) {
      const timedA = await timed(a);
      const timedB = await timed(b);
      rounds.push({ a: timedA.ms, b: timedB.ms });
      lastA = timedA.value;
      lastB = timedB.value;
    } else {
      const timedB = await timed(b);
      const timedA = await timed(a);
      rounds.push({ a: timedA.ms, b: timedB.ms });
      lastA = timedA.value;
      lastB = timedB.value;
    }
  }
  return { rounds, lastA: lastA as A, lastB: lastB as B };
}

/** Forward passes counted since the counter was installed or reset. */
export interface PassCount {
  /** Calls of `InferenceSession.run`. */
  runs: number;
  /** Rows fed in total (the first dimension of `input_ids`, or of the first input). */
  rows: number;
}

/**
 * Wraps onnxruntime-node's `InferenceSession.prototype.run` (shared by transformers.js's sessions and the bench's
 * own) to count forward passes and rows. `read()` returns the counts so far, `reset()` zeroes them.
 */
export function countForwardPasses(): { read(): PassCount; reset(): void } {
  const count: PassCount = { runs: 0, rows: 0 };
  // The typings describe a factory; the value is the class whose prototype every session shares.
  const prototype = (
    ort.InferenceSession as unknown as {
      prototype: {
        run: (this: ort.InferenceSession, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => unknown;
        __benchCounted?: PassCount;
      };
    }
  ).prototype;
  const original = prototype.run;
  if (prototype.__benchCounted === undefined) {
    prototype.run = function (this: ort.InferenceSession, feeds, ...rest) {
      const tracked = prototype.__benchCounted;
      if (tracked) {
        tracked.runs++;
        const first = feeds.input_ids ?? Object.values(feeds)[0];
        tracked.rows += Number(first?.dims[0] ?? 0);
      }
      return original.call(this, feeds, ...rest);
    };
  }
  prototype.__benchCounted = count;
  return {
    read: () => ({ ...count }),
    reset() {
      count.runs = 0;
      count.rows = 0;
    },
  };
}

/**
 * Samples this process's resident memory every `intervalMs` while `task` runs; returns the task's value, its time
 * and the peak RSS seen (bytes), for the scaling table.
 */
export async function withPeakMemory<T>(
  task: () => Promise<T>,
  intervalMs = 25,
): Promise<{ value: T; ms: number; peakRssBytes: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  try {
    const { ms, value } = await timed(task);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, ms, peakRssBytes: peak };
  } finally {
    clearInterval(timer);
  }
}
