/** One labeled text. `id` is stable across reloads and identical in browser and CLI. */
export interface LabeledExample {
  id: string;
  text: string;
  label: string;
}

/** A dataset after parsing and validation: examples plus its sorted label set. */
export interface Dataset {
  /** Human-readable name (file name or built-in title). */
  name: string;
  /** Sorted, unique labels; the order every confusion matrix and score vector uses. */
  labels: string[];
  examples: LabeledExample[];
}
