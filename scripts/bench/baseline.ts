/**
 * @file The "before" of goal P4's full spam experiment: `npx tsx src/cli/experiment.ts examples/spam.json` timed on
 * main at commit 7f5f8a8 (2026-12-02, this project's 2-core reference machine, other jobs sharing it), recorded once
 * so later benches compare against the same numbers. Wall time of the whole command, model load included.
 */
export const SPAM_EXPERIMENT_BASELINE = {
  commit: '7f5f8a8',
  date: '2026-12-02',
  command: 'npx tsx src/cli/experiment.ts examples/spam.json',
  /** One entry per run. */
  wallMs: [151_520, 218_110],
  /** The machine's 1-minute load average when each run started (it shares 2 cores with other jobs). */
  loadAverage: [4.0, 13.7],
  /** Peak resident memory of each run, MB. */
  peakRssMB: [710, 682],
} as const;
