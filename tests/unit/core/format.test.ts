/**
 * @file The one byte formatter (src/lib/core/format.ts): decimal units, three significant digits, no trailing
 * zeros, and a unit step exactly where rounding would print "1000".
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesOverLimit } from '../../../src/lib/core/format.ts';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [650, '650 B'],
    [999, '999 B'],
    [999.6, '1 kB'],
    [1000, '1 kB'],
    [1500, '1.5 kB'],
    [1536, '1.54 kB'],
    [9_996, '10 kB'],
    [281_303, '281 kB'],
    [712_000, '712 kB'],
    [999_499, '999 kB'],
    [999_500, '1 MB'],
    [20_000_000, '20 MB'],
    [20_000_001, '20 MB'],
    [23_651_000, '23.7 MB'],
    [25_300_000, '25.3 MB'],
    [90_400_000, '90.4 MB'],
    [1_234_000_000, '1.23 GB'],
    [2 ** 31, '2.15 GB'],
    [3_000_000_000, '3 GB'],
    [4_500_000_000_000, '4.5 TB'],
    [7_000_000_000_000_000, '7000 TB'],
  ])('formats %d bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses %d with a RangeError', (bytes) => {
    expect(() => formatBytes(bytes)).toThrow(RangeError);
  });
});

describe('formatBytesOverLimit', () => {
  it.each([
    [21_000_000, 20_000_000, '21 MB'],
    [20_000_001, 20_000_000, '20,000,001 bytes'],
    [2 ** 31 + 1, 2 ** 31, '2,147,483,649 bytes'],
    [3_000_000_000, 2 ** 31, '3 GB'],
  ])('shows %d bytes over a limit of %d as %s', (bytes, limit, text) => {
    expect(formatBytesOverLimit(bytes, limit)).toBe(text);
  });
});
