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
  children: Map<string, TrieNode>;
  /** Vocabulary id of the piece ending here, or -1. */
  id: number;
}

/** Reference unigram tokenizer over a vocabulary whose first `reserved` entries are never matched. */
export class ReferenceUnigram {
  readonly #pieces: readonly UnigramPiece[];
  readonly #root: TrieNode = { children: new Map(), id: -1 };
  readonly #unknownId: number;

  /**
   * @param pieces the vocabulary in id order.
   * @param options `reserved`: leading entries left out of the lattice; `unknownId`: the id of unknown
   * characters (its piece counts as one UTF-16 unit when backtracking, like the reference's "\uFFFD").
   */
  constructor(pieces: readonly UnigramPiece[], options: { reserved: number; unknownId: number }) {
    this.#pieces = pieces;
    this.#unknownId = options.unknownId;
    for (let id = options.reserved; id < pieces.length; id++) {
      let node = this.#root;
      for (const symbol of pieces[id]!.piece) {
        let child = node.children.get(symbol);
        if (!child) {
          child = { children: new Map(), id: -1 };
          node.children.set(symbol, child);
        }
        node = child;
      }
      // A piece listed twice keeps its last id, as the reference's trie does.
      node.id = id;
    }
  }

  /** Length of a piece in UTF-16 units, as the reference's backtrack measures it. */
  #backtrackLength(id: number): number {
    return id === this.#unknownId ? 1 : (this.#pieces[id]?.piece.length ?? 1);
  }

  /**
   * Token ids of an already normalised text (NFKC, spaces replaced by "▁", one leading "▁").
   * @returns the ids in text order; an empty text gives none.
   */
  encode(normalized: string): number[] {
    const symbols = Array.from(normalized);
    const n = symbols.length;
    // candidates[end] lists [start, id, score] of every piece ending at `end`, by increasing start.
    const candidates: Array<Array<[number, number, number]>> = Array.from({ length: n + 1 }, () => []);
    for (let start = 0; start < n; start++) {
      let node: TrieNode | undefined = this.#root;
      let matched = false;
      for (let end = start; end < n && node; end++) {
        node = node.children.get(symbols[end]!);
        if (node && node.id >= 0) {
          candidates[end + 1]!.push([start, node.id, this.#pieces[node.id]!.score]);
          matched = true;
        }
      }
      if (!matched) candidates[start + 1]!.push([start, this.#unknownId, 0]);
    }
    for (const list of candidates) list.sort((a, b) => a[0] - b[0]);

    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    for (let end = 0; end <= n; end++) {
      for (const [start, id, score] of candidates[end]!) {
        const total = score + best[start]!;
        if (best[end] === 0 || total >= best[end]!) {
          best[end] = total;
          words[end] = id;
        }
      }
    }
    const reversed: number[] = [];
    for (let at = n; at > 0; at -= this.#backtrackLength(words[at]!)) reversed.push(words[at]!);
    const ids: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      const id = reversed[i]!;
      if (id === this.#unknownId && ids.at(-1) === this.#unknownId) continue;
      ids.push(id);
    }
    return ids;
  }
}
