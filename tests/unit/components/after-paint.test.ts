import { describe, expect, test } from 'vitest';
import { revealInStages } from '../../../src/lib/components/shared/after-paint.ts';
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
