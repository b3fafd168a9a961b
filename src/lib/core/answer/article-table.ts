/**
 * @file The comparison table that started this product — definition, purpose, complexity, cost, time,
 * flexibility, use cases, dependency — with prompt engineering and fine-tuning side by side, each cell filled
 * from one experiment's results rather than from general claims. Pure: the app and the report (CLI or browser)
 * show the same table for the same results.
 */
import type { ExperimentResults, RunResult } from '../experiment/types.ts';
import { accuracyWithInterval, bestRun, describeComparison, findComparison } from './verdict.ts';
import { groupedInteger } from '../format.ts';

/** The eight aspects, in the article's order. */
export const ARTICLE_ASPECTS = [
  'definition',
  'purpose',
  'complexity',
  'cost',
  'time',
  'flexibility',
  'use cases',
  'dependency',
] as const;

export type ArticleAspect = (typeof ARTICLE_ASPECTS)[number];

/** One aspect: what this experiment measured for each side. */
export interface ArticleRow {
  aspect: ArticleAspect;
  /** The aspect as a row heading, e.g. "Use cases". */
  title: string;
  prompt: string;
  fineTune: string;
}

/** The median of a non-empty list. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** 12345 → "12,345". */
const grouped = groupedInteger;

/** A duration for people: "0.4 ms", "35 ms", "2.1 s", "3.5 min". */
export function duration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** "3 variations" / "1 head". */
function count(n: number, one: string, many: string): string {
  return `${grouped(n)} ${n === 1 ? one : many}`;
}

/** A range "a–b" of values formatted by `format`, or one value when they are equal. */
function span(values: readonly number[], format: (value: number) => string): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return format(low) === format(high) ? format(low) : `${format(low)}–${format(high)}`;
}

const NOT_RUN = {
  prompt: 'Not measured: this experiment ran no prompt variation.',
  head: 'Not measured: this experiment trained no head.',
};

/**
 * The article's eight aspects filled from `results`: parameters changed, labeled examples used, time to adapt,
 * inference cost per example, variations tried and the time to try one more vs to retrain, what each depends on
 * and where each won. A side with no run says it was not measured.
 */
export function buildArticleTable(results: ExperimentResults): ArticleRow[] {
  const prompts = results.runs.filter((run) => run.kind === 'prompt');
  const heads = results.runs.filter((run) => run.kind === 'head');
  const testSize = Math.max(1, results.split.test.length);
  const labels = results.labels.length;
  const bestPrompt = bestRun(results.runs, 'prompt');
  const bestHead = bestRun(results.runs, 'head');
  const perExample = (runs: RunResult[]) => median(runs.map((run) => run.cost.inferMs / testSize));
  const adapt = (runs: RunResult[]) => median(runs.map((run) => run.cost.adaptMs));
  const side = (runs: RunResult[], kind: 'prompt' | 'head', text: () => string): string =>
    runs.length === 0 ? NOT_RUN[kind] : text();

  const verdict =
    bestPrompt && bestHead
      ? (() => {
          const comparison = findComparison(results.comparisons, bestHead.name, bestPrompt.name);
          return comparison ? describeComparison(comparison, testSize) : undefined;
        })()
      : undefined;
  const won = (run: RunResult | undefined, other: RunResult | undefined): string => {
    if (!run) return '';
    if (!other || !verdict) return `Best here: "${run.name}", ${accuracyWithInterval(run)}.`;
    if (verdict.better === run.name)
      return `Won here: "${run.name}", ${accuracyWithInterval(run)}. ${verdict.text}`;
    if (verdict.better === null)
      return `Tied here: "${run.name}", ${accuracyWithInterval(run)}. ${verdict.text}`;
    return `Lost here: "${run.name}", ${accuracyWithInterval(run)}, behind "${other.name}".`;
  };

  const rows: Omit<ArticleRow, 'title'>[] = [
    {
      aspect: 'definition',
      prompt: side(
        prompts,
        'prompt',
        () =>
          `Adapts the input, not the model: ${count(prompts.length, 'wording', 'wordings')} of the ${labels} labels ` +
          'compared with each text by the frozen model. Parameters changed: 0.',
      ),
      fineTune: side(
        heads,
        'head',
        () =>
          `Adapts the model: a head on top of the frozen model learns from labeled examples. Parameters changed: ` +
          `${span(
            heads.map((run) => run.cost.trainedParameters),
            grouped,
          )}.`,
      ),
    },
    {
      aspect: 'purpose',
      prompt: side(
        prompts,
        'prompt',
        () =>
          `Get the labels out of what the model already knows. Accuracy over the variations: ${span(
            prompts.map((run) => run.accuracy),
            pct,
          )}.`,
      ),
      fineTune: side(
        heads,
        'head',
        () =>
          `Teach the model this task from examples. Accuracy over the heads: ${span(
            heads.map((run) => run.accuracy),
            pct,
          )}.`,
      ),
    },
    {
      aspect: 'complexity',
      prompt: side(
        prompts,
        'prompt',
        () =>
          'Write a sentence per label; no labeled examples, no training loop, nothing to tune but the words.',
      ),
      fineTune: side(
        heads,
        'head',
        () =>
          `Needs labeled data (${span(
            heads.map((run) => run.cost.labeledExamples),
            grouped,
          )} examples used), a split, and training settings (layer, pooling, epochs, learning rate).`,
      ),
    },
    {
      aspect: 'cost',
      prompt: side(
        prompts,
        'prompt',
        () => `Inference ${duration(perExample(prompts))} per example (median); labeling cost: none.`,
      ),
      fineTune: side(
        heads,
        'head',
        () =>
          `Inference ${duration(perExample(heads))} per example (median); labeling cost: ` +
          `${grouped(Math.max(...heads.map((run) => run.cost.labeledExamples)))} labeled examples.`,
      ),
    },
    {
      aspect: 'time',
      prompt: side(
        prompts,
        'prompt',
        () => `${duration(adapt(prompts))} to adapt (median: embedding the label texts).`,
      ),
      fineTune: side(
        heads,
        'head',
        () => `${duration(adapt(heads))} to adapt (median: extracting features and training).`,
      ),
    },
    {
      aspect: 'flexibility',
      prompt: side(
        prompts,
        'prompt',
        () =>
          `${count(prompts.length, 'variation', 'variations')} tried; one more takes about ${duration(
            adapt(prompts),
          )} and changes nothing else.`,
      ),
      fineTune: side(heads, 'head', () => {
        const ratio = prompts.length > 0 ? adapt(heads) / Math.max(adapt(prompts), 1e-3) : undefined;
        const times =
          ratio === undefined || !Number.isFinite(ratio)
            ? ''
            : ` (${ratio >= 10 ? grouped(ratio) : ratio.toFixed(1)}× a new prompt)`;
        return `${count(heads.length, 'head', 'heads')} trained; changing the labels or the task means new labeled data and retraining, about ${duration(
          adapt(heads),
        )} each${times}.`;
      }),
    },
    {
      aspect: 'use cases',
      prompt: side(prompts, 'prompt', () => won(bestPrompt, bestHead)),
      fineTune: side(heads, 'head', () => won(bestHead, bestPrompt)),
    },
    {
      aspect: 'dependency',
      prompt: side(
        prompts,
        'prompt',
        () =>
          `On the pre-trained model (${results.model}) and on the wording: the variations span ${span(
            prompts.map((run) => run.accuracy),
            pct,
          )} accuracy.`,
      ),
      fineTune: side(heads, 'head', () => {
        const curve = results.learningCurve;
        const from =
          curve === undefined
            ? ''
            : curve.crossover === null
              ? ` The learning curve never reached the best prompt with up to ${Math.max(...curve.shotsPerClass)} per class.`
              : ` The learning curve reaches the best prompt from ${curve.crossover} labeled examples per class.`;
        return `On the pre-trained model's features and on labeled data: ${span(
          heads.map((run) => run.cost.labeledExamples),
          grouped,
        )} labeled examples here.${from}`;
      }),
    },
  ];
  return rows.map((row) => ({ ...row, title: row.aspect[0]?.toUpperCase() + row.aspect.slice(1) }));
}
