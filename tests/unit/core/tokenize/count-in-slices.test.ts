import { describe, expect, it } from 'vitest';
import { countTokensInSlices, type CountTokens } from '../../../../src/lib/core/tokenize/count-in-slices.ts';

/** A tokenizer that counts words (and a pair's words), remembering every call. */
function wordCounter(): { count: CountTokens; calls: number[] } {
  const calls: number[] = [];
  const count: CountTokens = async (texts, pairs) => {
    calls.push(texts.length);
    return texts.map((text, i) => text.split(' ').length + (pairs?.[i]?.split(' ').length ?? 0));
  };
  return { count, calls };
}

const texts = Array.from({ length: 100 }, (_, i) => Array.from({ length: (i % 7) + 1 }, () => 'w').join(' '));

describe('countTokensInSlices', () => {
  it('gives the counts of one call, in order, pairs included', async () => {
    const { count } = wordCounter();
    const pairs = texts.map((_, i) => (i % 3 === 0 ? 'a b' : null));
    expect(await countTokensInSlices(count, texts, pairs, { sliceMs: 0 })).toEqual(await count(texts, pairs));
  });

  it('lets other tasks run between slices and reports progress after each', async () => {
    const { count, calls } = wordCounter();
    const progress: number[] = [];
    let otherTaskRan = false;
    setTimeout(() => (otherTaskRan = true), 0);
    // sliceMs 0: every slice is one chunk of 16 texts.
    const counts = await countTokensInSlices(count, texts, undefined, {
      sliceMs: 0,
      onProgress: (done, total) => {
        expect(total).toBe(100);
        progress.push(done);
      },
    });
    expect(counts).toHaveLength(100);
    expect(calls).toEqual([16, 16, 16, 16, 16, 16, 4]);
    expect(progress).toEqual([16, 32, 48, 64, 80, 96, 100]);
    expect(otherTaskRan).toBe(true);
  });

  it('counts many chunks in one slice while the slice lasts', async () => {
    const { count, calls } = wordCounter();
    const progress: number[] = [];
    await countTokensInSlices(count, texts, undefined, {
      sliceMs: 60_000,
      onProgress: (done) => progress.push(done),
    });
    expect(calls).toHaveLength(7);
    expect(progress).toEqual([100]);
  });

  it('stops where beforeSlice throws, without counting further', async () => {
    const { count, calls } = wordCounter();
    let slices = 0;
    const counting = countTokensInSlices(count, texts, undefined, {
      sliceMs: 0,
      beforeSlice: () => {
        if (++slices === 2) throw new Error('cancelled');
      },
    });
    await expect(counting).rejects.toThrow('cancelled');
    expect(calls).toEqual([16, 16]);
  });

  it('refuses pairs that do not line up and a tokenizer that loses texts', async () => {
    const { count } = wordCounter();
    await expect(countTokensInSlices(count, texts, [null], {})).rejects.toThrow(
      '1 pairs were given for 100 texts',
    );
    const lossy: CountTokens = async (some) => some.slice(1).map(() => 1);
    await expect(countTokensInSlices(lossy, texts, undefined, {})).rejects.toThrow(
      'The tokenizer returned 15 counts for 16 texts.',
    );
  });

  it('counts nothing for no texts', async () => {
    const { count, calls } = wordCounter();
    expect(await countTokensInSlices(count, [], undefined, {})).toEqual([]);
    expect(calls).toEqual([]);
  });
});
