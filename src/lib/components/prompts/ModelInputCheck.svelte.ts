/**
 * @file Token counts of "what the model sees": every measured piece of a rendering is counted with the loaded
 * model's tokenizer in one worker call (a premise with its hypothesis as one pair), and each piece over the model's
 * limit is searched for where the cut falls (core/prompts/measure-pieces.ts). Re-counts by itself whenever the
 * pieces or the loaded model change; a slow count for an old rendering never overwrites a newer one.
 */
import { untrack } from 'svelte';
import { messageOf, type ModelClient } from '../../clients/ModelClient.svelte.ts';
import type { ModelInputPiece } from '../../core/prompts/model-input.ts';
import { measurePieces, type CountTokenPairs } from '../../core/prompts/measure-pieces.ts';
import type { TokenMeasure } from '../../core/prompts/truncation.ts';

/** What the count found, per piece in rendering order (undefined for a piece the strategy measures itself). */
export type ModelInputCount =
  | { status: 'idle' }
  | { status: 'no-model' }
  | { status: 'counting'; modelId: string }
  | { status: 'done'; modelId: string; maxTokens: number; measures: (TokenMeasure | undefined)[] }
  | { status: 'error'; message: string };

/** Counts the tokens of `pieces()` with the loaded model; create it during component setup (it owns an effect). */
export class ModelInputCheck {
  result = $state.raw<ModelInputCount>({ status: 'idle' });

  readonly #model: ModelClient;
  #generation = 0;

  constructor(model: ModelClient, pieces: () => readonly ModelInputPiece[] | undefined) {
    this.#model = model;
    $effect(() => {
      const list = pieces();
      const info = model.ready ? model.info : undefined;
      untrack(() => void this.#count(list, info?.modelId, info?.maxTokens));
    });
  }

  async #count(
    pieces: readonly ModelInputPiece[] | undefined,
    modelId: string | undefined,
    maxTokens: number | undefined,
  ): Promise<void> {
    const generation = ++this.#generation;
    if (pieces === undefined || pieces.length === 0) {
      this.result = { status: 'idle' };
      return;
    }
    if (modelId === undefined || maxTokens === undefined) {
      this.result = { status: 'no-model' };
      return;
    }
    this.result = { status: 'counting', modelId };
    const count: CountTokenPairs = (texts, pairs) =>
      this.#model.countTokens(texts, pairs.some((pair) => pair !== null) ? pairs : undefined);
    try {
      const measures = await measurePieces(pieces, maxTokens, count, () => generation !== this.#generation);
      if (measures === undefined || generation !== this.#generation) return;
      this.result = { status: 'done', modelId, maxTokens, measures };
    } catch (error) {
      if (generation !== this.#generation) return;
      this.result = { status: 'error', message: messageOf(error) };
    }
  }
}
