/**
 * @file Font strikes warmed in idle time (src/lib/components/shared/font-warmup.ts): the list covers every font
 * size the app's styles set, and the warm-up lays out strikes for at most a slice of each idle period (one when
 * there is no idle time), leaves nothing in the document and stops when cancelled.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fontStrikes,
  IDLE_SLICE_MS,
  warmFontStrikes,
  type IdleTime,
} from '../../../src/lib/components/shared/font-warmup.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Every file whose styles the page uses: the global sheet and each component. */
function styleSources(): string[] {
  const files = [join(ROOT, 'src/app.css'), join(ROOT, 'src/App.svelte')];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.svelte')) files.push(path);
    }
  };
  walk(join(ROOT, 'src/lib/components'));
  return files;
}

describe('fontStrikes', () => {
  /** Every `font-size` value the styles set with the unit `unit` (the drawn strikes are in the browser test). */
  function sizesSet(unit: RegExp): Set<string> {
    const used = new Set<string>();
    for (const file of styleSources()) {
      for (const match of readFileSync(file, 'utf8').matchAll(/font-size:\s*([\d.]+[a-z]+)\b/g)) {
        const size = match[1] as string;
        if (unit.test(size)) used.add(size);
      }
    }
    return used;
  }

  it('draws every absolute font size the styles set (rem and px) at some weight', () => {
    const used = sizesSet(/^[\d.]+(rem|px)$/);
    expect(used.size).toBeGreaterThan(5);
    const listed = new Set(fontStrikes().map((strike) => strike.size));
    expect([...used].filter((size) => !listed.has(size))).toEqual([]);
  });

  it('draws every relative (em) font size the styles set, inside some absolute size', () => {
    const used = sizesSet(/^[\d.]+em$/);
    expect(used.size).toBeGreaterThan(0);
    const scales = new Set(
      fontStrikes().flatMap((strike) => {
        const scale = /^calc\([\d.]+(?:rem|px) \* ([\d.]+)\)$/.exec(strike.size)?.[1];
        return scale === undefined ? [] : [`${scale}em`];
      }),
    );
    expect([...used].filter((size) => !scales.has(size))).toEqual([]);
  });

  it('has no strike twice, and the italic and every weight in it', () => {
    const strikes = fontStrikes();
    const keys = strikes.map((s) => `${s.family}|${s.size}|${s.weight}|${s.style}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(strikes.map((s) => s.weight))).toEqual(new Set(['400', '500', '600', '700']));
    expect(strikes.filter((s) => s.style === 'italic')).toHaveLength(1);
  });
});

interface FakeElement {
  style: Record<string, string>;
  textContent: string;
  children: FakeElement[];
  parent: FakeElement | undefined;
  offsetWidth: number;
  setAttribute(name: string, value: string): void;
  append(child: FakeElement): void;
  remove(): void;
}

/** A document just big enough for the warm-up: records the strikes laid out and what is attached. */
function fakeDocument(): { body: FakeElement; laidOut: string[] } {
  const laidOut: string[] = [];
  const element = (): FakeElement => {
    const node: FakeElement = {
      style: {},
      textContent: '',
      children: [],
      parent: undefined,
      get offsetWidth() {
        laidOut.push(`${node.style['fontFamily']}|${node.style['fontSize']}|${node.style['fontWeight']}`);
        return 10;
      },
      setAttribute() {},
      append(child) {
        child.parent = node;
        node.children.push(child);
      },
      remove() {
        if (node.parent) node.parent.children = node.parent.children.filter((c) => c !== node);
        node.parent = undefined;
      },
    };
    return node;
  };
  const body = element();
  (globalThis as { document?: unknown }).document = { body, createElement: element };
  return { body, laidOut };
}

describe('warmFontStrikes', () => {
  afterEach(() => {
    delete (globalThis as { document?: unknown }).document;
  });

  /** An idle period of `ms` that each strike laid out uses `perStrike` of. */
  function idlePeriod(ms: number, perStrike: number, laidOut: string[]): IdleTime {
    const before = laidOut.length;
    return { timeRemaining: () => Math.max(0, ms - (laidOut.length - before) * perStrike) };
  }

  it.each([
    // idle period, ms per strike, strikes per callback
    { idle: 50, perStrike: 1, strikes: IDLE_SLICE_MS },
    { idle: 50, perStrike: 4, strikes: 3 },
    { idle: 16, perStrike: 1, strikes: 6 },
    { idle: 5, perStrike: 1, strikes: 1 },
    { idle: 50, perStrike: 30, strikes: 1 },
  ])(
    'lays out strikes for at most a slice of a $idle ms idle period ($perStrike ms each: $strikes a callback)',
    ({ idle, perStrike, strikes }) => {
      const { body, laidOut } = fakeDocument();
      const queue: ((idle?: IdleTime) => void)[] = [];
      warmFontStrikes((task) => {
        queue.push(task);
        return () => undefined;
      });
      expect(laidOut).toEqual([]);
      const perCallback: number[] = [];
      while (queue.length > 0) {
        const before = laidOut.length;
        (queue.shift() as (idle?: IdleTime) => void)(idlePeriod(idle, perStrike, laidOut));
        perCallback.push(laidOut.length - before);
        expect(body.children).toEqual([]);
      }
      expect(laidOut).toHaveLength(fontStrikes().length);
      // Every callback but the last takes the same share; the last takes what is left.
      const last = perCallback.at(-1) as number;
      expect(perCallback.slice(0, -1).every((count) => count === strikes)).toBe(true);
      expect(last).toBeLessThanOrEqual(strikes);
      expect(perCallback).toHaveLength(Math.ceil(fontStrikes().length / strikes) + (last === 0 ? 1 : 0));
    },
  );

  it('lays out a single strike in a callback with no idle time (its timeout passed)', () => {
    const { laidOut } = fakeDocument();
    const queue: ((idle?: IdleTime) => void)[] = [];
    warmFontStrikes((task) => {
      queue.push(task);
      return () => undefined;
    });
    (queue.shift() as (idle?: IdleTime) => void)();
    expect(laidOut).toHaveLength(1);
    (queue.shift() as (idle?: IdleTime) => void)({ timeRemaining: () => 0 });
    expect(laidOut).toHaveLength(2);
  });

  it('stops when cancelled', () => {
    const { laidOut } = fakeDocument();
    const queue: (() => void)[] = [];
    let cancelled = 0;
    const stop = warmFontStrikes((task) => {
      queue.push(task);
      return () => {
        cancelled++;
        queue.length = 0;
      };
    });
    (queue.shift() as () => void)();
    (queue.shift() as () => void)();
    stop();
    expect(cancelled).toBe(1);
    expect(queue).toEqual([]);
    expect(laidOut).toHaveLength(2);
  });
});
