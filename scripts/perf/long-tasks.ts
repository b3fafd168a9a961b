/**
 * @file `npx tsx scripts/perf/long-tasks.ts [--url http://127.0.0.1:4173] [--model fixtures/tiny-bert] [--json]`:
 * a scripted full run of the app in headless Chromium that lists every main-thread task over 50 ms.
 *
 * Builds the app and serves it with `vite preview` (or uses `--url`), opens it with a `PerformanceObserver` for
 * `longtask` and `paint` entries installed before any of the app's code runs, then walks the whole flow: load the
 * model, open the data tab, run every prompt variation, train the head, open the comparison. Each long task is
 * named after the step during which it started. The model's load phases are read from the model panel
 * (`data-testid="model-phase"`). `measureLongTasks` is the reusable part (`npm run bench` calls it); this file
 * run directly prints the list. Not a test: nothing here asserts a time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { build, preview, type InlineConfig, type PreviewServer } from 'vite';
import {
  FIXTURE_MODEL_ID,
  openTab,
  RUN_TIMEOUT_MS,
  TRAIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from '../../tests/browser/app-driver.ts';
import { openBrowser, withTimeout } from '../../tests/browser/browser.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const HOST = '127.0.0.1';
/** Chromium's own threshold for a long task. */
export const LONG_TASK_MS = 50;

/** One main-thread task over 50 ms. */
export interface LongTask {
  /** The scripted step during which it started (e.g. `start-up`, `open tab prompts`, `train head`). */
  name: string;
  /** Its duration. */
  ms: number;
  /** When it started, ms since navigation. */
  at: number;
}

/** One phase of the model load as the model panel shows it. */
export interface LoadPhase {
  /** `fetch`, `compile`, `session`, `warm-up`, … */
  name: string;
  ms: number;
}

/** What one scripted run measured. */
export interface LongTaskReport {
  /** First paint (or first contentful paint when there is no plain first paint), ms since navigation. */
  firstPaintMs: number;
  /** Every long task of the run, in the order they started. */
  longTasks: LongTask[];
  /** The model load's phases, in order, as the app reported them. */
  loadPhases: LoadPhase[];
  /** From pressing Load to the model reporting ready, as the page saw it. */
  modelReadyMs: number;
}

/** Options of {@link measureLongTasks}. */
export interface MeasureOptions {
  /** A running build of the app; without it the app is built into a temporary folder and served. */
  url?: string;
  /** Model to load (default: the tiny-bert fixture). */
  model?: string;
  /** Also write a CPU profile of the page's main thread over the whole run here (open it in Chrome DevTools). */
  profile?: string;
}

interface PerfWindow {
  __perf: { paints: { name: string; at: number }[]; tasks: { ms: number; at: number }[] };
  __steps: { name: string; at: number }[];
}

/**
 * Installed before the page's own scripts: records paint and long-task entries (buffered, so nothing that happens
 * before the observer starts is lost) and starts the step list.
 */
function installObservers(): void {
  const target = window as unknown as PerfWindow;
  target.__perf = { paints: [], tasks: [] };
  target.__steps = [{ name: 'start-up', at: 0 }];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.entryType === 'paint') target.__perf.paints.push({ name: entry.name, at: entry.startTime });
      else target.__perf.tasks.push({ ms: entry.duration, at: entry.startTime });
    }
  }).observe({ entryTypes: ['paint', 'longtask'] });
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? done(address.port) : fail(new Error('no port')),
      );
    });
  });
}

/** Builds the production app into a temporary folder and serves it; returns its URL and a stop function. */
async function serveBuild(): Promise<{ url: string; stop: () => Promise<void> }> {
  const outDir = await mkdtemp(join(tmpdir(), 'pvf-long-tasks-'));
  const config: InlineConfig = {
    root: PROJECT_ROOT,
    configFile: join(PROJECT_ROOT, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  };
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build(config);
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  const server: PreviewServer = await preview({
    ...config,
    preview: { host: HOST, port: await freePort(), strictPort: true, open: false },
  });
  const address = server.httpServer.address();
  if (typeof address !== 'object' || address === null) throw new Error('vite preview is not listening.');
  return {
    url: `http://${HOST}:${address.port}`,
    stop: async () => {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/** Marks the start of a scripted step: long tasks from here on carry its name. */
async function step(page: Page, name: string): Promise<void> {
  await withTimeout(
    page.evaluate((stepName) => {
      (window as unknown as PerfWindow).__steps.push({ name: stepName, at: performance.now() });
    }, name),
    UI_TIMEOUT_MS,
    `mark the step ${name}`,
  );
}

/** The scripted run: every lab, as a first-time user walks it. Returns ms from Load to ready (page clock). */
async function walkTheApp(page: Page, model: string): Promise<number> {
  await page
    .locator('[data-testid="experiments-bar"][data-ready="true"]')
    .waitFor({ timeout: UI_TIMEOUT_MS * 3 });

  await step(page, 'load model');
  const modelPanel = await openTab(page, 'model');
  await modelPanel.getByTestId('model-select').selectOption(model);
  const pressed = await withTimeout(
    page.evaluate(() => performance.now()),
    UI_TIMEOUT_MS,
    'read the page clock',
  );
  await modelPanel.getByTestId('model-load').click();
  const status = await waitForModelStatus(page, ['ready', 'error']);
  if (status !== 'ready') {
    const message = await modelPanel.getByTestId('model-error').textContent();
    throw new Error(`The model ${model} did not load: ${message ?? 'no message'}`);
  }
  const ready = await withTimeout(
    page.evaluate(() => performance.now()),
    UI_TIMEOUT_MS,
    'read the page clock',
  );

  await step(page, 'open tab data');
  await openTab(page, 'data');

  await step(page, 'open tab prompts');
  const prompts = await openTab(page, 'prompts');
  await step(page, 'run prompts');
  const cards = await prompts.getByTestId('prompt-card').count();
  await prompts.getByTestId('prompts-run-all').click();
  await prompts
    .getByTestId('run-accuracy')
    .nth(cards - 1)
    .waitFor({ timeout: RUN_TIMEOUT_MS });

  await step(page, 'open tab finetune');
  const finetune = await openTab(page, 'finetune');
  await step(page, 'train head');
  await finetune.getByTestId('head-train').click();
  await waitForHeadStatus(page, 'done', TRAIN_TIMEOUT_MS);

  await step(page, 'open tab compare');
  const compare = await openTab(page, 'compare');
  await compare.getByTestId('compare-run-row').first().waitFor({ timeout: UI_TIMEOUT_MS });
  await step(page, 'back to model');
  await openTab(page, 'model');
  // Let the last autosave and paint land inside the measured window.
  await withTimeout(
    page.evaluate(
      () =>
        new Promise<void>((done) => {
          // No named inner functions: tsx would wrap them in a helper the page does not have.
          requestAnimationFrame(() => requestAnimationFrame(() => void setTimeout(done, 0)));
        }),
    ),
    UI_TIMEOUT_MS,
    'wait for the last frame',
  );
  return ready - pressed;
}

/** Reads what the observers recorded and names every long task after its step. */
async function collect(page: Page, modelReadyMs: number): Promise<LongTaskReport> {
  const recorded = await withTimeout(
    page.evaluate(() => {
      const target = window as unknown as PerfWindow;
      const phases = [...document.querySelectorAll('[data-testid="model-phase"]')].map((element) => ({
        name: element.getAttribute('data-phase') ?? '',
        ms: Number(element.getAttribute('data-ms')),
      }));
      return { perf: target.__perf, steps: target.__steps, phases };
    }),
    UI_TIMEOUT_MS,
    'read the recorded entries',
  );
  const paint =
    recorded.perf.paints.find((entry) => entry.name === 'first-paint') ??
    recorded.perf.paints.find((entry) => entry.name === 'first-contentful-paint');
  const longTasks = recorded.perf.tasks
    .filter((task) => task.ms > LONG_TASK_MS)
    .sort((a, b) => a.at - b.at)
    .map((task) => {
      const during = recorded.steps.filter((s) => s.at <= task.at).at(-1);
      return { name: during?.name ?? 'start-up', ms: Math.round(task.ms), at: Math.round(task.at) };
    });
  return {
    firstPaintMs: paint ? Math.round(paint.at) : Number.NaN,
    longTasks,
    loadPhases: recorded.phases,
    modelReadyMs: Math.round(modelReadyMs),
  };
}

/**
 * One scripted full run of the app in headless Chromium: first paint, every main-thread task over 50 ms (named
 * after the step it started in) and the model load's phases.
 */
export async function measureLongTasks(options: MeasureOptions = {}): Promise<LongTaskReport> {
  const server = options.url ? { url: options.url, stop: async () => undefined } : await serveBuild();
  const session = await openBrowser();
  try {
    const { page } = session;
    await page.addInitScript(installObservers);
    const cdp = options.profile ? await session.context.newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    await withTimeout(page.goto(server.url), UI_TIMEOUT_MS, 'open the app');
    const modelReadyMs = await walkTheApp(page, options.model ?? FIXTURE_MODEL_ID);
    if (cdp && options.profile) {
      const { profile } = await cdp.send('Profiler.stop');
      await writeFile(options.profile, JSON.stringify(profile));
    }
    return await collect(page, modelReadyMs);
  } finally {
    await session.close();
    await server.stop();
  }
}

/** The report as lines of text, worst task first. */
export function formatLongTasks(report: LongTaskReport): string {
  const lines = [`first paint ${report.firstPaintMs} ms; model ready ${report.modelReadyMs} ms after Load`];
  const phases = report.loadPhases.map((phase) => `${phase.name} ${phase.ms} ms`).join(', ');
  lines.push(`load phases: ${phases || '(the page showed none)'}`);
  lines.push(`${report.longTasks.length} task(s) over ${LONG_TASK_MS} ms:`);
  for (const task of [...report.longTasks].sort((a, b) => b.ms - a.ms)) {
    lines.push(`  ${String(task.ms).padStart(5)} ms at ${String(task.at).padStart(6)} ms  ${task.name}`);
  }
  return lines.join('\n');
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = option('url');
  const model = option('model');
  const profile = option('profile');
  const report = await measureLongTasks({
    ...(url === undefined ? {} : { url }),
    ...(model === undefined ? {} : { model }),
    ...(profile === undefined ? {} : { profile }),
  });
  console.log(process.argv.includes('--json') ? JSON.stringify(report, null, 2) : formatLongTasks(report));
}
