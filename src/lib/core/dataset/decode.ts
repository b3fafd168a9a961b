/**
 * @file Turns the bytes of an uploaded dataset file into text, or says exactly why it cannot: a spreadsheet or
 * archive saved under a text extension, binary data, or text in a legacy encoding. UTF-8 (with or without a
 * byte-order mark) is read as is; UTF-16 with a byte-order mark is decoded too, since Excel's "Unicode text"
 * produces it. Nothing is guessed silently: a file that is not valid UTF-8 is refused, never mangled.
 */
import { DatasetError } from '../errors.ts';

/** How to re-save a file as UTF-8 in the programs people actually use. */
export const RESAVE_AS_UTF8 =
  'Re-save it as UTF-8: in Excel choose "CSV UTF-8 (Comma delimited)"; in LibreOffice tick ' +
  '"Edit filter settings" and pick "Unicode (UTF-8)"; in a text editor save with the encoding "UTF-8".';

const SAVE_AS_CSV =
  'open it in your spreadsheet program and save it as "CSV UTF-8" (or TSV), then choose that file';

const CHOOSE_TEXT = 'choose a CSV, TSV, JSONL or JSON text file instead';

/**
 * Leading bytes of file types that people save under a .csv or .json name by mistake: the one list both the
 * dataset upload and the experiment import check.
 */
const SIGNATURES: readonly { bytes: readonly number[]; what: string; advice: string }[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], what: 'a PNG image', advice: CHOOSE_TEXT },
  { bytes: [0x47, 0x49, 0x46, 0x38], what: 'a GIF image', advice: CHOOSE_TEXT },
  { bytes: [0xff, 0xd8, 0xff], what: 'a JPEG image', advice: CHOOSE_TEXT },
  { bytes: [0x52, 0x49, 0x46, 0x46], what: 'a RIFF file, perhaps a WebP image', advice: CHOOSE_TEXT },
  {
    bytes: [0x50, 0x4b, 0x03, 0x04],
    what: 'a zip archive, such as an Excel (.xlsx) or OpenDocument (.ods) workbook',
    advice: SAVE_AS_CSV,
  },
  {
    bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    what: 'an Excel 97-2003 workbook (.xls)',
    advice: SAVE_AS_CSV,
  },
  { bytes: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document', advice: 'export the table as CSV instead' },
  {
    bytes: [0x1f, 0x8b],
    what: 'a gzip-compressed file',
    advice: 'decompress it first and choose the CSV, TSV, JSONL or JSON file inside',
  },
];

/** Share of control characters (other than tab, newline, carriage return, form feed) above which text is binary. */
const MAX_CONTROL_SHARE = 0.01;
/** Characters inspected for control characters and UTF-16 patterns. */
const SNIFF_LENGTH = 65_536;

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.length <= bytes.length && prefix.every((byte, index) => bytes[index] === byte);
}

/**
 * What kind of binary file `bytes` begin with (e.g. "a PNG image"), from their leading bytes, or undefined when
 * they start like none of the known ones.
 */
export function binaryFileKind(bytes: Uint8Array): string | undefined {
  return SIGNATURES.find((signature) => startsWith(bytes, signature.bytes))?.what;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** 1-based line of byte `offset` (counting LF bytes before it). */
function lineOfOffset(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * Offset of the first byte that breaks UTF-8 (a bad lead byte, a missing continuation byte, an overlong or
 * surrogate encoding, or a sequence cut off by the end of the file), or -1 when all of it is valid.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) [length, min] = [2, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [length, min] = [3, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    let codePoint = lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return i;
    i += length;
  }
  return -1;
}

/** 'le' or 'be' when NUL bytes sit at every other position, as in UTF-16 text without a byte-order mark. */
function utf16Pattern(bytes: Uint8Array): 'le' | 'be' | undefined {
  const length = Math.min(bytes.length, SNIFF_LENGTH) & ~1;
  if (length < 4) return undefined;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < length; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  const pairs = length / 2;
  if (oddZeros > pairs * 0.4 && evenZeros < pairs * 0.05) return 'le';
  if (evenZeros > pairs * 0.4 && oddZeros < pairs * 0.05) return 'be';
  return undefined;
}

function decodeUtf16(bytes: Uint8Array, encoding: 'utf-16le' | 'utf-16be', fileName: string): string {
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw new DatasetError(
      'not-utf8',
      `"${fileName}" starts like UTF-16 text but is damaged (an odd number of bytes or a broken character). ` +
        RESAVE_AS_UTF8,
    );
  }
}

/** Position of the first control character that text files do not contain, when there are too many of them. */
function binaryControlOffset(text: string): number {
  const length = Math.min(text.length, SNIFF_LENGTH);
  let count = 0;
  let first = -1;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d && code !== 0x0c) || code === 0x7f) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count > 0 && count >= Math.max(2, length * MAX_CONTROL_SHARE) ? first : -1;
}

function binaryError(fileName: string, detail: string): DatasetError {
  return new DatasetError(
    'binary-file',
    `"${fileName}" is not a text file: it contains binary data (${detail}). ` +
      'Choose a CSV, TSV, JSONL or JSON text file.',
  );
}

/**
 * Decodes a dataset file's bytes to text. A UTF-8 byte-order mark is removed; UTF-16 with a byte-order mark
 * is decoded. Everything else must be valid UTF-8.
 * @param fileName shown in messages, e.g. `reviews.csv`.
 * @throws DatasetError `binary-file` for spreadsheets, archives, PDFs and other binary data; `not-utf8` for
 *   text in another encoding, naming the first bad byte and its line and saying how to re-save the file.
 */
export function decodeDatasetBytes(bytes: Uint8Array, fileName: string): string {
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return decodeUtf8(bytes.subarray(3), fileName, 3);
  if (startsWith(bytes, [0xff, 0xfe])) return decodeUtf16(bytes.subarray(2), 'utf-16le', fileName);
  if (startsWith(bytes, [0xfe, 0xff])) return decodeUtf16(bytes.subarray(2), 'utf-16be', fileName);
  for (const signature of SIGNATURES) {
    if (startsWith(bytes, signature.bytes)) {
      throw new DatasetError(
        'binary-file',
        `"${fileName}" is ${signature.what}, not a text file: ${signature.advice}.`,
      );
    }
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    if (utf16Pattern(bytes) !== undefined) {
      throw new DatasetError(
        'not-utf8',
        `"${fileName}" looks like UTF-16 text without a byte-order mark, which cannot be read reliably. ` +
          RESAVE_AS_UTF8,
      );
    }
    throw binaryError(fileName, `a NUL byte at byte ${nul + 1}`);
  }
  return decodeUtf8(bytes, fileName, 0);
}

/** `skipped`: bytes before `bytes` in the file (a BOM), so byte positions in messages match the file. */
function decodeUtf8(bytes: Uint8Array, fileName: string, skipped: number): string {
  let text: string;
  try {
    // ignoreBOM keeps a second BOM as a character instead of silently eating it; the first one is already gone.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const offset = Math.max(0, firstInvalidUtf8Offset(bytes));
    const byte = bytes[offset] ?? 0;
    throw new DatasetError(
      'not-utf8',
      `"${fileName}" is not UTF-8 text: byte ${offset + skipped + 1} (${hex(byte)}, on line ` +
        `${lineOfOffset(bytes, offset)}) is not valid UTF-8; the file was probably saved in a legacy encoding ` +
        `such as Windows-1252 or Latin-1. ${RESAVE_AS_UTF8}`,
    );
  }
  const control = binaryControlOffset(text);
  if (control >= 0) {
    const code = text.charCodeAt(control).toString(16).toUpperCase().padStart(4, '0');
    throw binaryError(fileName, `the control character U+${code}`);
  }
  return text;
}
