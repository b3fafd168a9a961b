import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { DebouncedSaver } from '../../../src/lib/storage/autosave.ts';
import { controlledScheduler } from '../../helpers/controlled-scheduler.ts';

/** A write that records each call and finishes when the test says so. */
function controlledWrite() {
  const calls: number[] = [];
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let state = 0;
  const write = vi.fn(
    () =>
      new Promise<void>((resolve, reject) => {
        calls.push(state);
        pending.push({ resolve, reject });
      }),
  );
  return {
    write,
    calls,
    setState: (value: number) => (state = value),
    finish: () => pending.shift()?.resolve(),
    fail: (error: Error) => pending.shift()?.reject(error),
  };
}

describe('DebouncedSaver', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('many changes within the quiet time become one write of the newest state', async () => {
    const io = controlledWrite();
    const saver = new DebouncedSaver(io.write, 300);
    for (let i = 1; i <= 5; i++) {
      io.setState(i);
      saver.schedule();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(io.write).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(300);
    expect(io.calls).toEqual([5]);
    expect(saver.busy).toBe(true);
    io.finish();
    await vi.runAllTimersAsync();
    expect(saver.busy).toBe(false);
  });

  test('a change during a write is written after it, never in parallel', async () => {
    const io = controlledWrite();
    const saver = new DebouncedSaver(io.write, 10);
    io.setState(1);
    const first = saver.flush();
    io.setState(2);
    const second = saver.flush();
    await Promise.resolve();
    expect(io.calls).toEqual([1]);
    io.finish();
    await vi.waitFor(() => expect(io.calls).toEqual([1, 2]));
    io.finish();
    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toBeUndefined();
  });

  test('flush rejects with the write error, and a later flush writes again', async () => {
    const io = controlledWrite();
    const saver = new DebouncedSaver(io.write, 10);
    const failed = saver.flush();
    io.fail(new Error('quota'));
    await expect(failed).rejects.toThrow('quota');
    const retried = saver.flush();
    io.finish();
    await expect(retried).resolves.toBeUndefined();
    expect(io.write).toHaveBeenCalledTimes(2);
  });

  test('cancel drops a scheduled write', async () => {
    const io = controlledWrite();
    const saver = new DebouncedSaver(io.write, 10);
    saver.schedule();
    saver.cancel();
    await vi.advanceTimersByTimeAsync(50);
    expect(io.write).not.toHaveBeenCalled();
    expect(saver.busy).toBe(false);
  });
});

describe('DebouncedSaver waits for idle time', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('after the quiet time a scheduled save waits for idle time, busy all along', async () => {
    const io = controlledWrite();
    const idle = controlledScheduler();
    const saver = new DebouncedSaver(io.write, 10, idle.schedule);
    io.setState(1);
    saver.schedule();
    await vi.advanceTimersByTimeAsync(50);
    expect(idle.waiting).toBe(1);
    expect(io.write).not.toHaveBeenCalled();
    expect(saver.busy).toBe(true);
    io.setState(2);
    idle.runWaiting();
    expect(io.calls).toEqual([2]);
    io.finish();
    await vi.runAllTimersAsync();
    expect(saver.busy).toBe(false);
  });

  test('flush saves at once and drops the save waiting for idle time, so nothing is written twice', async () => {
    const io = controlledWrite();
    const idle = controlledScheduler();
    const saver = new DebouncedSaver(io.write, 10, idle.schedule);
    saver.schedule();
    await vi.advanceTimersByTimeAsync(50);
    expect(idle.waiting).toBe(1);
    const flushed = saver.flush();
    expect(idle.waiting).toBe(0);
    io.finish();
    await expect(flushed).resolves.toBeUndefined();
    idle.runWaiting();
    await vi.runAllTimersAsync();
    expect(io.write).toHaveBeenCalledTimes(1);
  });

  test('a new change while waiting for idle time restarts the quiet time', async () => {
    const io = controlledWrite();
    const idle = controlledScheduler();
    const saver = new DebouncedSaver(io.write, 10, idle.schedule);
    saver.schedule();
    await vi.advanceTimersByTimeAsync(50);
    saver.schedule();
    expect(idle.waiting).toBe(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(idle.waiting).toBe(1);
    idle.runWaiting();
    io.finish();
    await vi.runAllTimersAsync();
    expect(io.write).toHaveBeenCalledTimes(1);
  });
});
