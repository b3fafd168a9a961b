/**
 * @file The Q8 bench goal's arithmetic (scripts/bench/q8.ts): how two experiments' predictions are compared (same
 * labels, score differences, run by run) and how two lists of embeddings are compared (cosine, largest difference).
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, vectorAgreement } from '../../../scripts/bench/q8.ts';
import type { ExperimentResults, RunResult } from '../../../src/lib/core/experiment/types.ts';

function run(name: string, predictions: [string, string, number][], accuracy = 0.5): RunResult {
  return {
    name,
    kind: 'prompt',
    accuracy,
    macroF1: accuracy,
    confusion: [],
    predictions: predictions.map(([id, label, spamScore]) => ({
      id,
      label,
      scores: { spam: spamScore, ham: 1 - spamScore },
    })),
    cost: { adaptMs: 0, inferMs: 0, labeledExamples: 0, trainedParameters: 0 },
  };
}

function results(runs: RunResult[]): ExperimentResults {
  return { runs } as unknown as ExperimentResults;
}

describe('compareRuns', () => {
  it('counts the same labels and the score differences of each run, matched by name', () => {
    const fp32 = results([
      run('a', [
        ['1', 'spam', 0.9],
        ['2', 'ham', 0.4],
        ['3', 'spam', 0.55],
      ]),
      run('b', [['1', 'ham', 0.2]]),
    ]);
    const q8 = results([
      run('b', [['1', 'ham', 0.25]]),
      run('a', [
        ['1', 'spam', 0.9],
        ['2', 'ham', 0.42],
        ['3', 'ham', 0.45],
      ]),
    ]);
    const [a, b] = compareRuns(fp32, q8);
    expect(a).toMatchObject({ run: 'a', predictions: 3, sameLabels: 2, maxScoreDifference: 0.1 });
    // Two scores per prediction: |0| ×2, |0.02| ×2, |0.1| ×2 over 6 scores.
    expect(a!.meanScoreDifference).toBeCloseTo(0.04, 5);
    expect(b).toMatchObject({ run: 'b', predictions: 1, sameLabels: 1, maxScoreDifference: 0.05 });
  });

  it('refuses results whose runs or predictions do not match', () => {
    const fp32 = results([run('a', [['1', 'spam', 0.9]])]);
    expect(() => compareRuns(fp32, results([run('other', [['1', 'spam', 0.9]])]))).toThrow(/no run "a"/);
    expect(() => compareRuns(fp32, results([run('a', [['2', 'spam', 0.9]])]))).toThrow(/out of order/);
  });
});

describe('vectorAgreement', () => {
  it.each([
    {
      name: 'identical',
      b: [
        [1, 0],
        [0, 2],
      ],
      minCosine: 1,
      meanCosine: 1,
      max: 0,
    },
    {
      name: 'scaled (same direction)',
      b: [
        [2, 0],
        [0, 1],
      ],
      minCosine: 1,
      meanCosine: 1,
      max: 1,
    },
    {
      name: 'one orthogonal',
      b: [
        [0, 1],
        [0, 2],
      ],
      minCosine: 0,
      meanCosine: 0.5,
      max: 1,
    },
  ])('$name', ({ b, minCosine, meanCosine, max }) => {
    const a = [Float32Array.of(1, 0), Float32Array.of(0, 2)];
    const agreement = vectorAgreement(
      a,
      b.map((row) => Float32Array.from(row)),
    );
    expect(agreement.minCosine).toBeCloseTo(minCosine, 6);
    expect(agreement.meanCosine).toBeCloseTo(meanCosine, 6);
    expect(agreement.maxAbsDifference).toBeCloseTo(max, 6);
  });
});
