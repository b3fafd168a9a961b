/**
 * @file Number, time and date formatting shared by the components, so every table rounds the same way.
 *
 * Nothing here calls `Intl` or `toLocaleString`: the first such call in a page loads the browser's locale data,
 * a main-thread task of about 100 ms on a busy 2-core machine, paid at whatever moment the first number or time
 * appears (start-up, a save, a tab switch). The app's text is English, so these formats are written out.
 */

import { groupedInteger } from '../../core/format.ts';

/** 0.8567 → "85.7%". */
export function percent(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** 1234.5 → "1,235 ms"; under 10 ms keeps one decimal. */
export function milliseconds(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${integer(ms)} ms`;
}

/** 12345 → "12,345" (the core's grouping, shared with the report and the article's table). */
export const integer = groupedInteger;

const two = (value: number): string => String(value).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** A time of day on the local clock, 24-hour: "09:05:03". */
export function clockTime(date: Date): string {
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** A local date and time to the minute: "2 Dec 2026, 09:05". */
export function dateTime(date: Date): string {
  const month = MONTHS[date.getMonth()] ?? '';
  return `${date.getDate()} ${month} ${date.getFullYear()}, ${two(date.getHours())}:${two(date.getMinutes())}`;
}
