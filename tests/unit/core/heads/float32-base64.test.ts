import { describe, expect, it } from 'vitest';
import {
  Base64Error,
  base64ToFloat32,
  float32ToBase64,
} from '../../../../src/lib/core/heads/float32-base64.ts';

describe('float32 values as base64', () => {
  it('round-trips float32 values exactly, little-endian, with padding', () => {
    const values = Float32Array.of(0, -0, 1, -1.5, Math.PI, 1e-38, 3.4e38, -7.25e-12);
    const text = float32ToBase64(values);
    expect(base64ToFloat32(text)).toEqual(values);
    // 1.0f is 00 00 80 3f in little-endian byte order.
    expect(float32ToBase64([1])).toBe('AACAPw==');
    expect(float32ToBase64([])).toBe('');
    expect(base64ToFloat32('')).toEqual(new Float32Array(0));
  });

  it('agrees with Node’s own base64 on many values (chunk boundaries included)', () => {
    const values = Float32Array.from({ length: 40_000 }, (_, i) => Math.sin(i) * (i % 7));
    const text = float32ToBase64(values);
    expect(text).toBe(Buffer.from(values.buffer).toString('base64'));
    expect(base64ToFloat32(text)).toEqual(values);
  });

  it('keeps NaN and infinities, for the caller to refuse', () => {
    const decoded = base64ToFloat32(float32ToBase64([Number.NaN, Infinity]));
    expect(Number.isNaN(decoded[0])).toBe(true);
    expect(decoded[1]).toBe(Infinity);
  });

  it.each([
    ['a length that is not a multiple of 4', 'AACAP', /multiple of 4/],
    ['a character outside the alphabet', 'AAC*Pw==', /character 3 \("\*"\)/],
    ['padding in the middle', 'AA==AACAPw==AAAA', /character 2/],
    ['bytes that are not whole float32 values', 'AACA', /3 bytes/],
    ['a non-ASCII character', 'AACAé===', /character 4/],
  ])('refuses %s', (_title, text, message) => {
    expect(() => base64ToFloat32(text)).toThrow(Base64Error);
    expect(() => base64ToFloat32(text)).toThrow(message);
  });
});
