/**
 * @file The one byte formatter: every size the app and the CLI show goes through {@link formatBytes}, so the
 * same file reads the same everywhere. Also the one integer grouping ({@link groupedInteger}), written out rather
 * than `toLocaleString`: a page's first `Intl` call loads locale data, a main-thread task of about 100 ms.
 *
 * Convention: decimal SI units (1 kB = 1,000 bytes, 1 MB = 1,000 kB), as npm, browsers' download lists and file
 * managers on macOS and GNOME show them; three significant digits, trailing zeros dropped.
 */

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;
const SIGNIFICANT_DIGITS = 3;

/**
 * A byte count for people: `650 B`, `1.5 kB`, `712 kB`, `20 MB`, `90.4 MB`, `1.23 GB`.
 * @throws RangeError when `bytes` is negative or not a finite number.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new RangeError(`A byte count must be a finite number of at least 0, got ${String(bytes)}.`);
  }
  let unit = 0;
  let value = bytes;
  while (unit < BYTE_UNITS.length - 1 && round(value) >= 1000) {
    value /= 1000;
    unit += 1;
  }
  const text = unit === 0 ? String(Math.round(value)) : String(round(value));
  return `${text} ${BYTE_UNITS[unit]}`;
}

/** `value` rounded to three significant digits (`1.499` → 1.5, `999.7` → 1000); zero stays zero. */
function round(value: number): number {
  if (value === 0) return 0;
  const decimals = Math.max(0, SIGNIFICANT_DIGITS - 1 - Math.floor(Math.log10(value)));
  return Number(value.toFixed(decimals));
}

/**
 * A size refused for being over `limit`, as {@link formatBytes} shows it, or as an exact byte count
 * (`20,000,001 bytes`) when it would read the same as the limit: "20 MB; the limit is 20 MB" would make no sense.
 */
export function formatBytesOverLimit(bytes: number, limit: number): string {
  const shown = formatBytes(bytes);
  if (shown !== formatBytes(limit)) return shown;
  return `${String(Math.round(bytes)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} bytes`;
}

/** 12345 → "12,345"; -1234567.6 → "-1,234,568". Values beyond the safe integers keep plain digits. */
export function groupedInteger(value: number): string {
  const rounded = Math.round(value);
  if (!Number.isSafeInteger(rounded)) return String(rounded);
  const digits = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return rounded < 0 ? `-${digits}` : digits;
}
