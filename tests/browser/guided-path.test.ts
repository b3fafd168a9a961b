/**
 * @file The guided path as a newcomer follows it, through the UI only, on the real default model (Universal
 * Sentence Encoder Lite): each step's instruction is done with the panels' own buttons, the guide marks the step
 * done and says what happened, its "next" opens the next tab; a reload in the middle resumes at the same step and
 * asks for the model again; the closed tour stays closed and reopens from the header. Prints how long the
 * scripted path took (machine time, no reading pauses); nothing asserts on it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { GUIDE_PROGRESS_KEY } from '../../src/lib/storage/guide-progress.ts';
import { LOAD_TIMEOUT_MS, RUN_TIMEOUT_MS, TRAIN_TIMEOUT_MS, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { waitForLibrary, waitForSaved } from './storage-driver.ts';

const REAL_MODEL_ID = 'universal-sentence-encoder-lite';

let session: BrowserSession;
let page: Page;
/** When the newcomer opened the page, and how long each part took (ms), for the printed timing. */
let started = 0;
const parts: [string, number][] = [];
let partStart = 0;

/** Ends a timed part of the path. */
function lap(name: string): void {
  const now = Date.now();
  parts.push([name, now - partStart]);
  partStart = now;
}

/** Waits until the guide is on `step`, done or not. */
async function waitForGuide(step: string, done: boolean, timeout = UI_TIMEOUT_MS): Promise<void> {
  await page
    .locator(`[data-testid="guide"][data-step="${step}"][data-done="${String(done)}"]`)
    .waitFor({ timeout });
}

/** The ids of the steps the guide's list marks done. */
async function doneSteps(): Promise<string[]> {
  return page
    .getByTestId('guide-step')
    .evaluateAll((items) =>
      items
        .filter((item) => item.getAttribute('data-done') === 'true')
        .map((item) => item.getAttribute('data-id') ?? ''),
    );
}

/** Presses the guide's "next" and waits for the next step's tab to show. */
async function next(tab: string): Promise<void> {
  await page.getByTestId('guide-next').click();
  const panel = page.getByTestId(`panel-${tab}`);
  await panel.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  // A lab that mounts in steps (shared/after-paint.ts) marks itself until its last part is in.
  await panel.locator('[data-staging]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
}

async function guideText(testid: string): Promise<string> {
  return (await page.getByTestId(testid).textContent()) ?? '';
}

describe('guided path on the real default model', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    started = Date.now();
    partStart = started;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      `Guided path, scripted through the UI: ${(total / 1000).toFixed(1)} s in all (${parts
        .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
        .join(', ')})`,
    );
    await session?.close();
  });

  test('a first visit opens the guide on step 1, on the Model tab, with the data already there', async () => {
    await waitForGuide('model', false);
    await page.getByTestId('panel-model').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    expect(await guideText('guide-todo')).toContain('press “Load model”');
    expect(await doneSteps()).toEqual(['data']);
    await expect(page.getByTestId('guide-toggle').getAttribute('aria-expanded')).resolves.toBe('true');
  });

  test('step 1: "Load model" on the selected built-in model marks the step done', async () => {
    const panel = page.getByTestId('panel-model');
    await expect(panel.getByTestId('model-select').inputValue()).resolves.toBe(REAL_MODEL_ID);
    await panel.getByTestId('model-load').click();
    await waitForGuide('model', true, LOAD_TIMEOUT_MS);
    expect(await guideText('guide-happened')).toContain('Universal Sentence Encoder Lite is loaded');
    expect(await doneSteps()).toEqual(['model', 'data']);
    lap('load');
    await next('data');
  });

  test('step 2: the built-in dataset is in use, its split named', async () => {
    await waitForGuide('data', true);
    expect(await guideText('guide-happened')).toMatch(
      /“topics” is in use: 3 labels \(food, sports and weather\), \d+ texts to learn from and \d+ kept aside/,
    );
    await next('prompts');
    await waitForGuide('prompts', false);
    lap('data');
  });

  test('step 3: "Run all" scores the variations; the guide names the best and the worst', async () => {
    const panel = page.getByTestId('panel-prompts');
    const cards = await panel.getByTestId('prompt-card').count();
    expect(cards).toBeGreaterThanOrEqual(2);
    await panel.getByTestId('prompts-run-all').click();
    // Two scored variations make the step done; the newcomer lets "Run all" finish the rest.
    await waitForGuide('prompts', true, RUN_TIMEOUT_MS);
    await panel
      .getByTestId('run-accuracy')
      .nth(cards - 1)
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    await page
      .getByTestId('guide-happened')
      .and(
        page.getByText(
          new RegExp(`^What just happened: ${cards} variations scored: the best, “[^”]+”, got \\d+%`),
        ),
      )
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await doneSteps()).toEqual(['model', 'data', 'prompts']);
    lap('prompts');
    await next('finetune');
    await waitForGuide('head', false);
  });

  test('a reload resumes at step 4, with the prompt runs kept and the model to load again', async () => {
    await waitForSaved(page);
    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app');
    await waitForLibrary(page);
    await waitForGuide('head', false);
    // Runs come back from IndexedDB; the model does not survive a reload.
    await page
      .locator('[data-testid="guide-step"][data-id="prompts"][data-done="true"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await doneSteps()).toEqual(['data', 'prompts']);
    await expect(page.getByTestId('guide-needs').getAttribute('data-needs')).resolves.toBe('model');
    // The newcomer goes to the step's tab from the guide's list, sees Train disabled, and is sent to the model.
    await page.locator('[data-testid="guide-step"][data-id="head"]').click();
    await page.getByTestId('panel-finetune').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await expect(page.getByTestId('panel-finetune').getByTestId('head-train').isDisabled()).resolves.toBe(
      true,
    );
    await page.getByTestId('guide-open-needed').click();
    const panel = page.getByTestId('panel-model');
    await panel.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await panel.getByTestId('model-load').click();
    await page
      .locator('[data-testid="guide-step"][data-id="model"][data-done="true"]')
      .waitFor({ timeout: LOAD_TIMEOUT_MS });
    await expect(page.getByTestId('guide-needs').count()).resolves.toBe(0);
    await page.getByTestId('guide-open-tab').click();
    await page.getByTestId('panel-finetune').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    lap('reload and load again');
  });

  test('step 4: "Train" trains the head; the guide sets it against the best prompt', async () => {
    await page.getByTestId('panel-finetune').getByTestId('head-train').click();
    await waitForGuide('head', true, TRAIN_TIMEOUT_MS);
    expect(await guideText('guide-happened')).toMatch(
      /Head “linear head” is trained: \d+% of the test texts right\. The best prompt got \d+%/,
    );
    lap('head');
    await next('compare');
    await waitForGuide('answer', false);
  });

  test('step 5: the answer, the eight aspects and the learning curve complete the path', async () => {
    const panel = page.getByTestId('panel-compare');
    await panel.getByTestId('compare-answer').waitFor({ timeout: UI_TIMEOUT_MS });
    // The comparison mounts in steps (shared/after-paint.ts) and marks itself until the last one.
    await panel.locator('[data-staging]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await expect(panel.getByTestId('article-row').count()).resolves.toBe(8);
    await panel.getByTestId('curve-run').click();
    await page
      .locator('[data-testid="guide"][data-step="answer"][data-done="true"][data-complete="true"]')
      .waitFor({ timeout: TRAIN_TIMEOUT_MS });
    await panel.getByTestId('curve-chart').waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await guideText('guide-happened')).toMatch(/The learning curve is drawn: /);
    expect(await doneSteps()).toEqual(['model', 'data', 'prompts', 'head', 'answer']);
    lap('answer');
    await expect(page.getByTestId('guide-next').count()).resolves.toBe(0);
    await page.getByTestId('guide-finish').click();
    await expect(page.getByTestId('guide').count()).resolves.toBe(0);
  });

  test('a closed tour stays closed after a reload, and the header opens it again where it was', async () => {
    const stored = await withTimeout(
      page.evaluate((key) => localStorage.getItem(key), GUIDE_PROGRESS_KEY),
      UI_TIMEOUT_MS,
      'read the stored guide place',
    );
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ step: 'answer', open: false });
    await withTimeout(page.reload(), UI_TIMEOUT_MS, 'reload the app');
    await waitForLibrary(page);
    await expect(page.getByTestId('guide').count()).resolves.toBe(0);
    await expect(page.getByTestId('guide-toggle').getAttribute('aria-expanded')).resolves.toBe('false');
    await page.getByTestId('guide-toggle').click();
    await waitForGuide('answer', false);
    await page.getByTestId('panel-compare').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  });
});
