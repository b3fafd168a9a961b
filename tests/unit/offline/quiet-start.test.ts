/**
 * @file startWhenQuiet (src/offline/quiet-start.ts): the offline copy's first install waits until nothing the user
 * asked for has been going on for a while, and the wait starts over after each piece of work.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startWhenQuiet } from '../../../src/offline/quiet-start.ts';

const QUIET_MS = 2000;

/** A timeline: at each time (ms), the page's busy state changes. */
interface Case {
  what: string;
  changes: { at: number; busy: boolean }[];
  /** When `start` ran (ms), or null when it had not by 20 s. */
  startsAt: number | null;
}

const CASES: Case[] = [
  { what: 'a page left alone starts after the quiet period', changes: [], startsAt: 2000 },
  {
    what: 'a model load started before the quiet period ends holds it until the load is over, and 2 s more',
    changes: [
      { at: 1000, busy: true },
      { at: 3000, busy: false },
    ],
    startsAt: 5000,
  },
  {
    what: 'work that follows work closely keeps holding it',
    changes: [
      { at: 500, busy: true },
      { at: 3000, busy: false },
      { at: 4000, busy: true },
      { at: 9000, busy: false },
    ],
    startsAt: 11000,
  },
  {
    what: 'saying "not busy" again does not restart the wait',
    changes: [
      { at: 1000, busy: false },
      { at: 1500, busy: false },
    ],
    startsAt: 2000,
  },
  {
    what: 'work that never ends holds it',
    changes: [{ at: 100, busy: true }],
    startsAt: null,
  },
  {
    what: 'work after the start changes nothing',
    changes: [
      { at: 2500, busy: true },
      { at: 2600, busy: false },
    ],
    startsAt: 2000,
  },
];

describe('startWhenQuiet', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(CASES)('$what', ({ changes, startsAt }) => {
    const started: number[] = [];
    const origin = Date.now();
    const gate = startWhenQuiet(() => started.push(Date.now() - origin), QUIET_MS);
    for (const change of changes) {
      vi.advanceTimersByTime(change.at - (Date.now() - origin));
      gate.setBusy(change.busy);
    }
    vi.advanceTimersByTime(20_000 - (Date.now() - origin));
    expect(started).toEqual(startsAt === null ? [] : [startsAt]);
  });

  it('does not start once cancelled, and leaves no timer behind', () => {
    const start = vi.fn();
    const gate = startWhenQuiet(start, QUIET_MS);
    vi.advanceTimersByTime(1000);
    gate.cancel();
    gate.setBusy(true);
    gate.setBusy(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(start).not.toHaveBeenCalled();
  });
});
