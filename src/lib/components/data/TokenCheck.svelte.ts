/**
 * @file How many texts of a dataset are longer than the loaded model reads. The model worker's tokenizer counts
 * them (`count-tokens`); longer texts are truncated when embedded, so their ends never reach any method.
 * Re-checks by itself whenever the texts or the loaded model change.
 */
import { untrack } from 'svelte';
import { FrameLatest } from '../../clients/frame-batch.ts';
import { messageOf, type ModelClient } from '../../clients/ModelClient.svelte.ts';

/** What the check found; `idle` when there are no texts to check. */
export type TokenCheckResult =
  | { status: 'idle' }
  | { status: 'no-model' }
  | { status: 'checking'; modelId: string; total: number; counted: number }
  | { status: 'done'; modelId: string; maxTokens: number; total: number; over: number; longest: number }
  | { status: 'error'; message: string };

/** Counts tokens of `texts()` with the loaded model; create it during component setup (it owns an effect). */
export class TokenCheck {
  result = $state.raw<TokenCheckResult>({ status: 'idle' });

  readonly #model: ModelClient;
  /** Bumped by every check, so a slow count for old texts or an old model never overwrites a newer one. */
  #generation = 0;
  /** Stops the count of the check before, which nobody needs once the texts or the model changed. */
  #controller: AbortController | undefined;

  constructor(model: ModelClient, texts: () => readonly string[] | undefined) {
    this.#model = model;
    $effect(() => {
      const list = texts();
      const info = model.ready ? model.info : undefined;
      untrack(() => void this.#check(list, info?.modelId, info?.maxTokens));
      // Runs before the next check and when the component goes: its count is not needed any more.
      return () => this.#controller?.abort();
    });
  }

  async #check(
    texts: readonly string[] | undefined,
    modelId: string | undefined,
    maxTokens: number | undefined,
  ): Promise<void> {
    const generation = ++this.#generation;
    if (texts === undefined || texts.length === 0) {
      this.result = { status: 'idle' };
      return;
    }
    if (modelId === undefined || maxTokens === undefined) {
      this.result = { status: 'no-model' };
      return;
    }
    const total = texts.length;
    this.result = { status: 'checking', modelId, total, counted: 0 };
    const controller = new AbortController();
    this.#controller = controller;
    // The worker says how far it got after each slice; the page shows it once per frame.
    const progress = new FrameLatest((counted: number) => {
      if (generation === this.#generation) this.result = { status: 'checking', modelId, total, counted };
    });
    try {
      const counts = await this.#model.countTokens([...texts], undefined, {
        signal: controller.signal,
        onProgress: (done) => progress.set(done),
      });
      progress.clear();
      if (generation !== this.#generation) return;
      let over = 0;
      let longest = 0;
      for (const count of counts) {
        if (count > maxTokens) over++;
        longest = Math.max(longest, count);
      }
      this.result = { status: 'done', modelId, maxTokens, total: texts.length, over, longest };
    } catch (error) {
      progress.clear();
      if (generation !== this.#generation) return;
      this.result = { status: 'error', message: messageOf(error) };
    } finally {
      if (this.#controller === controller) this.#controller = undefined;
    }
  }
}

/** The sentence the report shows for a token check. */
export function describeTokenCheck(result: TokenCheckResult): string {
  switch (result.status) {
    case 'idle':
      return '';
    case 'no-model':
      return 'Text length: load a model to check length against its token limit.';
    case 'checking':
      return result.counted > 0
        ? `Counting the tokens of ${result.total} texts with ${result.modelId}… ${result.counted} so far.`
        : `Counting the tokens of ${result.total} texts with ${result.modelId}…`;
    case 'error':
      return `Could not count tokens: ${result.message}`;
    case 'done':
      return result.over === 0
        ? `All ${result.total} texts fit in the ${result.maxTokens}-token limit of ${result.modelId} ` +
            `(the longest has ${result.longest} tokens).`
        : `${result.over} of ${result.total} texts are longer than the ${result.maxTokens}-token limit of ` +
            `${result.modelId} and will be truncated (the longest has ${result.longest} tokens).`;
  }
}
