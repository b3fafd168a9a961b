/**
 * @file Mounting a lab in steps: the part a user looks at first mounts with the tab, the rest one part per frame,
 * each after the browser has painted the previous one. A lab's whole mount in one task (its cards, charts, diff
 * and tools) kept the main thread busy for hundreds of milliseconds on a loaded machine; in steps, the tab
 * appears at once and no single step is long.
 */
import { afterPaint, type FrameScheduler } from '../../clients/frame-batch.ts';

/**
 * Calls `reveal(1)`, `reveal(2)`, … `reveal(stages)`, each after its own painted frame, in order.
 * @returns a function that stops the remaining steps (call it when the component is destroyed).
 */
export function revealInStages(
  stages: number,
  reveal: (stage: number) => void,
  schedule: FrameScheduler = afterPaint,
): () => void {
  let cancel: (() => void) | undefined;
  let stopped = false;
  const step = (stage: number): void => {
    if (stopped || stage > stages) return;
    cancel = schedule(() => {
      if (stopped) return;
      reveal(stage);
      step(stage + 1);
    });
  };
  step(1);
  return () => {
    stopped = true;
    cancel?.();
  };
}
