/**
 * @file Token counts taken once per text and tokenizer. Every similarity variation records the tokens of the same
 * test texts, a run counts the test texts the data report has just counted, and the report counts the rows of a
 * draft again once it is used: tokenizing them again cost more than the rest of a variation's run (the default
 * model's segmentation is the slow part of its tokenizer).
 */
import type { Encoder } from '../ports.ts';

/**
 * Most texts remembered per encoder; past it the memory starts again empty. Five uploads of the largest dataset
 * a file can hold (core/dataset/limits.ts) fit, and a count is only ever the tokenizer's work again.
 */
export const MAX_KNOWN_COUNTS = 250_000;

/** Token counts already known per encoder object (one tokenizer each), by text. */
const knownCounts = new WeakMap<Encoder, Map<string, number>>();

/**
 * `encoder.countTokens` for single texts, each distinct text counted once per encoder (at most
 * {@link MAX_KNOWN_COUNTS} remembered). Texts not yet known are counted in one call.
 * @throws Error (as a rejection) when the encoder returns another number of counts than it was given texts.
 */
export function countTokensOnce(encoder: Encoder): (texts: string[]) => Promise<number[]> {
  return async (texts) => {
    let known = knownCounts.get(encoder);
    if (known === undefined) {
      known = new Map();
      knownCounts.set(encoder, known);
    }
    const missing = [...new Set(texts.filter((text) => !known.has(text)))];
    if (missing.length === 0) return texts.map((text) => known.get(text) as number);
    const counts = await encoder.countTokens(missing);
    if (counts.length !== missing.length) {
      throw new Error(
        `Encoder "${encoder.modelId}" returned ${counts.length} token counts for ${missing.length} texts.`,
      );
    }
    const fresh = new Map(missing.map((text, k) => [text, counts[k] as number]));
    const answer = texts.map((text) => (fresh.get(text) ?? known.get(text)) as number);
    if (known.size + fresh.size > MAX_KNOWN_COUNTS) known.clear();
    for (const [text, count] of fresh) known.set(text, count);
    return answer;
  };
}
