/**
 * @file Classification metrics shared by every run: confusion matrix, accuracy and macro-F1. Labels always come
 * in the dataset's sorted order, so matrices from different runs line up cell by cell.
 */
import type { LabeledExample } from '../dataset/types.ts';
import type { Prediction } from '../experiment/types.ts';

/** Rows are true labels, columns predicted labels, both in `labels` order. */
export type ConfusionMatrix = number[][];

export interface Evaluation {
  accuracy: number;
  macroF1: number;
  confusion: ConfusionMatrix;
}

function labelIndex(labels: readonly string[]): Map<string, number> {
  return new Map(labels.map((label, index) => [label, index]));
}

function checkSameLength(trueLabels: readonly string[], predictedLabels: readonly string[]): void {
  if (trueLabels.length !== predictedLabels.length) {
    throw new RangeError(
      `Got ${trueLabels.length} true labels but ${predictedLabels.length} predictions: they must pair up one to one.`,
    );
  }
  if (trueLabels.length === 0) {
    throw new RangeError('Cannot score zero examples: the test split is empty.');
  }
}

/**
 * Counts (true, predicted) pairs.
 * @throws RangeError when the lists differ in length, are empty, or hold a label not in `labels`.
 */
export function confusionMatrix(
  trueLabels: readonly string[],
  predictedLabels: readonly string[],
  labels: readonly string[],
): ConfusionMatrix {
  checkSameLength(trueLabels, predictedLabels);
  const index = labelIndex(labels);
  const matrix = labels.map(() => labels.map(() => 0));
  const indexOf = (label: string): number => {
    const found = index.get(label);
    if (found === undefined) {
      throw new RangeError(`Label "${label}" is not one of the dataset's labels (${labels.join(', ')}).`);
    }
    return found;
  };
  trueLabels.forEach((trueLabel, i) => {
    const row = matrix[indexOf(trueLabel)] as number[];
    const column = indexOf(predictedLabels[i] as string);
    row[column] = (row[column] ?? 0) + 1;
  });
  return matrix;
}

/** Fraction of predictions equal to the true label. */
export function accuracy(trueLabels: readonly string[], predictedLabels: readonly string[]): number {
  checkSameLength(trueLabels, predictedLabels);
  let correct = 0;
  trueLabels.forEach((label, i) => {
    if (label === predictedLabels[i]) correct++;
  });
  return correct / trueLabels.length;
}

/** Correct predictions (the diagonal) over all predictions. */
export function accuracyFromConfusion(confusion: ConfusionMatrix): number {
  let correct = 0;
  let total = 0;
  confusion.forEach((row, i) =>
    row.forEach((count, j) => {
      total += count;
      if (i === j) correct += count;
    }),
  );
  return total === 0 ? 0 : correct / total;
}

/**
 * F1 of each label (in matrix order). A label never predicted and never true, or with no true positives,
 * has F1 0: precision or recall is undefined or zero, and counting it as 0 keeps macro-F1 honest.
 */
export function perClassF1(confusion: ConfusionMatrix): number[] {
  return confusion.map((row, k) => {
    const truePositives = row[k] ?? 0;
    const actual = row.reduce((sum, count) => sum + count, 0);
    const predicted = confusion.reduce((sum, otherRow) => sum + (otherRow[k] ?? 0), 0);
    // F1 = 2PR / (P + R) simplifies to 2TP / (actual + predicted).
    return truePositives === 0 ? 0 : (2 * truePositives) / (actual + predicted);
  });
}

/** Unweighted mean of per-class F1 over all labels of the matrix. */
export function macroF1FromConfusion(confusion: ConfusionMatrix): number {
  const scores = perClassF1(confusion);
  return scores.length === 0 ? 0 : scores.reduce((sum, score) => sum + score, 0) / scores.length;
}

/** Macro-F1 over all `labels`, including labels that never occur in either list (they count as 0). */
export function macroF1(
  trueLabels: readonly string[],
  predictedLabels: readonly string[],
  labels: readonly string[],
): number {
  return macroF1FromConfusion(confusionMatrix(trueLabels, predictedLabels, labels));
}

/**
 * Scores predictions against the test examples. Predictions are matched by example id, so their order does
 * not matter; every test example needs exactly one prediction.
 * @throws RangeError when an example has no prediction or a prediction names an unknown example.
 */
export function evaluate(
  testExamples: readonly LabeledExample[],
  predictions: readonly Prediction[],
  labels: readonly string[],
): Evaluation {
  const predictedById = new Map(predictions.map((prediction) => [prediction.id, prediction.label]));
  if (predictedById.size !== predictions.length) {
    throw new RangeError('Some test examples have more than one prediction: each id must appear once.');
  }
  const testIds = new Set(testExamples.map((example) => example.id));
  const stray = predictions.find((prediction) => !testIds.has(prediction.id));
  if (stray !== undefined) {
    throw new RangeError(`Prediction for "${stray.id}" does not match any test example.`);
  }
  const predictedLabels = testExamples.map((example) => {
    const label = predictedById.get(example.id);
    if (label === undefined) throw new RangeError(`Test example "${example.id}" has no prediction.`);
    return label;
  });
  const confusion = confusionMatrix(
    testExamples.map((example) => example.label),
    predictedLabels,
    labels,
  );
  return { accuracy: accuracyFromConfusion(confusion), macroF1: macroF1FromConfusion(confusion), confusion };
}
