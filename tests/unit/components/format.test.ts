/**
 * @file The components' number, time and date formats (src/lib/components/shared/format.ts), written out without
 * `Intl` so that no first call loads the browser's locale data on the main thread: each must print what
 * `toLocaleString('en-US')` would for the numbers the app shows.
 */
import { describe, expect, it } from 'vitest';
import {
  clockTime,
  dateTime,
  integer,
  milliseconds,
  percent,
} from '../../../src/lib/components/shared/format.ts';

describe('integer', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [999.5, '1,000'],
    [1000, '1,000'],
    [12345, '12,345'],
    [1234567.4, '1,234,567'],
    [-1234, '-1,234'],
    [-0.4, '0'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991'],
  ])('%d → %s', (value, text) => {
    expect(integer(value)).toBe(text);
  });

  it('matches en-US grouping over a sweep of magnitudes', () => {
    for (let value = 1; value < 1e15; value = value * 7 + 3) {
      expect(integer(value)).toBe(Math.round(value).toLocaleString('en-US'));
      expect(integer(-value)).toBe(Math.round(-value).toLocaleString('en-US'));
    }
  });

  it('keeps plain digits beyond the safe integers and for non-finite values', () => {
    expect(integer(1e21)).toBe('1e+21');
    expect(integer(Number.NaN)).toBe('NaN');
    expect(integer(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});

describe('milliseconds and percent', () => {
  it.each([
    [0.25, '0.3 ms'],
    [9.94, '9.9 ms'],
    [10, '10 ms'],
    [1234.5, '1,235 ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(milliseconds(ms)).toBe(text);
  });

  it('prints a share with the given digits', () => {
    expect(percent(0.8567)).toBe('85.7%');
    expect(percent(1, 0)).toBe('100%');
  });
});

describe('clockTime and dateTime', () => {
  it.each([
    [new Date(2026, 11, 2, 9, 5, 3), '09:05:03', '2 Dec 2026, 09:05'],
    [new Date(2026, 0, 31, 23, 59, 59), '23:59:59', '31 Jan 2026, 23:59'],
    [new Date(1999, 6, 1, 0, 0, 0), '00:00:00', '1 Jul 1999, 00:00'],
  ])('%s', (date, clock, full) => {
    expect(clockTime(date)).toBe(clock);
    expect(dateTime(date)).toBe(full);
  });
});
