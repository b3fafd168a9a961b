/**
 * The prompt lab's tools on ExperimentState, driven as the page drives it (real RPC over a MessageChannel, the
 * fake keyword model worker): duplicate with a fresh name, reorder with runs following, remove with undo, and
 * "Run all" with progress and a cancel that keeps the finished runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeadClient } from '../../../src/lib/clients/HeadClient.svelte.ts';
import { ModelClient } from '../../../src/lib/clients/ModelClient.svelte.ts';
import type { Experiment } from '../../../src/lib/core/experiment/types.ts';
import { ExperimentState, type PromptBatch } from '../../../src/lib/state/ExperimentState.svelte.ts';
import type { HeadWorkerMethods, ModelWorkerMethods } from '../../../src/lib/workers/protocol.ts';
import {
  fakeModelWorker,
  headWorker,
  serveOverChannel,
  type FakeModelWorkerOptions,
  type ModelWorkerLog,
} from '../clients/worker-harness.ts';

const AUTO = { device: 'auto', dtype: 'auto' } as const;
const open: { close(): void }[] = [];
const labs: ExperimentState[] = [];

afterEach(() => {
  for (const lab of labs.splice(0)) lab.destroy();
  for (const port of open.splice(0)) port.close();
});

async function loadedLab(
  options: FakeModelWorkerOptions = {},
): Promise<{ lab: ExperimentState; log: ModelWorkerLog }> {
  const worker = fakeModelWorker(options);
  const lab = new ExperimentState(
    new ModelClient(() => {
      const port = serveOverChannel<ModelWorkerMethods>(worker.handlers);
      open.push(port);
      return port;
    }),
    new HeadClient(() => {
      const port = serveOverChannel<HeadWorkerMethods>(headWorker());
      open.push(port);
      return port;
    }),
  );
  labs.push(lab);
  await lab.loadModel(lab.experiment.model, AUTO);
  expect(lab.model.ready).toBe(true);
  return { lab, log: worker.log };
}

const names = (lab: ExperimentState): string[] => lab.experiment.prompts.map((prompt) => prompt.name);
const runNames = (lab: ExperimentState): string[] => lab.orderedRuns.map((run) => run.name);

describe('the most variations and heads an experiment holds', () => {
  it('adds, copies and puts back no variation past 100, nor a head past 100', async () => {
    const { lab } = await loadedLab();
    while (lab.experiment.prompts.length < 99) lab.addPrompt();
    expect(lab.promptsFull).toBe(false);
    lab.removePrompt(0);
    expect(lab.addPrompt()).toBe(98);
    expect(lab.duplicatePrompt(0)).toBe(1);
    expect(lab.promptsFull).toBe(true);
    expect(lab.addPrompt()).toBeUndefined();
    expect(lab.addInstructionPrompt(lab.experiment.model)).toBeUndefined();
    expect(lab.duplicatePrompt(0)).toBeUndefined();
    expect(lab.undoRemovePrompt()).toBeUndefined();
    expect(lab.experiment.prompts).toHaveLength(100);
    // Removing another makes room again, and that one can be put back.
    lab.removePrompt(5);
    expect(lab.undoRemovePrompt()).toBe(5);
    expect(lab.experiment.prompts).toHaveLength(100);

    while (!lab.headsFull) lab.addHead();
    expect(lab.experiment.heads).toHaveLength(100);
    lab.addHead();
    expect(lab.experiment.heads).toHaveLength(100);
  });
});

describe('duplicate and reorder', () => {
  it('copies a variation right after it under a fresh name, with a key of its own and no run', async () => {
    const { lab } = await loadedLab();
    await lab.runPrompt(0);
    expect(lab.duplicatePrompt(0)).toBe(1);
    expect(lab.duplicatePrompt(0)).toBe(1);
    expect(lab.duplicatePrompt(1)).toBe(2);
    expect(names(lab)).toEqual([
      'bare labels',
      'bare labels copy 2',
      'bare labels copy 3',
      'bare labels copy',
      'sentence',
      'described',
    ]);
    expect(lab.experiment.prompts[1]).toEqual({ ...lab.experiment.prompts[0], name: 'bare labels copy 2' });
    expect(new Set(lab.promptKeys).size).toBe(6);
    expect(runNames(lab)).toEqual(['bare labels']);
    expect(lab.duplicatePrompt(9)).toBeUndefined();
  });

  it('moves a variation with its key; runs follow it, keyed by name', async () => {
    const { lab } = await loadedLab();
    await lab.runAllPrompts();
    const keys = [...lab.promptKeys];
    expect(lab.movePrompt(0, 2)).toBe(true);
    expect(names(lab)).toEqual(['sentence', 'described', 'bare labels']);
    expect(lab.promptKeys).toEqual([keys[1], keys[2], keys[0]]);
    expect(runNames(lab)).toEqual(['sentence', 'described', 'bare labels']);
    expect(lab.movePrompt(2, 1)).toBe(true);
    expect(names(lab)).toEqual(['sentence', 'bare labels', 'described']);
    expect(lab.movePrompt(0, 3)).toBe(false);
    expect(lab.movePrompt(-1, 0)).toBe(false);
    expect(lab.movePrompt(0.5, 1)).toBe(false);
    expect(names(lab)).toEqual(['sentence', 'bare labels', 'described']);
  });
});

describe('remove with undo', () => {
  it('puts the removed variation back where it was, with its run', async () => {
    const { lab } = await loadedLab();
    await lab.runAllPrompts();
    const run = lab.runs.find((r) => r.name === 'sentence');
    const key = lab.promptKeys[1];
    lab.removePrompt(1);
    expect(names(lab)).toEqual(['bare labels', 'described']);
    expect(runNames(lab)).toEqual(['bare labels', 'described']);
    expect(lab.removedPrompt).toEqual({ name: 'sentence', index: 1 });
    expect(lab.undoRemovePrompt()).toBe(1);
    expect(names(lab)).toEqual(['bare labels', 'sentence', 'described']);
    expect(lab.promptKeys[1]).toBe(key);
    expect(lab.runs.find((r) => r.name === 'sentence')).toEqual(run);
    expect(lab.removedPrompt).toBeUndefined();
    expect(lab.undoRemovePrompt()).toBeUndefined();
  });

  it('gives it a fresh name when its own was taken meanwhile, and drops runs the model reload invalidated', async () => {
    const { lab } = await loadedLab();
    await lab.runPrompt(0);
    lab.removePrompt(0);
    lab.renamePrompt(0, 'bare labels');
    await lab.loadModel(lab.experiment.model, AUTO);
    expect(lab.undoRemovePrompt()).toBe(0);
    expect(names(lab)).toEqual(['bare labels 2', 'bare labels', 'described']);
    expect(lab.runs).toEqual([]);
  });

  it('offers no undo once another experiment is open', async () => {
    const { lab } = await loadedLab();
    const other = JSON.parse(JSON.stringify(lab.experiment)) as Experiment;
    lab.removePrompt(2);
    lab.replaceExperiment(other, []);
    expect(lab.removedPrompt).toBeUndefined();
    expect(lab.undoRemovePrompt()).toBeUndefined();
    expect(names(lab)).toEqual(['bare labels', 'sentence', 'described']);
  });
});

describe('run all with progress and cancel', () => {
  it('counts finished variations, and a cancel keeps those and runs none after', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (reached = resolve));
    const { lab, log } = await loadedLab({
      // Each variation below wraps the test texts differently, so each embeds them: hold the second's.
      embedGate: async () => {
        if (log.embeds.filter((call) => call.texts.length === 45).length < 2) return;
        reached();
        await gate;
      },
    });
    lab.updatePrompt(1, { textTemplate: 'text: {text}' });
    lab.updatePrompt(2, { textTemplate: 'input: {text}' });
    const seen: PromptBatch[] = [];
    const running = lab.runAllPrompts();
    seen.push(lab.promptBatch as PromptBatch);
    await held;
    seen.push(lab.promptBatch as PromptBatch);
    expect(lab.activity).toEqual({ kind: 'prompts', name: 'sentence' });
    lab.cancelPrompts();
    release();
    expect(await running).toBe(false);
    expect(seen).toEqual([
      { done: 0, total: 3 },
      { done: 1, total: 3 },
    ]);
    expect(runNames(lab)).toEqual(['bare labels']);
    expect(lab.promptError).toBeUndefined();
    expect(lab.promptCancelNotice).toBe(
      'Cancelled: 1 of 3 variations had finished; its result is kept. Run again to score the rest.',
    );
    expect(lab.activity).toBeUndefined();
    expect(lab.promptBatch).toBeUndefined();

    expect(await lab.runAllPrompts()).toBe(true);
    expect(lab.promptCancelNotice).toBeUndefined();
    expect(runNames(lab)).toEqual(['bare labels', 'sentence', 'described']);
  });

  it('says nothing was cancelled when nothing runs', async () => {
    const { lab } = await loadedLab();
    lab.cancelPrompts();
    expect(lab.promptCancelNotice).toBeUndefined();
  });
});
