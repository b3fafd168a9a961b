/**
 * @file The Universal Sentence Encoder Lite's SentencePiece unigram vocabulary as a Hugging Face `tokenizer.json`
 * that transformers.js (and the Python `tokenizers` library) load.
 *
 * The reference tokenizer (the one shipped with the model for TensorFlow.js): NFKC-normalise the text, replace
 * every space with "▁" and put one "▁" in front (unless the text is empty), then choose the segmentation with the
 * highest total score (Viterbi) over the vocabulary without its 6 reserved entries; a character no piece starts
 * with becomes id 0, and runs of id 0 are fused. Here: a normalizer sequence NFKC → Replace(" " → "▁") →
 * Prepend("▁"), no pre-tokenizer (the whole text is one lattice, as in the reference), and a Unigram model with
 * `unk_id` 0. The reserved entries keep their ids but get names containing a space, which the normalised text
 * never contains, so they are never matched (as in the reference, whose lattice leaves them out).
 */

/** One vocabulary entry of the package's vocab.json: [piece, log-probability score (null read as 0)]. */
export type VocabEntry = [string, number];

/** The reference tokenizer leaves this many leading entries out of its lattice. */
export const RESERVED_ENTRIES = 6;

/** Names of the reserved entries (ids 0..5); each contains a space, so no normalised text can match one. */
const RESERVED_NAMES = [
  '<unknown piece>',
  '<start of text>',
  '<end of text>',
  '<extra token 1>',
  '<extra token 2>',
  '<extra token 3>',
];

const METASPACE = '\u2581';

/**
 * Checks the package's vocabulary and returns the tokenizer.json object.
 * @throws Error when the vocabulary is not a list of [piece, score] pairs or a piece could be confused with a
 * reserved entry.
 */
export function buildUseLiteTokenizer(vocab: unknown): Record<string, unknown> {
  if (!Array.isArray(vocab) || vocab.length <= RESERVED_ENTRIES) {
    throw new Error('vocab.json is not a list of [piece, score] pairs.');
  }
  const entries: VocabEntry[] = vocab.map((entry: unknown, id): VocabEntry => {
    if (
      !Array.isArray(entry) ||
      typeof entry[0] !== 'string' ||
      !(typeof entry[1] === 'number' || entry[1] === null)
    ) {
      throw new Error(`vocab.json entry ${id} is not a [piece, score] pair.`);
    }
    // A few pieces (those with ':') have a null score, which the reference's arithmetic reads as 0.
    const score = entry[1] ?? 0;
    if (id >= RESERVED_ENTRIES && entry[0].includes(' ')) {
      throw new Error(`vocab.json piece ${id} contains a space; the conversion assumes no piece does.`);
    }
    return id < RESERVED_ENTRIES ? [RESERVED_NAMES[id]!, score] : [entry[0], score];
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKC' },
        { type: 'Replace', pattern: { String: ' ' }, content: METASPACE },
        { type: 'Prepend', prepend: METASPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: METASPACE, prepend_scheme: 'always', split: false },
    model: { type: 'Unigram', unk_id: 0, vocab: entries, byte_fallback: false },
  };
}
