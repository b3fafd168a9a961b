/**
 * @file The causal LM scorer of the transformers.js adapter on the tiny-gpt2 fixture: continuation
 * log-probabilities with the prefix's KV cache reused equal a reference computed here without any cache (one
 * full, unpadded forward pass per text and label), within 1e-5; tokenization without special tokens; the
 * refusal of a model without an LM head.
 */
import { AutoModelForCausalLM, Tensor, type PreTrainedModel } from '@huggingface/transformers';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CausalScorer } from '../../../src/lib/core/ports.ts';
import { loadCausalScorer, NotCausalModelError } from '../../../src/lib/ml/transformers-adapter.ts';
import { FIXTURE_MODELS_DIR, useLocalFixtureModels } from '../fixtures/fixture-helpers.ts';

const TOLERANCE = 1e-5;
const folder = (name: string) => ({ kind: 'folder' as const, path: join(FIXTURE_MODELS_DIR, name) });

let scorer: CausalScorer;
let reference: PreTrainedModel;

beforeAll(async () => {
  scorer = await loadCausalScorer(folder('tiny-gpt2'), { device: 'cpu', dtype: 'fp32' });
  useLocalFixtureModels();
  reference = await AutoModelForCausalLM.from_pretrained('tiny-gpt2', { dtype: 'fp32' });
}, 60_000);

afterAll(async () => {
  await scorer?.dispose();
  await reference?.dispose();
});

/** Log-probabilities of `continuation` after `context`, from one full forward pass without a cache. */
async function referenceLogProbs(
  context: readonly number[],
  continuation: readonly number[],
): Promise<number[]> {
  const ids = [...context, ...continuation];
  const int64 = (values: number[]) =>
    new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
  const { logits } = (await reference({
    input_ids: int64(ids),
    attention_mask: int64(ids.map(() => 1)),
  })) as {
    logits: Tensor;
  };
  const vocab = logits.dims[2] as number;
  const data = logits.data as Float32Array;
  return continuation.map((id, j) => {
    const row = data.subarray((context.length - 1 + j) * vocab, (context.length + j) * vocab);
    const top = Math.max(...row);
    const total = row.reduce((sum, value) => sum + Math.exp(value - top), 0);
    return (row[id] as number) - top - Math.log(total);
  });
}

describe('loadCausalScorer on tiny-gpt2', () => {
  it('tokenizes without special tokens: each label word with its space is one token', async () => {
    for (const word of [' sports', ' weather', ' food']) expect(await scorer.tokenize(word)).toHaveLength(1);
    expect(await scorer.tokenize('')).toEqual([]);
    const ids = await scorer.tokenize('Text: The football match');
    expect(await scorer.decode(ids)).toBe('Text: The football match');
    expect(scorer.maxTokens).toBe(128);
    expect(await scorer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBeUndefined();
  });

  it('reuses the prefix KV cache and matches a no-cache reference within 1e-5, for texts of any length', async () => {
    const prefix = await scorer.tokenize(
      'Classify the topic.\n\nText: The rain fell.\nAnswer: weather\n\nText:',
    );
    const contexts = await Promise.all(
      [' The football team won the match.\nAnswer:', ' Soup.\nAnswer:', '\nAnswer:'].map((text) =>
        scorer.tokenize(text),
      ),
    );
    // Verbalizers of different lengths (one, two and three tokens), so rows are padded.
    const continuations = await Promise.all(
      [' sports', ' food and', ' weather or not'].map((t) => scorer.tokenize(t)),
    );
    expect(continuations[0]).toHaveLength(1);
    expect(Math.max(...continuations.map((ids) => ids.length))).toBeGreaterThan(2);
    const progress: number[] = [];
    const cached = await scorer.continuationLogProbs({ prefix, contexts, continuations }, (done) =>
      progress.push(done),
    );
    const uncached = await scorer.continuationLogProbs({
      prefix,
      contexts,
      continuations,
      reusePrefix: false,
    });
    expect(progress).toEqual([1, 2, 3]);
    let largest = 0;
    for (const [c, context] of contexts.entries()) {
      for (const [l, continuation] of continuations.entries()) {
        const expected = await referenceLogProbs([...prefix, ...context], continuation);
        const got = cached[c]?.[l] ?? [];
        const plain = uncached[c]?.[l] ?? [];
        expect(got).toHaveLength(continuation.length);
        expected.forEach((value, j) => {
          largest = Math.max(
            largest,
            Math.abs(value - (got[j] as number)),
            Math.abs(value - (plain[j] as number)),
          );
        });
      }
    }
    expect(largest).toBeLessThan(TOLERANCE);
    // The designed fixture: after a football text, " sports" is likelier than " food".
    expect(cached[0]?.[0]?.[0]).toBeGreaterThan(cached[0]?.[1]?.[0] ?? 0);
  });

  it('refuses an input longer than the model takes', async () => {
    const long = Array.from({ length: 130 }, () => 0);
    await expect(
      scorer.continuationLogProbs({ prefix: long, contexts: [[1]], continuations: [[2]] }),
    ).rejects.toThrow(/takes 128 tokens; this input has/);
  });
});

describe('loadCausalScorer refuses a model without an LM head', () => {
  it('names the model, what it lacks, and what to choose', async () => {
    const error = await loadCausalScorer(folder('tiny-bert'), { device: 'cpu', dtype: 'fp32' }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NotCausalModelError);
    expect((error as Error).message).toMatch(
      /tiny-bert is not a causal language model with an LM head: .*bert.*set the prompt's "model" to one/s,
    );
  });
});
