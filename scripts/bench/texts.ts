/**
 * @file The texts the bench feeds: built-in datasets repeated to a given count (mixed-length e-mails from the spam
 * set, short sentences from the topics set), with their label indices.
 */
import { getBuiltinDataset } from '../../src/lib/core/dataset/builtin/registry.ts';
import { createRng, shuffle } from '../../src/lib/core/rng/rng.ts';

const SHUFFLE_SEED = 13;

/** Texts, label index per text, and the sorted label names. */
export interface BenchTexts {
  texts: string[];
  labels: number[];
  labelNames: string[];
}

/**
 * `count` texts of built-in dataset `id` in a fixed shuffled order (seeded, so every run feeds the same texts and
 * every prefix mixes the labels and lengths), cycling through the rows as often as needed.
 */
export function benchTexts(id: 'spam-assassin' | 'topics', count: number): BenchTexts {
  const dataset = getBuiltinDataset(id);
  const rows = dataset.table().rows;
  if (rows.length === 0) throw new Error(`Built-in dataset ${id} has no rows.`);
  const labelNames = [...new Set(rows.map((row) => row[dataset.labelColumn] ?? ''))].sort();
  const order = shuffle(
    rows.map((_, index) => index),
    createRng(SHUFFLE_SEED),
  );
  const texts: string[] = [];
  const labels: number[] = [];
  for (let index = 0; index < count; index++) {
    const row = rows[order[index % rows.length] as number] ?? {};
    texts.push(row[dataset.textColumn] ?? '');
    labels.push(labelNames.indexOf(row[dataset.labelColumn] ?? ''));
  }
  return { texts, labels, labelNames };
}
