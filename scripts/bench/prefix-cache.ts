/**
 * @file The prefix-cache part of `npm run bench`: scoring instruction prompts with the shared prefix's KV cache
 * computed once and reused for every text and label, against running every full sequence without it, on the same
 * token ids. Reports the ratio (a speed-up, not an absolute time) and the largest difference in log-probability.
 */
import { buildDatasetFromRef } from '../../src/lib/core/dataset/ref.ts';
import { stratifiedSplit } from '../../src/lib/core/split/split.ts';
import { prepareInstruction, renderExample } from '../../src/lib/core/prompts/instruction.ts';
import { loadCausalScorer } from '../../src/lib/ml/transformers-adapter.ts';

/** What the prefix-cache bench measured on one causal LM. */
export interface PrefixCacheBench {
  model: string;
  texts: number;
  labels: number;
  prefixTokens: number;
  /** Mean tokens after the prefix per text (text + suffix). */
  meanContextTokens: number;
  withCache: { medianMs: number; runsMs: number[] };
  withoutCache: { medianMs: number; runsMs: number[] };
  /** withoutCache / withCache: how much faster reuse is. */
  speedUp: number;
  /** Largest absolute difference between the two ways' log-probabilities. */
  maxAbsDifference: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/**
 * Benchmarks prefix reuse on the causal LM in `folder` with a few-shot prompt on the topics dataset
 * (`shotsPerClass` examples per label, then `texts` test texts).
 */
export async function benchPrefixCache(
  model: string,
  folder: string,
  options: { texts: number; shotsPerClass: number; warmupRuns: number; timedRuns: number },
): Promise<PrefixCacheBench> {
  const scorer = await loadCausalScorer({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' });
  try {
    const { dataset } = buildDatasetFromRef({ builtin: 'topics' });
    const labels = [...dataset.labels];
    const split = stratifiedSplit(dataset, { test: 0.5, seed: 42 });
    const train = split.train;
    const test = split.test.slice(0, options.texts);
    const prepared = await prepareInstruction({
      prompt: {
        name: 'bench',
        strategy: 'instruction',
        instruction: 'Classify the topic of the text.',
        verbalizers: Object.fromEntries(labels.map((label) => [label, ` ${label}`])),
        shotsPerClass: options.shotsPerClass,
      },
      path: 'bench',
      labels,
      train,
      seed: 42,
      scorer,
    });
    const contexts = await Promise.all(
      test.map(async (example) => (await renderExample(prepared, example.text, scorer)).contextIds),
    );
    const request = { prefix: prepared.prefixIds, contexts, continuations: prepared.verbalizerIds };
    const timed = async (reusePrefix: boolean) => {
      for (let run = 0; run < options.warmupRuns; run++)
        await scorer.continuationLogProbs({ ...request, reusePrefix });
      const runsMs: number[] = [];
      let last: number[][][] = [];
      for (let run = 0; run < options.timedRuns; run++) {
        const start = performance.now();
        last = await scorer.continuationLogProbs({ ...request, reusePrefix });
        runsMs.push(performance.now() - start);
      }
      return { medianMs: median(runsMs), runsMs, last };
    };
    const withCache = await timed(true);
    const withoutCache = await timed(false);
    const a = withCache.last.flat(2);
    const b = withoutCache.last.flat(2);
    const maxAbsDifference = a.reduce(
      (most, value, i) => Math.max(most, Math.abs(value - (b[i] as number))),
      0,
    );
    return {
      model,
      texts: contexts.length,
      labels: labels.length,
      prefixTokens: prepared.prefixIds.length,
      meanContextTokens: contexts.reduce((sum, ids) => sum + ids.length, 0) / contexts.length,
      withCache: { medianMs: withCache.medianMs, runsMs: withCache.runsMs },
      withoutCache: { medianMs: withoutCache.medianMs, runsMs: withoutCache.runsMs },
      speedUp: withoutCache.medianMs / withCache.medianMs,
      maxAbsDifference,
    };
  } finally {
    await scorer.dispose();
  }
}

/** One line per model for the bench's printed table. */
export function formatPrefixCache(results: readonly PrefixCacheBench[]): string {
  const lines = results.map(
    (r) =>
      `${r.model}: ${r.texts} texts × ${r.labels} labels, prefix ${r.prefixTokens} tokens, ~${Math.round(r.meanContextTokens)} ` +
      `per text: with cache ${r.withCache.medianMs.toFixed(0)} ms, without ${r.withoutCache.medianMs.toFixed(0)} ms, ` +
      `speed-up ${r.speedUp.toFixed(2)}×, max |Δ log p| ${r.maxAbsDifference.toExponential(1)}`,
  );
  return `Instruction prompts: prefix KV cache reused vs none (median)\n${lines.join('\n')}`;
}
