/**
 * @file Float32 values as base64 text (little-endian IEEE 754, standard alphabet with `=` padding): how a head file
 * stores the millions of weights of unfrozen transformer layers exactly, in about a third of the JSON a list of
 * numbers takes. Pure, for the browser and Node alike.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODE_OF = (() => {
  const codes = new Int16Array(128).fill(-1);
  for (let index = 0; index < ALPHABET.length; index++) codes[ALPHABET.charCodeAt(index)] = index;
  return codes;
})();

/** Encodes `values` as float32 little-endian bytes in base64 (values are rounded to float32). */
export function float32ToBase64(values: ArrayLike<number>): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < values.length; index++) view.setFloat32(index * 4, values[index] ?? 0, true);
  const parts: string[] = [];
  // Built in chunks so a 10 MB weight never becomes one huge string concatenation.
  const CHUNK = 3 * 16_384;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(start + CHUNK, bytes.length);
    let text = '';
    for (let index = start; index < end; index += 3) {
      const a = bytes[index] as number;
      const b = index + 1 < end ? (bytes[index + 1] as number) : 0;
      const c = index + 2 < end ? (bytes[index + 2] as number) : 0;
      text +=
        ALPHABET.charAt(a >> 2) +
        ALPHABET.charAt(((a & 3) << 4) | (b >> 4)) +
        (index + 1 < end ? ALPHABET.charAt(((b & 15) << 2) | (c >> 6)) : '=') +
        (index + 2 < end ? ALPHABET.charAt(c & 63) : '=');
    }
    parts.push(text);
  }
  return parts.join('');
}

/** Base64 text that is not whole float32 values. */
export class Base64Error extends Error {
  override readonly name = 'Base64Error';
}

/**
 * Decodes base64 of float32 little-endian bytes.
 * @throws Base64Error saying what is wrong: a character outside the alphabet, a length that is not a multiple of
 *   4, misplaced padding, or bytes that are not a whole number of float32 values.
 */
export function base64ToFloat32(text: string): Float32Array {
  if (text.length % 4 !== 0) throw new Base64Error(`its length ${text.length} is not a multiple of 4.`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const byteLength = (text.length / 4) * 3 - padding;
  if (byteLength % 4 !== 0) {
    throw new Base64Error(`it holds ${byteLength} bytes, not a whole number of 4-byte float32 values.`);
  }
  const bytes = new Uint8Array(byteLength);
  const body = text.length - padding;
  let out = 0;
  for (let index = 0; index < text.length; index += 4) {
    let group = 0;
    for (let offset = 0; offset < 4; offset++) {
      const at = index + offset;
      const code = text.charCodeAt(at);
      const value = at >= body ? 0 : code < 128 ? (CODE_OF[code] as number) : -1;
      if (value < 0) {
        throw new Base64Error(`character ${at} (${JSON.stringify(text[at])}) is not base64.`);
      }
      group = (group << 6) | value;
    }
    if (out < byteLength) bytes[out++] = (group >> 16) & 255;
    if (out < byteLength) bytes[out++] = (group >> 8) & 255;
    if (out < byteLength) bytes[out++] = group & 255;
  }
  const view = new DataView(bytes.buffer);
  const values = new Float32Array(byteLength / 4);
  for (let index = 0; index < values.length; index++) values[index] = view.getFloat32(index * 4, true);
  return values;
}
