/**
 * @file A full storage quota never loses work. First with `put` made to throw `QuotaExceededError` (an init
 * script patches IndexedDB before the app starts), then with a real quota Chromium enforces (set through the
 * DevTools protocol), where the failure arrives as the transaction's abort. Both times: the clear message,
 * "Export to a file" with the work as it is in memory, the previous saved copy intact, and saving resumes.
 */
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseExperimentText } from '../../src/lib/core/experiment/schema.ts';
import { QUOTA_MESSAGE } from '../../src/lib/storage/errors.ts';
import type { ExperimentDocument } from '../../src/lib/storage/schema.ts';
import { downloadText, openTab, setInput, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import {
  dumpDatabase,
  listedExperiments,
  openExperimentList,
  storedValue,
  waitForLibrary,
  waitForSaved,
} from './storage-driver.ts';

/**
 * Installed before the app's scripts: `window.__quotaFull = true` makes every `put` fail like a full disk;
 * `window.__puts` counts the app's write attempts, so a test can wait for the attempt a change causes.
 */
function failPutsWhenFull(): void {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    const counted = window as unknown as { __puts?: number };
    counted.__puts = (counted.__puts ?? 0) + 1;
    if ((window as unknown as { __quotaFull?: boolean }).__quotaFull) {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    return put.apply(this, args);
  };
}

let session: BrowserSession;
let page: Page;
let currentId: string;

async function setQuotaFull(full: boolean): Promise<void> {
  await page.evaluate((value) => {
    (window as unknown as { __quotaFull?: boolean }).__quotaFull = value;
  }, full);
}

async function storedSeed(): Promise<number | undefined> {
  return storedValue<ExperimentDocument>(await dumpDatabase(page), 'documents', currentId)?.experiment.split
    .seed;
}

async function setSeed(seed: number): Promise<void> {
  const data = await openTab(page, 'data');
  await setInput(data.getByTestId('split-seed'), String(seed));
}

function writeAttempts(): Promise<number> {
  return page.evaluate(() => (window as unknown as { __puts?: number }).__puts ?? 0);
}

/** Changes the seed while storage is full and waits until the app has tried to save it and failed. */
async function setSeedAndWaitForFailedSave(seed: number): Promise<void> {
  const before = await writeAttempts();
  await setSeed(seed);
  await expect.poll(writeAttempts, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(before);
  await page
    .getByTestId('save-status')
    .and(page.locator('[data-status="error"]'))
    .waitFor({ timeout: UI_TIMEOUT_MS });
}

async function expectQuotaNotice(): Promise<void> {
  const notice = page.getByTestId('storage-error');
  await notice.and(page.locator('[data-kind="quota"]')).waitFor({ timeout: UI_TIMEOUT_MS });
  await expect(page.getByTestId('storage-error-message').textContent()).resolves.toBe(QUOTA_MESSAGE);
  await expect(page.getByTestId('save-status').getAttribute('data-status')).resolves.toBe('error');
  await expect(page.getByTestId('storage-export').isVisible()).resolves.toBe(true);
}

describe('a full storage quota', () => {
  beforeAll(async () => {
    // A browser of its own, with a profile on disk: the second test reopens it in a browser started anew.
    session = await openBrowser({ ownBrowser: true });
    page = session.page;
    await page.addInitScript(failPutsWhenFull);
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
    await waitForSaved(page);
    await openExperimentList(page);
    currentId = (await listedExperiments(page))[0]?.id ?? '';
    expect(await storedSeed()).toBe(42);
  });

  afterAll(async () => {
    await session?.close();
  });

  test('when put throws QuotaExceededError: the message, an export of the work in memory, the old copy kept', async () => {
    await setQuotaFull(true);
    await setSeed(7);
    await expectQuotaNotice();
    // The work in memory is intact and is what the export writes.
    const data = await openTab(page, 'data');
    await expect(data.getByTestId('split-seed').inputValue()).resolves.toBe('7');
    await expect(data.getByTestId('split-test-total').textContent()).resolves.toBe('45');
    const exported = parseExperimentText(await downloadText(page, page.getByTestId('storage-export')));
    expect(exported.split).toEqual({ test: 0.3, seed: 7 });
    expect(exported.prompts).toHaveLength(3);
    // The failed write left the previous copy as it was.
    expect(await storedSeed()).toBe(42);

    // Still full: more changes stay in memory, the saved copy does not change.
    await setSeedAndWaitForFailedSave(8);
    await expectQuotaNotice();
    expect(await storedSeed()).toBe(42);

    // Space freed: "Try saving again" saves the newest state and the message goes away.
    await setQuotaFull(false);
    await page.getByTestId('storage-retry').click();
    await waitForSaved(page);
    await expect(page.getByTestId('storage-error').count()).resolves.toBe(0);
    expect(await storedSeed()).toBe(8);
  });

  test('a real quota enforced by Chromium (the transaction aborts): the same message, and saving resumes', async () => {
    // Chromium reads an origin's quota when its storage is first opened, and keeps it open a while after the
    // last page left. So close the browser (the profile stays), start it again on the same profile, set a quota
    // smaller than the database already takes before the app opens, then open it: the experiment is restored
    // from disk, and every write fails.
    const profile = session.userDataDir;
    if (profile === undefined) throw new Error('The first session must have a profile on disk to reopen.');
    await session.close({ keepProfile: true });
    session = await openBrowser({ userDataDir: profile });
    page = session.page;
    await page.addInitScript(failPutsWhenFull);
    const cdp: CDPSession = await page.context().newCDPSession(page);
    const send = cdp.send.bind(cdp) as (method: string, params?: object) => Promise<unknown>;
    const origin = new URL(inject('baseUrl')).origin;
    try {
      await send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
      await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app again');
      await waitForLibrary(page);
      await expectQuotaNotice();
      await setSeedAndWaitForFailedSave(9);
      await expectQuotaNotice();
      const data = await openTab(page, 'data');
      await expect(data.getByTestId('split-seed').inputValue()).resolves.toBe('9');
      expect(await storedSeed()).toBe(8);
      const exported = parseExperimentText(await downloadText(page, page.getByTestId('storage-export')));
      expect(exported.split.seed).toBe(9);
    } finally {
      // Without quotaSize the override is removed.
      await send('Storage.overrideQuotaForOrigin', { origin });
      await cdp.detach();
    }
    await page.getByTestId('storage-retry').click();
    await waitForSaved(page);
    await expect(page.getByTestId('storage-error').count()).resolves.toBe(0);
    expect(await storedSeed()).toBe(9);
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
