/**
 * @file Calibration as every prompt strategy applies it: which content-free inputs a model is asked about, and the
 * calibrated probabilities of the test examples given the model's probabilities on those inputs. The arithmetic
 * itself is calibration.ts (Zhao et al., 2021).
 */
import { calibrate, CONTENT_FREE_INPUTS, contentFreeBias } from './calibration.ts';

/**
 * The content-free inputs to score for calibration: {@link CONTENT_FREE_INPUTS}, plus the tokenizer's mask token
 * when it has one (`[MASK]`, `<mask>`), each once.
 */
export function contentFreeInputs(maskToken?: string): string[] {
  const inputs = [...CONTENT_FREE_INPUTS];
  if (maskToken !== undefined && maskToken !== '' && !inputs.includes(maskToken)) inputs.push(maskToken);
  return inputs;
}

/**
 * Divides each row of `probabilities` by the label bias the content-free rows show, and renormalises.
 * @param probabilities Per test example, one probability per label.
 * @param contentFree Per content-free input, one probability per label (same label order).
 * @throws RangeError when the rows do not all have the same number of labels.
 */
export function calibrateWithContentFree(
  probabilities: readonly (readonly number[])[],
  contentFree: readonly (readonly number[])[],
): number[][] {
  return calibrate(probabilities, contentFreeBias(contentFree));
}

/**
 * Softmax of a row of scores (logits, log-probabilities, scaled cosines), computed stably.
 * @throws RangeError for an empty row or a non-finite score.
 */
export function softmax(scores: readonly number[]): number[] {
  if (scores.length === 0) throw new RangeError('softmax of an empty list.');
  for (const score of scores) {
    if (!Number.isFinite(score)) throw new RangeError(`Cannot take the softmax of ${score}.`);
  }
  const top = Math.max(...scores);
  const exps = scores.map((score) => Math.exp(score - top));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}
