/**
 * @file What a McNemar comparison allows one to say, in words: which run is better and how rarely chance alone
 * would produce a difference this large, or that the test examples give no evidence either way. Pure, so the
 * app, the report and the CLI say the same sentence for the same numbers.
 */
import type { ExperimentResults, RunComparison, RunResult } from '../experiment/types.ts';

/** How strong the evidence of a comparison is, from its p-value. */
export type Evidence = 'strong' | 'clear' | 'some' | 'weak' | 'none';

/** One comparison said in words. */
export interface ComparisonVerdict {
  /** The better run's name, or null when the examples give no evidence either is better. */
  better: string | null;
  /** The other run's name when `better` is set. */
  worse: string | null;
  evidence: Evidence;
  /** The sentence to show, e.g. `"head" is better; a difference this large would arise by chance …`. */
  text: string;
}

/** Thresholds of the wording: p below `below` reads as "less than 1 time in `oneIn`". */
const CHANCE_WORDING: readonly { below: number; oneIn: number; evidence: Evidence }[] = [
  { below: 0.001, oneIn: 1000, evidence: 'strong' },
  { below: 0.01, oneIn: 100, evidence: 'clear' },
  { below: 0.05, oneIn: 20, evidence: 'some' },
];

/** 1000 → "1,000". */
function grouped(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "1 example" / "3 examples". */
function examples(count: number): string {
  return count === 1 ? '1 example' : `${grouped(count)} examples`;
}

/** A p-value as shown beside the words: three significant digits, "< 0.0001" below that. */
export function formatP(p: number): string {
  if (!Number.isFinite(p) || p < 0 || p > 1) throw new RangeError(`A p-value is between 0 and 1, got ${p}.`);
  if (p < 0.0001) return 'p < 0.0001';
  return `p = ${Number(p.toPrecision(2))}`;
}

/**
 * Says what one McNemar comparison allows on `testSize` examples: with p < 0.05 the run that got more of the
 * disputed examples right "is better", with how rarely chance would give such a difference (1 in 20, 100 or
 * 1,000); otherwise there is no evidence either is better (a p under 0.1 is called a hint, not evidence).
 * @throws RangeError when the counts do not fit the test size or p is not a probability.
 */
export function describeComparison(comparison: RunComparison, testSize: number): ComparisonVerdict {
  const { a, b, onlyA, onlyB, p } = comparison;
  if (!Number.isInteger(testSize) || testSize < 1) {
    throw new RangeError(`The test size must be a positive integer, got ${testSize}.`);
  }
  if (onlyA < 0 || onlyB < 0 || onlyA + onlyB > testSize) {
    throw new RangeError(
      `The runs cannot disagree on ${onlyA + onlyB} of ${testSize} test examples (onlyA ${onlyA}, onlyB ${onlyB}).`,
    );
  }
  const pText = formatP(p);
  const on = `on these ${examples(testSize)}`;
  if (onlyA === onlyB) {
    const detail =
      onlyA === 0
        ? 'both runs got exactly the same examples right'
        : `each gets ${examples(onlyA)} right that the other gets wrong`;
    return {
      better: null,
      worse: null,
      evidence: 'none',
      text: `No evidence either is better ${on}: ${detail}.`,
    };
  }
  const [better, worse, wins, losses] = onlyA > onlyB ? [a, b, onlyA, onlyB] : [b, a, onlyB, onlyA];
  const tally = `"${better}" gets ${examples(wins)} right that "${worse}" gets wrong, ${losses} the other way`;
  const wording = CHANCE_WORDING.find((level) => p < level.below);
  if (wording) {
    return {
      better,
      worse,
      evidence: wording.evidence,
      text:
        `"${better}" is better; a difference this large would arise by chance less than 1 time in ` +
        `${grouped(wording.oneIn)} (${tally}; ${pText}).`,
    };
  }
  if (p < 0.1) {
    return {
      better: null,
      worse: null,
      evidence: 'weak',
      text:
        `No firm evidence either is better ${on}: a hint in favour of "${better}" (${tally}; ${pText}), ` +
        'but chance alone gives a difference this large more than 1 time in 20.',
    };
  }
  return {
    better: null,
    worse: null,
    evidence: 'none',
    text: `No evidence either is better ${on} (${tally}; ${pText}).`,
  };
}

/** The best run of a kind by accuracy (first wins ties), or undefined when there is none. */
export function bestRun(runs: readonly RunResult[], kind: RunResult['kind']): RunResult | undefined {
  let best: RunResult | undefined;
  for (const run of runs) {
    if (run.kind === kind && (best === undefined || run.accuracy > best.accuracy)) best = run;
  }
  return best;
}

/** The comparison between runs named `x` and `y` in either order, oriented so that `a` is `x`. */
export function findComparison(
  comparisons: readonly RunComparison[] | undefined,
  x: string,
  y: string,
): RunComparison | undefined {
  for (const comparison of comparisons ?? []) {
    if (comparison.a === x && comparison.b === y) return comparison;
    if (comparison.a === y && comparison.b === x) {
      return { a: x, b: y, onlyA: comparison.onlyB, onlyB: comparison.onlyA, p: comparison.p };
    }
  }
  return undefined;
}

/** The experiment's answer to "prompt or fine-tune?", with the sentence that gives it. */
export interface Answer {
  /** `prompt`: a prompt is as good or better; `fine-tune`: a trained head is better; `undecided`: one side is missing. */
  choice: 'prompt' | 'fine-tune' | 'undecided';
  /** The headline, a few sentences. */
  text: string;
  /** The comparison behind it (best prompt vs best head), when both were run. */
  verdict?: ComparisonVerdict;
}

/** 0.8567 → "85.7%". */
function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** "85.7% (95% CI 80.0–90.1%)" when the run has an interval. */
export function accuracyWithInterval(run: RunResult): string {
  const ci = run.accuracyCI;
  return ci ? `${pct(run.accuracy)} (95% CI ${pct(ci[0])}–${pct(ci[1])})` : pct(run.accuracy);
}

/**
 * The answer of an experiment: the best prompt against the best head by McNemar. A head that is not
 * significantly better means a prompt is enough here (it needs no labels and no training); a significantly
 * better head means fine-tuning pays off. The learning curve's crossover, when there is one, says from how many
 * labeled examples per class.
 */
export function answerQuestion(results: ExperimentResults): Answer {
  const prompt = bestRun(results.runs, 'prompt');
  const head = bestRun(results.runs, 'head');
  const testSize = results.split.test.length;
  if (!prompt || !head) {
    const missing = prompt ? 'no head was trained' : head ? 'no prompt was run' : 'nothing was run';
    return { choice: 'undecided', text: `No answer yet: ${missing}, so there is nothing to compare.` };
  }
  const comparison = findComparison(results.comparisons, head.name, prompt.name);
  const verdict = comparison ? describeComparison(comparison, testSize) : undefined;
  const scores =
    `The best trained head, "${head.name}", scores ${accuracyWithInterval(head)}; the best prompt, ` +
    `"${prompt.name}", ${accuracyWithInterval(prompt)}, on the same ${examples(testSize)}.`;
  const curve = results.learningCurve;
  const crossover =
    curve === undefined
      ? ''
      : curve.crossover === null
        ? ` On the learning curve, the head never reached the best prompt's accuracy with up to ${Math.max(...curve.shotsPerClass)} labeled examples per class.`
        : ` On the learning curve, the head reaches the best prompt's accuracy from ${curve.crossover} labeled examples per class.`;
  if (verdict?.better === head.name) {
    return {
      choice: 'fine-tune',
      verdict,
      text: `Fine-tune: on this data a trained head is better than the best prompt. ${scores} ${verdict.text}${crossover}`,
    };
  }
  const why =
    verdict?.better === prompt.name
      ? verdict.text
      : `${verdict?.text ?? 'The two were not compared.'} A prompt needs no labeled examples and no training, so it is enough here.`;
  return {
    choice: 'prompt',
    verdict,
    text: `Prompt: on this data training a head does not beat the best prompt. ${scores} ${why}${crossover}`,
  };
}
