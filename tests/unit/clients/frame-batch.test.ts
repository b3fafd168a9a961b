import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  afterFirstPaint,
  afterPaint,
  FIRST_PAINT_FALLBACK_MS,
  FRAME_FALLBACK_MS,
  FrameBatch,
  FrameLatest,
  nextFrame,
  painted,
} from '../../../src/lib/clients/frame-batch.ts';
import { controlledScheduler } from '../../helpers/controlled-scheduler.ts';

describe('FrameBatch', () => {
  test('items pushed between two frames are applied together, in order, once per frame', () => {
    const frames = controlledScheduler();
    const applied: number[][] = [];
    const batch = new FrameBatch<number>((items) => applied.push(items), frames.schedule);
    batch.push(1);
    batch.push(2);
    batch.push(3);
    expect(frames.waiting).toBe(1);
    expect(applied).toEqual([]);
    frames.runWaiting();
    expect(applied).toEqual([[1, 2, 3]]);
    batch.push(4);
    frames.runWaiting();
    frames.runWaiting();
    expect(applied).toEqual([[1, 2, 3], [4]]);
  });

  test('flush applies the waiting items at once and the frame then has nothing left to apply', () => {
    const frames = controlledScheduler();
    const applied: string[][] = [];
    const batch = new FrameBatch<string>((items) => applied.push(items), frames.schedule);
    batch.push('a');
    batch.flush();
    expect(applied).toEqual([['a']]);
    expect(frames.waiting).toBe(0);
    expect(batch.pending).toBe(0);
    batch.flush();
    expect(applied).toEqual([['a']]);
  });

  test('clear drops the waiting items', () => {
    const frames = controlledScheduler();
    const apply = vi.fn();
    const batch = new FrameBatch<number>(apply, frames.schedule);
    batch.push(1);
    batch.clear();
    frames.runWaiting();
    batch.flush();
    expect(apply).not.toHaveBeenCalled();
  });
});

describe('FrameLatest', () => {
  test('publishes only the newest value of each frame', () => {
    const frames = controlledScheduler();
    const published: number[] = [];
    const latest = new FrameLatest<number>((value) => published.push(value), frames.schedule);
    for (let done = 1; done <= 10; done++) latest.set(done);
    frames.runWaiting();
    latest.set(11);
    latest.flush();
    expect(published).toEqual([10, 11]);
  });
});

describe('nextFrame without animation frames (Node, a hidden page)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('runs after the fallback time, once, and not at all when cancelled', async () => {
    const run = vi.fn();
    nextFrame(run);
    const cancelled = vi.fn();
    nextFrame(cancelled)();
    await vi.advanceTimersByTimeAsync(FRAME_FALLBACK_MS - 1);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(FRAME_FALLBACK_MS);
    expect(run).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
  });
});

describe('painted', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  test('resolves at once where nothing paints (Node)', async () => {
    let resolved = false;
    void painted().then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(true);
  });

  test('in a page, resolves only after the next frame and a task after it', async () => {
    vi.useFakeTimers();
    const frames: FrameRequestCallback[] = [];
    vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => frames.push(callback));
    vi.stubGlobal('cancelAnimationFrame', () => undefined);
    let resolved = false;
    void painted().then(() => (resolved = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(resolved).toBe(false);
    expect(frames).toHaveLength(1);
    frames[0]?.(0);
    await Promise.resolve();
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(resolved).toBe(true);
  });
});

describe('afterPaint', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('runs after the frame (here the fallback timer, as in Node) and a task after it; cancel stops it', () => {
    const runs: string[] = [];
    afterPaint(() => runs.push('first'));
    const cancel = afterPaint(() => runs.push('cancelled'));
    cancel();
    expect(runs).toEqual([]);
    vi.runAllTimers();
    expect(runs).toEqual(['first']);
  });
});

describe('afterFirstPaint', () => {
  /** A page's paint timing: `paint()` records the first contentful paint and tells the observers. */
  function fakePaintTiming(options: { painted?: boolean; observeThrows?: boolean } = {}) {
    let painted = options.painted ?? false;
    const observers = new Set<FakeObserver>();
    class FakeObserver {
      readonly #callback: () => void;
      constructor(callback: () => void) {
        this.#callback = callback;
      }
      observe(init: { type: string; buffered: boolean }): void {
        if (options.observeThrows) throw new TypeError(`unsupported entry type ${init.type}`);
        observers.add(this);
      }
      disconnect(): void {
        observers.delete(this);
      }
      notify(): void {
        this.#callback();
      }
    }
    vi.stubGlobal('PerformanceObserver', FakeObserver);
    vi.stubGlobal('requestAnimationFrame', () => 1);
    vi.spyOn(performance, 'getEntriesByType').mockImplementation((type: string) =>
      type === 'paint' && painted ? ([{ name: 'first-contentful-paint' }] as PerformanceEntryList) : [],
    );
    return {
      observers,
      paint(name = 'first-contentful-paint'): void {
        if (name === 'first-contentful-paint') painted = true;
        for (const observer of [...observers]) observer.notify();
      },
    };
  }

  /** Whether `promise` has settled after the microtasks queued so far. */
  async function settled(promise: Promise<void>): Promise<boolean> {
    let done = false;
    void promise.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    return done;
  }

  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  test('resolves at once where nothing paints (Node)', async () => {
    expect(await settled(afterFirstPaint())).toBe(true);
  });

  test('resolves at once when the first contentful paint is already recorded', async () => {
    const timing = fakePaintTiming({ painted: true });
    expect(await settled(afterFirstPaint())).toBe(true);
    expect(timing.observers.size).toBe(0);
  });

  test('waits for the first contentful paint, not an earlier blank paint, then stops observing', async () => {
    const timing = fakePaintTiming();
    const waiting = afterFirstPaint();
    expect(await settled(waiting)).toBe(false);
    timing.paint('first-paint');
    expect(await settled(waiting)).toBe(false);
    timing.paint();
    expect(await settled(waiting)).toBe(true);
    expect(timing.observers.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('a page that never paints (a background tab) goes on after the fallback', async () => {
    const timing = fakePaintTiming();
    const waiting = afterFirstPaint();
    await vi.advanceTimersByTimeAsync(FIRST_PAINT_FALLBACK_MS - 1);
    expect(await settled(waiting)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(waiting)).toBe(true);
    expect(timing.observers.size).toBe(0);
  });

  test('a browser without paint timing goes on at once', async () => {
    fakePaintTiming({ observeThrows: true });
    expect(await settled(afterFirstPaint())).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
