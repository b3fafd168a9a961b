/**
 * @file The pure parts of head training that decide which examples do what: the seeded, stratified validation
 * slice taken from the training examples (never from the test split, which the trainer never sees) and the
 * per-class loss weights. The tfjs trainer (ml/tfjs-head.ts) uses these; they are tested here without tfjs.
 */
import { createRng, shuffle } from '../rng/rng.ts';

/** Positions in the training examples: those the head learns from and those it is validated on. */
export interface ValidationSplit {
  train: number[];
  validation: number[];
}

/**
 * Holds out `fraction` of each class of the training examples for validation, drawn with `seed`: the same labels,
 * fraction and seed always give the same slice. Every class with at least 2 examples gives at least 1 to each side;
 * a class with 1 example keeps it for training. Positions are returned in ascending order.
 * @param labelIndices The class of each training example.
 * @param fraction 0 (no validation) up to but excluding 1.
 * @throws RangeError when the fraction is out of range or leaves no validation example.
 */
export function validationSplit(
  labelIndices: readonly number[],
  fraction: number,
  seed: number,
): ValidationSplit {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`The validation fraction must be at least 0 and below 1; got ${String(fraction)}.`);
  }
  const all = labelIndices.map((_, index) => index);
  if (fraction === 0) return { train: all, validation: [] };
  const byClass = new Map<number, number[]>();
  labelIndices.forEach((label, index) => {
    const members = byClass.get(label);
    if (members === undefined) byClass.set(label, [index]);
    else members.push(index);
  });
  // Offset from the seed the trainer's initialiser and shuffle use, so the slice is a stream of its own.
  const rng = createRng(seed + 104729);
  const held = new Set<number>();
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label) as number[];
    if (members.length < 2) continue;
    const count = Math.min(members.length - 1, Math.max(1, Math.round(members.length * fraction)));
    for (const index of shuffle(members, rng).slice(0, count)) held.add(index);
  }
  if (held.size === 0) {
    throw new RangeError(
      `A validation fraction of ${fraction} leaves no validation example out of ${labelIndices.length} training ` +
        'examples (each class needs at least 2): use more examples, or no validation and no early stopping.',
    );
  }
  return {
    train: all.filter((index) => !held.has(index)),
    validation: all.filter((index) => held.has(index)),
  };
}

/**
 * The loss weight of each class: all 1 for `none`; for `balanced`, n / (classes × examples of the class), so every
 * class contributes the same total weight (a class without examples gets 0).
 */
export function classWeights(
  labelIndices: readonly number[],
  numClasses: number,
  mode: 'balanced' | 'none',
): number[] {
  if (mode === 'none') return Array.from({ length: numClasses }, () => 1);
  const counts = Array.from({ length: numClasses }, () => 0);
  for (const label of labelIndices) counts[label] = (counts[label] ?? 0) + 1;
  return counts.map((count) => (count === 0 ? 0 : labelIndices.length / (numClasses * count)));
}
