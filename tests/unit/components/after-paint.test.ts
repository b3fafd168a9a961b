import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { afterPaint, revealInStages } from '../../../src/lib/components/shared/after-paint.ts';
import { controlledScheduler } from '../../helpers/controlled-scheduler.ts';

describe('revealInStages', () => {
  test('reveals one stage per painted frame, in order, and no more than asked', () => {
    const paints = controlledScheduler();
    const revealed: number[] = [];
    revealInStages(3, (stage) => revealed.push(stage), paints.schedule);
    expect(revealed).toEqual([]);
    paints.runWaiting();
    expect(revealed).toEqual([1]);
    paints.runWaiting();
    paints.runWaiting();
    expect(revealed).toEqual([1, 2, 3]);
    expect(paints.waiting).toBe(0);
  });

  test('stops when cancelled, also between a frame and its reveal', () => {
    const paints = controlledScheduler();
    const revealed: number[] = [];
    const stop = revealInStages(3, (stage) => revealed.push(stage), paints.schedule);
    paints.runWaiting();
    stop();
    expect(paints.waiting).toBe(0);
    paints.runWaiting();
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
