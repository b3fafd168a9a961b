/**
 * @file Debounced, serialised saving: many quick changes become one write shortly after the last of them,
 * and writes never overlap (a change during a write is saved by the next one), so the newest state always
 * ends up stored last.
 */

/** Default quiet time before a scheduled save starts. */
export const AUTOSAVE_DELAY_MS = 300;

export class DebouncedSaver {
  readonly #write: () => Promise<void>;
  readonly #delayMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The write in progress, if any. */
  #inFlight: Promise<void> | undefined;
  /** A change arrived while writing: write again afterwards. */
  #pending = false;

  /**
   * @param write Saves the current state (read when the write starts, not when it was scheduled). It should
   *   report its own errors: `flush` rejects with them, a scheduled save only stops.
   */
  constructor(write: () => Promise<void>, delayMs = AUTOSAVE_DELAY_MS) {
    this.#write = write;
    this.#delayMs = delayMs;
  }

  /** True while a save is scheduled or running. */
  get busy(): boolean {
    return this.#timer !== undefined || this.#inFlight !== undefined;
  }

  /** Saves after the quiet time; each call restarts it. */
  schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#start().catch(() => undefined);
    }, this.#delayMs);
  }

  /** Saves now (whether or not anything was scheduled) and resolves once the newest state is stored. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#start();
  }

  /** Drops a scheduled save (a write already running still finishes). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #start(): Promise<void> {
    if (this.#inFlight) {
      // The running loop writes again for this change; its outcome is this change's outcome.
      this.#pending = true;
      return this.#inFlight;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#pending = false;
          await this.#write();
        } while (this.#pending);
      } finally {
        this.#inFlight = undefined;
      }
    };
    this.#inFlight = run();
    return this.#inFlight;
  }
}
