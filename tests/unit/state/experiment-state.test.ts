/**
 * ExperimentState in Node, driven through its clients' worker factories (the real RPC layer over a
 * MessageChannel, the fake keyword model worker, the real tfjs head on cpu): runs give exactly the numbers of
 * the CLI's `runExperiment` on the same fakes, a prompt naming its own model runs on it and the experiment's
 * model comes back, caches are shared and dropped when they must be, and cancel is not an error. The saved
 * experiments (ExperimentLibrary) are driven only as far as Node allows: without IndexedDB the work stays open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeadClient } from '../../../src/lib/clients/HeadClient.svelte.ts';
import { ModelClient } from '../../../src/lib/clients/ModelClient.svelte.ts';
import { runExperiment } from '../../../src/lib/core/experiment/orchestrator.ts';
import type {
  Experiment,
  ExperimentResults,
  InlineDatasetRef,
  PromptSpec,
  SimilarityPrompt,
} from '../../../src/lib/core/experiment/types.ts';
import { createHeadTrainer } from '../../../src/lib/ml/tfjs-head.ts';
import { ExperimentLibrary } from '../../../src/lib/state/ExperimentLibrary.svelte.ts';
import { ExperimentState } from '../../../src/lib/state/ExperimentState.svelte.ts';
import { exportExperiment, readExperimentFile } from '../../../src/lib/storage/experiment-file.ts';
import type { HeadWorkerMethods, ModelWorkerMethods } from '../../../src/lib/workers/protocol.ts';
import type { Handlers, WorkerPort } from '../../../src/lib/workers/rpc.ts';
import { FakeClock, KeywordEncoder } from '../core/experiment/fakes.ts';
import {
  fakeModelWorker,
  headWorker,
  serveOverChannel,
  type FakeModelWorkerOptions,
  type ModelWorkerLog,
} from '../clients/worker-harness.ts';

const AUTO = { device: 'auto', dtype: 'auto' } as const;
/** The prompt when it is a similarity prompt (the ones these tests edit). */
const similarity = (prompt: PromptSpec | undefined): SimilarityPrompt | undefined =>
  prompt?.strategy === 'similarity' ? prompt : undefined;
/** Scores computed in a "worker" and in the test process agree to float32 rounding. */
const SCORE_TOLERANCE = 1e-6;

const open: { close(): void }[] = [];
const labs: ExperimentState[] = [];

afterEach(() => {
  for (const lab of labs.splice(0)) lab.destroy();
  for (const port of open.splice(0)) port.close();
});

/** The model worker's port, closed after the test. */
function serveModel(handlers: Handlers<ModelWorkerMethods>): WorkerPort {
  const port = serveOverChannel<ModelWorkerMethods>(handlers);
  open.push(port);
  return port;
}

/** A head worker's port, closed after the test. */
function serveHead(): WorkerPort {
  const port = serveOverChannel<HeadWorkerMethods>(headWorker());
  open.push(port);
  return port;
}

/** A lab whose model is loaded; its worker's log. */
async function loadedLab(
  options: FakeModelWorkerOptions = {},
): Promise<{ lab: ExperimentState; log: ModelWorkerLog }> {
  const worker = fakeModelWorker(options);
  const lab = new ExperimentState(
    new ModelClient(() => serveModel(worker.handlers)),
    new HeadClient(serveHead),
  );
  labs.push(lab);
  await lab.loadModel(lab.experiment.model, AUTO);
  expect(lab.model.ready).toBe(true);
  return { lab, log: worker.log };
}

/** A plain copy of the lab's experiment (what export writes). */
function plain(lab: ExperimentState): Experiment {
  return JSON.parse(JSON.stringify(lab.experiment)) as Experiment;
}

/** What the CLI gives for the same experiment, with the same fake encoder and the same head trainer. */
function cliResults(experiment: Experiment): Promise<ExperimentResults> {
  const clock = new FakeClock();
  return runExperiment(experiment, {
    encoder: async (model) => new KeywordEncoder(model, clock),
    trainer: createHeadTrainer({ backend: 'cpu' }),
    readDatasetFile: async (path) => {
      throw new Error(`No file ${path} in this test.`);
    },
    now: clock.now,
  });
}

function expectSameNumbers(app: ExperimentResults | undefined, cli: ExperimentResults): void {
  expect(app?.split).toEqual(cli.split);
  expect(app?.runs.map((run) => [run.kind, run.name])).toEqual(cli.runs.map((run) => [run.kind, run.name]));
  app?.runs.forEach((run, index) => {
    const other = cli.runs[index];
    expect(
      run.predictions.map((p) => p.label),
      run.name,
    ).toEqual(other?.predictions.map((p) => p.label));
    expect(run.accuracy, run.name).toBe(other?.accuracy);
    expect(run.cost.labeledExamples, run.name).toBe(other?.cost.labeledExamples);
    expect(run.cost.trainedParameters, run.name).toBe(other?.cost.trainedParameters);
    run.predictions.forEach((prediction, k) => {
      for (const label of cli.labels) {
        const gap = Math.abs(
          (prediction.scores[label] ?? NaN) - (other?.predictions[k]?.scores[label] ?? NaN),
        );
        expect(gap, `${run.name} / ${prediction.id} / ${label}`).toBeLessThanOrEqual(SCORE_TOLERANCE);
      }
    });
  });
}

/** Test texts of the default split are 45; label texts are 3 per bare template. */
function embedSizes(log: ModelWorkerLog): [string, number][] {
  return log.embeds.map((call) => [call.model, call.texts.length]);
}

describe('ExperimentState runs', () => {
  it('refuses to run before a model is loaded, saying what to do', async () => {
    const lab = new ExperimentState(
      new ModelClient(() => serveModel(fakeModelWorker().handlers)),
      new HeadClient(serveHead),
    );
    labs.push(lab);
    expect(await lab.runPrompt(0)).toBe(false);
    expect(lab.promptError).toBe('Load a model first (section 1), then run again.');
    await lab.trainHead();
    expect(lab.headError).toBe('Load a model first (section 1), then run again.');
    expect(lab.runs).toEqual([]);
  });

  it('gives the numbers of the CLI for every prompt and the head', async () => {
    const { lab } = await loadedLab();
    await lab.runAllPrompts();
    expect(lab.promptError).toBeUndefined();
    await lab.trainHead();
    expect(lab.headError).toBeUndefined();
    expect(lab.busy).toBe(false);
    expect(lab.head.status).toBe('done');
    const cli = await cliResults(plain(lab));
    expect(cli.runs).toHaveLength(plain(lab).prompts.length + 1);
    expectSameNumbers(lab.results, cli);
  });

  it('runs a prompt naming its own model on that model, says so, and loads the experiment model again', async () => {
    const { lab, log } = await loadedLab();
    const home = lab.experiment.model;
    lab.updatePrompt(1, { model: 'fake/other' });
    await lab.runAllPrompts();
    expect(lab.promptError).toBeUndefined();
    expect(log.loads).toEqual([home, 'fake/other', home]);
    expect(lab.model.modelId).toBe(home);
    expect(lab.model.ready).toBe(true);
    expect(lab.modelNotice).toBe(
      `Variation "sentence" ran on "fake/other"; the experiment's model, "${home}", is loaded again.`,
    );
    // The other model embedded the test texts and this prompt's label texts, nothing else.
    expect(embedSizes(log).filter(([model]) => model === 'fake/other')).toEqual([
      ['fake/other', 45],
      ['fake/other', 3],
    ]);
    expectSameNumbers(lab.results, await cliResults({ ...plain(lab), heads: [] }));
  });

  it('keeps the experiment model and the runs done before a prompt whose own model fails to load', async () => {
    const { lab, log } = await loadedLab({ failing: new Set(['fake/missing']) });
    const home = lab.experiment.model;
    lab.updatePrompt(0, { model: 'fake/missing' });
    await lab.runAllPrompts();
    expect(lab.promptError).toBe(
      'Variation "bare labels": Could not load fake/missing: onnx/model.onnx is missing.',
    );
    expect(lab.runs.map((run) => run.name)).toEqual(['sentence', 'described']);
    expect(log.loads).toEqual([home, 'fake/missing']);
    expect(lab.model.modelId).toBe(home);
    expect(lab.model.ready).toBe(true);
  });

  it('embeds the test texts once for every prompt, and again only after the split changes', async () => {
    const { lab, log } = await loadedLab();
    await lab.runPrompt(0);
    await lab.runPrompt(1);
    await lab.runPrompt(0);
    expect(embedSizes(log).map(([, size]) => size)).toEqual([45, 3, 3, 3]);
    expect(lab.runs.map((run) => run.name)).toEqual(['sentence', 'bare labels']);

    lab.setSplit({ seed: 7 });
    expect(lab.runs).toEqual([]);
    await lab.runPrompt(0);
    expect(embedSizes(log).map(([, size]) => size)).toEqual([45, 3, 3, 3, 45, 3]);
  });

  it('extracts head features once for heads on the same layer and pooling', async () => {
    const { lab, log } = await loadedLab();
    lab.updateHead({ epochs: 3 });
    await lab.trainHead();
    lab.updateHead({ hidden: 4 });
    await lab.trainHead();
    expect(embedSizes(log).map(([, size]) => size)).toEqual([150]);
    expect(lab.runs.map((run) => [run.name, run.cost.trainedParameters])).toEqual([
      ['linear head', 4 * 4 + 4 + 4 * 3 + 3],
    ]);
  });

  it('shows the head as done only once its run’s result is in, not when the worker finishes training', async () => {
    /** What the lab showed the moment the head worker's training resolved: the run is scored after it. */
    const seen: { client: string; lab: string; headRuns: number }[] = [];
    class WatchedHeadClient extends HeadClient {
      override async train(...args: Parameters<HeadClient['train']>): ReturnType<HeadClient['train']> {
        const reply = await super.train(...args);
        seen.push({
          client: this.status,
          lab: lab.headStatus,
          headRuns: lab.runs.filter((run) => run.kind === 'head').length,
        });
        return reply;
      }
    }
    const lab = new ExperimentState(
      new ModelClient(() => serveModel(fakeModelWorker().handlers)),
      new WatchedHeadClient(serveHead),
    );
    labs.push(lab);
    await lab.loadModel(lab.experiment.model, AUTO);
    lab.updateHead({ epochs: 2 });
    await lab.trainHead();
    expect(seen).toEqual([{ client: 'done', lab: 'training', headRuns: 0 }]);
    expect(lab.headStatus).toBe('done');
    expect(lab.runs.filter((run) => run.kind === 'head')).toHaveLength(1);
  });

  it('stops feature extraction on cancel without an error, and runs again afterwards', async () => {
    let release: () => void = () => undefined;
    let reached: () => void = () => undefined;
    const inWorker = new Promise<void>((resolve) => (reached = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gated = true;
    const { lab } = await loadedLab({
      embedGate: async () => {
        if (!gated) return;
        reached();
        await gate;
      },
    });
    const training = lab.trainHead();
    await inWorker;
    expect(lab.activity).toEqual({ kind: 'head', phase: 'features' });
    lab.cancelTraining();
    gated = false;
    release();
    await training;
    expect(lab.headError).toBeUndefined();
    expect(lab.activity).toBeUndefined();
    expect(lab.runs).toEqual([]);

    lab.updateHead({ epochs: 2 });
    await lab.trainHead();
    expect(lab.headError).toBeUndefined();
    expect(lab.runs.map((run) => run.name)).toEqual(['linear head']);
  });

  it('refuses to run an experiment whose model is not the loaded one', async () => {
    const { lab } = await loadedLab();
    lab.replaceExperiment({ ...plain(lab), model: 'someone/else' }, []);
    expect(await lab.runPrompt(0)).toBe(false);
    expect(lab.promptError).toBe(
      `This experiment uses the model "someone/else", but "${lab.model.modelId}" is loaded: ` +
        'load "someone/else" in section 1 (Model), then run again.',
    );
  });
});

/** Uploaded rows with labels food and sports (kept) and travel (new): 12 texts per label. */
function foodSportsTravel(): InlineDatasetRef {
  const words: Record<string, string[]> = {
    food: ['recipe', 'cooking', 'meal', 'restaurant'],
    sports: ['match', 'team', 'goal', 'championship'],
    travel: ['flight', 'hotel', 'passport', 'beach'],
  };
  const rows = Object.entries(words).flatMap(([label, list]) =>
    Array.from({ length: 12 }, (_, n) => ({
      text: `a ${list[n % list.length] ?? ''} story number ${n}`,
      label,
    })),
  );
  return { name: 'trips.csv', rows, text: 'text', label: 'label' };
}

describe('ExperimentState learning curve', () => {
  it('gives the CLI’s curve, reuses the head’s features, and re-measures the crossover as prompts run', async () => {
    const { lab, log } = await loadedLab();
    lab.updateHead({ epochs: 3 });
    await lab.trainHead();
    lab.experiment.learningCurve = { shotsPerClass: [1, 2, 50], seeds: 2 };
    await lab.runLearningCurve();
    expect(lab.curveError).toBeUndefined();
    expect(lab.busy).toBe(false);
    // The head's features (105 train, 45 test) serve the whole curve.
    expect(embedSizes(log).map(([, size]) => size)).toEqual([150]);
    expect(lab.results?.learningCurve).toMatchObject({
      shotsPerClass: [1, 2, 50],
      seeds: 2,
      crossover: null,
    });
    expect(lab.results?.learningCurve?.bestPrompt).toBeUndefined();
    expect(lab.results?.learningCurve?.capped?.map((cap) => cap.shots)).toEqual([50, 50, 50]);

    await lab.runAllPrompts();
    const cli = await cliResults(plain(lab));
    const app = lab.results?.learningCurve;
    const withoutTimes = (curve: typeof app) => curve?.points.map(({ trainMs: _ms, ...point }) => point);
    expect(withoutTimes(app)).toEqual(withoutTimes(cli.learningCurve));
    expect(app?.bestPrompt).toEqual(cli.learningCurve?.bestPrompt);
    expect(app?.bestPrompt).toBeDefined();
    expect(app?.crossover).toBe(cli.learningCurve?.crossover);
  });

  it('runs the default curve when the experiment has none and records it; a head change clears the curve', async () => {
    const { lab } = await loadedLab();
    lab.updateHead({ epochs: 2 });
    expect(lab.experiment.learningCurve).toBeUndefined();
    await lab.runLearningCurve();
    expect(lab.curveError).toBeUndefined();
    expect(plain(lab).learningCurve).toEqual({ shotsPerClass: [1, 2, 4, 8, 16], seeds: 3 });
    expect(lab.results?.learningCurve?.points).toHaveLength(15);
    lab.updateHead({ epochs: 3 });
    expect(lab.results?.learningCurve).toBeUndefined();
  });

  it('refuses to run before a model is loaded, saying what to do', async () => {
    const lab = new ExperimentState(
      new ModelClient(() => serveModel(fakeModelWorker().handlers)),
      new HeadClient(serveHead),
    );
    labs.push(lab);
    await lab.runLearningCurve();
    expect(lab.curveError).toBe('Load a model first (section 1), then run again.');
  });
});

describe('ExperimentState when another model is loaded', () => {
  it('keeps the runs with the model they came from and brings them back with it', async () => {
    const { lab } = await loadedLab();
    const home = lab.experiment.model;
    await lab.runAllPrompts();
    const before = lab.runs;
    expect(before.map((run) => run.name)).toEqual(['bare labels', 'sentence', 'described']);

    await lab.loadModel('fake/other', AUTO);
    expect(lab.experiment.model).toBe('fake/other');
    expect(lab.runs).toEqual([]);
    expect(lab.keptRuns).toEqual([{ model: home, runs: before }]);

    await lab.runPrompt(0);
    // An edit drops that variation's run wherever it is kept: it no longer describes it.
    lab.updatePrompt(1, { template: 'News about {label}.' });
    lab.renamePrompt(2, 'described well');
    await lab.loadModel(home, AUTO);
    expect(lab.runs.map((run) => [run.name, run.accuracy])).toEqual([
      ['bare labels', before[0]?.accuracy],
      ['described well', before[2]?.accuracy],
    ]);
    expect(lab.keptRuns.map((kept) => [kept.model, kept.runs.map((run) => run.name)])).toEqual([
      ['fake/other', ['bare labels']],
    ]);

    lab.setSplit({ seed: 7 });
    expect(lab.runs).toEqual([]);
    expect(lab.keptRuns).toEqual([]);
  });

  it('keeps everything when the other model fails to load', async () => {
    const { lab } = await loadedLab({ failing: new Set(['fake/missing']) });
    await lab.runPrompt(0);
    const runs = lab.runs;
    await lab.loadModel('fake/missing', AUTO);
    expect(lab.runs).toBe(runs);
    expect(lab.keptRuns).toEqual([]);
  });
});

describe('ExperimentState when the dataset changes', () => {
  it('makes described variations follow the new labels, says what it dropped, and exports a file Import accepts', async () => {
    const { lab } = await loadedLab();
    lab.setDataset(foodSportsTravel());
    expect(lab.dataset?.labels).toEqual(['food', 'sports', 'travel']);
    expect(similarity(lab.experiment.prompts[2])?.descriptions).toEqual({
      food: ['food, cooking and recipes', 'a meal at a restaurant'],
      sports: ['sports, games and matches', 'a team winning a championship'],
      travel: 'travel',
    });
    expect(lab.labelsNotice).toBe(
      'The new dataset has other labels. Variation "described": dropped the descriptions of "weather" ' +
        '("weather, rain and sunshine / the forecast for storms and snow"); described "travel" by the label\'s name.',
    );
    // Template variations are untouched.
    expect(lab.experiment.prompts.slice(0, 2)).toEqual(plain(lab).prompts.slice(0, 2));

    lab.updatePrompt(2, {
      descriptions: {
        ...similarity(lab.experiment.prompts[2])?.descriptions,
        travel: 'a flight and a hotel',
      },
    });
    await lab.runAllPrompts();
    expect(lab.promptError).toBeUndefined();
    expect(lab.runs.map((run) => run.name)).toEqual(['bare labels', 'sentence', 'described']);

    const exported = exportExperiment(plain(lab));
    expect(exported.problem).toBeUndefined();
    const imported = await readExperimentFile({
      name: exported.fileName,
      size: exported.text.length,
      arrayBuffer: async () => new TextEncoder().encode(exported.text).buffer,
    });
    expect(imported).toEqual(plain(lab));
    expectSameNumbers(lab.results, await cliResults({ ...imported, heads: [] }));

    lab.replaceExperiment(imported, []);
    expect(lab.labelsNotice).toBeUndefined();
  });

  it('changes nothing and says nothing when the new dataset has the same labels', async () => {
    const { lab } = await loadedLab();
    const before = plain(lab).prompts;
    lab.setDataset({ builtin: 'topics', text: 'text', label: 'label' });
    expect(plain(lab).prompts).toEqual(before);
    expect(lab.labelsNotice).toBeUndefined();
  });
});

describe('ExperimentState "Run all" with a failing variation', () => {
  it('runs the variations after one that cannot start, and names it', async () => {
    const { lab } = await loadedLab();
    lab.experiment.prompts[0] = { name: 'broken', strategy: 'similarity', template: 'no placeholder' };
    await lab.runAllPrompts();
    expect(lab.promptError).toContain(lab.validation?.message ?? 'no validation error');
    expect(lab.validation?.path).toMatch(/^prompts\[0\]/);
    expect(lab.runs.map((run) => run.name)).toEqual(['sentence', 'described']);
  });

  it('runs the variations after one that fails while running, and names it', async () => {
    const { lab, log } = await loadedLab({ failing: new Set(['fake/missing']) });
    const home = lab.experiment.model;
    lab.updatePrompt(0, { model: 'fake/missing' });
    lab.updatePrompt(2, { model: 'fake/other' });
    await lab.runAllPrompts();
    expect(lab.promptError).toBe(
      'Variation "bare labels": Could not load fake/missing: onnx/model.onnx is missing.',
    );
    expect(log.loads).toEqual([home, 'fake/missing', 'fake/other', home]);
    expect(lab.runs.map((run) => run.name).sort()).toEqual(['described', 'sentence']);
    expect(lab.model.modelId).toBe(home);
  });
});

describe('ExperimentState: problems shown on their own card', () => {
  const card = (index: number) => ({ kind: 'prompt', index }) as const;

  it('marks the variation whose run failed, not the others; it follows the card and clears when fixed', async () => {
    const { lab } = await loadedLab({ failing: new Set(['fake/missing']) });
    lab.updatePrompt(0, { model: 'fake/missing' });
    await lab.runAllPrompts();
    const problem = lab.problems.of(card(0));
    expect(problem?.source).toBe('failed');
    expect(problem?.problem.field).toEqual(['model']);
    expect(problem?.problem.message).toMatch(/^The model “fake\/missing” could not be loaded/);
    expect(lab.problems.of(card(1))).toBeUndefined();
    expect(lab.problems.of(card(2))).toBeUndefined();
    expect(lab.runs.map((run) => run.name).sort()).toEqual(['described', 'sentence']);

    expect(lab.renamePrompt(0, 'renamed')).toBeUndefined();
    lab.updatePrompt(0, { textTemplate: 'Text: {text}' });
    expect(lab.problems.of(card(0))?.source).toBe('failed');
    expect(lab.movePrompt(0, 2)).toBe(true);
    expect(lab.problems.of(card(2))?.problem.field).toEqual(['model']);
    expect(lab.problems.of(card(0))).toBeUndefined();

    lab.updatePrompt(2, { model: undefined });
    expect(lab.problems.of(card(2))).toBeUndefined();
  });

  it('clears a failed run’s mark when the next run of that card succeeds', async () => {
    const failing = new Set(['fake/missing']);
    const { lab } = await loadedLab({ failing });
    lab.updatePrompt(1, { model: 'fake/missing' });
    expect(await lab.runPrompt(1)).toBe(false);
    expect(lab.problems.of(card(1))?.source).toBe('failed');
    failing.delete('fake/missing');
    expect(await lab.runPrompt(1)).toBe(true);
    expect(lab.problems.of(card(1))).toBeUndefined();
  });

  it('shows a value the experiment cannot hold on its card at once, and clears it when fixed', async () => {
    const { lab } = await loadedLab();
    lab.updatePrompt(0, { template: 'no placeholder' });
    expect(lab.problems.of(card(0))).toMatchObject({ source: 'invalid', problem: { field: ['template'] } });
    expect(lab.problems.of(card(1))).toBeUndefined();
    lab.updatePrompt(0, { template: 'About {label}.' });
    expect(lab.problems.of(card(0))).toBeUndefined();

    lab.updateHead({ learningRate: 0 });
    const head = lab.problems.of({ kind: 'head', index: 0 });
    expect(head).toMatchObject({ source: 'invalid', problem: { field: ['learningRate'] } });
    expect(head?.problem.message).toMatch(/^Learning rate must be greater than 0/);
    lab.updateHead({ learningRate: 0.01 });
    expect(lab.problems.of({ kind: 'head', index: 0 })).toBeUndefined();
  });
});

describe('ExperimentLibrary without IndexedDB', () => {
  afterEach(() => {
    delete (globalThis as { window?: unknown }).window;
    delete (globalThis as { document?: unknown }).document;
  });

  it('says experiments cannot be saved, offers export, and the open experiment still runs', async () => {
    // The page's two event targets the library listens on (for saving when the page is hidden).
    Object.assign(globalThis, { window: new EventTarget(), document: new EventTarget() });
    const { lab } = await loadedLab();
    const library = new ExperimentLibrary(lab);
    await library.start();
    expect(library.status).toBe('error');
    expect(library.storageError?.kind).toBe('unavailable');
    expect(library.storageError?.message).toContain('export it to a file to keep it');
    expect(library.offerExport).toBe(true);
    expect(await lab.runPrompt(2)).toBe(true);
    expect(lab.runs.map((run) => run.name)).toEqual(['described']);
    library.destroy();
  });
});
