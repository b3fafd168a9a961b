/**
 * @file A head trained in the app is kept and used: it trains with a validation slice (the chart gets validation
 * curves), is exported as a head file, labels texts in the terminal (`tsx src/cli/predict.ts`, what `npm run
 * predict` runs), and is imported again in the app, which labels the same texts with the same scores (within
 * {@link SCORE_TOLERANCE}). A second head can be added and edited beside the first.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseHeadFileText } from '../../src/lib/core/heads/head-file.ts';
import { downloadText, setInput, startModelLoad, waitForHeadStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { waitForLibrary } from './storage-driver.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_TIMEOUT_MS = 120_000;
/** The requirement: the same head gives the same scores in the CLI and the browser within 1e-4. */
const SCORE_TOLERANCE = 1e-4;
/** This file's waits: generous, because the shared machine can take minutes to load a model under load. */
const SLOW_MS = 240_000;
const TEXTS = [
  'A bowl of pasta with tomato sauce.',
  'The match went to extra time.',
  'Heavy snow is expected.',
];

/** Like the driver's `openTab`, with this file's patience. */
async function openSlowTab(id: string): Promise<Locator> {
  await page.getByTestId(`tab-${id}`).click({ timeout: SLOW_MS });
  const panel = page.getByTestId(`panel-${id}`);
  await panel.waitFor({ state: 'visible', timeout: SLOW_MS });
  return panel;
}

let session: BrowserSession;
let page: Page;
let workDir: string;

describe('head files in the browser', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-heads-'));
    await withTimeout(page.goto(inject('baseUrl')), SLOW_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('export → CLI predict → import: the same labels and scores', { timeout: 4 * SLOW_MS }, async () => {
    await startModelLoad(await openSlowTab('model'));
    const status = page.getByTestId('model-status');
    await status
      .and(page.locator('[data-status="ready"],[data-status="error"]'))
      .waitFor({ timeout: SLOW_MS });
    expect(await status.getAttribute('data-status')).toBe('ready');

    const finetune = await openSlowTab('finetune');
    await setInput(finetune.getByTestId('head-validation'), '0.2');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done', SLOW_MS);
    const chart = page.getByTestId('loss-chart');
    expect(Number(await chart.getAttribute('data-last-val-loss'))).toBeGreaterThan(0);

    const text = await downloadText(page, finetune.getByTestId('head-export'));
    const file = parseHeadFileText(text);
    expect(file.training.validation).toBe(0.2);
    // The browser records the weights file's SHA-256, and the CLI below checks it against the file it loads.
    expect(file.backbone.fileHash).toMatch(/^[0-9a-f]{64}$/);
    const headFile = path.join(workDir, 'head.json');
    await writeFile(headFile, text);
    const { stdout } = await run(
      path.join(root, 'node_modules/.bin/tsx'),
      [path.join(root, 'src/cli/predict.ts'), headFile, '--json', ...TEXTS.flatMap((t) => ['--text', t])],
      { cwd: root, timeout: CLI_TIMEOUT_MS },
    );
    const cli = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { label: string; scores: Record<string, number> });
    expect(cli).toHaveLength(TEXTS.length);

    await finetune.getByTestId('head-import').setInputFiles(headFile);
    await finetune.getByTestId('head-imported').waitFor({ timeout: SLOW_MS });
    await finetune.getByTestId('head-try-texts').fill(TEXTS.join('\n'));
    await finetune.getByTestId('head-try').click();
    const table = finetune.getByTestId('head-try-results');
    await table.waitFor({ timeout: SLOW_MS });
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(TEXTS.length);
    let largest = 0;
    for (let index = 0; index < TEXTS.length; index++) {
      const row = rows.nth(index);
      expect(await row.locator('td').nth(1).textContent()).toBe(cli[index]?.label);
      for (const label of file.labels) {
        const score = Number(await row.locator(`td[data-label="${label}"]`).getAttribute('data-score'));
        largest = Math.max(largest, Math.abs(score - (cli[index]?.scores[label] ?? Number.NaN)));
      }
    }
    console.info(`head file: largest browser/CLI score difference ${largest.toExponential(2)}`);
    expect(largest).toBeLessThanOrEqual(SCORE_TOLERANCE);
  });

  test('a second head is added, selected and edited on its own', { timeout: SLOW_MS }, async () => {
    const finetune = await openSlowTab('finetune');
    const select = finetune.getByTestId('head-select');
    const first = await finetune.getByTestId('head-name').inputValue();
    await finetune.getByTestId('head-add').click();
    expect(await select.locator('option').count()).toBe(2);
    await setInput(finetune.getByTestId('head-hidden'), '8');
    await select.selectOption({ index: 0 });
    expect(await finetune.getByTestId('head-name').inputValue()).toBe(first);
    expect(await finetune.getByTestId('head-hidden').inputValue()).toBe('0');
    await select.selectOption({ index: 1 });
    expect(await finetune.getByTestId('head-hidden').inputValue()).toBe('8');
  });
});
