/**
 * Builds real ExperimentResults from per-example predictions (scores, intervals and McNemar computed by the
 * core), so the answer and report tests work on the same shape the orchestrator writes.
 */
import { evaluate } from '../../../../src/lib/core/metrics/metrics.ts';
import type { ExperimentResults, RunResult } from '../../../../src/lib/core/experiment/types.ts';
import { compareRuns, runIntervals } from '../../../../src/lib/core/stats/uncertainty.ts';

export interface FakeRun {
  name: string;
  kind: RunResult['kind'];
  /** Predicted label per test example, in test order. */
  predicted: string[];
  adaptMs?: number;
  inferMs?: number;
  labeledExamples?: number;
  trainedParameters?: number;
}

/** Results on `test` for the given runs; scores give the predicted label 0.9 and the others the rest. */
export function fakeResults(
  labels: string[],
  test: { id: string; text: string; label: string }[],
  runs: FakeRun[],
  name = 'fake experiment',
): ExperimentResults {
  const scored: RunResult[] = runs.map((run) => {
    const predictions = run.predicted.map((label, i) => {
      const scores: Record<string, number> = Object.create(null);
      for (const other of labels) scores[other] = other === label ? 0.9 : 0.1 / (labels.length - 1);
      return { id: (test[i] as { id: string }).id, label, scores };
    });
    return {
      name: run.name,
      kind: run.kind,
      ...evaluate(test, predictions, labels),
      ...runIntervals(test, predictions, labels),
      predictions,
      cost: {
        adaptMs: run.adaptMs ?? (run.kind === 'prompt' ? 40 : 900),
        inferMs: run.inferMs ?? 120,
        labeledExamples: run.labeledExamples ?? (run.kind === 'prompt' ? 0 : 30),
        trainedParameters: run.trainedParameters ?? (run.kind === 'prompt' ? 0 : 1539),
      },
    };
  });
  return {
    version: 1,
    name,
    model: 'fixtures/tiny-bert',
    labels,
    split: { seed: 42, testFraction: 0.3, train: 30, test },
    runs: scored,
    comparisons: compareRuns(scored, test),
  };
}

/** `n` test examples cycling through `labels`, ids "t0"…, texts "text 0"…. */
export function cyclingTest(labels: string[], n: number): { id: string; text: string; label: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    text: `text ${i}`,
    label: labels[i % labels.length] as string,
  }));
}

/** The true labels with the examples at `wrongAt` given the next label instead. */
export function withMistakes(
  labels: string[],
  test: { label: string }[],
  wrongAt: Iterable<number>,
): string[] {
  const wrong = new Set(wrongAt);
  return test.map((example, i) =>
    wrong.has(i) ? (labels[(labels.indexOf(example.label) + 1) % labels.length] as string) : example.label,
  );
}
