/**
 * @file Two prompt variations side by side, field by field, whatever their strategy: each variation is flattened
 * into its settings and texts (nested records such as per-label descriptions become one field per key), and the
 * fields of both are lined up so a view can mark which differ and diff their texts word by word.
 */
import type { PromptSpec } from '../experiment/types.ts';

/** One field of a flattened prompt: where it is (path segments) and its value as text. */
export interface PromptField {
  /** Keys from the prompt down to the value, e.g. `['descriptions', 'spam']`. */
  path: string[];
  /** Strings as they are, lists of strings one per line, anything else as JSON. */
  text: string;
}

/** One row of a side-by-side comparison; a side without the field is undefined. */
export interface FieldComparison {
  path: string[];
  a: string | undefined;
  b: string | undefined;
  same: boolean;
}

/** A field's path as one display string, e.g. `descriptions › spam`. */
export function fieldLabel(path: readonly string[]): string {
  return path.join(' › ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join('\n');
  return JSON.stringify(value) ?? String(value);
}

/**
 * The fields of a prompt variation in their own order, its name left out (the view shows it as the column's
 * title). Undefined values are skipped; nested records are flattened, their keys kept in a path (never used as
 * keys of a plain object, so any label text is safe).
 */
export function promptFields(prompt: PromptSpec | Readonly<Record<string, unknown>>): PromptField[] {
  const fields: PromptField[] = [];
  const visit = (value: unknown, path: string[]): void => {
    if (value === undefined) return;
    if (isRecord(value)) {
      for (const key of Object.keys(value)) visit(value[key], [...path, key]);
      return;
    }
    fields.push({ path, text: valueText(value) });
  };
  const record = prompt as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(record)) {
    if (key !== 'name') visit(record[key], [key]);
  }
  return fields;
}

/**
 * Lines up the fields of two variations: `a`'s fields in their order, then those only `b` has, in `b`'s order.
 * A field missing on one side is undefined there and never the same.
 */
export function comparePrompts(
  a: PromptSpec | Readonly<Record<string, unknown>>,
  b: PromptSpec | Readonly<Record<string, unknown>>,
): FieldComparison[] {
  const key = (path: readonly string[]): string => JSON.stringify(path);
  const left = new Map(promptFields(a).map((field) => [key(field.path), field]));
  const right = new Map(promptFields(b).map((field) => [key(field.path), field]));
  const rows: FieldComparison[] = [];
  for (const [id, field] of left) {
    const other = right.get(id)?.text;
    rows.push({ path: field.path, a: field.text, b: other, same: other === field.text });
  }
  for (const [id, field] of right) {
    if (!left.has(id)) rows.push({ path: field.path, a: undefined, b: field.text, same: false });
  }
  return rows;
}
