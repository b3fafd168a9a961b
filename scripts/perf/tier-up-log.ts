/**
 * @file Reading V8's `--trace-wasm-compilation-times` output (scripts/perf/wasm-tier-up.ts): the optimising
 * compiles of WebAssembly functions, each with the phase its process had announced before it.
 */

/** One optimising (TurboFan) compile of a WebAssembly function, as V8's `--trace-wasm-compilation-times` says. */
export interface TierUp {
  /** The function's index in the module (imports counted). */
  functionIndex: number;
  compileMs: number;
  /** Size of the function's WebAssembly body, in bytes. */
  bodyBytes: number;
  /** The phase the child had announced last when the line arrived. */
  phase: string;
}

/** The marker a child prints as it enters a phase. */
export const PHASE_MARK = '@@phase ';

/**
 * Reads one line of V8's `--trace-wasm-compilation-times` output, e.g. `Compiled function 0x2a50#6146 using
 * TurboFan, took 1041 ms and 217039792 / 334317600 max/total bytes; bodysize 490241 codesize 1126580 name …`.
 * Returns undefined for any other line (Liftoff compiles included). V8 prints `ms` or `μs` depending on its
 * version.
 */
export function parseTierUpLine(line: string): Omit<TierUp, 'phase'> | undefined {
  const match = /#(\d+) using TurboFan, took (\d+(?:\.\d+)?) (ms|μs|us)\b.*\bbodysize (\d+)/.exec(line);
  if (!match) return undefined;
  const took = Number(match[2]);
  return {
    functionIndex: Number(match[1]),
    compileMs: match[3] === 'ms' ? took : took / 1000,
    bodyBytes: Number(match[4]),
  };
}

/** Every TurboFan compile in `output` (the child's stdout), each with the phase announced before it. */
export function collectTierUps(output: string): TierUp[] {
  let phase = 'start';
  const found: TierUp[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith(PHASE_MARK)) phase = line.slice(PHASE_MARK.length).trim();
    const tierUp = parseTierUpLine(line);
    if (tierUp) found.push({ ...tierUp, phase });
  }
  return found;
}
