/**
 * @file Random v4 UUIDs for record ids, also on pages that are not a secure context (plain http on a network
 * address, see README "For teachers"), where browsers leave out `crypto.randomUUID` but keep `getRandomValues`.
 */

/** A random RFC 4122 version-4 UUID: `crypto.randomUUID()` where available, else built from `getRandomValues`. */
export function randomUuid(): string {
  const native = (crypto as Partial<Crypto>).randomUUID;
  if (native !== undefined) return native.call(crypto);
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
