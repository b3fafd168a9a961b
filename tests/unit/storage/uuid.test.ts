/** @file `randomUuid` gives version-4 UUIDs also where `crypto.randomUUID` is missing (pages that are not secure). */
import { afterEach, expect, test, vi } from 'vitest';
import { randomUuid } from '../../../src/lib/storage/uuid.ts';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

afterEach(() => {
  vi.unstubAllGlobals();
});

test.each([
  { name: 'with crypto.randomUUID', native: true },
  { name: 'without crypto.randomUUID', native: false },
])('$name: version-4 UUIDs, all different', ({ native }) => {
  if (!native) {
    const real = globalThis.crypto;
    vi.stubGlobal('crypto', {
      getRandomValues: (array: Uint8Array<ArrayBuffer>) => real.getRandomValues(array),
    });
  }
  expect((crypto as Partial<Crypto>).randomUUID === undefined).toBe(!native);
  const ids = Array.from({ length: 200 }, () => randomUuid());
  ids.forEach((id) => expect(id).toMatch(V4));
  expect(new Set(ids).size).toBe(ids.length);
});
