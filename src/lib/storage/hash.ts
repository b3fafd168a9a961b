/**
 * @file SHA-256 content hashes of uploaded rows, the key they are stored under once however many experiments use
 * them. `hashRows` uses WebCrypto (`crypto.subtle.digest`, browsers and Node 20); `hashRowsSync` gives the same
 * hash in plain TypeScript for the one place that cannot wait for a promise: a database upgrade, whose
 * transaction commits as soon as it waits on anything but IndexedDB itself. The hash itself is core/hash/sha256.ts.
 */
import { sha256Hex, sha256HexSync } from '../core/hash/sha256.ts';

/** One data row of an uploaded file: field name → cell. */
export type Row = Record<string, string>;

/** The bytes a hash is taken of, and the rows store keeps: the rows as compact JSON, UTF-8 encoded. */
export function rowsBytes(rows: readonly Row[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(rows));
}

/** The content hash of `rows`: SHA-256 of their JSON, 64 lower-case hex digits. */
export async function hashRows(rows: readonly Row[]): Promise<string> {
  return hashRowsBytes(rowsBytes(rows));
}

/** The content hash of rows already serialised by {@link rowsBytes}. */
export async function hashRowsBytes(bytes: Uint8Array): Promise<string> {
  return sha256Hex(bytes);
}

/** The same hash as {@link hashRows}, computed synchronously (for database upgrades). */
export function hashRowsSync(rows: readonly Row[]): string {
  return sha256HexSync(rowsBytes(rows));
}
