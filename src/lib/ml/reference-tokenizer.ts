/**
 * @file Makes a loaded transformers.js tokenizer segment text exactly as a model's reference tokenizer does,
 * when the model's `tokenizer_config.json` asks for it (`"unigram_reference": "tfjs-universal-sentence-encoder"`).
 * The tokenizer's normalizer, padding and truncation stay transformers.js's own; only the unigram lattice search
 * is replaced (see core/tokenize/reference-unigram.ts for why the results differ).
 */
import { ReferenceUnigram, type UnigramPiece } from '../core/tokenize/reference-unigram.ts';

/** The `tokenizer_config.json` key, and the one value understood. */
export const REFERENCE_UNIGRAM_KEY = 'unigram_reference';
export const USE_TFJS_REFERENCE = 'tfjs-universal-sentence-encoder';
/** Leading vocabulary entries the reference never matches (unknown, start, end, three extras). */
const USE_RESERVED_ENTRIES = 6;

/** The parts of transformers.js's tokenizer objects this module touches. */
interface UnigramModelLike {
  vocab: string[];
  scores: number[];
  unk_token_id: number;
  tokenize(text: string): string[];
}
interface TokenizerLike {
  _tokenizerConfig?: Record<string, unknown>;
  _tokenizerJSON?: { model?: { vocab?: Array<[string, number | null]> } };
  _tokenizer?: { model?: UnigramModelLike };
}

/**
 * Replaces the unigram search of `tokenizer` when its config names a reference; does nothing otherwise.
 * @returns true when the tokenizer now follows a reference.
 * @throws Error when the config names an unknown reference, or the tokenizer is not a unigram one.
 */
export function applyReferenceUnigram(tokenizer: unknown): boolean {
  const target = tokenizer as TokenizerLike;
  const wanted = target._tokenizerConfig?.[REFERENCE_UNIGRAM_KEY];
  if (wanted === undefined) return false;
  if (wanted !== USE_TFJS_REFERENCE) {
    throw new Error(
      `tokenizer_config.json asks for ${REFERENCE_UNIGRAM_KEY} "${String(wanted)}"; the only one known is ` +
        `"${USE_TFJS_REFERENCE}".`,
    );
  }
  const model = target._tokenizer?.model;
  const vocab = target._tokenizerJSON?.model?.vocab;
  // Duck-typed: class names do not survive minified builds.
  if (
    !model ||
    !Array.isArray(model.scores) ||
    typeof model.tokenize !== 'function' ||
    !Array.isArray(vocab)
  ) {
    throw new Error(`tokenizer.json must hold a Unigram model to follow ${USE_TFJS_REFERENCE}.`);
  }
  // Scores from tokenizer.json itself: transformers.js overwrites the unknown piece's score.
  const pieces: UnigramPiece[] = vocab.map(([piece, score]) => ({ piece, score: score ?? 0 }));
  const reference = new ReferenceUnigram(pieces, {
    reserved: USE_RESERVED_ENTRIES,
    unknownId: model.unk_token_id,
  });
  model.tokenize = (text: string) => reference.encode(text).map((id) => model.vocab[id] ?? '');
  return true;
}
