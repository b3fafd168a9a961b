/**
 * @file Records keyed by user strings (labels, column names). A plain `{}` inherits `constructor`, `toString`,
 * `hasOwnProperty`… and treats `__proto__` as its prototype: a label of that name would read as a function or
 * vanish. These records have no prototype, so every key is just a key.
 */

/** An empty record with no prototype, safe for any string key; serialises like a plain object. */
export function emptyRecord<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** `record[key]` only when `key` is the record's own property (never an inherited `constructor` or `toString`). */
export function ownValue<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
