/**
 * @file Setup of the unit project whose files share one process (vite.config.ts): after each file, fails it when
 * it left the process changed for the files after it — a global added, replaced or removed, fake timers still
 * on, or tfjs's WASM backend started — and names what, so the leak is mended where it starts (restore it in
 * afterEach/afterAll) or the file is named `*.isolated.test.ts` to run in a process of its own.
 */
import { afterAll, vi } from 'vitest';

/**
 * Globals that libraries define once, when first imported, and that stay as the library stays loaded: symbols
 * (registries such as undici's dispatcher) and names starting with `_` or `$` (tfjs's engine, tslib's and zod's
 * helpers, Svelte's rune guards). A test's own globals (`indexedDB`, `window`, `fetch`, ...) are none of these.
 */
function isLibraryGlobal(key: PropertyKey): boolean {
  return typeof key === 'symbol' || /^[_$]/.test(key as string);
}

type Snapshot = Map<PropertyKey, unknown>;

/** Every global's value (reading them also settles Node's lazily defined ones, e.g. `Request`). */
function snapshot(): Snapshot {
  const globals: Snapshot = new Map();
  for (const key of Reflect.ownKeys(globalThis)) {
    if (isLibraryGlobal(key)) continue;
    try {
      globals.set(key, Reflect.get(globalThis, key));
    } catch {
      globals.set(key, undefined);
    }
  }
  return globals;
}

/** What differs between two snapshots, one phrase each: `added indexedDB`, `replaced fetch`, `removed window`. */
function globalChanges(before: Snapshot, after: Snapshot): string[] {
  const changes: string[] = [];
  for (const [key, value] of after) {
    if (!before.has(key)) changes.push(`added ${String(key)}`);
    else if (!Object.is(before.get(key), value)) changes.push(`replaced ${String(key)}`);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.push(`removed ${String(key)}`);
  return changes;
}

const before = snapshot();

afterAll(() => {
  const leaks = globalChanges(before, snapshot());
  if (vi.isFakeTimers()) leaks.push('fake timers still on');
  // tfjs's engine lives on globalThis, one per process, with every backend it started (tfjs-core engine.ts).
  const engine = (globalThis as { _tfengine?: { registry?: Record<string, unknown> } })._tfengine;
  if (engine?.registry?.wasm !== undefined) leaks.push("tfjs's WASM backend started");
  if (leaks.length > 0) {
    throw new Error(
      `This test file leaves the process changed for the files after it (${leaks.join(', ')}): restore it in ` +
        'afterEach/afterAll, or name the file *.isolated.test.ts to give it a process of its own (vite.config.ts).',
    );
  }
});
