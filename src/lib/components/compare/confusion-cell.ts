/**
 * @file The confusion-matrix cell the compare view links to the predictions table.
 */

/** One cell of one run's matrix: the test examples of `truth` that `run` predicted as `predicted`. */
export interface ConfusionCell {
  run: string;
  truth: string;
  predicted: string;
}
