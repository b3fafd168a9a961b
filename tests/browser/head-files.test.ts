/**
 * @file A head trained in the app is kept and used: it trains with a validation slice (the chart gets validation
 * curves), is exported as a head file, labels texts in the terminal (`tsx src/cli/predict.ts`, what `npm run
 * predict` runs), and is imported again in the app, which labels the same texts with the same scores (within
 * {@link SCORE_TOLERANCE}). A head file of an unfrozen USE Lite layer's size (14 MB) is read in the head worker, and
 * an imported head released there leaves its tfjs tensors as they were. A second head can be added and edited
 * beside the first.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { float32ToBase64 } from '../../src/lib/core/heads/float32-base64.ts';
import { parseHeadFileText, serializeHeadFile, type HeadFile } from '../../src/lib/core/heads/head-file.ts';
import { downloadText, setInput, startModelLoad, waitForHeadStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { waitForLibrary } from './storage-driver.ts';
import { installWorkerCall, type WorkerCallGlobal } from './worker-call.ts';

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

/** One transformer layer of the Universal Sentence Encoder Lite (hidden 512, feed-forward 1536): 14 MB as a file. */
const USE_LAYER_SHAPES: number[][] = [
  ...[0, 1, 2, 3].flatMap(() => [[512, 512], [512]]),
  [512],
  [512],
  [512, 1536],
  [1536],
  [1536, 512],
  [512],
  [512],
  [512],
];

/** `file` as a head with one unfrozen layer of USE Lite's size (seeded values): what a user exports from that model. */
function withUseSizedLayer(file: HeadFile): HeadFile {
  let seed = 1;
  const weights = USE_LAYER_SHAPES.map((shape, index) => {
    const values = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
    for (let i = 0; i < values.length; i++)
      values[i] = ((seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5) / 10;
    return { name: `layer.1.weight${index}`, shape, float32: float32ToBase64(values) };
  });
  return {
    ...file,
    name: 'use-sized',
    features: { ...file.features, unfreeze: 1 },
    training: { ...file.training, name: 'use-sized', unfreeze: 1 },
    layers: [{ layer: 1, weights }],
  };
}

let session: BrowserSession;
/** The head file the first test exported. */
let exported: { text: string; file: HeadFile } | undefined;
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
    exported = { text, file };
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

  test(
    'a 14 MB head file imports in the head worker; a released head leaves the worker’s tensors as they were',
    { timeout: SLOW_MS },
    async () => {
      if (!exported) throw new Error('The first test did not export a head file.');
      const big = serializeHeadFile(withUseSizedLayer(exported.file));
      expect(big.length).toBeGreaterThan(14_000_000);
      const bigFile = path.join(workDir, 'use-sized.head.json');
      await writeFile(bigFile, big);
      const finetune = await openSlowTab('finetune');
      await page.evaluate(() => {
        const durations: number[] = [];
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) durations.push(entry.duration);
        }).observe({ type: 'longtask' });
        (globalThis as { importLongTasks?: number[] }).importLongTasks = durations;
      });
      await finetune.getByTestId('head-import').setInputFiles(bigFile);
      await finetune
        .getByTestId('head-imported')
        .filter({ hasText: '“use-sized”' })
        .filter({ hasText: 'with 1 trained layer under it' })
        .waitFor({ timeout: SLOW_MS });
      const longTasks = await page.evaluate(
        () => (globalThis as { importLongTasks?: number[] }).importLongTasks ?? [],
      );
      console.info(
        `14 MB head file import: ${longTasks.length} long task(s) on the page, longest ${Math.round(Math.max(0, ...longTasks))} ms`,
      );

      // A fresh copy of the app's head worker: import, predict, release, twice; its tensors come back each time.
      const url = page
        .workers()
        .find((worker) => /head\.worker[^/]*\.js/.test(worker.url()))
        ?.url();
      if (!url) throw new Error('The head worker is not running after training.');
      type Memory = { numTensors: number; imported: number };
      await installWorkerCall(page);
      const cycles = await withTimeout(
        page.evaluate(
          async ({ url, text, dimension }) => {
            const { worker, call } = (globalThis as unknown as WorkerCallGlobal).startTestWorker(
              url,
              'head-memory',
            );
            const memory = async () => {
              const reply = await call({ type: 'head-memory' });
              return { numTensors: Number(reply.numTensors), imported: Number(reply.imported) };
            };
            const cycle = async () => {
              const { handle } = await call({ type: 'import-head', file: new Blob([text]) });
              const features = [
                new Float32Array(dimension).fill(0.1),
                new Float32Array(dimension).fill(-0.2),
              ];
              const { probabilities } = await call({ type: 'predict-imported', handle, features });
              const held = await memory();
              await call({ type: 'release-head', handle });
              return { rows: (probabilities as number[][]).length, held, released: await memory() };
            };
            try {
              return [await cycle(), await cycle()];
            } finally {
              worker.terminate();
            }
          },
          { url, text: exported.text, dimension: exported.file.backbone.dimension },
        ),
        SLOW_MS,
        'import, predict and release in a fresh head worker',
      );
      const [first, second] = cycles as [
        { rows: number; held: Memory; released: Memory },
        { rows: number; held: Memory; released: Memory },
      ];
      expect(first.rows).toBe(2);
      expect(first.held.imported).toBe(1);
      expect(first.held.numTensors).toBeGreaterThan(first.released.numTensors);
      expect(first.released.imported).toBe(0);
      expect(second.held).toEqual(first.held);
      expect(second.released).toEqual(first.released);
    },
  );

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
