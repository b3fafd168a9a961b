/**
 * @file Content hashes of uploaded rows (src/lib/storage/hash.ts, over core/hash/sha256.ts): the plain-TypeScript SHA-256 the database
 * upgrade uses matches the published test vectors and WebCrypto's digest, so rows migrated from an older database
 * and rows saved later land under the same key.
 */
import { describe, expect, test } from 'vitest';
import { sha256, sha256Hex } from '../../../src/lib/core/hash/sha256.ts';
import { hashRows, hashRowsSync, type Row } from '../../../src/lib/storage/hash.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('sha256', () => {
  // FIPS 180-4 examples, and the block-boundary lengths where padding spills into a second block.
  test.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('of %j is the published digest', (text, digest) => {
    expect(hex(sha256(new TextEncoder().encode(text)))).toBe(digest);
  });

  test.each([55, 56, 63, 64, 65, 119, 120, 1000])('agrees with WebCrypto on %i bytes', async (length) => {
    const data = new Uint8Array(length).map((_, index) => (index * 31 + 7) & 0xff);
    const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    expect(hex(sha256(data))).toBe(hex(expected));
  });
});

describe('sha256Hex', () => {
  test('gives the same digest with WebCrypto and without it (a page on plain http has no crypto.subtle)', async () => {
    const data = new Uint8Array(100_000).map((_, index) => (index * 13 + 5) & 0xff);
    const withWebCrypto = await sha256Hex(data);
    const subtle = Object.getOwnPropertyDescriptor(Crypto.prototype, 'subtle');
    Object.defineProperty(crypto, 'subtle', { value: undefined, configurable: true });
    try {
      expect(crypto.subtle).toBeUndefined();
      expect(await sha256Hex(data)).toBe(withWebCrypto);
    } finally {
      Reflect.deleteProperty(crypto, 'subtle');
    }
    expect(Object.getOwnPropertyDescriptor(Crypto.prototype, 'subtle')).toEqual(subtle);
    expect(crypto.subtle).toBeDefined();
    expect(withWebCrypto).toBe(hex(new Uint8Array(await crypto.subtle.digest('SHA-256', data))));
  });
});

describe('hashRows', () => {
  const cases: [string, Row[]][] = [
    ['one row', [{ text: 'pizza tonight', label: 'food' }]],
    ['non-ASCII cells and field names', [{ texte: 'crème brûlée 🍮', étiquette: 'nourriture' }]],
    ['escaped characters', [{ text: 'a "quoted"\nline\tand \\ backslash', label: '' }]],
    [
      'many rows',
      Array.from({ length: 2000 }, (_, index) => ({ id: String(index), text: `row ${index}`, label: 'x' })),
    ],
  ];

  test.each(cases)('of %s is the same synchronously and with WebCrypto', async (_name, rows) => {
    const hash = await hashRows(rows);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRowsSync(rows)).toBe(hash);
  });

  test('differs when any cell differs', async () => {
    const rows = [{ text: 'a', label: 'x' }];
    expect(await hashRows([{ text: 'a', label: 'y' }])).not.toBe(await hashRows(rows));
  });
});
