/**
 * @file A frame scheduler a test drives by hand, for code that waits for the next (painted) frame: what is
 * scheduled runs only when the test calls `frame()`, so a test says exactly which frame each effect lands in.
 */
import type { FrameScheduler } from '../../src/lib/clients/frame-batch.ts';

/** A {@link FrameScheduler} under the test's control. */
export interface ControlledFrames {
  /** Pass this where the code under test takes a scheduler. */
  schedule: FrameScheduler;
  /** How many callbacks wait for the next frame. */
  readonly waiting: number;
  /** Runs what waits for the next frame (callbacks scheduled meanwhile wait for the one after). */
  frame(): void;
}

/** Creates a scheduler whose frames come only when the test calls `frame()`; cancelling unschedules. */
export function controlledFrames(): ControlledFrames {
  const waiting = new Set<() => void>();
  return {
    schedule: (run) => {
      waiting.add(run);
      return () => waiting.delete(run);
    },
    get waiting() {
      return waiting.size;
    },
    frame: () => {
      const runs = [...waiting];
      waiting.clear();
      for (const run of runs) run();
    },
  };
}
