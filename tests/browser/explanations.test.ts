/**
 * @file Explanations where terms are met and errors where they happen, in a real browser: a term's "?" opens its
 * explanation in place (by mouse and keyboard) and leads to its glossary entry, which leads back to the tab and
 * the term; a bad field marks its own card with plain words next to the field (aria-invalid, aria-describedby)
 * and the mark clears once fixed; a run that fails marks only its card, the other variations still run, and the
 * mark clears when the card runs again successfully.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { GLOSSARY, glossaryTerm } from '../../src/lib/core/teaching/glossary.ts';
import {
  openTab,
  RUN_TIMEOUT_MS,
  setInput,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

let session: BrowserSession;
let page: Page;

/** The card of the prompt variation named `name`. */
function card(panel: Locator, name: string): Locator {
  return panel.locator(`[data-testid="prompt-card"][data-name="${name}"]`);
}

/** The id of the element that has the focus. */
function focusedId(): Promise<string> {
  return page.evaluate(() => document.activeElement?.id ?? '');
}

describe('explanations and errors in place', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('a term opens its explanation in place, by mouse and by keyboard', async () => {
    const panel = await openTab(page, 'finetune');
    const term = panel.locator('[data-term="learning-rate"]');
    const toggle = term.getByTestId('term-toggle');
    const explanation = term.getByTestId('term-explanation');
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('false');
    await expect(explanation.isVisible()).resolves.toBe(false);
    await expect(toggle.getAttribute('aria-label')).resolves.toBe('What is “Learning rate”?');

    await toggle.click();
    await explanation.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('true');
    await expect(explanation.textContent()).resolves.toContain(glossaryTerm('learning-rate').short);
    const controls = await toggle.getAttribute('aria-controls');
    await expect(explanation.getAttribute('id')).resolves.toBe(controls);

    await toggle.press('Escape');
    await explanation.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('false');

    await toggle.focus();
    await page.keyboard.press('Enter');
    await explanation.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.keyboard.press('Enter');
    await explanation.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
  });

  test('an explanation leads to its glossary entry, and the entry leads back to the term', async () => {
    const panel = await openTab(page, 'finetune');
    const term = panel.locator('[data-term="epoch"]');
    await term.getByTestId('term-toggle').click();
    await term.getByTestId('term-to-glossary').click();
    const glossary = page.getByTestId('glossary');
    await glossary.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await expect(focusedId()).resolves.toBe('glossary-epoch');
    const entry = glossary.locator('#glossary-epoch');
    await expect(entry.textContent()).resolves.toContain(glossaryTerm('epoch').long);

    // Back from the glossary to a term met on another tab: the test split, met in the data tab.
    const split = glossary.locator('#glossary-test-split');
    await split.getByTestId('glossary-back').and(page.locator('[data-tab="data"]')).click();
    await glossary.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    await page.getByTestId('panel-data').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const focused = await page.evaluate(() =>
      document.activeElement?.closest('[data-term]')?.getAttribute('data-term'),
    );
    expect(focused).toBe('test-split');
  });

  test('the glossary opens from the header, lists every term with an anchor, and closes with Escape', async () => {
    await page.getByTestId('glossary-open').click();
    const glossary = page.getByTestId('glossary');
    await glossary.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const ids = await glossary
      .getByTestId('glossary-entry')
      .evaluateAll((entries) => entries.map((e) => e.id));
    expect(ids).toEqual(GLOSSARY.map((entry) => `glossary-${entry.id}`));
    await page.keyboard.press('Escape');
    await glossary.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    // Closed by Escape, it opens again from the header.
    await page.getByTestId('glossary-open').click();
    await glossary.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await glossary.getByTestId('glossary-close').click();
    await glossary.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
  });

  test('a bad field marks its own card in plain words next to the field, and the mark clears when fixed', async () => {
    const panel = await openTab(page, 'prompts');
    const bare = card(panel, 'bare labels');
    const template = bare.getByTestId('prompt-template');
    await setInput(template, 'About it.');
    const problem = bare.getByTestId('card-problem');
    await problem.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(bare.getAttribute('data-problem')).resolves.toBe('invalid');
    await expect(problem.getByTestId('card-problem-message').textContent()).resolves.toMatch(
      /^The template has no \{label\}: write \{label\} where each label’s name should go/,
    );
    await expect(problem.getByTestId('card-problem-path').isVisible()).resolves.toBe(false);
    await expect(problem.getByTestId('card-problem-path').textContent()).resolves.toBe('prompts[0].template');
    await expect(template.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(template.getAttribute('aria-describedby')).resolves.toBe(await problem.getAttribute('id'));
    // Only its own card is marked.
    await expect(panel.getByTestId('card-problem').count()).resolves.toBe(1);
    await expect(card(panel, 'sentence').getAttribute('data-problem')).resolves.toBeNull();

    await setInput(template, 'About {label}.');
    await problem.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await expect(bare.getAttribute('data-problem')).resolves.toBeNull();
    await expect(template.getAttribute('aria-invalid')).resolves.toBeNull();
  });

  test('a run that fails marks only its card, the others still run, and a successful run clears it', async () => {
    const model = await openTab(page, 'model');
    await startModelLoad(model);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');

    const panel = await openTab(page, 'prompts');
    const sentence = card(panel, 'sentence');
    // An NLI hypothesis on a model that is not an NLI model: the run itself finds out.
    await sentence.getByTestId('prompt-mode-nli').check();
    await setInput(sentence.getByTestId('prompt-model'), 'fixtures/tiny-bert');
    await expect(sentence.getByTestId('card-problem').count()).resolves.toBe(0);

    const cards = await panel.getByTestId('prompt-card').count();
    await panel.getByTestId('prompts-run-all').click();
    const problem = sentence.getByTestId('card-problem');
    await problem.waitFor({ timeout: RUN_TIMEOUT_MS });
    await panel
      .getByTestId('prompts-run-all')
      .and(page.locator(':enabled'))
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(sentence.getAttribute('data-problem')).resolves.toBe('failed');
    await expect(problem.getByTestId('card-problem-message').textContent()).resolves.toMatch(
      /^This model cannot judge a hypothesis/,
    );
    await expect(sentence.getByTestId('prompt-model').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(panel.getByTestId('card-problem').count()).resolves.toBe(1);
    // Every other variation ran.
    await expect(panel.getByTestId('run-accuracy').count()).resolves.toBe(cards - 1);
    await expect(sentence.getByTestId('run-accuracy').count()).resolves.toBe(0);

    // Back to a template: the failure no longer describes the card, and its run succeeds.
    await sentence.getByTestId('prompt-mode-template').check();
    await problem.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await sentence.getByTestId('prompt-run').click();
    await sentence.getByTestId('run-accuracy').waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(sentence.getByTestId('card-problem').count()).resolves.toBe(0);
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
