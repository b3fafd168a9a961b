/**
 * @file The few web-platform globals the core relies on, each provided alike by browsers (main thread and
 * workers) and Node 20. `tsconfig.core.json` checks the core against these instead of the DOM and Node types, so
 * a DOM-only or Node-only global in the core fails `npm run check`. Only the members the core uses are declared;
 * the main tsconfig excludes this folder and uses the full DOM types.
 */

/** Decodes bytes as text (WHATWG Encoding). */
interface TextDecoder {
  readonly encoding: string;
  decode(input?: Uint8Array | ArrayBuffer): string;
}

declare const TextDecoder: {
  prototype: TextDecoder;
  new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }): TextDecoder;
};

/** Cancels a run: the core checks it between steps and hands it on to the ports. */
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
}

/** File contents handed through the core untouched (a browser `File` of a picked model folder). */
interface Blob {
  readonly size: number;
  readonly type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A monotonic clock in milliseconds (cooperative computations measure their slices with it). */
declare const performance: { now(): number };

/** Schedules a new task (cooperative computations yield to the event loop with it). */
declare function setTimeout(callback: () => void, ms?: number): unknown;
