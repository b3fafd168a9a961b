/**
 * @file Number formatting shared by the components, so every table rounds the same way.
 */

/** 0.8567 → "85.7%". */
export function percent(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** 1234.5 → "1,235 ms"; under 10 ms keeps one decimal. */
export function milliseconds(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** 12345 → "12,345". */
export function integer(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
