import { describe, expect, it } from 'vitest';
import {
  decodeDatasetBytes,
  firstInvalidUtf8Offset,
  RESAVE_AS_UTF8,
} from '../../../../src/lib/core/dataset/decode.ts';
import { DatasetError } from '../../../../src/lib/core/errors.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

function utf16(text: string, endian: 'le' | 'be', bom: boolean): Uint8Array {
  const out = new Uint8Array((text.length + (bom ? 1 : 0)) * 2);
  const view = new DataView(out.buffer);
  let offset = 0;
  if (bom) {
    view.setUint16(0, 0xfeff, endian === 'le');
    offset = 2;
  }
  for (let i = 0; i < text.length; i++) view.setUint16(offset + i * 2, text.charCodeAt(i), endian === 'le');
  return out;
}

function decodeError(data: Uint8Array, name = 'data.csv'): DatasetError {
  try {
    decodeDatasetBytes(data, name);
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error('expected a DatasetError');
}

describe('decodeDatasetBytes: text it reads', () => {
  it('reads UTF-8, accents and emoji included', () => {
    expect(decodeDatasetBytes(utf8('text,label\ncafé 😀,a\n'), 'x.csv')).toBe('text,label\ncafé 😀,a\n');
  });

  it('removes a UTF-8 byte-order mark', () => {
    const text = decodeDatasetBytes(concat(bytes(0xef, 0xbb, 0xbf), utf8('text,label\n')), 'x.csv');
    expect(text).toBe('text,label\n');
  });

  it('decodes UTF-16 with a byte-order mark, little and big endian', () => {
    for (const endian of ['le', 'be'] as const) {
      expect(decodeDatasetBytes(utf16('text\tlabel\nné\ta\n', endian, true), 'x.tsv')).toBe(
        'text\tlabel\nné\ta\n',
      );
    }
  });

  it('reads an empty file as empty text (the parser then says it is empty)', () => {
    expect(decodeDatasetBytes(new Uint8Array(0), 'x.csv')).toBe('');
  });

  it('keeps a few stray control characters (they occur in real exports)', () => {
    const text = `text,label\n${'a sentence about food,food\n'.repeat(20)}odd\u000b,food\n`;
    expect(decodeDatasetBytes(utf8(text), 'x.csv')).toBe(text);
  });
});

describe('decodeDatasetBytes: what it refuses, and how it says so', () => {
  it('refuses Windows-1252 text, naming the byte, its line and how to re-save', () => {
    // "café" in Windows-1252 on line 3: é is 0xE9 followed by a comma, which is not a continuation byte.
    const latin1 = concat(utf8('text,label\nok,a\ncaf'), bytes(0xe9), utf8(',b\n'));
    const error = decodeError(latin1, 'latin1.csv');
    expect(error.code).toBe('not-utf8');
    expect(error.message).toBe(
      '"latin1.csv" is not UTF-8 text: byte 20 (0xE9, on line 3) is not valid UTF-8; the file was probably ' +
        `saved in a legacy encoding such as Windows-1252 or Latin-1. ${RESAVE_AS_UTF8}`,
    );
  });

  it('counts byte positions from the start of the file when a BOM precedes bad bytes', () => {
    const error = decodeError(concat(bytes(0xef, 0xbb, 0xbf), utf8('ab'), bytes(0xff)));
    expect(error.message).toContain('byte 6 (0xFF, on line 1)');
  });

  it('refuses UTF-16 without a byte-order mark', () => {
    const error = decodeError(utf16('text,label\nhello,a\n', 'le', false));
    expect(error.code).toBe('not-utf8');
    expect(error.message).toBe(
      '"data.csv" looks like UTF-16 text without a byte-order mark, which cannot be read reliably. ' +
        RESAVE_AS_UTF8,
    );
  });

  it('refuses damaged UTF-16', () => {
    const damaged = concat(utf16('ab', 'le', true), bytes(0x00, 0xd8));
    expect(decodeError(damaged).message).toMatch(/^"data.csv" starts like UTF-16 text but is damaged/);
  });

  it('recognises workbooks, PDFs, archives and images saved under a text name', () => {
    const cases: [number[], string][] = [
      [
        [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00],
        'a zip archive, such as an Excel (.xlsx) or OpenDocument (.ods) workbook',
      ],
      [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0x00], 'an Excel 97-2003 workbook (.xls)'],
      [[0x25, 0x50, 0x44, 0x46, 0x2d, 0x31], 'a PDF document'],
      [[0x1f, 0x8b, 0x08, 0x00], 'a gzip-compressed file'],
      [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00], 'a PNG image'],
      [[0x47, 0x49, 0x46, 0x38, 0x39, 0x61], 'a GIF image'],
      [[0xff, 0xd8, 0xff, 0xe0], 'a JPEG image'],
    ];
    for (const [signature, what] of cases) {
      const error = decodeError(bytes(...signature), 'sheet.csv');
      expect(error.code).toBe('binary-file');
      expect(error.message).toMatch(
        new RegExp(`^"sheet.csv" is ${what.replace(/[().]/g, '\\$&')}, not a text file: `),
      );
    }
  });

  it('refuses binary data with NUL bytes, naming the first one', () => {
    const error = decodeError(concat(utf8('text,label\n'), bytes(0x00, 0x9f, 0x13, 0x00)));
    expect(error.code).toBe('binary-file');
    expect(error.message).toBe(
      '"data.csv" is not a text file: it contains binary data (a NUL byte at byte 12). ' +
        'Choose a CSV, TSV, JSONL or JSON text file.',
    );
  });

  it('refuses valid UTF-8 that is mostly control characters', () => {
    const garbage = utf8('\u0001\u0002\u0003abc\u0004\u0005');
    expect(decodeError(garbage).message).toContain('(the control character U+0001)');
  });

  it('refuses random bytes (seeded), whichever check catches them first', () => {
    let state = 12345;
    const random = new Uint8Array(4096).map(() => {
      state = (state * 1103515245 + 12345) >>> 0;
      return state >>> 24;
    });
    expect(['binary-file', 'not-utf8']).toContain(decodeError(random).code);
  });
});

describe('firstInvalidUtf8Offset', () => {
  it('is -1 for valid UTF-8 and points at the lead byte of a broken sequence', () => {
    expect(firstInvalidUtf8Offset(utf8('héllo 😀'))).toBe(-1);
    expect(firstInvalidUtf8Offset(bytes(0x61, 0xc3))).toBe(1); // cut off by the end
    expect(firstInvalidUtf8Offset(bytes(0x61, 0x80))).toBe(1); // stray continuation byte
    expect(firstInvalidUtf8Offset(bytes(0xc0, 0xaf))).toBe(0); // overlong "/"
    expect(firstInvalidUtf8Offset(bytes(0xed, 0xa0, 0x80))).toBe(0); // UTF-16 surrogate
    expect(firstInvalidUtf8Offset(bytes(0x61, 0x62, 0xf5, 0x80, 0x80, 0x80))).toBe(2); // beyond U+10FFFF
  });

  it('agrees with TextDecoder on whether bytes are valid', () => {
    let state = 99;
    for (let round = 0; round < 200; round++) {
      const sample = new Uint8Array(12).map(() => {
        state = (state * 1664525 + 1013904223) >>> 0;
        return state >>> 24 > 200 ? state >>> 24 : (state >>> 24) & 0x7f;
      });
      let valid = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(sample);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8Offset(sample) === -1).toBe(valid);
    }
  });
});
