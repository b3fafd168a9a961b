/**
 * @file Accessibility in a real browser on the production build. The whole flow by keyboard alone (tabs, the
 * model catalog, run and train buttons, a confusion cell, the experiment list, confirmations that take the focus
 * and give it back), with a visible focus ring; then axe-core on every tab, with the experiment list and a
 * dataset preview open, at desktop width and at 390 px, in light and dark colour schemes: no serious or critical
 * violation, and at 390 px no sideways scrolling of the page. Dark mode and reduced motion come from the
 * system's preferences. The guided tour and the glossary dialog get the same axe checks, and the dialog takes the
 * focus and gives it back. On the spam dataset, the predictions table comes in pages.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { axeFindings, expectNoSeriousViolations, failing, type AxeFinding } from './axe.ts';
import {
  FIXTURE_MODEL_ID,
  openTab,
  RUN_TIMEOUT_MS,
  runAllPrompts,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { fontStrikes } from '../../src/lib/components/shared/font-warmup.ts';

const TABS = ['model', 'data', 'prompts', 'finetune', 'compare'] as const;

/** The layouts checked: a desktop window, and a phone 390 px wide (iPhone 12–15). */
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: '390 px', width: 390, height: 844 },
] as const;
const SCHEMES = ['light', 'dark'] as const;

/** The built-in spam dataset: 600 e-mails, test fraction 0.3. */
const SPAM_TEST_SIZE = 180;
/** Rows per page of the predictions table (ExamplesTable.svelte). */
const EXAMPLES_PAGE_SIZE = 50;
/** A third of the 30,000 px the issue measured before the table was paged and its texts cut. */
const SPAM_COMPARE_MAX_HEIGHT_PX = 10_000;

/** Tab stops between two points of the walk-through: the model tab holds the catalog's links and buttons. */
const MAX_TAB_PRESSES = 150;

let session: BrowserSession;
let page: Page;

/** Whether the focused element matches `selector`. */
async function focusedMatches(selector: string): Promise<boolean> {
  return page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
}

/** Every font strike (computed family, pixel size, weight, style) the page drew text in, with where first seen. */
const drawnStrikes = new Map<string, string>();

/**
 * Adds the strikes of every visible text, form field and SVG label on the page to {@link drawnStrikes}: the
 * start-up font warm-up (shared/font-warmup.ts) must have fetched each, or drawing it costs a synchronous font
 * lookup in the middle of a layout.
 */
async function recordDrawnStrikes(where: string): Promise<void> {
  const keys = await page.evaluate(() => {
    const found = new Set<string>();
    const add = (element: Element) => {
      if (element.getClientRects().length === 0) return;
      const style = getComputedStyle(element);
      if (style.visibility === 'hidden') return;
      found.add(`${style.fontFamily}|${style.fontSize}|${style.fontWeight}|${style.fontStyle}`);
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement && node.textContent?.trim()) add(node.parentElement);
    }
    document.querySelectorAll('input, select, textarea').forEach(add);
    return [...found];
  });
  for (const key of keys) if (!drawnStrikes.has(key)) drawnStrikes.set(key, where);
}

/** Presses Tab (or Shift+Tab) until the focused element matches `selector`, as a keyboard user would. */
async function tabTo(selector: string, key: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  for (let presses = 0; presses < MAX_TAB_PRESSES; presses += 1) {
    if (await focusedMatches(selector)) return;
    await page.keyboard.press(key);
  }
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  throw new Error(
    `${selector} not reached with ${MAX_TAB_PRESSES} presses of ${key}; focus is on ${focused}`,
  );
}

/** The focused element's outline: what makes keyboard focus visible. */
async function focusRing(): Promise<{ style: string; width: number }> {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element) return { style: 'none', width: 0 };
    const style = getComputedStyle(element);
    return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) };
  });
}

async function expectVisibleFocus(where: string): Promise<void> {
  const ring = await focusRing();
  expect(ring.style, `focus ring on ${where}`).not.toBe('none');
  expect(ring.width, `focus ring width on ${where}`).toBeGreaterThanOrEqual(2);
}

/** The selected tab, focused: Shift+Tab from inside a panel, or Tab from the page's top, reaches it. */
async function focusSelectedTab(key: 'Tab' | 'Shift+Tab'): Promise<void> {
  await tabTo('[role="tab"][aria-selected="true"]', key);
}

/** Arrow keys on the focused tab until `id` is selected, then checks its panel shows. */
async function arrowToTab(id: string): Promise<void> {
  for (let presses = 0; presses < TABS.length; presses += 1) {
    if (await focusedMatches(`#tab-${id}`)) break;
    await page.keyboard.press('ArrowRight');
  }
  expect(await page.getByTestId(`tab-${id}`).getAttribute('aria-selected')).toBe('true');
  const panel = page.getByTestId(`panel-${id}`);
  await panel.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  // A lab that mounts in steps (shared/after-paint.ts) marks itself until its last part is in.
  await panel.locator('[data-staging]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
}

async function focusedTestId(): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
}

/** The page's background in each scheme (`--bg` of app.css): proof that the scheme really applies. */
const BACKGROUND = { light: 'rgb(247, 248, 250)', dark: 'rgb(17, 20, 25)' } as const;

/**
 * Emulates the system's colour scheme and motion preference, and waits until the page's styles follow: the
 * renderer applies an emulated media feature a moment after the call returns.
 */
async function emulate(
  colorScheme: 'light' | 'dark',
  reducedMotion: 'reduce' | 'no-preference',
): Promise<void> {
  await page.emulateMedia({ colorScheme, reducedMotion });
  await page.waitForFunction(
    ([scheme, motion, background]) =>
      matchMedia(`(prefers-color-scheme: ${scheme})`).matches &&
      matchMedia(`(prefers-reduced-motion: ${motion})`).matches &&
      getComputedStyle(document.documentElement).backgroundColor === background,
    [colorScheme, reducedMotion, BACKGROUND[colorScheme]] as const,
    { timeout: UI_TIMEOUT_MS },
  );
}

/** Runs exist for Compare to show: the keyboard test makes them; should it have failed, the mouse does. */
async function ensureRuns(): Promise<void> {
  const compare = await openTab(page, 'compare');
  if ((await compare.getByTestId('compare-run-row').count()) > 0) return;
  if ((await page.getByTestId('model-status').getAttribute('data-status')) !== 'ready') {
    await startModelLoad(await openTab(page, 'model'));
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
  }
  await runAllPrompts(page);
  const finetune = await openTab(page, 'finetune');
  await finetune.getByTestId('head-train').click();
  await waitForHeadStatus(page, 'done');
}

/** Opens what is collapsed, so axe checks it too: the experiment list and every `<details>` of the panel. */
async function openEverything(tab: string): Promise<void> {
  const toggle = page.getByTestId('experiments-toggle');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await page
    .getByTestId(`panel-${tab}`)
    .evaluate((panel) => panel.querySelectorAll('details').forEach((details) => (details.open = true)));
}

describe('accessibility', () => {
  beforeAll(async () => {
    session = await openBrowser({ bypassCSP: true });
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await page
      .locator('[data-testid="experiments-bar"][data-ready="true"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
  });

  afterAll(async () => {
    await session?.close();
  });

  test('the whole flow by keyboard, with a visible focus ring', async () => {
    try {
      // From the top of the page to the tabs, then across them with the arrow keys.
      await focusSelectedTab('Tab');
      expect(await focusedTestId()).toBe('tab-model');
      await expectVisibleFocus('the model tab');
      await page.keyboard.press('ArrowRight');
      expect(await focusedTestId()).toBe('tab-data');
      expect(await page.getByTestId('tab-data').getAttribute('aria-selected')).toBe('true');
      await page.keyboard.press('ArrowLeft');
      expect(await focusedTestId()).toBe('tab-model');

      // The fixture model from the catalog; its status is announced politely.
      await tabTo(`[data-testid="catalog-row"][data-id="${FIXTURE_MODEL_ID}"] [data-testid="catalog-load"]`);
      await expectVisibleFocus('a catalog button');
      await page.keyboard.press('Enter');
      expect(await page.getByTestId('model-status').getAttribute('aria-live')).toBe('polite');
      expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');

      // Every prompt variation, then a head.
      await focusSelectedTab('Shift+Tab');
      await arrowToTab('prompts');
      const prompts = page.getByTestId('panel-prompts');
      const cards = await prompts.getByTestId('prompt-card').count();
      await tabTo('[data-testid="prompts-run-all"]');
      await expectVisibleFocus('Run all');
      await page.keyboard.press('Enter');
      await prompts
        .getByTestId('run-accuracy')
        .nth(cards - 1)
        .waitFor({ timeout: RUN_TIMEOUT_MS });
      // The scores were said to screen readers, one line per variation.
      await expect(page.getByTestId('prompt-scores-live').locator('li').count()).resolves.toBe(cards);

      await focusSelectedTab('Shift+Tab');
      await arrowToTab('finetune');
      await tabTo('[data-testid="head-train"]');
      await page.keyboard.press('Enter');
      await waitForHeadStatus(page, 'done');

      // Compare: a confusion cell narrows the predictions, and "Show all examples" undoes it.
      await focusSelectedTab('Shift+Tab');
      await arrowToTab('compare');
      await tabTo('[data-testid="confusion-cell"]');
      await expectVisibleFocus('a confusion cell');
      await page.keyboard.press('Enter');
      await page.getByTestId('examples-cell-filter').waitFor({ timeout: UI_TIMEOUT_MS });
      await tabTo('[data-testid="examples-clear-cell"]');
      await page.keyboard.press('Space');
      await page.getByTestId('examples-cell-filter').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
      // The button is gone: the focus went to the table's first control, not back to the top of the page.
      expect(await focusedTestId()).toBe('examples-only-disagreements');

      // The experiment list: open it, ask to delete, keep it; focus goes to the safe choice and back.
      await tabTo('[data-testid="experiments-toggle"]', 'Shift+Tab');
      await page.keyboard.press('Enter');
      expect(await page.getByTestId('experiments-toggle').getAttribute('aria-expanded')).toBe('true');
      await tabTo('[data-testid="experiment-delete"]');
      await page.keyboard.press('Enter');
      expect(await focusedTestId()).toBe('experiment-delete-cancel');
      await page.keyboard.press('Enter');
      expect(await focusedTestId()).toBe('experiment-delete');
      // Rename: the field takes the focus, Escape gives it back to "Rename".
      await tabTo('[data-testid="experiment-rename"]', 'Shift+Tab');
      await page.keyboard.press('Enter');
      expect(await focusedTestId()).toBe('experiment-rename-input');
      await page.keyboard.press('Escape');
      expect(await focusedTestId()).toBe('experiment-rename');

      // Another dataset would clear the runs: the confirmation takes the focus and gives it back.
      await tabTo('[role="tab"][aria-selected="true"]');
      await arrowToTab('data');
      await tabTo('[data-testid="builtin-dataset"][data-id="spam-assassin"] [data-testid="builtin-preview"]');
      await page.keyboard.press('Enter');
      // The draft is read and checked in a worker: "Use this dataset" is enabled once it is usable.
      await page.locator('[data-testid="use-dataset"]:not([disabled])').waitFor({ timeout: UI_TIMEOUT_MS });
      await tabTo('[data-testid="use-dataset"]');
      await page.keyboard.press('Enter');
      expect(await focusedTestId()).toBe('dataset-confirm-no');
      await page.keyboard.press('Enter');
      expect(await focusedTestId()).toBe('use-dataset');
      await page.getByTestId('draft-close').click();
    } catch (error) {
      console.error([...session.consoleErrors, ...session.consoleLog.slice(-40)].join('\n'));
      throw error;
    }
  });

  describe.each(VIEWPORTS)('at $name', (viewport) => {
    test.each(SCHEMES)('axe finds no serious violation on any tab, %s scheme', async (scheme) => {
      await ensureRuns();
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await emulate(scheme, 'reduce');
      const tally: AxeFinding[] = [];
      for (const tab of TABS) {
        await openTab(page, tab);
        await openEverything(tab);
        if (tab === 'data') {
          // A dataset preview too: its column mapping, preview table and validation report.
          await page.getByTestId('builtin-preview').first().click();
          await page.getByTestId('dataset-draft').waitFor({ timeout: UI_TIMEOUT_MS });
        }
        const where = `the ${tab} tab, ${viewport.name}, ${scheme}`;
        tally.push(...(await expectNoSeriousViolations(page, where)));
        await recordDrawnStrikes(where);
        if (tab === 'data') await page.getByTestId('draft-close').click();
        const widths = await page.evaluate(() => ({
          page: document.scrollingElement?.scrollWidth ?? 0,
          window: window.innerWidth,
        }));
        expect(widths.page, `page width on ${where}`).toBeLessThanOrEqual(widths.window);
      }
      // The milder findings (moderate, minor) are reported, not failed: a record of what is left.
      console.info(
        `axe, ${viewport.name}, ${scheme}: ${tally.length} moderate or minor findings:`,
        [
          ...new Set(
            tally.map((finding) => `${finding.rule} (${finding.impact}) at ${finding.nodes.join('; ')}`),
          ),
        ].join(', ') || 'none',
      );
    });
  });

  describe.each(VIEWPORTS)('at $name', (viewport) => {
    test.each(SCHEMES)(
      'axe finds no serious violation in the guided tour and the glossary, %s scheme',
      async (scheme) => {
        await page.setViewportSize({ width: viewport.width, height: viewport.height });
        await emulate(scheme, 'reduce');
        await openTab(page, 'model');
        // The guided tour: open it from the header if it was closed.
        const guide = page.getByTestId('guide');
        if ((await guide.count()) === 0) await page.getByTestId('guide-toggle').click();
        await guide.waitFor({ timeout: UI_TIMEOUT_MS });
        const where = `${viewport.name}, ${scheme}`;
        await expectNoSeriousViolations(page, `the guided tour, ${where}`, '[data-testid="guide"]');
        await recordDrawnStrikes(`the guided tour, ${where}`);
        const widths = await page.evaluate(() => ({
          page: document.scrollingElement?.scrollWidth ?? 0,
          window: window.innerWidth,
        }));
        expect(widths.page, `page width with the guided tour open, ${where}`).toBeLessThanOrEqual(
          widths.window,
        );

        // The glossary dialog: modal, takes the focus, closes with Escape and gives the focus back.
        const opener = page.getByTestId('glossary-open');
        await opener.click();
        const glossary = page.getByTestId('glossary');
        await glossary.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
        expect(await glossary.evaluate((dialog) => dialog.contains(document.activeElement))).toBe(true);
        await expectNoSeriousViolations(page, `the glossary dialog, ${where}`, '[data-testid="glossary"]');
        await recordDrawnStrikes(`the glossary dialog, ${where}`);
        await page.keyboard.press('Escape');
        await glossary.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
        expect(await focusedTestId()).toBe('glossary-open');
      },
    );
  });

  test('dark mode and reduced motion follow the system preferences', async () => {
    // Text and surfaces change with the scheme (the background is what `emulate` waits for).
    const colours = async (colorScheme: 'light' | 'dark') => {
      await emulate(colorScheme, 'no-preference');
      return page.evaluate(() => {
        const panel = getComputedStyle(document.querySelector('[role="tabpanel"]:not([hidden])') as Element);
        return { text: getComputedStyle(document.body).color, panel: panel.backgroundColor };
      });
    };
    const light = await colours('light');
    const dark = await colours('dark');
    expect(dark.text).not.toBe(light.text);
    expect(dark.panel).not.toBe(light.panel);

    // An element of the page with a transition of its own: "reduce" cuts it to nothing.
    const transition = async (reducedMotion: 'reduce' | 'no-preference') => {
      await emulate('light', reducedMotion);
      return page.evaluate(() => {
        const probe = document.createElement('div');
        probe.style.transition = 'opacity 2s';
        document.body.append(probe);
        const duration = Number.parseFloat(getComputedStyle(probe).transitionDuration);
        probe.remove();
        return duration;
      });
    };
    expect(await transition('no-preference')).toBe(2);
    expect(await transition('reduce')).toBeLessThan(0.001);
  });

  test('axe is really checking: a page with a known violation fails', async () => {
    // An unnamed button and grey-on-grey text, added to the page for this check only.
    await page.evaluate(() => {
      const bad = document.createElement('div');
      bad.id = 'axe-self-check';
      bad.innerHTML = '<button type="button"></button><p style="color:#bbb;background:#ccc">faint</p>';
      document.body.append(bad);
    });
    const found = failing(await axeFindings(page, '#axe-self-check')).map((finding) => finding.rule);
    await page.evaluate(() => document.getElementById('axe-self-check')?.remove());
    expect(found).toEqual(expect.arrayContaining(['button-name', 'color-contrast']));
  });

  test('the spam dataset: the predictions come in pages, so Compare stays short', async () => {
    await emulate('light', 'no-preference');
    await page.setViewportSize({ width: VIEWPORTS[0].width, height: VIEWPORTS[0].height });
    const data = await openTab(page, 'data');
    await data
      .locator('[data-testid="builtin-dataset"][data-id="spam-assassin"]')
      .getByTestId('builtin-preview')
      .click();
    await data.locator('[data-testid="use-dataset"]:not([disabled])').waitFor({ timeout: UI_TIMEOUT_MS });
    await data.getByTestId('use-dataset').click();
    await data.getByTestId('dataset-confirm-yes').click();
    await expect(data.getByTestId('split-test-total').textContent()).resolves.toBe(String(SPAM_TEST_SIZE));
    // One prompt variation is enough to fill the predictions table.
    const prompts = await openTab(page, 'prompts');
    await prompts.getByTestId('prompt-run').first().click();
    await prompts.getByTestId('run-accuracy').first().waitFor({ timeout: RUN_TIMEOUT_MS });

    const compare = await openTab(page, 'compare');
    const status = compare.getByTestId('examples-page-status');
    const pages = Math.ceil(SPAM_TEST_SIZE / EXAMPLES_PAGE_SIZE);
    await expect(status.textContent()).resolves.toBe(
      `Examples 1–${EXAMPLES_PAGE_SIZE} of ${SPAM_TEST_SIZE} (page 1 of ${pages})`,
    );
    await expect(compare.getByTestId('example-row').count()).resolves.toBe(EXAMPLES_PAGE_SIZE);
    await compare.getByTestId('examples-page-next').click();
    await expect(status.getAttribute('data-page')).resolves.toBe('2');
    await expect(compare.getByTestId('example-row').count()).resolves.toBe(EXAMPLES_PAGE_SIZE);
    for (let shown = 2; shown < pages; shown += 1) await compare.getByTestId('examples-page-next').click();
    await expect(compare.getByTestId('examples-page-next').isDisabled()).resolves.toBe(true);
    await expect(compare.getByTestId('example-row').count()).resolves.toBe(
      SPAM_TEST_SIZE - (pages - 1) * EXAMPLES_PAGE_SIZE,
    );
    // The measure: Compare on this dataset was 30,000 px tall with every e-mail in full.
    const height = await page.evaluate(() => document.scrollingElement?.scrollHeight ?? 0);
    console.info(`Compare on the spam dataset, ${VIEWPORTS[0].width} px wide: ${height} px tall`);
    expect(height).toBeLessThan(SPAM_COMPARE_MAX_HEIGHT_PX);
    await expectNoSeriousViolations(page, 'the compare tab on the spam dataset');
    await recordDrawnStrikes('the compare tab on the spam dataset');
  });

  test('the font warm-up fetched every strike the tabs, the tour and the glossary drew', async () => {
    expect(drawnStrikes.size).toBeGreaterThan(10);
    // The warm-up's strikes as this page resolves them, laid out where the warm-up lays them out.
    const warmed = await page.evaluate((strikes) => {
      return strikes.map((strike) => {
        const text = document.createElement('span');
        text.style.fontFamily = strike.family;
        text.style.fontSize = strike.size;
        text.style.fontWeight = strike.weight;
        text.style.fontStyle = strike.style;
        document.body.append(text);
        const style = getComputedStyle(text);
        const key = `${style.fontFamily}|${style.fontSize}|${style.fontWeight}|${style.fontStyle}`;
        text.remove();
        return key;
      });
    }, fontStrikes());
    const missing = [...drawnStrikes].filter(([key]) => !warmed.includes(key));
    console.info(`font strikes drawn: ${drawnStrikes.size}; warmed: ${new Set(warmed).size}`);
    expect(missing.map(([key, where]) => `${key} (first on ${where})`)).toEqual([]);
  });

  test('logged no console errors and made no request off the machine', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
