/**
 * @file Token counts of the pieces of "what the model sees" (model-input.ts): every measured piece counted in one
 * call, a piece with a `pair` counted together with it as the tokenizer joins a pair, and each piece over the
 * model's limit searched for where its own text is cut (truncation.ts). Pure: the caller passes the counter.
 */
import type { ModelInputPiece } from './model-input.ts';
import { measureTokens, type TokenMeasure } from './truncation.ts';

/**
 * Counts the tokens of each text (special tokens included) with the model's tokenizer, text i joined with
 * `pairs[i]` as one pair input when that is not null, in input order.
 */
export type CountTokenPairs = (texts: string[], pairs: (string | null)[]) => Promise<number[]>;

/**
 * The measure of each piece in order (undefined for a piece the strategy measures itself), or undefined when
 * `stale()` turned true meanwhile (a newer rendering replaced these pieces).
 * @throws RangeError when the counter returns the wrong number of counts.
 */
export async function measurePieces(
  pieces: readonly ModelInputPiece[],
  maxTokens: number,
  count: CountTokenPairs,
  stale: () => boolean = () => false,
): Promise<(TokenMeasure | undefined)[] | undefined> {
  const measured = pieces.filter((piece) => piece.measure);
  const counts =
    measured.length === 0
      ? []
      : await count(
          measured.map((piece) => piece.text),
          measured.map((piece) => piece.pair ?? null),
        );
  if (counts.length !== measured.length) {
    throw new RangeError(`Asked for ${measured.length} token counts, got ${counts.length}.`);
  }
  let next = 0;
  const measures: (TokenMeasure | undefined)[] = [];
  for (const piece of pieces) {
    if (stale()) return undefined;
    if (!piece.measure) {
      measures.push(undefined);
      continue;
    }
    const pair = piece.pair ?? null;
    const countTexts = (texts: string[]) =>
      count(
        texts,
        texts.map(() => pair),
      );
    measures.push(await measureTokens(piece.text, maxTokens, countTexts, counts[next++] as number));
  }
  return stale() ? undefined : measures;
}
