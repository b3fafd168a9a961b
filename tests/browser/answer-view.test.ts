/**
 * @file The answer view in a real browser on the production build: after running the prompts and training a
 * head on the fixture model, Compare shows every run's 95% intervals and McNemar said in words, a confusion
 * heatmap cell filters the predictions to its examples, the try-it box classifies a typed sentence with every
 * run, and the report downloads as self-contained HTML (and Markdown, and CSV).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  downloadText,
  openTab,
  runAllPrompts,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

/** The built-in "topics" dataset: 45 test examples. */
const TEST_SIZE = 45;
/** Typing pauses, the sentence is embedded once per embedding and every run scores it. */
const TRY_IT_TIMEOUT_MS = 30_000;

let session: BrowserSession;
let page: Page;

describe('the answer view', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    try {
      await startModelLoad(await openTab(page, 'model'));
      expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
      await runAllPrompts(page);
      const finetune = await openTab(page, 'finetune');
      await finetune.getByTestId('head-train').click();
      await waitForHeadStatus(page, 'done');
    } catch (error) {
      // What the page and its workers said is the only way to tell a slow machine from a broken flow.
      console.error([...session.consoleErrors, ...session.consoleLog.slice(-40)].join('\n'));
      throw error;
    }
  });

  afterAll(async () => {
    await session?.close();
  });

  test('shows every run with its 95% intervals and McNemar for every pair, in words', async () => {
    const panel = await openTab(page, 'compare');
    const runs = await panel.getByTestId('compare-run-row').count();
    expect(runs).toBeGreaterThanOrEqual(3);
    const intervals = await panel.getByTestId('compare-accuracy-ci').allTextContents();
    expect(intervals).toHaveLength(runs);
    for (const text of intervals) expect(text).toMatch(/95% interval \[\d+\.\d%, \d+\.\d%\]/);
    await expect(panel.getByTestId('compare-macro-f1-ci').count()).resolves.toBe(runs);
    const lines = await panel.getByTestId('mcnemar-line').allTextContents();
    expect(lines).toHaveLength((runs * (runs - 1)) / 2);
    for (const line of lines) {
      expect(line).toMatch(
        new RegExp(
          `is better; a difference this large would arise by chance less than 1 time in|evidence either is better on these ${TEST_SIZE} examples`,
        ),
      );
    }
    const answer = await panel.getByTestId('compare-answer').textContent();
    expect(answer).toMatch(/^(Prompt|Fine-tune): /);
    await expect(panel.getByTestId('article-row').count()).resolves.toBe(8);
  });

  test('clicking a heatmap cell shows exactly that cell’s examples', async () => {
    const panel = await openTab(page, 'compare');
    const heatmap = panel.getByTestId('confusion-heatmap').first();
    const run = await heatmap.getAttribute('data-run');
    // The largest off-diagonal cell, or the first cell when the run made no mistake.
    const cells = await heatmap.getByTestId('confusion-cell').evaluateAll((buttons) =>
      buttons.map((button) => ({
        truth: button.getAttribute('data-truth') ?? '',
        predicted: button.getAttribute('data-predicted') ?? '',
        count: Number(button.textContent),
      })),
    );
    const wrong = cells.filter((cell) => cell.truth !== cell.predicted).sort((a, b) => b.count - a.count);
    const target = wrong[0] && wrong[0].count > 0 ? wrong[0] : (cells[0] as (typeof cells)[number]);
    await heatmap
      .locator(
        `[data-testid="confusion-cell"][data-truth="${target.truth}"][data-predicted="${target.predicted}"]`,
      )
      .click();
    await panel.getByTestId('examples-cell-filter').waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(panel.getByTestId('example-row').count()).resolves.toBe(target.count);
    // Every shown row has the cell's true label and the run's prediction (the run is the first prediction column).
    const rows = await panel
      .getByTestId('example-row')
      .evaluateAll((trs) =>
        trs.map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => td.textContent?.replace(/\s*\(wrong\)\s*$/, '').trim()),
        ),
      );
    for (const cellsOfRow of rows) {
      expect(cellsOfRow[1]).toBe(target.truth);
      expect(cellsOfRow[2]).toBe(target.predicted);
    }
    expect(await panel.getByTestId('examples-cell-filter').textContent()).toContain(run);
    await panel.getByTestId('examples-clear-cell').click();
    await expect(panel.getByTestId('example-row').count()).resolves.toBe(TEST_SIZE);
  });

  test('try it: a typed sentence gets a prediction and scores from every run', async () => {
    const panel = await openTab(page, 'compare');
    const runs = await panel.getByTestId('compare-run-row').count();
    await panel.getByTestId('try-it-input').fill('The football match went to extra time');
    const rows = panel.getByTestId('try-it-row');
    await rows.nth(runs - 1).waitFor({ timeout: TRY_IT_TIMEOUT_MS });
    const labels = await panel.getByTestId('try-it-label').allTextContents();
    expect(labels).toHaveLength(runs);
    for (const label of labels) expect(['food', 'sports', 'weather']).toContain(label);
    await expect(panel.getByTestId('try-it-error').count()).resolves.toBe(0);
  });

  test('downloads the report as self-contained HTML, Markdown and a predictions CSV', async () => {
    const panel = await openTab(page, 'compare');
    const html = await downloadText(page, panel.getByTestId('report-html'));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<(script|link|img)\b/);
    expect(html).toContain('Accuracy [95% CI]');
    expect(html).toContain('Is the difference real? (McNemar)');
    expect(html).toContain('Prompt engineering vs fine-tuning, measured here');
    expect(html).toContain('Topics: food, sports, weather');
    expect(html).toContain('@media print');
    const markdown = await downloadText(page, panel.getByTestId('report-markdown'));
    expect(markdown).toContain('## The answer');
    const csv = await downloadText(page, panel.getByTestId('report-csv'));
    expect(csv.trimEnd().split('\r\n')).toHaveLength(TEST_SIZE + 1);
  });

  test('logged no console errors and made no request off the machine', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
