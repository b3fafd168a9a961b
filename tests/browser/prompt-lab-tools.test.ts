/**
 * @file The prompt lab's tools in a real browser against the production build: duplicate a variation, reorder
 * it with the keyboard (focus stays on it), diff it against its original, "Run all" with n-of-m progress and a
 * cancel that keeps the finished runs, the accuracy chart's text alternative, and what the model sees (token
 * counts, and where a long input is cut). The cancel is deterministic: the last variation names its own model,
 * which the app loads after the others, and the test holds that model's files until it has pressed Cancel.
 */
import type { Locator, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildDatasetFromRef } from '../../src/lib/core/dataset/ref.ts';
import { prepareData } from '../../src/lib/core/experiment/orchestrator.ts';
import type { Experiment } from '../../src/lib/core/experiment/types.ts';
import { dataValues, FIXTURE_MODEL_ID, setInput, startModelLoad } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { importExperimentFile, waitForLibrary } from './storage-driver.ts';

/** For steps that wait on the model worker while other jobs share this machine's 2 cores. */
const SLOW_MS = 180_000;
/** For any UI step: on this shared machine even a tab switch has taken over 10 s right after a model load. */
const UI_MS = 60_000;

/** The fixture the last variation names: its files are held while the test cancels. */
const OTHER_MODEL = 'fixtures/tiny-nli';

const EXPERIMENT: Experiment = {
  version: 1,
  name: 'Prompt lab tools',
  model: FIXTURE_MODEL_ID,
  dataset: { builtin: 'topics' },
  split: { test: 0.3, seed: 42 },
  prompts: [
    { name: 'bare', strategy: 'similarity', template: '{label}' },
    { name: 'sentence', strategy: 'similarity', template: 'This text is about {label}.' },
    { name: 'elsewhere', strategy: 'similarity', template: '{label}', model: OTHER_MODEL },
  ],
  heads: [
    { name: 'linear head', layer: -1, pooling: 'mean', hidden: 0, epochs: 5, learningRate: 0.01, seed: 1 },
  ],
};

/** The test split the app computes (same core code), for the texts the model is given. */
const TEST = prepareData(buildDatasetFromRef({ builtin: 'topics' }).dataset, EXPERIMENT.split).split.test;

let session: BrowserSession;
let page: Page;
let panel: Locator;

/** Variation names in the order the lab lists them. */
async function order(): Promise<string[]> {
  return panel
    .getByTestId('prompt-slot')
    .evaluateAll((slots) => slots.map((slot) => slot.getAttribute('data-name') ?? ''));
}

/** The accessible name of the focused element. */
async function focusedLabel(): Promise<string | null> {
  return withTimeout(
    page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null),
    UI_MS,
    'read the focused element',
  );
}

/** Clicks a tab and returns its panel, with this file's patient timeout. */
async function openTab(id: string): Promise<Locator> {
  await page.getByTestId(`tab-${id}`).click({ timeout: UI_MS });
  const tabPanel = page.getByTestId(`panel-${id}`);
  await tabPanel.waitFor({ state: 'visible', timeout: UI_MS });
  return tabPanel;
}

/** An element's text without what only screen readers get (`.visually-hidden`). */
async function visibleText(locator: Locator): Promise<string> {
  return locator.evaluate((element) => {
    const copy = element.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('.visually-hidden').forEach((hidden) => hidden.remove());
    return copy.textContent ?? '';
  });
}

function slot(name: string): Locator {
  return panel.locator(`[data-testid="prompt-slot"][data-name="${name}"]`);
}

describe('prompt lab tools', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    page.setDefaultTimeout(UI_MS);
    await withTimeout(page.goto(inject('baseUrl')), UI_MS, 'open the app');
    await waitForLibrary(page);
    await importExperimentFile(page, {
      name: 'tools.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(EXPERIMENT)),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText(EXPERIMENT.name))
      .waitFor({ timeout: UI_MS });
    const modelPanel = await openTab('model');
    await startModelLoad(modelPanel);
    // Generous: this machine's 2 cores are shared with many other jobs.
    await modelPanel
      .getByTestId('model-status')
      .and(page.locator('[data-status="ready"],[data-status="error"]'))
      .waitFor({ timeout: SLOW_MS })
      .catch((error: unknown) => {
        throw new Error(
          `The model did not load: ${String(error)}\n${session.consoleLog.slice(-20).join('\n')}`,
        );
      });
    expect(await modelPanel.getByTestId('model-status').getAttribute('data-status')).toBe('ready');
    panel = await openTab('prompts');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('duplicates a variation under a fresh name, right after it', async () => {
    await slot('sentence').getByTestId('prompt-duplicate').click();
    await slot('sentence copy').waitFor({ timeout: UI_MS });
    expect(await order()).toEqual(['bare', 'sentence', 'sentence copy', 'elsewhere']);
    // The copy's name field has focus, ready to be renamed.
    expect(await focusedLabel()).toBe('Name of prompt “sentence copy”');
    await setInput(slot('sentence copy').getByTestId('prompt-template'), 'This email is about {label}.');
  });

  test('reorders with the keyboard, focus staying on the moved variation', async () => {
    await slot('sentence copy').getByTestId('prompt-move-up').focus();
    await page.keyboard.press('Enter');
    await expect.poll(order, { timeout: UI_MS }).toEqual(['bare', 'sentence copy', 'sentence', 'elsewhere']);
    expect(await focusedLabel()).toBe('Move “sentence copy” up');
    await page.keyboard.press('Enter');
    await expect.poll(order, { timeout: UI_MS }).toEqual(['sentence copy', 'bare', 'sentence', 'elsewhere']);
    // At the top "up" is disabled: focus moves to "down", so the keyboard is never dropped.
    expect(await focusedLabel()).toBe('Move “sentence copy” down');
    expect(await slot('sentence copy').getByTestId('prompt-position').textContent()).toBe('Variation 1 of 4');
  });

  test('shows the copy and its original side by side, the changed word marked', async () => {
    const diff = panel.getByTestId('prompt-diff-section');
    expect(await diff.getByTestId('prompt-diff-a').inputValue()).not.toBe('');
    expect(await diff.locator('thead th').allTextContents()).toEqual(['Field', 'sentence', 'sentence copy']);
    expect(await diff.getByTestId('prompt-diff-summary').textContent()).toContain('1 of 2 fields differ.');
    const row = diff.locator('[data-testid="prompt-diff-row"][data-field="template"]');
    expect(await row.getAttribute('data-differs')).toBe('true');
    expect(await row.locator('del').allTextContents()).toEqual(['[only here: text]']);
    expect(await row.locator('ins').allTextContents()).toEqual(['[only here: email]']);
    expect(await visibleText(row.getByTestId('prompt-diff-left'))).toBe('This text is about {label}.');
    expect(await visibleText(row.getByTestId('prompt-diff-right'))).toBe('This email is about {label}.');
    const same = diff.locator('[data-testid="prompt-diff-row"][data-field="strategy"]');
    expect(await same.getAttribute('data-differs')).toBe('false');
    expect(await diff.getByTestId('prompt-diff-score-a').textContent()).toBe('not run yet');
  });

  test('"Run all" counts n of m, and Cancel stops it keeping the finished runs', async () => {
    const held: Route[] = [];
    let released = false;
    let reached: () => void = () => undefined;
    const otherModelRequested = new Promise<void>((resolve) => (reached = resolve));
    await session.context.route(`**/models/${OTHER_MODEL}/**`, async (route) => {
      if (released) return route.continue();
      held.push(route);
      reached();
    });
    try {
      await panel.getByTestId('prompts-run-all').click();
      await withTimeout(otherModelRequested, SLOW_MS, `a request for ${OTHER_MODEL}`);
      // The three variations on the experiment's model ran first; the fourth waits for its model.
      await panel
        .getByTestId('prompts-progress')
        .getByText('3 of 4 variations done')
        .waitFor({ timeout: SLOW_MS });
      await panel.getByTestId('prompts-cancel').click();
    } finally {
      released = true;
      await Promise.all(held.map((route) => route.continue()));
      await session.context.unroute(`**/models/${OTHER_MODEL}/**`);
    }
    await panel.getByTestId('prompts-run-all').and(page.locator(':enabled')).waitFor({ timeout: SLOW_MS });
    expect(await panel.getByTestId('prompts-cancelled').textContent()).toBe(
      'Cancelled: 3 of 4 variations had finished; their results are kept. Run again to score the rest.',
    );
    expect(await panel.getByTestId('prompt-error').count()).toBe(0);
    for (const name of ['sentence copy', 'bare', 'sentence']) {
      expect(await slot(name).getByTestId('run-accuracy').count(), name).toBe(1);
    }
    expect(await slot('elsewhere').getByTestId('run-score-missing').count()).toBe(1);
  });

  test('the accuracy chart follows the runs, with a text alternative', async () => {
    const chart = panel.getByTestId('prompt-chart');
    expect(await chart.getAttribute('data-ran')).toBe('3');
    expect(await chart.getAttribute('data-total')).toBe('4');
    const accuracies = await dataValues(panel.getByTestId('prompt-card').getByTestId('run-accuracy'));
    expect(await dataValues(chart.getByTestId('prompt-chart-bar').and(page.locator('[data-value]')))).toEqual(
      accuracies,
    );
    const svg = chart.getByTestId('prompt-chart-svg');
    expect(await svg.getAttribute('role')).toBe('img');
    const description = (await chart.getByTestId('prompt-chart-desc').textContent()) ?? '';
    const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;
    const names = ['sentence copy', 'bare', 'sentence'];
    names.forEach((name, k) => {
      expect(description).toMatch(
        new RegExp(
          `${name}: ${pct(accuracies[k] as number).replace('.', '\\.')} \\(95% CI [\\d.]+%–[\\d.]+%\\)\\.`,
        ),
      );
    });
    expect(description).toContain('elsewhere: not run yet.');
    expect(description).toContain('Chance level: 33.3%.');
    const rows = chart.getByTestId('prompt-chart-row');
    expect(await rows.evaluateAll((r) => r.map((row) => row.getAttribute('data-name')))).toEqual([
      ...names,
      'elsewhere',
    ]);
    expect(await rows.last().locator('td').textContent()).toBe('not run yet');

    // The diff now shows both scores and how often the two disagree.
    const diff = panel.getByTestId('prompt-diff-section');
    expect(await diff.getByTestId('prompt-diff-score-a').textContent()).toContain('accuracy ');
    expect(await diff.getByTestId('prompt-diff-mcnemar').textContent()).toContain(
      `On the same ${TEST.length} test examples`,
    );
  });

  test('what the model sees: the exact texts, their token counts, and where a long input is cut', async () => {
    const view = panel.getByTestId('model-input-section');
    await view.getByTestId('model-input-variation').selectOption({ label: 'bare' });
    const pieces = view.getByTestId('model-input-piece');
    await pieces.first().and(page.locator('[data-tokens]')).waitFor({ timeout: SLOW_MS });
    expect(await pieces.getByTestId('model-input-text').allTextContents()).toEqual([
      TEST[0]?.text,
      'food',
      'sports',
      'weather',
    ]);
    expect(Number(await pieces.first().getAttribute('data-tokens'))).toBeGreaterThan(2);
    expect(await pieces.first().getAttribute('data-truncated')).toBe('false');

    await view.getByTestId('model-input-next').click();
    await expect
      .poll(() => pieces.first().getByTestId('model-input-text').textContent(), { timeout: SLOW_MS })
      .toBe(TEST[1]?.text);

    // 150 filler words before the text: over the fixture's 128-token limit.
    const filler = Array.from({ length: 150 }, () => 'word').join(' ');
    await setInput(slot('bare').getByTestId('prompt-text-template'), `${filler} {text}`);
    const input = pieces.first();
    await input.and(page.locator('[data-truncated="true"]')).waitFor({ timeout: SLOW_MS });
    expect(Number(await input.getAttribute('data-tokens'))).toBeGreaterThan(128);
    expect(await input.getByTestId('model-input-tokens').textContent()).toContain('over the 128-token limit');
    const unread = (await input.getByTestId('model-input-unread').textContent()) ?? '';
    expect(unread).toContain(TEST[1]?.text);
    const full = (await input.getByTestId('model-input-text').textContent()) ?? '';
    const kept = full.slice(0, full.indexOf('✂'));
    // [CLS] and [SEP] take two of the 128 tokens; each filler word is one token.
    expect(kept).toBe(Array.from({ length: 126 }, () => 'word').join(' '));
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
