/**
 * @file Experiments are never lost, against real IndexedDB in headless Chromium: every change is saved by
 * itself, a reload restores the experiment and its runs (also a reload in the middle of head training, which
 * is reported as interrupted), and the list renames, duplicates, deletes, exports and imports. What was saved
 * is checked in the database itself, not only on screen.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseExperimentText } from '../../src/lib/core/experiment/schema.ts';
import type { Experiment, RunResult } from '../../src/lib/core/experiment/types.ts';
import {
  SCHEMA_VERSION,
  type ExperimentDocument,
  type ExperimentMeta,
  type RunsRecord,
} from '../../src/lib/storage/schema.ts';
import {
  chartPoints,
  dataValues,
  downloadText,
  openTab,
  RUN_TIMEOUT_MS,
  setInput,
  startModelLoad,
  TRAIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import {
  dumpDatabase,
  experimentRow,
  importExperimentFile,
  listedExperiments,
  openExperimentList,
  SAVE_TIMEOUT_MS,
  storedValue,
  waitForLibrary,
  waitForSaved,
} from './storage-driver.ts';

const DEFAULT_NAME = 'Topics: prompts vs a trained head';
const TOPICS_TITLE = 'Topics: food, sports, weather';

let session: BrowserSession;
let page: Page;
/** Id of the experiment the first tests work on. */
let firstId: string;
/** Prompt accuracies and the head's, as shown before the reload. */
let promptAccuracies: number[];
let headAccuracy: number[];

async function reload(): Promise<void> {
  await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the page');
  await waitForLibrary(page);
}

async function loadFixtureModel(): Promise<void> {
  const panel = await openTab(page, 'model');
  await startModelLoad(panel);
  expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
}

/** Polls the database until `check` holds for it (a save is asynchronous). */
async function waitForDatabase(
  check: (dump: Awaited<ReturnType<typeof dumpDatabase>>) => boolean,
): Promise<void> {
  const deadline = Date.now() + SAVE_TIMEOUT_MS;
  while (!check(await dumpDatabase(page))) {
    if (Date.now() > deadline) throw new Error('The database never reached the expected state.');
    await page.waitForTimeout(100);
  }
}

describe('saved experiments', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
  });

  test('a fresh browser saves the default experiment at once and lists it', async () => {
    await waitForSaved(page);
    await openExperimentList(page);
    const listed = await listedExperiments(page);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: DEFAULT_NAME, dataset: TOPICS_TITLE, runs: 0, current: true });
    firstId = listed[0]?.id ?? '';
    const dump = await dumpDatabase(page);
    expect(dump?.version).toBe(SCHEMA_VERSION);
    expect(storedValue<ExperimentMeta>(dump, 'experiments', firstId)?.name).toBe(DEFAULT_NAME);
    expect(storedValue<string>(dump, 'settings', 'lastOpenedId')).toBe(firstId);
  });

  test('every change and every run is saved by itself, and a reload restores them all', async () => {
    await loadFixtureModel();
    const prompts = await openTab(page, 'prompts');
    await prompts.getByTestId('prompt-add').click();
    const added = prompts.getByTestId('prompt-card').last();
    await setInput(added.getByTestId('prompt-name'), 'weather words');
    await setInput(added.getByTestId('prompt-template'), 'news about {label}');
    const cards = await prompts.getByTestId('prompt-card').count();
    await prompts.getByTestId('prompts-run-all').click();
    await prompts
      .getByTestId('run-accuracy')
      .nth(cards - 1)
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    promptAccuracies = await dataValues(prompts.getByTestId('run-accuracy'));

    const finetune = await openTab(page, 'finetune');
    await setInput(finetune.getByTestId('head-epochs'), '12');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');
    // The run's result (scored on the test split, intervals computed in short tasks) follows the training's end.
    await finetune.getByTestId('run-accuracy').waitFor({ timeout: UI_TIMEOUT_MS });
    headAccuracy = await dataValues(finetune.getByTestId('run-accuracy'));
    await waitForSaved(page);

    // What the database holds: the edited experiment and every run, before any reload.
    const dump = await dumpDatabase(page);
    const saved = storedValue<ExperimentDocument>(dump, 'documents', firstId);
    expect(saved?.experiment.prompts.map((p) => p.name)).toContain('weather words');
    expect(saved?.experiment.heads[0]?.epochs).toBe(12);
    const runs = storedValue<RunsRecord>(dump, 'runs', firstId);
    expect(runs?.runs.map((r) => r.accuracy)).toEqual([...promptAccuracies, ...headAccuracy]);
    expect(runs?.running).toBeUndefined();
    expect(storedValue<ExperimentMeta>(dump, 'experiments', firstId)?.runCount).toBe(cards + 1);

    await reload();
    const restored = await openTab(page, 'prompts');
    await expect(restored.getByTestId('prompt-card').count()).resolves.toBe(cards);
    await expect(
      restored.locator('[data-testid="prompt-card"][data-name="weather words"]').count(),
    ).resolves.toBe(1);
    await expect(dataValues(restored.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);
    const head = await openTab(page, 'finetune');
    await expect(head.getByTestId('head-epochs').inputValue()).resolves.toBe('12');
    await expect(dataValues(head.getByTestId('run-accuracy'))).resolves.toEqual(headAccuracy);
    const compare = await openTab(page, 'compare');
    await expect(compare.getByTestId('compare-run-row').count()).resolves.toBe(cards + 1);
    await openExperimentList(page);
    expect((await listedExperiments(page))[0]).toMatchObject({ id: firstId, runs: cards + 1, current: true });
    await expect(page.getByTestId('run-interrupted').count()).resolves.toBe(0);

    // Loading the experiment's own model again keeps its runs; running again works.
    await loadFixtureModel();
    const again = await openTab(page, 'prompts');
    await expect(dataValues(again.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);
    await again.getByTestId('prompt-card').first().getByTestId('prompt-run').click();
    await again
      .locator('[data-testid="prompts-run-all"]:not([disabled])')
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(dataValues(again.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);
  });

  test('a reload during head training restores what was saved, says the run was interrupted, and the app works', async () => {
    const finetune = await openTab(page, 'finetune');
    // Far more work than can finish before the reload (the widest hidden layer, one example per step: tens of
    // seconds).
    await setInput(finetune.getByTestId('head-epochs'), '1000');
    await setInput(finetune.getByTestId('head-batch-size'), '1');
    await setInput(finetune.getByTestId('head-hidden'), '4096');
    await finetune.getByTestId('head-train').click();
    await finetune
      .getByTestId('loss-chart')
      .and(page.locator('[data-points]:not([data-points="0"])'))
      .waitFor({ timeout: TRAIN_TIMEOUT_MS });
    await waitForDatabase((dump) => storedValue<RunsRecord>(dump, 'runs', firstId)?.running?.kind === 'head');
    expect(await chartPoints(page)).toBeLessThan(1000);

    await reload();
    const notice = page.getByTestId('run-interrupted');
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(notice.textContent()).resolves.toContain('training the head "linear head"');
    // Everything saved before the run is back: the settings of the interrupted run and the earlier runs.
    const head = await openTab(page, 'finetune');
    await expect(head.getByTestId('head-epochs').inputValue()).resolves.toBe('1000');
    await expect(head.getByTestId('head-batch-size').inputValue()).resolves.toBe('1');
    await expect(head.getByTestId('head-hidden').inputValue()).resolves.toBe('4096');
    await expect(dataValues(head.getByTestId('run-accuracy'))).resolves.toEqual(headAccuracy);
    const prompts = await openTab(page, 'prompts');
    await expect(dataValues(prompts.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);
    await waitForDatabase((dump) => {
      const runs = storedValue<RunsRecord>(dump, 'runs', firstId);
      return runs !== undefined && runs.running === undefined;
    });

    // Usable: load the model and train a short head.
    await loadFixtureModel();
    const retrain = await openTab(page, 'finetune');
    await setInput(retrain.getByTestId('head-epochs'), '5');
    await setInput(retrain.getByTestId('head-batch-size'), '16');
    await setInput(retrain.getByTestId('head-hidden'), '0');
    await retrain.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');
    expect(await chartPoints(page)).toBe(5);
    // Saved once the run's result follows the training's end: one head run (the new one), nothing running.
    await waitForDatabase((dump) => {
      const runs = storedValue<RunsRecord>(dump, 'runs', firstId);
      return (
        runs !== undefined &&
        runs.running === undefined &&
        runs.runs.filter((r: RunResult) => r.kind === 'head').length === 1
      );
    });
  });

  test('rename, duplicate, new and delete (with a confirmation) work on the list and in the database', async () => {
    const list = await openExperimentList(page);
    const first = experimentRow(page, DEFAULT_NAME);
    await first.getByTestId('experiment-rename').click();
    await first.getByTestId('experiment-rename-input').fill('Workshop topics');
    await first.getByTestId('experiment-rename-save').click();
    await page.getByTestId('current-experiment-name').and(page.getByText('Workshop topics')).waitFor({
      timeout: UI_TIMEOUT_MS,
    });
    let dump = await dumpDatabase(page);
    expect(storedValue<ExperimentMeta>(dump, 'experiments', firstId)?.name).toBe('Workshop topics');
    expect(storedValue<ExperimentDocument>(dump, 'documents', firstId)?.experiment.name).toBe(
      'Workshop topics',
    );
    const runCount = (await listedExperiments(page))[0]?.runs ?? 0;
    expect(runCount).toBeGreaterThan(0);

    await experimentRow(page, 'Workshop topics').getByTestId('experiment-duplicate').click();
    await page
      .locator('[data-testid="experiment-row"][aria-current="true"][data-name="Workshop topics (copy)"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    const copy = (await listedExperiments(page)).find((e) => e.name === 'Workshop topics (copy)');
    expect(copy?.runs).toBe(runCount);
    expect(copy?.id).not.toBe(firstId);
    const prompts = await openTab(page, 'prompts');
    await expect(dataValues(prompts.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);

    await page.getByTestId('experiment-new').click();
    await page
      .locator('[data-testid="experiment-row"][aria-current="true"][data-name="New experiment"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(list.getByTestId('experiment-row').count()).resolves.toBe(3);
    await expect(prompts.getByTestId('run-accuracy').count()).resolves.toBe(0);

    // Deleting asks first; "Keep it" keeps it.
    const copyRow = experimentRow(page, 'Workshop topics (copy)');
    await copyRow.getByTestId('experiment-delete').click();
    await copyRow.getByTestId('experiment-delete-cancel').click();
    await expect(list.getByTestId('experiment-row').count()).resolves.toBe(3);
    await copyRow.getByTestId('experiment-delete').click();
    await copyRow.getByTestId('experiment-delete-confirm').click();
    await copyRow.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    dump = await dumpDatabase(page);
    for (const store of ['experiments', 'documents', 'runs']) {
      expect(storedValue(dump, store, copy?.id ?? ''), store).toBeUndefined();
    }

    // Deleting the open experiment opens the most recent remaining one.
    const fresh = experimentRow(page, 'New experiment');
    await fresh.getByTestId('experiment-delete').click();
    await fresh.getByTestId('experiment-delete-confirm').click();
    await fresh.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    // The row goes first; opening the remaining experiment reads it from the database, a moment later.
    await page
      .locator(`[data-testid="experiment-row"][aria-current="true"][data-id="${firstId}"]`)
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(listedExperiments(page)).resolves.toEqual([
      expect.objectContaining({ id: firstId, name: 'Workshop topics', current: true }),
    ]);
    await expect(dataValues(prompts.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);

    await reload();
    await openExperimentList(page);
    await expect(listedExperiments(page)).resolves.toEqual([
      expect.objectContaining({ id: firstId, name: 'Workshop topics', runs: runCount, current: true }),
    ]);
  });

  test('export writes the experiment file; importing it adds a new experiment and never overwrites one', async () => {
    await openExperimentList(page);
    const before = await listedExperiments(page);
    const text = await downloadText(page, page.getByTestId('experiment-export'));
    const exported = parseExperimentText(text);
    const stored = storedValue<ExperimentDocument>(await dumpDatabase(page), 'documents', firstId);
    expect(exported).toEqual(parseExperimentText(JSON.stringify(stored?.experiment)));
    expect(exported.name).toBe('Workshop topics');

    await importExperimentFile(page, {
      name: 'workshop-topics.json',
      mimeType: 'application/json',
      buffer: Buffer.from(text),
    });
    await page
      .locator('[data-testid="experiment-row"][aria-current="true"][data-name="Workshop topics 2"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    const after = await listedExperiments(page);
    expect(after).toHaveLength(before.length + 1);
    // The original is untouched: same id, name, run count and time of last change.
    expect(after.find((e) => e.id === firstId)).toEqual({ ...before[0], current: false });
    const imported = after.find((e) => e.name === 'Workshop topics 2');
    const importedDocument = storedValue<ExperimentDocument>(
      await dumpDatabase(page),
      'documents',
      imported?.id ?? '',
    );
    expect(importedDocument?.experiment).toEqual({
      ...exported,
      name: 'Workshop topics 2',
    } satisfies Experiment);
    expect(imported?.runs).toBe(0);
    await expect(page.getByTestId('import-error').count()).resolves.toBe(0);

    await experimentRow(page, 'Workshop topics').getByTestId('experiment-open').click();
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText('Workshop topics', { exact: true }))
      .waitFor({
        timeout: UI_TIMEOUT_MS,
      });
    const prompts = await openTab(page, 'prompts');
    await expect(dataValues(prompts.getByTestId('run-accuracy'))).resolves.toEqual(promptAccuracies);
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
