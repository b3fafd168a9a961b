/**
 * @file Small steps through the app's UI by its `data-testid`s, shared by the browser tests.
 */
import type { Download, Locator, Page } from 'playwright-core';

/**
 * Bounds, not waits: every step waits for its condition and goes on the moment it holds, so these only decide how
 * long a broken step takes to fail. Sized for a 2-core machine shared with other jobs: at a load average of 29,
 * steps that take a second when quiet took over 30 s.
 */
export const LOAD_TIMEOUT_MS = 180_000;
export const RUN_TIMEOUT_MS = 180_000;
export const TRAIN_TIMEOUT_MS = 300_000;
export const UI_TIMEOUT_MS = 60_000;

/** The fixture model every test loads. */
export const FIXTURE_MODEL_ID = 'fixtures/tiny-bert';

/** Clicks a tab and returns its (now visible, fully mounted) panel. */
export async function openTab(page: Page, id: string): Promise<Locator> {
  await page.getByTestId(`tab-${id}`).click({ timeout: UI_TIMEOUT_MS });
  const panel = page.getByTestId(`panel-${id}`);
  try {
    await panel.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  } catch (failure) {
    throw new Error(`The ${id} panel did not show after its tab was clicked. ${await labState(page)}`, {
      cause: failure,
    });
  }
  // A lab that mounts in steps (shared/after-paint.ts) marks itself until its last part is in.
  await panel.locator('[data-staging]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
  return panel;
}

/**
 * What a lazily loaded tab (LazyTabPanel) shows instead of its panel: its error, or its loading placeholder, or
 * that neither is on the page; and which tab the page has selected and how long ago it was loaded. Said when a
 * panel does not show, so a failure tells why (a click that selected no tab, a reloaded page, a lab that hangs).
 */
async function labState(page: Page): Promise<string> {
  const context = await page
    .evaluate(() => ({
      selected: document.querySelector('[role="tab"][aria-selected="true"]')?.id ?? 'none',
      sinceLoad: Math.round(performance.now()),
    }))
    .then(({ selected, sinceLoad }) => ` Selected tab: ${selected}; page loaded ${sinceLoad} ms ago.`)
    .catch(() => ' (The page could not be read.)');
  return (await placeholderState(page)) + context;
}

/** The lab's error, or its loading placeholder, or that neither is on the page. */
async function placeholderState(page: Page): Promise<string> {
  const read = async (testId: string) => {
    const found = page.getByTestId(testId);
    if ((await found.count()) === 0) return undefined;
    return (
      await found
        .first()
        .innerText({ timeout: 1_000 })
        .catch(() => '(unreadable)')
    ).trim();
  };
  const error = await read('lab-error');
  if (error !== undefined) return `lab-error: ${error}`;
  const loading = await read('lab-loading');
  if (loading !== undefined) return `Still loading (lab-loading: ${loading}).`;
  return 'No lab-loading or lab-error placeholder on the page.';
}

/**
 * Opens the prompt lab, presses "Run all" and waits until the last variation shows its score.
 * Returns the panel and how many variations it holds.
 */
export async function runAllPrompts(
  page: Page,
  timeout = RUN_TIMEOUT_MS,
): Promise<{ panel: Locator; cards: number }> {
  const panel = await openTab(page, 'prompts');
  const cards = await panel.getByTestId('prompt-card').count();
  await panel.getByTestId('prompts-run-all').click();
  await panel
    .getByTestId('run-accuracy')
    .nth(cards - 1)
    .waitFor({ timeout });
  return { panel, cards };
}

/** Numeric `data-value` of every element matching `locator`. */
export async function dataValues(locator: Locator): Promise<number[]> {
  const values = await locator.evaluateAll((elements) => elements.map((e) => e.getAttribute('data-value')));
  return values.map(Number);
}

/** Picks a model in the model panel (the fixture, or any id typed as "other") and presses Load. */
export async function startModelLoad(panel: Locator, otherId?: string): Promise<void> {
  if (otherId === undefined) {
    await panel.getByTestId('model-select').selectOption(FIXTURE_MODEL_ID);
  } else {
    await panel.getByTestId('model-select').selectOption('__other__');
    await panel.getByTestId('model-other-id').fill(otherId);
  }
  await panel.getByTestId('model-load').click();
}

/** Waits until the model status is one of `statuses` and returns it. */
export async function waitForModelStatus(page: Page, statuses: string[]): Promise<string> {
  const status = page.getByTestId('model-status');
  await status.and(page.locator(statuses.map((s) => `[data-status="${s}"]`).join(','))).waitFor({
    timeout: LOAD_TIMEOUT_MS,
  });
  return (await status.getAttribute('data-status')) ?? '';
}

/** Waits until the head status is `status`. */
export async function waitForHeadStatus(
  page: Page,
  status: string,
  timeout = TRAIN_TIMEOUT_MS,
): Promise<void> {
  await page
    .getByTestId('head-status')
    .and(page.locator(`[data-status="${status}"]`))
    .waitFor({ timeout });
}

/** Number of epochs the loss chart currently shows. */
export async function chartPoints(page: Page): Promise<number> {
  return Number(await page.getByTestId('loss-chart').getAttribute('data-points'));
}

/** Types a value into an input and commits it (inputs commit on change). */
export async function setInput(locator: Locator, value: string): Promise<void> {
  await locator.fill(value);
  await locator.press('Enter');
}

/** Clicks a button that downloads a file and returns the file's text. */
export async function downloadText(page: Page, button: Locator): Promise<string> {
  const [download] = (await Promise.all([
    page.waitForEvent('download', { timeout: UI_TIMEOUT_MS }),
    button.click(),
  ])) as [Download, void];
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
