/**
 * @file How much of a text a model reads: its token count against the model's limit and, when it is longer,
 * where the cut falls, found by counting the tokens of word-boundary prefixes with the model's own tokenizer
 * (a few batched calls, never one per word).
 */

/** Counts the tokens of each text with the model's tokenizer (special tokens included), in input order. */
export type CountTokens = (texts: string[]) => Promise<number[]>;

/** A text measured against a model's token limit. */
export interface TokenMeasure {
  /** Tokens of the whole text, special tokens included, before truncation. */
  tokens: number;
  maxTokens: number;
  truncated: boolean;
  /**
   * When truncated: the length (in characters) of the longest prefix, ending at a word, whose tokens all fit;
   * the model reads this and at most part of the next word. 0 when not even the first word fits.
   */
  keptChars?: number;
}

/** Prefixes counted per call while looking for the cut. */
export const PREFIXES_PER_CALL = 32;

/** Character offsets where each word of `text` ends, in order. */
export function wordEnds(text: string): number[] {
  const ends: number[] = [];
  for (const match of text.matchAll(/\S+/gu)) ends.push(match.index + match[0].length);
  return ends;
}

/**
 * Counts the tokens of `text` and, when there are more than `maxTokens`, finds the longest word-boundary prefix
 * that fits: each call counts up to {@link PREFIXES_PER_CALL} prefixes spread over the range still in question,
 * so a text of w words needs about log_33(w) calls after the first. Assumes a longer prefix never has fewer
 * tokens, as holds for the tokenizers in use.
 * @throws RangeError when `maxTokens` is not a positive whole number or a count is missing.
 */
export async function measureTokens(
  text: string,
  maxTokens: number,
  count: CountTokens,
  /** The whole text's token count when already known (several texts counted in one call). */
  knownTokens?: number,
): Promise<TokenMeasure> {
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) {
    throw new RangeError(`The token limit must be a positive whole number; got ${maxTokens}.`);
  }
  const countAll = async (texts: string[]): Promise<number[]> => {
    const counts = await count(texts);
    if (counts.length !== texts.length || counts.some((n) => !Number.isFinite(n))) {
      throw new RangeError(`Asked for ${texts.length} token counts, got ${counts.length}.`);
    }
    return counts;
  };
  const tokens = knownTokens ?? ((await countAll([text]))[0] as number);
  if (tokens <= maxTokens) return { tokens, maxTokens, truncated: false };
  const ends = wordEnds(text);
  // Invariant: prefix ends[lo] fits (lo = -1: the empty prefix), prefix ends[hi] does not (the whole text).
  let lo = -1;
  let hi = ends.length - 1;
  while (hi - lo > 1) {
    const gap = hi - lo - 1;
    const picks = Math.min(PREFIXES_PER_CALL, gap);
    const candidates = [
      ...new Set(Array.from({ length: picks }, (_, k) => lo + 1 + Math.floor(((k + 1) * gap) / (picks + 1)))),
    ];
    const counts = await countAll(candidates.map((index) => text.slice(0, ends[index])));
    let nextLo = lo;
    let nextHi = hi;
    candidates.forEach((index, k) => {
      if ((counts[k] as number) <= maxTokens) nextLo = Math.max(nextLo, index);
      else nextHi = Math.min(nextHi, index);
    });
    // A count that went down with a longer prefix breaks the assumption: keep what is certain and stop.
    if (nextHi <= nextLo) {
      lo = nextLo;
      break;
    }
    lo = nextLo;
    hi = nextHi;
  }
  return { tokens, maxTokens, truncated: true, keptChars: lo < 0 ? 0 : (ends[lo] as number) };
}
