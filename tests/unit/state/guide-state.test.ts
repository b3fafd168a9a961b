/**
 * GuideState over a real ExperimentState (fake model worker, real tfjs head on cpu): each step turns done as the
 * experiment gets there, the place survives a new page on the same storage (a reload), a reload without the
 * model asks for it first, and storage that throws costs nothing but the memory of the place.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeadClient } from '../../../src/lib/clients/HeadClient.svelte.ts';
import { ModelClient } from '../../../src/lib/clients/ModelClient.svelte.ts';
import type { HeadWorkerMethods, ModelWorkerMethods } from '../../../src/lib/workers/protocol.ts';
import type { Experiment } from '../../../src/lib/core/experiment/types.ts';
import { ExperimentState } from '../../../src/lib/state/ExperimentState.svelte.ts';
import { GuideState } from '../../../src/lib/state/GuideState.svelte.ts';
import { GUIDE_PROGRESS_KEY, type GuideStore } from '../../../src/lib/storage/guide-progress.ts';
import { fakeModelWorker, headWorker, serveOverChannel } from '../clients/worker-harness.ts';

const AUTO = { device: 'auto', dtype: 'auto' } as const;
const open: { close(): void }[] = [];
const labs: ExperimentState[] = [];

afterEach(() => {
  for (const lab of labs.splice(0)) lab.destroy();
  for (const port of open.splice(0)) port.close();
});

/** A lab on the fake model worker and a real head worker, nothing loaded yet. */
function newLab(): ExperimentState {
  const worker = fakeModelWorker();
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
  return lab;
}

/** A Map-backed localStorage. */
function memoryStore(): GuideStore & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
  };
}

const done = (guide: GuideState): string[] =>
  guide.view.steps.filter((state) => state.done).map((state) => state.step.id);

describe('GuideState', () => {
  it('marks each step done as the experiment gets there, and resumes after a reload asking for the model', async () => {
    const store = memoryStore();
    const lab = newLab();
    const guide = new GuideState(lab, store);
    expect(guide.open).toBe(true);
    expect(guide.view.current.id).toBe('model');
    expect(done(guide)).toEqual(['data']);

    await lab.loadModel(lab.experiment.model, AUTO);
    expect(done(guide)).toEqual(['model', 'data']);
    expect(guide.view.happened).toMatch(/is loaded and warmed up/);

    guide.goTo('prompts');
    await lab.runPrompt(0);
    expect(guide.view.done).toBe(false);
    await lab.runAllPrompts();
    expect(guide.view.done).toBe(true);
    expect(guide.view.happened).toMatch(/^3 variations scored/);

    guide.goTo('head');
    expect(JSON.parse(store.items.get(GUIDE_PROGRESS_KEY) ?? '')).toMatchObject({ step: 'head', open: true });

    // A reload: a new page on the same storage, the runs restored, no model loaded.
    const reloaded = newLab();
    reloaded.replaceExperiment(JSON.parse(JSON.stringify(lab.experiment)) as Experiment, lab.runs);
    const resumed = new GuideState(reloaded, store);
    expect(resumed.view.current.id).toBe('head');
    expect(done(resumed)).toEqual(['data', 'prompts']);
    expect(resumed.view.missing.map((step) => step.id)).toEqual(['model']);

    await reloaded.loadModel(reloaded.experiment.model, AUTO);
    expect(resumed.view.missing).toEqual([]);
    await reloaded.trainHead();
    expect(resumed.view.done).toBe(true);
    expect(resumed.view.happened).toMatch(/^Head “linear head” is trained: \d+%/);

    resumed.goTo('answer');
    await reloaded.runLearningCurve();
    expect(reloaded.curveError).toBeUndefined();
    expect(resumed.view.complete).toBe(true);
    expect(resumed.view.happened).toMatch(/^The learning curve is drawn/);
  }, 120_000);

  it('stays closed once closed, on the same step, until shown again', () => {
    const store = memoryStore();
    const guide = new GuideState(newLab(), store);
    guide.goTo('data');
    guide.hide();
    const again = new GuideState(newLab(), store);
    expect([again.open, again.step]).toEqual([false, 'data']);
    again.show();
    expect(new GuideState(newLab(), store).open).toBe(true);
  });

  it('says when the stored place was unreadable, and starts again at step 1', () => {
    const store = memoryStore();
    store.items.set(GUIDE_PROGRESS_KEY, '{"version":1,"step":"constructor","open":true}');
    const guide = new GuideState(newLab(), store);
    expect([guide.open, guide.step]).toEqual([true, 'model']);
    expect(guide.problem).toMatch(/starts again at step 1/);
  });

  it('works from memory when storage throws', () => {
    const broken: GuideStore = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    const guide = new GuideState(newLab(), broken);
    guide.goTo('head');
    guide.hide();
    expect([guide.open, guide.step]).toEqual([false, 'head']);
  });
});
