import { describe, expect, it } from 'vitest';
import type { Prediction } from '../../../../src/lib/core/experiment/types.ts';
import {
  accuracy,
  confusionMatrix,
  evaluate,
  macroF1,
  perClassF1,
} from '../../../../src/lib/core/metrics/metrics.ts';

const labels = ['a', 'b', 'c'];

describe('confusionMatrix', () => {
  it('counts rows by true label and columns by predicted label, in labels order', () => {
    const matrix = confusionMatrix(['a', 'a', 'b', 'c', 'c', 'c'], ['a', 'b', 'b', 'c', 'a', 'c'], labels);
    expect(matrix).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
  });

  it('refuses unknown labels, mismatched lengths and empty input', () => {
    expect(() => confusionMatrix(['a'], ['z'], labels)).toThrow(/"z" is not one of/);
    expect(() => confusionMatrix(['a', 'b'], ['a'], labels)).toThrow(/2 true labels but 1 predictions/);
    expect(() => confusionMatrix([], [], labels)).toThrow(/zero examples/);
  });
});

describe('accuracy and macro-F1', () => {
  it('accuracy is the fraction correct', () => {
    expect(accuracy(['a', 'a', 'b', 'c'], ['a', 'b', 'b', 'c'])).toBe(0.75);
  });

  it('macro-F1 matches a hand computation', () => {
    // a: TP 1, FP 1, FN 1 -> F1 0.5; b: TP 1, FP 1, FN 0 -> 2/3; c: TP 2, FP 0, FN 1 -> 0.8
    const truth = ['a', 'a', 'b', 'c', 'c', 'c'];
    const predicted = ['a', 'b', 'b', 'c', 'a', 'c'];
    const matrix = confusionMatrix(truth, predicted, labels);
    const f1 = perClassF1(matrix);
    expect(f1[0]).toBeCloseTo(0.5, 12);
    expect(f1[1]).toBeCloseTo(2 / 3, 12);
    expect(f1[2]).toBeCloseTo(0.8, 12);
    expect(macroF1(truth, predicted, labels)).toBeCloseTo((0.5 + 2 / 3 + 0.8) / 3, 12);
  });

  it('counts a never-predicted class as F1 0, pulling macro-F1 below accuracy', () => {
    // Always predicting "a": a has P 2/4, R 1 -> F1 2/3; b and c are never predicted -> 0.
    const truth = ['a', 'a', 'b', 'c'];
    const predicted = ['a', 'a', 'a', 'a'];
    expect(accuracy(truth, predicted)).toBe(0.5);
    expect(macroF1(truth, predicted, labels)).toBeCloseTo(2 / 3 / 3, 12);
  });

  it('averages over all labels, including one absent from the test set', () => {
    expect(macroF1(['a', 'b'], ['a', 'b'], labels)).toBeCloseTo(2 / 3, 12);
    expect(macroF1(['a', 'b'], ['a', 'b'], ['a', 'b'])).toBe(1);
  });
});

describe('evaluate', () => {
  const test = [
    { id: 'r1', text: 'x', label: 'a' },
    { id: 'r2', text: 'y', label: 'b' },
    { id: 'r3', text: 'z', label: 'c' },
    { id: 'r4', text: 'w', label: 'c' },
  ];
  const predict = (id: string, label: string): Prediction => ({ id, label, scores: {} });

  it('matches predictions to examples by id, whatever their order', () => {
    const result = evaluate(
      test,
      [predict('r4', 'a'), predict('r2', 'b'), predict('r1', 'a'), predict('r3', 'c')],
      labels,
    );
    expect(result.accuracy).toBe(0.75);
    expect(result.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    // a: 2/(1+2)=2/3, b: 1, c: 2/(2+1)=2/3
    expect(result.macroF1).toBeCloseTo((2 / 3 + 1 + 2 / 3) / 3, 12);
  });

  it('refuses missing, duplicate or stray predictions', () => {
    const three = [predict('r1', 'a'), predict('r2', 'b'), predict('r3', 'c')];
    expect(() => evaluate(test, three, labels)).toThrow(/"r4" has no prediction/);
    expect(() => evaluate(test, [...three, predict('r3', 'c')], labels)).toThrow(/more than one prediction/);
    expect(() => evaluate(test, [...three, predict('r9', 'c')], labels)).toThrow(/"r9" does not match/);
  });
});
