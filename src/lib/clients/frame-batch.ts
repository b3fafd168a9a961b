/**
 * @file Coalesces worker-driven updates to one per frame: a worker can report progress or an epoch every few
 * milliseconds, and each report written to rune state costs the page a Svelte update (and a chart redraw). The
 * clients collect reports as they arrive and publish them together before the next paint.
 */

/** Schedules `run` once, before the next frame; returns a function that cancels it. */
export type FrameScheduler = (run: () => void) => () => void;

/**
 * Longest a batch waits when no frame comes: a page in a background tab gets no animation frames, and its
 * state should still move on (a test or another tab may read it).
 */
export const FRAME_FALLBACK_MS = 250;

/** The next animation frame, or the fallback timer when frames stop (hidden page) or do not exist (Node). */
export const nextFrame: FrameScheduler = (run) => {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    cancelAll();
  };
  const frame =
    typeof requestAnimationFrame === 'function'
      ? requestAnimationFrame(() => {
          once();
          run();
        })
      : undefined;
  const timer = setTimeout(() => {
    if (done) return;
    once();
    run();
  }, FRAME_FALLBACK_MS);
  function cancelAll(): void {
    if (frame !== undefined) cancelAnimationFrame(frame);
    clearTimeout(timer);
  }
  return once;
};

/**
 * Runs `run` once the next frame has been painted: the animation-frame callback runs just before the paint, and
 * a task queued from it runs after. Returns a function that cancels it.
 */
export const afterPaint: FrameScheduler = (run) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancelFrame = nextFrame(() => {
    timer = setTimeout(run, 0);
  });
  return () => {
    cancelFrame();
    clearTimeout(timer);
  };
};

/**
 * Resolves once the page has painted what changed so far; at once where nothing paints (Node: the CLI, unit
 * tests). Work that fills the workers and the cores starts after it, so the page's answer to a click (the button
 * disabled, the status line) is drawn while a core is still free. Started inside the click's own task, feature
 * extraction on two onnxruntime threads stretched the Train click past 50 ms on a 2-core machine in five of six
 * scripted runs; started after the paint, in one of six.
 */
export function painted(): Promise<void> {
  if (typeof requestAnimationFrame !== 'function') return Promise.resolve();
  return new Promise((resolve) => {
    afterPaint(resolve);
  });
}

/**
 * Items pushed between two frames are handed to `apply` together, once, before the next frame; `flush` hands
 * them over at once (call it before publishing a final state, so nothing arrives after it), `clear` drops them.
 */
export class FrameBatch<T> {
  readonly #apply: (items: T[]) => void;
  readonly #schedule: FrameScheduler;
  #pending: T[] = [];
  #cancel: (() => void) | undefined;

  /**
   * @param apply Receives the items of one frame, in the order they were pushed (never an empty list).
   * @param schedule When to apply; the next animation frame by default.
   */
  constructor(apply: (items: T[]) => void, schedule: FrameScheduler = nextFrame) {
    this.#apply = apply;
    this.#schedule = schedule;
  }

  /** Items waiting for the next frame. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Adds an item to the next frame's batch. */
  push(item: T): void {
    this.#pending.push(item);
    this.#cancel ??= this.#schedule(() => {
      this.#cancel = undefined;
      this.flush();
    });
  }

  /** Applies the waiting items now (nothing happens when none wait). */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    const items = this.#pending;
    if (items.length === 0) return;
    this.#pending = [];
    this.#apply(items);
  }

  /** Drops the waiting items. */
  clear(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#pending = [];
  }
}

/** Keeps only the newest value of each frame: for progress counters, where only the latest matters. */
export class FrameLatest<T> {
  readonly #batch: FrameBatch<T>;

  /** @param apply Receives the newest value pushed since the last frame. */
  constructor(apply: (value: T) => void, schedule: FrameScheduler = nextFrame) {
    this.#batch = new FrameBatch<T>((values) => apply(values[values.length - 1] as T), schedule);
  }

  /** Sets the value the next frame publishes. */
  set(value: T): void {
    this.#batch.push(value);
  }

  /** Publishes the newest waiting value now. */
  flush(): void {
    this.#batch.flush();
  }

  /** Drops the waiting value. */
  clear(): void {
    this.#batch.clear();
  }
}

/**
 * Longest {@link afterFirstPaint} waits for the first contentful paint: a page opened in a background tab paints
 * nothing until shown, and one whose browser has no paint timing never reports it.
 */
export const FIRST_PAINT_FALLBACK_MS = 3000;

/**
 * Resolves once the page's first contentful paint has been presented (at once where nothing paints: Node, the
 * CLI, unit tests), or after {@link FIRST_PAINT_FALLBACK_MS}. For what the first screen does not need (a hidden
 * tab's panel, idle-time warm-ups), so that it does not run beside the first frame.
 */
export function afterFirstPaint(): Promise<void> {
  if (typeof PerformanceObserver !== 'function' || typeof requestAnimationFrame !== 'function') {
    return Promise.resolve();
  }
  const contentfulPaintSeen = () =>
    performance.getEntriesByType('paint').some((entry) => entry.name === 'first-contentful-paint');
  if (contentfulPaintSeen()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      observer.disconnect();
      clearTimeout(timer);
      resolve();
    };
    const observer = new PerformanceObserver(() => {
      if (contentfulPaintSeen()) done();
    });
    const timer = setTimeout(done, FIRST_PAINT_FALLBACK_MS);
    try {
      observer.observe({ type: 'paint', buffered: true });
    } catch {
      done();
    }
  });
}
