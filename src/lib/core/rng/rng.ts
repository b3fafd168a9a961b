/**
 * @file A small seeded pseudo-random generator and the helpers built on it. Every random choice in an
 * experiment (split, shot sampling) goes through here, so the same seed gives the same result in the browser
 * and in Node.
 */

/** Returns a float in [0, 1). Each call advances the generator. */
export type Rng = () => number;

/**
 * The mulberry32 generator started from a raw 32-bit state, used as given. This is the one pseudo-random stream
 * of the project: `createRng` (experiments) and the fixture generator (scripts/fixtures/prng.ts) both draw from
 * it, so a change here shows up in the pinned streams of the tests and in the fixture files.
 * @param state Folded to an unsigned 32-bit integer.
 */
export function mulberry32(state: number): Rng {
  let current = state >>> 0;
  return () => {
    current = (current + 0x6d2b79f5) >>> 0;
    let t = current;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Creates the experiment generator (mulberry32) from an integer seed. Any finite number is accepted; it is folded
 * to 32 bits, so seeds that differ only above 2^32 give the same stream.
 * @throws RangeError when the seed is not a finite number.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) {
    throw new RangeError(`Seed must be a finite number, got ${String(seed)}.`);
  }
  // Fold fractional and large seeds into 32 bits; mixing with a constant keeps seed 0 from being a weak state.
  return mulberry32(Math.trunc(seed) ^ 0x9e3779b9);
}

/** A uniformly random integer in [0, exclusiveMax). */
export function randomInt(rng: Rng, exclusiveMax: number): number {
  return Math.floor(rng() * exclusiveMax);
}

/** Returns a shuffled copy (Fisher-Yates); the input is left untouched. */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const result = items.slice();
  for (let i = result.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const held = result[i] as T;
    result[i] = result[j] as T;
    result[j] = held;
  }
  return result;
}
