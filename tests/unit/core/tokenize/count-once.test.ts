import { describe, expect, it } from 'vitest';
import type { Encoder } from '../../../../src/lib/core/ports.ts';
import { countTokensOnce, MAX_KNOWN_COUNTS } from '../../../../src/lib/core/tokenize/count-once.ts';

/** An encoder whose tokenizer counts characters and remembers how many texts each call was given. */
function counter(lose = false): { encoder: Encoder; calls: string[][] } {
  const calls: string[][] = [];
  const encoder = {
    modelId: 'chars',
    async countTokens(texts: string[]) {
      calls.push(texts);
      return (lose ? texts.slice(1) : texts).map((text) => text.length);
    },
  } as unknown as Encoder;
  return { encoder, calls };
}

describe('countTokensOnce', () => {
  it('counts each distinct text once per encoder, across calls and callers, and answers in input order', async () => {
    const { encoder, calls } = counter();
    expect(await countTokensOnce(encoder)(['aa', 'b', 'aa', ''])).toEqual([2, 1, 2, 0]);
    // Another caller of the same encoder (the worker makes one per request) shares what is known.
    expect(await countTokensOnce(encoder)(['ccc', 'b', ''])).toEqual([3, 1, 0]);
    expect(await countTokensOnce(encoder)(['', 'aa'])).toEqual([0, 2]);
    expect(calls).toEqual([['aa', 'b', ''], ['ccc']]);
  });

  it('keeps each encoder apart: another tokenizer counts again', async () => {
    const first = counter();
    const second = counter();
    await countTokensOnce(first.encoder)(['aa']);
    expect(await countTokensOnce(second.encoder)(['aa'])).toEqual([2]);
    expect(second.calls).toEqual([['aa']]);
  });

  it(`remembers at most ${MAX_KNOWN_COUNTS} texts, then starts again with the newest`, async () => {
    const { encoder, calls } = counter();
    const count = countTokensOnce(encoder);
    const many = Array.from({ length: MAX_KNOWN_COUNTS }, (_, i) => `t${i}`);
    await count(many);
    await count(['t0', 'over']);
    expect(calls.at(-1)).toEqual(['over']);
    // One more than the limit: the memory started again with the newest texts only, and still answers rightly.
    expect(await count(['t0', 'over', 't1'])).toEqual([2, 4, 2]);
    expect(calls.at(-1)).toEqual(['t0', 't1']);
    expect(await count(['over', 't0', 't1'])).toEqual([4, 2, 2]);
    expect(calls).toHaveLength(3);
  });

  it('refuses an encoder that returns another number of counts', async () => {
    const { encoder } = counter(true);
    await expect(countTokensOnce(encoder)(['a', 'b'])).rejects.toThrow(
      'Encoder "chars" returned 1 token counts for 2 texts.',
    );
  });
});
