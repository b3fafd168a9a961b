/**
 * @file Token counts of many texts, computed in slices with a new task between them. A tokenizer runs on the
 * thread that asks (the model worker, in the app), and the default model's counts 50,000 e-mails in several
 * seconds: in one piece, every other request to that worker (an embedding a run waits for, a newer count) would
 * wait behind it, and a count nobody needs any more could not be stopped.
 */
import { nextTask } from '../stats/uncertainty.ts';

/** About how long one slice counts before other tasks get their turn, in ms. */
export const COUNT_SLICE_MS = 40;

/** Texts per call to the tokenizer inside a slice (a slice ends at a chunk's end). */
const CHUNK_TEXTS = 16;

/** A tokenizer's count: tokens of each text (joined with `pairs[i]` when given and not null), in order. */
export type CountTokens = (texts: string[], pairs?: readonly (string | null)[]) => Promise<number[]>;

export interface CountInSlicesOptions {
  /** Called before every slice after the first: throw here to stop (a cancelled request). */
  beforeSlice?: () => void;
  /** Told how many texts are counted after each slice. */
  onProgress?: (done: number, total: number) => void;
  /** Slice length, ms (default {@link COUNT_SLICE_MS}). */
  sliceMs?: number;
}

/**
 * `count(texts, pairs)`, the same numbers, in slices of about `sliceMs` with a new task between them.
 * @throws Error (as a rejection) when `count` returns another number of counts than it was given texts, or
 * whatever `count` or `beforeSlice` throws.
 */
export async function countTokensInSlices(
  count: CountTokens,
  texts: readonly string[],
  pairs: readonly (string | null)[] | undefined,
  options: CountInSlicesOptions = {},
): Promise<number[]> {
  if (pairs !== undefined && pairs.length !== texts.length) {
    throw new RangeError(`${pairs.length} pairs were given for ${texts.length} texts.`);
  }
  const sliceMs = options.sliceMs ?? COUNT_SLICE_MS;
  const counts: number[] = [];
  let done = 0;
  while (done < texts.length) {
    if (done > 0) {
      await nextTask();
      options.beforeSlice?.();
    }
    const sliceEnd = performance.now() + sliceMs;
    do {
      const end = Math.min(done + CHUNK_TEXTS, texts.length);
      const part = await count(texts.slice(done, end), pairs?.slice(done, end));
      if (part.length !== end - done) {
        throw new Error(`The tokenizer returned ${part.length} counts for ${end - done} texts.`);
      }
      for (const value of part) counts.push(value);
      done = end;
    } while (done < texts.length && performance.now() < sliceEnd);
    options.onProgress?.(done, texts.length);
  }
  return counts;
}
