/**
 * @file The SentencePiece unigram segmentation exactly as the Universal Sentence Encoder's TensorFlow.js
 * tokenizer computes it, for models whose tokenizer must reproduce that reference bit for bit.
 *
 * It differs from SentencePiece and Hugging Face's `Unigram` in three details, each of which changes token ids on
 * real text (runs of repeated punctuation such as "___" or "----" are the common case):
 * - ties between equally scored segmentations go to the one whose last piece is shortest (a later start wins,
 *   `>=`), where the others keep the longest;
 * - a position that no vocabulary piece starts with becomes the unknown id with score 0, and a best score of
 *   exactly 0 counts as "not reached yet", so the next candidate replaces it;
 * - the backtrack steps back by each piece's length in UTF-16 units.
 * Runs of unknown ids are fused into one, as in the reference.
 */

/** One vocabulary piece: its text and score (log-probability; a missing score counts as 0). */
export interface UnigramPiece {
  piece: string;
  score: number;
}

interface TrieNode {
  /** By the next code point. */
  children: Map<number, TrieNode>;
  /** Vocabulary id of the piece ending here, or -1. */
  id: number;
}

/** Reference unigram tokenizer over a vocabulary whose first `reserved` entries are never matched. */
export class ReferenceUnigram {
  readonly #root: TrieNode = { children: new Map(), id: -1 };
  /** Score of each vocabulary id. */
  readonly #scores: Float64Array;
  /** Length of each piece in UTF-16 units, as the reference's backtrack measures it (the unknown id: 1). */
  readonly #backtrackLengths: Int32Array;
  readonly #unknownId: number;

  /**
   * @param pieces the vocabulary in id order.
   * @param options `reserved`: leading entries left out of the lattice; `unknownId`: the id of unknown
   * characters (its piece counts as one UTF-16 unit when backtracking, like the reference's "\uFFFD").
   */
  constructor(pieces: readonly UnigramPiece[], options: { reserved: number; unknownId: number }) {
    this.#unknownId = options.unknownId;
    this.#scores = Float64Array.from(pieces, (piece) => piece.score);
    this.#backtrackLengths = Int32Array.from(pieces, (piece) => piece.piece.length);
    if (this.#unknownId >= 0 && this.#unknownId < pieces.length) this.#backtrackLengths[this.#unknownId] = 1;
    for (let id = options.reserved; id < pieces.length; id++) {
      let node = this.#root;
      for (const symbol of pieces[id]!.piece) {
        const point = symbol.codePointAt(0)!;
        let child = node.children.get(point);
        if (!child) {
          child = { children: new Map(), id: -1 };
          node.children.set(point, child);
        }
        node = child;
      }
      // A piece listed twice keeps its last id, as the reference's trie does.
      node.id = id;
    }
  }

  /**
   * Token ids of an already normalised text (NFKC, spaces replaced by "▁", one leading "▁").
   * @returns the ids in text order; an empty text gives none.
   */
  encode(normalized: string): number[] {
    const points: number[] = [];
    for (const symbol of normalized) points.push(symbol.codePointAt(0)!);
    const n = points.length;
    const scores = this.#scores;
    // best[end] and words[end]: the best total score of a segmentation of the first `end` symbols and the id of
    // its last piece. One forward pass: every piece starting at `start` is offered to its end as soon as
    // best[start] is final (every piece ending at `start` starts earlier), so each end sees its candidates by
    // increasing start, the order the reference compares them in.
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    const offer = (end: number, id: number, total: number): void => {
      if (best[end] === 0 || total >= best[end]!) {
        best[end] = total;
        words[end] = id;
      }
    };
    for (let start = 0; start < n; start++) {
      const before = best[start]!;
      let node: TrieNode | undefined = this.#root;
      let matched = false;
      for (let end = start; end < n; end++) {
        node = node.children.get(points[end]!);
        if (node === undefined) break;
        if (node.id >= 0) {
          offer(end + 1, node.id, scores[node.id]! + before);
          matched = true;
        }
      }
      if (!matched) offer(start + 1, this.#unknownId, 0 + before);
    }
    const reversed: number[] = [];
    for (let at = n; at > 0; at -= this.#backtrackLengths[words[at]!] ?? 1) reversed.push(words[at]!);
    const ids: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      const id = reversed[i]!;
      if (id === this.#unknownId && ids.at(-1) === this.#unknownId) continue;
      ids.push(id);
    }
    return ids;
  }
}
