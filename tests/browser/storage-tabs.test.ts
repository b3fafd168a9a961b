/**
 * @file Two tabs on the same experiment never overwrite each other's work: a tab with nothing unsaved follows
 * the other's saves; a tab holding unsaved changes when the other saves is told so instead of saving over it,
 * and can keep its version as a new experiment; an experiment deleted in one tab is reported in the other.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { ExperimentDocument } from '../../src/lib/storage/schema.ts';
import { openTab, setInput, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import {
  dumpDatabase,
  experimentRow,
  listedExperiments,
  openExperimentList,
  SAVE_TIMEOUT_MS,
  storedValue,
  waitForLibrary,
  waitForSaved,
} from './storage-driver.ts';

const NAME = 'Topics: prompts vs a trained head';

/** `window.__quotaFull = true` makes every `put` of that tab fail, holding its changes unsaved. */
function failPutsWhenFull(): void {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if ((window as unknown as { __quotaFull?: boolean }).__quotaFull) {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    return put.apply(this, args);
  };
}

let session: BrowserSession;
let first: Page;
let second: Page;
let experimentId: string;

async function setSeed(page: Page, seed: number): Promise<void> {
  const data = await openTab(page, 'data');
  await setInput(data.getByTestId('split-seed'), String(seed));
}

async function seedShown(page: Page): Promise<string> {
  return (await openTab(page, 'data')).getByTestId('split-seed').inputValue();
}

async function storedSeed(id: string): Promise<number | undefined> {
  return storedValue<ExperimentDocument>(await dumpDatabase(first), 'documents', id)?.experiment.split.seed;
}

async function setQuotaFull(page: Page, full: boolean): Promise<void> {
  await page.evaluate((value) => {
    (window as unknown as { __quotaFull?: boolean }).__quotaFull = value;
  }, full);
}

describe('two tabs', () => {
  beforeAll(async () => {
    session = await openBrowser();
    await session.context.addInitScript(failPutsWhenFull);
    first = session.page;
    await withTimeout(first.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the first tab');
    await waitForLibrary(first);
    await waitForSaved(first);
    second = await session.context.newPage();
    second.on('pageerror', (error) => session.consoleErrors.push(`Uncaught (second tab): ${error.message}`));
    await withTimeout(second.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the second tab');
    await waitForLibrary(second);
    await openExperimentList(first);
    experimentId = (await listedExperiments(first))[0]?.id ?? '';
    await openExperimentList(second);
    await expect(listedExperiments(second)).resolves.toEqual([expect.objectContaining({ id: experimentId })]);
  });

  afterAll(async () => {
    await session?.close();
  });

  test('a tab with nothing unsaved follows what the other tab saves', async () => {
    await setSeed(first, 7);
    await waitForSaved(first);
    await expect.poll(() => seedShown(second), { timeout: SAVE_TIMEOUT_MS }).toBe('7');
    await expect(second.getByTestId('storage-error').count()).resolves.toBe(0);
  });

  test('unsaved changes meeting another tab’s save are not written over it, and can be kept as a copy', async () => {
    // The second tab's change cannot be saved yet (its storage fails), so it is still unsaved when the first saves.
    await setQuotaFull(second, true);
    await setSeed(second, 8);
    await second.getByTestId('storage-error').and(second.locator('[data-kind="quota"]')).waitFor({
      timeout: UI_TIMEOUT_MS,
    });
    await setSeed(first, 9);
    await waitForSaved(first);
    await setQuotaFull(second, false);
    await second.getByTestId('storage-retry').click();

    const notice = second.getByTestId('storage-error').and(second.locator('[data-kind="conflict"]'));
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(second.getByTestId('storage-error-message').textContent()).resolves.toBe(
      'This experiment was changed in another tab after this tab opened it. Nothing was overwritten: keep ' +
        "this tab's version as a new experiment, or open the saved version (this tab's unsaved changes are " +
        'then dropped).',
    );
    expect(await storedSeed(experimentId)).toBe(9);
    await expect(seedShown(second)).resolves.toBe('8');

    await second.getByTestId('storage-keep-copy').click();
    const copyName = `${NAME} (this tab)`;
    await second
      .locator(`[data-testid="experiment-row"][aria-current="true"][data-name="${copyName}"]`)
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(second.getByTestId('storage-error').count()).resolves.toBe(0);
    const copy = (await listedExperiments(second)).find((entry) => entry.name === copyName);
    expect(await storedSeed(copy?.id ?? '')).toBe(8);
    expect(await storedSeed(experimentId)).toBe(9);
    // The first tab's list learned about the copy by itself.
    await experimentRow(first, copyName).waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(seedShown(first)).resolves.toBe('9');
  });

  test('deleting in one tab the experiment open in the other is reported there, and the saved one reopens', async () => {
    const copyName = `${NAME} (this tab)`;
    const row = experimentRow(first, copyName);
    await row.getByTestId('experiment-delete').click();
    await row.getByTestId('experiment-delete-confirm').click();
    await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });

    const notice = second.getByTestId('storage-error').and(second.locator('[data-kind="conflict"]'));
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(second.getByTestId('storage-error-message').textContent()).resolves.toBe(
      'This experiment was deleted in another tab. Your work here is intact: keep it as a new experiment, or ' +
        'export it to a file.',
    );
    // Still on screen in the second tab, as it was.
    await expect(seedShown(second)).resolves.toBe('8');
    await second.getByTestId('storage-reload-saved').click();
    await second
      .locator(`[data-testid="experiment-row"][aria-current="true"][data-id="${experimentId}"]`)
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(seedShown(second)).resolves.toBe('9');
    await expect(second.getByTestId('storage-error').count()).resolves.toBe(0);
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
