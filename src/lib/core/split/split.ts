/**
 * @file The one train/test split of an experiment, and few-shot sampling from its train side. Both are
 * stratified (per class) and seeded, so every method is scored on the same test examples in browser and CLI.
 */
import type { Dataset, LabeledExample } from '../dataset/types.ts';
import { DatasetError, quoteList } from '../errors.ts';
import { HEAD_SETTINGS, isValidSetting, SPLIT_SETTINGS } from '../experiment/settings.ts';
import { createRng, shuffle } from '../rng/rng.ts';

export interface SplitOptions {
  /** Fraction of each class held out for testing, strictly between 0 and 1. */
  test: number;
  /** Integer seed of the shuffle. */
  seed: number;
}

export interface TrainTestSplit {
  /** In original dataset order. */
  train: LabeledExample[];
  /** In original dataset order. */
  test: LabeledExample[];
}

/** Groups example indices by label, in `labels` order; unknown labels are an error. */
function indicesByLabel(examples: readonly LabeledExample[], labels: readonly string[]): number[][] {
  const groups = new Map<string, number[]>(labels.map((label) => [label, []]));
  examples.forEach((example, index) => {
    const group = groups.get(example.label);
    if (group === undefined) {
      throw new DatasetError(
        'split',
        `Example "${example.id}" has label "${example.label}", which is not one of ${quoteList(labels)}.`,
      );
    }
    group.push(index);
  });
  return labels.map((label) => groups.get(label) ?? []);
}

/**
 * Splits a dataset into train and test, class by class: each class's examples are shuffled with the seed and
 * round(n × test) of them go to test, clamped so every class keeps at least one example on each side.
 * @throws RangeError when `test` is not strictly between 0 and 1 or the seed is not an integer.
 * @throws DatasetError when a class has fewer than two examples.
 */
export function stratifiedSplit(dataset: Dataset, options: SplitOptions): TrainTestSplit {
  const { test, seed } = options;
  if (!isValidSetting(SPLIT_SETTINGS.test, test)) {
    throw new RangeError(`The test fraction must be between 0 and 1 (exclusive), e.g. 0.3; got ${test}.`);
  }
  if (!isValidSetting(SPLIT_SETTINGS.seed, seed)) {
    throw new RangeError(`The split seed must be an integer, e.g. 42; got ${seed}.`);
  }
  const rng = createRng(seed);
  const inTest = new Set<number>();
  const groups = indicesByLabel(dataset.examples, dataset.labels);
  groups.forEach((indices, labelIndex) => {
    if (indices.length < 2) {
      throw new DatasetError(
        'split',
        `Class "${dataset.labels[labelIndex]}" has ${indices.length} example(s); at least 2 are needed ` +
          'to put one in train and one in test: add examples.',
      );
    }
    const testCount = Math.min(indices.length - 1, Math.max(1, Math.round(indices.length * test)));
    for (const index of shuffle(indices, rng).slice(0, testCount)) inTest.add(index);
  });
  const split: TrainTestSplit = { train: [], test: [] };
  dataset.examples.forEach((example, index) => {
    (inTest.has(index) ? split.test : split.train).push(example);
  });
  return split;
}

/**
 * Picks up to `shots` examples per class from `train` (all of a class when it has fewer), in original order.
 * Each class is shuffled with the seed before taking a prefix, so for a fixed seed the sample for k shots is
 * contained in the sample for k + 1 shots: learning curves grow the same training set.
 * @throws RangeError when `shots` is not a positive integer.
 */
export function sampleShotsPerClass(
  train: readonly LabeledExample[],
  labels: readonly string[],
  shots: number,
  seed: number,
): LabeledExample[] {
  if (!isValidSetting(HEAD_SETTINGS.shotsPerClass, shots)) {
    throw new RangeError(`Shots per class must be a whole number of at least 1; got ${shots}.`);
  }
  const rng = createRng(seed);
  const chosen = new Set<number>();
  for (const indices of indicesByLabel(train, labels)) {
    for (const index of shuffle(indices, rng).slice(0, shots)) chosen.add(index);
  }
  return train.filter((_, index) => chosen.has(index));
}
