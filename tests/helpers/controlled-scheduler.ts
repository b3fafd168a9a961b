/**
 * @file A scheduler a test drives by hand, for code that waits for the next frame, painted frame or idle period
 * (the app's FrameScheduler and IdleScheduler have this shape): what is scheduled runs only when the test calls
 * `runWaiting()`, so a test says exactly when each effect lands.
 */

/** Schedules `run` for later; the returned function unschedules it. */
export type Scheduler = (run: () => void) => () => void;

/** A {@link Scheduler} under the test's control. */
export interface ControlledScheduler {
  /** Pass this where the code under test takes a scheduler. */
  schedule: Scheduler;
  /** How many callbacks wait. */
  readonly waiting: number;
  /** Runs what waits now (callbacks scheduled meanwhile wait for the next call). */
  runWaiting(): void;
}

/** Creates a scheduler whose callbacks run only when the test calls `runWaiting()`; cancelling unschedules. */
export function controlledScheduler(): ControlledScheduler {
  const waiting = new Set<() => void>();
  return {
    schedule: (run) => {
      waiting.add(run);
      return () => waiting.delete(run);
    },
    get waiting() {
      return waiting.size;
    },
    runWaiting: () => {
      const runs = [...waiting];
      waiting.clear();
      for (const run of runs) run();
    },
  };
}
