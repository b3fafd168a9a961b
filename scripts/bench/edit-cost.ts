/**
 * @file `npx tsx scripts/bench/edit-cost.ts [--url http://127.0.0.1:4173] [--rows 50000] [--edits 7]
 * [--profile file.cpuprofile] [--trace file.json]`: measures how much main-thread work one edit costs in the app when the open
 * experiment carries a big uploaded dataset.
 *
 * Builds the app and serves it with `vite preview` (or uses `--url`), opens it in headless Chromium, imports an
 * experiment file holding `--rows` inline rows (as an upload stores them), then changes the head's epochs again and
 * again. Each edit is timed from the keystroke until its autosave has landed and the page has painted, as the
 * renderer main thread's busy time (`TaskDuration` of the Chrome DevTools Protocol's `Performance.getMetrics`):
 * the edit itself, every effect and derivation it triggers, the autosave's serialisation and IndexedDB write.
 * The same edits on the 150-row built-in dataset give the baseline (what the UI costs without rows).
 * Prints the medians; not part of the tests (no timing assertions there). `--profile file.cpuprofile` also
 * records a CPU profile of the edits on the big dataset, `--trace file.json` a timeline trace (open either in
 * Chrome DevTools).
 */
import { writeFile } from 'node:fs/promises';
import type { CDPSession, Page } from 'playwright-core';
import type { Experiment } from '../../src/lib/core/experiment/types.ts';
import { openTab } from '../../tests/browser/app-driver.ts';
import { openBrowser, withTimeout } from '../../tests/browser/browser.ts';
import { importExperimentFile, waitForLibrary } from '../../tests/browser/storage-driver.ts';
import { serveBuild, startProfile, startTrace } from '../perf/page-perf.ts';

const STEP_TIMEOUT_MS = 120_000;
const WARMUP_EDITS = 2;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const ROWS = Number(option('rows', '50000'));
const EDITS = Number(option('edits', '7'));

const WORDS = {
  food: ['bread', 'soup', 'pasta', 'cheese', 'salad', 'recipe', 'dinner', 'cake'],
  sports: ['match', 'goal', 'team', 'league', 'coach', 'race', 'final', 'score'],
  weather: ['rain', 'storm', 'snow', 'sunny', 'forecast', 'wind', 'frost', 'fog'],
} as const;

/** An experiment whose dataset is `rows` inline rows, like an uploaded file's. */
function bigExperiment(rows: number): Experiment {
  const labels = Object.keys(WORDS) as (keyof typeof WORDS)[];
  const data = Array.from({ length: rows }, (_, index) => {
    const label = labels[index % labels.length] as keyof typeof WORDS;
    const words = WORDS[label];
    const text = `item ${index}: the ${words[index % 8]} and the ${words[(index * 7) % 8]} of the day`;
    return { id: String(index + 1), text, label };
  });
  return {
    version: 1,
    name: `Edit cost with ${rows} rows`,
    model: 'fixtures/tiny-bert',
    dataset: { name: 'big.csv', rows: data, text: 'text', label: 'label' },
    split: { test: 0.3, seed: 42 },
    prompts: [
      { name: 'bare labels', strategy: 'similarity', template: '{label}' },
      { name: 'sentence', strategy: 'similarity', template: 'A text about {label}.' },
    ],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 20, learningRate: 0.01, seed: 1 },
    ],
  };
}

/** Busy time of the renderer's main thread so far, in ms. */
async function mainThreadMs(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const task = metrics.find((metric) => metric.name === 'TaskDuration');
  if (!task) throw new Error('Chromium reported no TaskDuration metric.');
  return task.value * 1000;
}

/** The page's window, with the pending autosave of the edit being measured. */
type BenchWindow = Window & { __editSaved?: Promise<void> };

/**
 * Changes the head's epochs to `value` the way a user's edit arrives (a `change` event on the input) and
 * resolves once the page has painted it; `window.__editSaved` then resolves when the autosave it triggers has
 * landed (the save status shows a new save time). One call into the page, so the harness adds next to no
 * main-thread work of its own.
 */
async function edit(page: Page, value: number): Promise<void> {
  await withTimeout(
    page.evaluate(async (epochs) => {
      const status = document.querySelector('[data-testid="save-status"]');
      const input = document.querySelector<HTMLInputElement>('[data-testid="head-epochs"]');
      if (!status || !input) throw new Error('The save status or the epochs input is missing.');
      const before = status.getAttribute('data-saved-at');
      (window as BenchWindow).__editSaved = new Promise<void>((done) => {
        const observer = new MutationObserver(() => {
          const saved = status.getAttribute('data-status') === 'saved';
          if (saved && status.getAttribute('data-saved-at') !== before) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(status, { attributes: true });
      });
      input.value = String(epochs);
      input.dispatchEvent(new Event('change', { bubbles: true }));
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    }, value),
    STEP_TIMEOUT_MS,
    'edit the epochs',
  );
}

/** Waits for the autosave of the last edit and the paint after it. */
async function autosaved(page: Page): Promise<void> {
  await withTimeout(
    page.evaluate(async () => {
      await (window as BenchWindow).__editSaved;
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    }),
    STEP_TIMEOUT_MS,
    'wait for the autosave',
  );
}

/** Main-thread ms of one edit, split into the edit up to its first paint and its autosave. */
interface EditCost {
  edit: number;
  save: number;
  total: number;
}

/** The cost of each measured edit (the head's epochs), warm-ups left out. */
async function measureEdits(page: Page, cdp: CDPSession): Promise<EditCost[]> {
  await openTab(page, 'finetune');
  const costs: EditCost[] = [];
  for (let index = 0; index < WARMUP_EDITS + EDITS; index++) {
    const before = await mainThreadMs(cdp);
    await edit(page, 30 + index);
    const painted = await mainThreadMs(cdp);
    await autosaved(page);
    const after = await mainThreadMs(cdp);
    if (index >= WARMUP_EDITS)
      costs.push({ edit: painted - before, save: after - painted, total: after - before });
  }
  return costs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function main(): Promise<void> {
  const given = option('url', '');
  const server = given ? { url: given, stop: async () => undefined } : await serveBuild();
  const session = await openBrowser({ ownBrowser: true });
  try {
    const { page } = session;
    await withTimeout(page.goto(server.url), STEP_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
    const cdp = await session.context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });

    const baseline = await measureEdits(page, cdp);

    const text = JSON.stringify(bigExperiment(ROWS));
    const savedAt = await page.getByTestId('save-status').getAttribute('data-saved-at');
    await importExperimentFile(page, {
      name: 'big.json',
      mimeType: 'application/json',
      buffer: Buffer.from(text, 'utf8'),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText(`Edit cost with ${ROWS} rows`))
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await page.waitForFunction(
      (previous) => {
        const status = document.querySelector('[data-testid="save-status"]');
        return (
          status?.getAttribute('data-status') === 'saved' && status.getAttribute('data-saved-at') !== previous
        );
      },
      savedAt,
      { timeout: STEP_TIMEOUT_MS, polling: 100 },
    );
    const profile = option('profile', '');
    const profiler = profile ? await startProfile(cdp, 100) : undefined;
    const trace = option('trace', '');
    const tracer = trace ? await startTrace(cdp) : undefined;
    const big = await measureEdits(page, cdp);
    if (tracer) {
      await writeFile(trace, JSON.stringify({ traceEvents: await tracer.stop() }));
      console.log(`Trace of the ${ROWS}-row edits written to ${trace}`);
    }
    if (profiler) {
      await writeFile(profile, JSON.stringify(await profiler.stop()));
      console.log(`CPU profile of the ${ROWS}-row edits written to ${profile}`);
    }

    const report = (label: string, costs: EditCost[]): void => {
      const figure = (part: keyof EditCost): string => median(costs.map((cost) => cost[part])).toFixed(1);
      const totals = costs.map((cost) => cost.total.toFixed(1)).join(', ');
      console.log(
        `  ${label}: median ${figure('total')} ms (edit to first paint ${figure('edit')} ms, autosave ` +
          `${figure('save')} ms)  [totals ${totals}]`,
      );
    };
    console.log('Main-thread work per edit (head epochs), from the change to the saved, painted page:');
    report('built-in topics (150 rows)', baseline);
    report(`uploaded ${ROWS} rows (${(text.length / 1e6).toFixed(1)} MB)`, big);
    if (session.consoleErrors.length > 0) console.log('Console errors:', session.consoleErrors);
  } finally {
    await session.close();
    await server.stop();
  }
}

await main();
