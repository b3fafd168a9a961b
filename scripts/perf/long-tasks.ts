/**
 * @file `npx tsx scripts/perf/long-tasks.ts [--url http://127.0.0.1:4173] [--model fixtures/tiny-bert]
 * [--attribute] [--cpu-over MS] [--threads] [--profile file.cpuprofile] [--trace file.json] [--json]`:
 * a scripted full run of the app in headless Chromium that lists every main-thread task over 50 ms.
 *
 * Builds the app and serves it with `vite preview` (or uses `--url`), opens it with a `PerformanceObserver` for
 * `longtask` and `paint` entries installed before any of the app's code runs, then walks the whole flow: load the
 * model, open the data tab, run every prompt variation, train the head, open the comparison, switch tabs. Each long task is
 * named after the step during which it started. The model's load phases are read from the model panel
 * (`data-testid="model-phase"`). `--cpu-over 20` (implies `--attribute`) also lists the tasks that spent over 20 ms
 * of CPU time, however short by the wall clock: the page's own work, comparable between runs on a shared machine.
 * `--threads` reads every thread of the browser from /proc at each step and lists, per step, the CPU time each kind
 * of thread used (the page's main thread, its workers, V8's compile threads, the browser and GPU processes): what
 * held the two cores while a task waited for one.
 * `measureLongTasks` is the reusable part (the bench's P5 walks share its pieces in page-perf.ts); this file run
 * directly prints the list. Not a test: nothing here asserts a time.
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import {
  openTab,
  RUN_TIMEOUT_MS,
  TRAIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from '../../tests/browser/app-driver.ts';
import { openBrowser, withTimeout } from '../../tests/browser/browser.ts';
import {
  browserCpuMs,
  browserThreads,
  cpuByThreadKind,
  waitUntilQuiet,
  type BrowserThread,
} from '../../tests/browser/browser-processes.ts';
import {
  hotspots,
  installObservers,
  LONG_TASK_MS,
  markStep,
  readPagePerf,
  serveBuild,
  settle,
  startProfile,
  startTrace,
  tracedLongTasks,
  type LongTask,
  type TracedTask,
} from './page-perf.ts';

/** The model the app starts on, which the bench's P5 run uses too. */
export const DEFAULT_MODEL_ID = 'universal-sentence-encoder-lite';

/** One phase of the model load as the model panel shows it. */
export interface LoadPhase {
  /** `fetch`, `compile`, `session`, `warm-up`, … */
  name: string;
  ms: number;
}

/** A long task as the trace saw it, with where its time went and the hottest functions in it. */
export interface AttributedTask extends TracedTask {
  /** The scripted step it fell in. */
  step: string;
  /** Self time by function (sampled), largest first. */
  self: { fn: string; ms: number }[];
  /** The app's own functions by inclusive time, largest first. */
  inclusive: { fn: string; ms: number }[];
}

/** What one scripted run measured. */
export interface LongTaskReport {
  /** First contentful paint (first paint when there is none), ms since navigation. */
  firstPaintMs: number;
  /** Every long task after first paint, in the order they started. */
  longTasks: LongTask[];
  /** Long tasks before first paint (not counted by P5). */
  beforePaint: number;
  /** The model load's phases, in order, as the app reported them. */
  loadPhases: LoadPhase[];
  /** From pressing Load to the model reporting ready, as the page saw it. */
  modelReadyMs: number;
  /** Each scripted step and when it started (ms since navigation), in order. */
  steps: { name: string; at: number }[];
  /** With `attribute`: each long task of the trace with its causes. */
  attributed?: AttributedTask[];
  /** With `threads`: per step, its wall time and the CPU time each kind of thread used in it, largest first. */
  threadCpu?: StepThreadCpu[];
}

/** The CPU time the browser's threads used during one scripted step. */
export interface StepThreadCpu {
  step: string;
  /** The step's wall time, ms. */
  ms: number;
  kinds: { kind: string; cpuMs: number }[];
}

/** Options of {@link measureLongTasks}. */
export interface MeasureOptions {
  /** A running build of the app; without it the app is built into a temporary folder and served. */
  url?: string;
  /** Model to load (default: the app's default model, as the bench's P5 run). */
  model?: string;
  /** Also write a CPU profile of the page's main thread over the whole run here (open it in Chrome DevTools). */
  profile?: string;
  /**
   * With `attribute`, also write the timeline trace here (`{ "traceEvents": [...] }`, which DevTools' Performance
   * panel opens): to see what a long task the attribution could not name was made of.
   */
  trace?: string;
  /**
   * Record a timeline trace and a CPU profile and attribute every long task (slower; builds without
   * minification so functions keep their names, unless `url` is given).
   */
  attribute?: boolean;
  /**
   * With `attribute`, also attribute the tasks that spent more than this many ms of CPU time, however long they
   * took by the wall clock: the page's own work, which stays comparable between runs on a shared machine.
   */
  cpuOverMs?: number;
  /** Read every thread's CPU time from /proc at each step ({@link LongTaskReport.threadCpu}). Linux only. */
  threads?: boolean;
}

/**
 * The scripted run: every lab, as a first-time user walks it. Returns ms from Load to ready (page clock).
 * `onStep` is told each step's name as it starts, and `end` after the last.
 */
async function walkTheApp(
  page: Page,
  model: string,
  onStep: (name: string) => Promise<void>,
): Promise<number> {
  await page
    .locator('[data-testid="experiments-bar"][data-ready="true"]')
    .waitFor({ timeout: UI_TIMEOUT_MS * 3 });
  const step = async (name: string): Promise<void> => {
    await onStep(name);
    await markStep(page, name);
  };

  await step('load model');
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

  await step('open tab data');
  await openTab(page, 'data');

  await step('open tab prompts');
  const prompts = await openTab(page, 'prompts');
  await step('run prompts');
  const cards = await prompts.getByTestId('prompt-card').count();
  await prompts.getByTestId('prompts-run-all').click();
  await prompts
    .getByTestId('run-accuracy')
    .nth(cards - 1)
    .waitFor({ timeout: RUN_TIMEOUT_MS });

  await step('open tab finetune');
  const finetune = await openTab(page, 'finetune');
  await step('train head');
  await finetune.getByTestId('head-train').click();
  await waitForHeadStatus(page, 'done', TRAIN_TIMEOUT_MS);

  await step('open tab compare');
  const compare = await openTab(page, 'compare');
  await compare.getByTestId('compare-run-row').first().waitFor({ timeout: UI_TIMEOUT_MS });
  for (const tab of ['data', 'prompts', 'finetune', 'compare', 'model']) {
    await step(`open tab ${tab} again`);
    await openTab(page, tab);
  }
  // Let the last autosave and paint land inside the measured window.
  await settle(page);
  await onStep('end');
  return ready - pressed;
}

/** The model panel's load phases. */
async function loadPhases(page: Page): Promise<LoadPhase[]> {
  return withTimeout(
    page.evaluate(() =>
      [...document.querySelectorAll('[data-testid="model-phase"]')].map((element) => ({
        name: element.getAttribute('data-phase') ?? '',
        ms: Number(element.getAttribute('data-ms')),
      })),
    ),
    UI_TIMEOUT_MS,
    'read the load phases',
  );
}

/**
 * One scripted full run of the app in headless Chromium: first paint, every main-thread task over 50 ms (named
 * after the step it started in) and the model load's phases; with `attribute`, what each long task spent its
 * time on.
 */
export async function measureLongTasks(options: MeasureOptions = {}): Promise<LongTaskReport> {
  const server = options.url
    ? { url: options.url, stop: async () => undefined }
    : await serveBuild({ readable: options.attribute === true });
  const session = await openBrowser({ ownBrowser: true });
  try {
    const { page } = session;
    // As the bench's walks do: the app is opened once the fresh browser has finished its own start-up.
    await waitUntilQuiet(() => browserCpuMs(session.userDataDir));
    await page.addInitScript(installObservers);
    const wantProfile = options.profile !== undefined || options.attribute === true;
    const cdp = wantProfile ? await session.context.newCDPSession(page) : undefined;
    const profiler = cdp ? await startProfile(cdp) : undefined;
    const tracer = cdp && options.attribute ? await startTrace(cdp) : undefined;
    const threadReadings: { step: string; at: number; threads: BrowserThread[] }[] = [];
    const readThreads = async (step: string): Promise<void> => {
      if (options.threads) {
        threadReadings.push({ step, at: Date.now(), threads: await browserThreads(session.userDataDir) });
      }
    };
    await readThreads('start-up');
    await withTimeout(page.goto(server.url), UI_TIMEOUT_MS, 'open the app');
    const modelReadyMs = await walkTheApp(page, options.model ?? DEFAULT_MODEL_ID, readThreads);
    const perf = await readPagePerf(page);
    const events = tracer ? await tracer.stop() : undefined;
    const profile = profiler ? await profiler.stop() : undefined;
    if (profile && options.profile) await writeFile(options.profile, JSON.stringify(profile));
    if (events && options.trace) await writeFile(options.trace, JSON.stringify({ traceEvents: events }));
    const stepOf = (at: number) => perf.steps.filter((s) => s.at <= at).at(-1)?.name ?? 'start-up';
    const attributed =
      events && profile
        ? tracedLongTasks(events, {
            ...(options.cpuOverMs === undefined ? {} : { cpuOverMs: options.cpuOverMs }),
          }).map((task) => ({
            ...task,
            step: stepOf(task.at),
            ...hotspots(profile, task.fromUs, task.toUs),
          }))
        : undefined;
    return {
      firstPaintMs: perf.firstPaintMs ?? Number.NaN,
      longTasks: perf.longTasks,
      beforePaint: perf.beforePaint,
      loadPhases: await loadPhases(page),
      modelReadyMs: Math.round(modelReadyMs),
      steps: perf.steps.map((entry) => ({ name: entry.name, at: Math.round(entry.at) })),
      ...(attributed ? { attributed } : {}),
      ...(options.threads ? { threadCpu: stepThreadCpu(threadReadings) } : {}),
    };
  } finally {
    await session.close();
    await server.stop();
  }
}

/** Each step's CPU time by kind of thread, from the readings taken as each step started (and one at the end). */
function stepThreadCpu(
  readings: readonly { step: string; at: number; threads: BrowserThread[] }[],
): StepThreadCpu[] {
  return readings.slice(0, -1).map((reading, index) => {
    const next = readings[index + 1] as (typeof readings)[number];
    return {
      step: reading.step,
      ms: next.at - reading.at,
      kinds: cpuByThreadKind(reading.threads, next.threads),
    };
  });
}

/** The report as lines of text, worst task first. */
export function formatLongTasks(report: LongTaskReport): string {
  const lines = [`first paint ${report.firstPaintMs} ms; model ready ${report.modelReadyMs} ms after Load`];
  const phases = report.loadPhases.map((phase) => `${phase.name} ${phase.ms} ms`).join(', ');
  lines.push(`load phases: ${phases || '(the page showed none)'}`);
  lines.push(
    `${report.longTasks.length} task(s) over ${LONG_TASK_MS} ms after first paint ` +
      `(${report.beforePaint} before it):`,
  );
  for (const task of [...report.longTasks].sort((a, b) => b.ms - a.ms)) {
    lines.push(`  ${String(task.ms).padStart(5)} ms at ${String(task.at).padStart(6)} ms  ${task.step}`);
  }
  if (report.attributed) {
    const afterPaint = report.attributed.filter((task) => task.at >= report.firstPaintMs);
    const overCpu = afterPaint.filter((task) => task.cpuMs !== null && task.cpuMs > LONG_TASK_MS);
    lines.push(
      `traced (${report.attributed.length}; ${overCpu.length} after first paint with over ${LONG_TASK_MS} ms ` +
        `of CPU time), wall and CPU time, with where the time went:`,
    );
    for (const task of report.attributed) {
      const causes = task.causes
        .slice(0, 5)
        .map((entry) => `${entry.cause} ${entry.ms}`)
        .join('; ');
      const cpu = task.cpuMs === null ? '    ?' : String(task.cpuMs).padStart(5);
      lines.push(
        `  ${String(task.ms).padStart(5)} ms (cpu ${cpu} ms) at ${String(task.at).padStart(6)} ms  ` +
          `${task.step}: ${causes}`,
      );
      lines.push(`      self: ${task.self.map((entry) => `${entry.fn} ${entry.ms}`).join('; ')}`);
      lines.push(`      app: ${task.inclusive.map((entry) => `${entry.fn} ${entry.ms}`).join('; ')}`);
    }
  }
  if (report.threadCpu) {
    lines.push('CPU time (ms) by kind of thread, per step (the 8 largest):');
    for (const step of report.threadCpu) {
      const kinds = step.kinds
        .slice(0, 8)
        .map((entry) => `${entry.kind} ${entry.cpuMs}`)
        .join(', ');
      lines.push(`  ${step.step} (${step.ms} ms): ${kinds || 'none'}`);
    }
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
  const cpuOver = option('cpu-over');
  const trace = option('trace');
  const report = await measureLongTasks({
    ...(url === undefined ? {} : { url }),
    ...(model === undefined ? {} : { model }),
    ...(profile === undefined ? {} : { profile }),
    ...(trace === undefined ? {} : { trace }),
    attribute: process.argv.includes('--attribute') || cpuOver !== undefined || trace !== undefined,
    ...(cpuOver === undefined ? {} : { cpuOverMs: Number(cpuOver) }),
    threads: process.argv.includes('--threads'),
  });
  console.log(process.argv.includes('--json') ? JSON.stringify(report, null, 2) : formatLongTasks(report));
}
