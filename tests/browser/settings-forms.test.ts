/**
 * @file The settings forms and the prompt cards in a real browser: every number field comes from its
 * declaration (label, help, range, the problem of a bad value), and each prompt card keeps its own state and
 * names its buttons after its prompt, so an error never moves to another card when an earlier one is removed.
 * No model is needed: nothing here runs.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, setInput, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

let session: BrowserSession;
let page: Page;

/** The card of the prompt named `name`. */
function card(panel: Locator, name: string): Locator {
  return panel.locator(`[data-testid="prompt-card"][data-name="${name}"]`);
}

describe('settings forms and prompt cards', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('every prompt card names its name field and buttons after its prompt', async () => {
    const panel = await openTab(page, 'prompts');
    const names = await panel
      .getByTestId('prompt-card')
      .evaluateAll((cards) => cards.map((element) => element.getAttribute('data-name')));
    expect(names).toEqual(['bare labels', 'sentence', 'described']);
    for (const name of names) {
      await expect(
        panel.getByRole('textbox', { name: `Name of prompt “${name}”`, exact: true }).inputValue(),
      ).resolves.toBe(name);
      await expect(
        panel.getByRole('button', { name: `Run prompt “${name}”`, exact: true }).count(),
      ).resolves.toBe(1);
      await expect(
        panel.getByRole('button', { name: `Remove prompt “${name}”`, exact: true }).count(),
      ).resolves.toBe(1);
    }
  });

  test('a rename error stays on its card when an earlier card is removed', async () => {
    const panel = await openTab(page, 'prompts');
    const sentence = card(panel, 'sentence');
    await setInput(sentence.getByTestId('prompt-name'), 'described');
    const error = sentence.getByTestId('prompt-rename-error');
    await error.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(error.locator('p').textContent()).resolves.toBe(
      'The name "described" is already used; choose another.',
    );
    await expect(sentence.getByTestId('prompt-name').inputValue()).resolves.toBe('sentence');

    await panel.getByRole('button', { name: 'Remove prompt “bare labels”', exact: true }).click();
    await card(panel, 'bare labels').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await expect(panel.getByTestId('prompt-card').count()).resolves.toBe(2);
    await expect(card(panel, 'sentence').getByTestId('prompt-rename-error').count()).resolves.toBe(1);
    await expect(card(panel, 'described').getByTestId('prompt-rename-error').count()).resolves.toBe(0);

    await panel
      .getByRole('button', { name: 'Dismiss the rename error of prompt “sentence”', exact: true })
      .click();
    await expect(panel.getByTestId('prompt-rename-error').count()).resolves.toBe(0);
  });

  test('a head setting outside its range says so under the field, and clears once fixed', async () => {
    const panel = await openTab(page, 'finetune');
    const epochs = panel.getByTestId('head-epochs');
    await expect(epochs.getAttribute('min')).resolves.toBe('1');
    await expect(epochs.getAttribute('max')).resolves.toBe('1000');
    await expect(panel.getByLabel('Epochs', { exact: true }).getAttribute('data-testid')).resolves.toBe(
      'head-epochs',
    );
    const help = await epochs.getAttribute('aria-describedby');
    expect(help).not.toBeNull();
    await expect(page.locator(`#${help ?? ''}`).textContent()).resolves.toContain('training goes through');

    await setInput(epochs, '0');
    const problem = panel.getByTestId('setting-problem');
    await problem.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(problem.textContent()).resolves.toBe('Epochs must be from 1 to 1000; got 0.');
    await expect(epochs.getAttribute('aria-invalid')).resolves.toBe('true');

    // One planned epoch used to give the loss chart an empty axis, which froze the page.
    await setInput(epochs, '1');
    await problem.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await expect(panel.getByTestId('loss-chart').getAttribute('aria-label')).resolves.toContain(
      'of 1 epochs',
    );
    await setInput(epochs, '5');
    await expect(epochs.getAttribute('aria-invalid')).resolves.toBe('false');
  });

  test('clearing "examples per class" means all, clearing the batch size puts it back', async () => {
    const panel = await openTab(page, 'finetune');
    const shots = panel.getByTestId('head-shots');
    await setInput(shots, '4');
    await expect(shots.inputValue()).resolves.toBe('4');
    await setInput(shots, '');
    await expect(shots.inputValue()).resolves.toBe('');
    await setInput(shots, '0');
    await expect(shots.inputValue()).resolves.toBe('');

    const batch = panel.getByTestId('head-batch-size');
    const before = await batch.inputValue();
    await setInput(batch, '');
    await expect(batch.inputValue()).resolves.toBe(before);
  });

  test('the split fields keep their range and step', async () => {
    const panel = await openTab(page, 'data');
    const fraction = panel.getByTestId('split-test');
    await expect(fraction.inputValue()).resolves.toBe('0.3');
    await expect(fraction.getAttribute('min')).resolves.toBe('0.05');
    await expect(fraction.getAttribute('max')).resolves.toBe('0.95');
    await expect(fraction.getAttribute('step')).resolves.toBe('0.05');
    await expect(panel.getByTestId('split-seed').inputValue()).resolves.toBe('42');
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
