import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { FrameScheduler } from '../../../src/lib/clients/frame-batch.ts';
import { afterPaint, revealInStages } from '../../../src/lib/components/shared/after-paint.ts';

/** A scheduler the test drives: `paint()` runs what waits for the next painted frame. */
function controlledPaints() {
  const waiting = new Set<() => void>();
  const schedule: FrameScheduler = (run) => {
    waiting.add(run);
    return () => waiting.delete(run);
  };
  return {
    schedule,
    get waiting() {
      return waiting.size;
    },
    paint: () => {
      const runs = [...waiting];
      waiting.clear();
      for (const run of runs) run();
    },
  };
}

describe('revealInStages', () => {
  test('reveals one stage per painted frame, in order, and no more than asked', () => {
    const paints = controlledPaints();
    const revealed: number[] = [];
    revealInStages(3, (stage) => revealed.push(stage), paints.schedule);
    expect(revealed).toEqual([]);
    paints.paint();
    expect(revealed).toEqual([1]);
    paints.paint();
    paints.paint();
    expect(revealed).toEqual([1, 2, 3]);
    expect(paints.waiting).toBe(0);
  });

  test('stops when cancelled, also between a frame and its reveal', () => {
    const paints = controlledPaints();
    const revealed: number[] = [];
    const stop = revealInStages(3, (stage) => revealed.push(stage), paints.schedule);
    paints.paint();
    stop();
    expect(paints.waiting).toBe(0);
    paints.paint();
    expect(revealed).toEqual([1]);
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
