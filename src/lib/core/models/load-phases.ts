/**
 * @file The phases of a model load, as the model panel shows them with their times: where the seconds between
 * "Load" and "ready" go. Pure: no DOM, no runtime.
 */

/**
 * - `files`: config, tokenizer and weights read (from the app's server, the browser cache, the hub or a folder);
 * - `prepare`: the weights hashed (feature-cache key) and the graph given an output per layer;
 * - `runtime`: onnxruntime's WASM binary fetched and compiled, its threads started (once per worker, from the
 *   moment the page starts the worker, beside everything else: a load waits only for what is left of it);
 * - `session`: the inference session created from the weights (graph optimisation, kernels);
 * - `warm-up`: a first real run, which compiles what is left (on WebGPU, its shaders).
 */
export type LoadPhaseName = 'files' | 'prepare' | 'runtime' | 'session' | 'warm-up';

/** The order the panel lists phases in. */
export const LOAD_PHASE_ORDER: readonly LoadPhaseName[] = ['files', 'runtime', 'prepare', 'session', 'warm-up'];

/** What each phase is, in words, for the model panel. */
export const LOAD_PHASE_LABELS: Readonly<Record<LoadPhaseName, string>> = {
  files: 'Model files read',
  runtime: 'WASM runtime compiled',
  prepare: 'Weights hashed, layer outputs added',
  session: 'Inference session created',
  'warm-up': 'Warm-up run',
};

/** One finished phase of a load. */
export interface LoadPhaseTiming {
  name: LoadPhaseName;
  /** Wall-clock time it took. */
  ms: number;
  /** For `runtime`: it ran beside other work (page start-up, file reads), so the load did not wait for all of it. */
  overlapped?: boolean;
}

/**
 * Phases in panel order; a phase reported twice (a WebGPU load that fell back to WASM runs them again) keeps its
 * last time.
 */
export function orderPhases(phases: readonly LoadPhaseTiming[]): LoadPhaseTiming[] {
  const last = new Map<LoadPhaseName, LoadPhaseTiming>();
  for (const phase of phases) last.set(phase.name, phase);
  return LOAD_PHASE_ORDER.flatMap((name) => {
    const phase = last.get(name);
    return phase ? [phase] : [];
  });
}
