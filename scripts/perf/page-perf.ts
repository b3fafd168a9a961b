/**
 * @file What every script that measures the real app's main thread in headless Chromium shares
 * (scripts/perf/long-tasks.ts, scripts/bench/edit-cost.ts and the P5 run of scripts/bench/browser-goals.ts):
 * a production build served by `vite preview`, the `longtask`/`paint` observers installed before the app's own
 * code, named steps, the long-task list after first paint, and a Chromium timeline trace that says what each long
 * task spent its time on (script by function, style, layout, paint, garbage collection, …).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { build, preview, type InlineConfig, type Plugin } from 'vite';
import { UI_TIMEOUT_MS } from '../../tests/browser/app-driver.ts';
import { withTimeout } from '../../tests/browser/browser.ts';

const HOST = '127.0.0.1';
/** The project's root folder. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
/** Chromium's own threshold for a long task. */
export const LONG_TASK_MS = 50;

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
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

/** Options of {@link serveBuild}. */
export interface ServeOptions {
  /** Where to build (emptied first, deleted on stop); default a new temporary folder. */
  outDir?: string;
  /** Extra Vite plugins (e.g. one serving bench models). */
  plugins?: Plugin[];
  /** Extra HTML entry points besides index.html, by name. */
  inputs?: Record<string, string>;
  /** Build without minification, so CPU profiles and traces name the app's own functions. */
  readable?: boolean;
}

/** A served build: its URL and how to stop serving it (and delete it). */
export interface ServedBuild {
  url: string;
  stop(): Promise<void>;
}

/** Builds the production app and serves it with `vite preview` on a free port. */
export async function serveBuild(options: ServeOptions = {}): Promise<ServedBuild> {
  const outDir = options.outDir ?? (await mkdtemp(join(tmpdir(), 'pvf-page-perf-')));
  const config: InlineConfig = {
    root: PROJECT_ROOT,
    configFile: join(PROJECT_ROOT, 'vite.config.ts'),
    logLevel: 'error',
    plugins: options.plugins ?? [],
    build: {
      outDir,
      emptyOutDir: true,
      ...(options.readable ? { minify: false } : {}),
      ...(options.inputs
        ? { rollupOptions: { input: { index: join(PROJECT_ROOT, 'index.html'), ...options.inputs } } }
        : {}),
    },
  };
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build(config);
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  const server = await preview({
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

/** What the page-side observers record (on `window.__perf`). */
interface PerfRecord {
  paints: { name: string; at: number }[];
  tasks: { ms: number; at: number }[];
  steps: { name: string; at: number }[];
}

/**
 * The init script (pass it to `page.addInitScript` before navigating): records paint and long-task entries from
 * the very start (buffered) and opens the step list with `start-up`. No named inner functions: tsx would wrap
 * them in a helper the page does not have.
 */
export function installObservers(): void {
  const record: PerfRecord = { paints: [], tasks: [], steps: [{ name: 'start-up', at: 0 }] };
  (window as unknown as { __perf: PerfRecord }).__perf = record;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.entryType === 'paint') record.paints.push({ name: entry.name, at: entry.startTime });
      else record.tasks.push({ ms: entry.duration, at: entry.startTime });
    }
  }).observe({ entryTypes: ['paint', 'longtask'] });
}

/** Marks the start of a scripted step: long tasks from here on carry its name. */
export async function markStep(page: Page, name: string): Promise<void> {
  await withTimeout(
    page.evaluate((stepName) => {
      // A user-timing mark also lands in a trace (blink.user_timing) with its page-clock time: see pageClock.
      (window as unknown as { __perf: PerfRecord }).__perf.steps.push({
        name: stepName,
        at: performance.mark(`pvf-step:${stepName}`).startTime,
      });
    }, name),
    UI_TIMEOUT_MS,
    `mark the step ${name}`,
  );
}

/** Waits for two animation frames and a task after them: what the last step caused has painted. */
export async function settle(page: Page): Promise<void> {
  await withTimeout(
    page.evaluate(
      () =>
        new Promise<void>((done) => {
          requestAnimationFrame(() => requestAnimationFrame(() => void setTimeout(done, 0)));
        }),
    ),
    UI_TIMEOUT_MS,
    'wait for the last frame',
  );
}

/** One main-thread task over 50 ms. */
export interface LongTask {
  /** The scripted step during which it started. */
  step: string;
  /** Its duration, ms. */
  ms: number;
  /** When it started, ms since navigation. */
  at: number;
}

/** What the observers saw over a scripted run. */
export interface PagePerf {
  /** First contentful paint (first paint when there is none), ms since navigation; null if none was reported. */
  firstPaintMs: number | null;
  /** Every long task that started at or after first paint, in the order they started. */
  longTasks: LongTask[];
  /** How many long tasks came before first paint (bundle evaluation, not counted by P5). */
  beforePaint: number;
  /** The steps as marked, ms since navigation. */
  steps: { name: string; at: number }[];
}

/** Reads what {@link installObservers} recorded and names every long task after the step it started in. */
export async function readPagePerf(page: Page): Promise<PagePerf> {
  const record = await withTimeout(
    page.evaluate(() => (window as unknown as { __perf: PerfRecord }).__perf),
    UI_TIMEOUT_MS,
    'read the recorded performance entries',
  );
  return namePagePerf(record);
}

/** The pure half of {@link readPagePerf}: long tasks after first paint, each named after its step. */
export function namePagePerf(record: PerfRecord): PagePerf {
  const paint =
    record.paints.find((entry) => entry.name === 'first-contentful-paint') ??
    record.paints.find((entry) => entry.name === 'first-paint');
  const paintAt = paint?.at ?? null;
  const long = record.tasks.filter((task) => task.ms > LONG_TASK_MS).sort((a, b) => a.at - b.at);
  const after = long.filter((task) => paintAt === null || task.at >= paintAt);
  return {
    firstPaintMs: paintAt === null ? null : Math.round(paintAt),
    longTasks: after.map((task) => ({
      step: record.steps.filter((s) => s.at <= task.at).at(-1)?.name ?? 'start-up',
      ms: Math.round(task.ms),
      at: Math.round(task.at),
    })),
    beforePaint: long.length - after.length,
    steps: record.steps.map((s) => ({ name: s.name, at: Math.round(s.at) })),
  };
}

/** One event of a Chromium trace (the fields used here). */
interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  /** Thread (CPU) time of a complete event, µs, when the platform reports it. */
  tdur?: number;
  args?: { name?: string; data?: Record<string, unknown> };
}

/** A long task as the trace shows it, with where its time went. */
export interface TracedTask {
  /** Start, ms since the trace's navigation start (close to the observers' clock). */
  at: number;
  /** Start and end on the trace's own clock (µs), which CPU profiles share: see {@link hotspots}. */
  fromUs: number;
  toUs: number;
  ms: number;
  /**
   * CPU time the main thread spent in it, ms (the trace's thread duration), or null when the trace has none. Far
   * below `ms` means the task was stretched by other processes on the machine, not by its own work.
   */
  cpuMs: number | null;
  /** Time by cause, ms, largest first: `script <function> (<file>)`, `style`, `layout`, `paint`, `gc`, … */
  causes: { cause: string; ms: number }[];
}

/** Trace categories that show main-thread tasks, their timeline events and sampled JavaScript stacks. */
const TRACE_CATEGORIES = [
  'toplevel',
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8.execute',
  'blink.user_timing',
].join(',');

/** A running trace: stop it to get the events. */
export interface TraceRecorder {
  stop(): Promise<TraceEvent[]>;
}

/**
 * Starts a Chromium timeline trace of everything the page does from now on. `light` records only the main
 * thread's tasks (`toplevel`, with their CPU time) and navigation start, cheap enough to leave on during a measured run.
 */
export async function startTrace(cdp: CDPSession, light = false): Promise<TraceRecorder> {
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', ({ value }) => events.push(...(value as unknown as TraceEvent[])));
  await cdp.send('Tracing.start', {
    // `blink.user_timing` carries `navigationStart`, the zero of the page's clock.
    categories: light ? 'toplevel,blink.user_timing' : TRACE_CATEGORIES,
    transferMode: 'ReportEvents',
  });
  return {
    async stop() {
      const complete = new Promise((done) => cdp.once('Tracing.tracingComplete', done));
      await cdp.send('Tracing.end');
      await complete;
      return events;
    },
  };
}

/** The timeline events that name a kind of main-thread work, by trace name. */
const KINDS = new Map<string, string>([
  ['UpdateLayoutTree', 'style'],
  ['ScheduleStyleRecalculation', 'style'],
  ['Layout', 'layout'],
  ['PrePaint', 'paint'],
  ['Paint', 'paint'],
  ['Layerize', 'paint'],
  ['UpdateLayer', 'paint'],
  ['Commit', 'paint'],
  ['MajorGC', 'gc'],
  ['MinorGC', 'gc'],
  ['V8.GC_SCAVENGER', 'gc'],
  ['V8.GC_MARK_COMPACTOR', 'gc'],
  ['ParseHTML', 'parse HTML'],
  ['v8.compile', 'compile'],
  ['v8.compileModule', 'compile'],
  ['V8.CompileCode', 'compile'],
  ['HitTest', 'hit test'],
]);

/** What a script-running event says it ran: the function and file when the trace names them. */
function scriptName(event: TraceEvent): string | undefined {
  const data = event.args?.data;
  if (!data) return undefined;
  if (event.name === 'FunctionCall') {
    const fn = typeof data['functionName'] === 'string' && data['functionName'] ? data['functionName'] : '?';
    const url = typeof data['url'] === 'string' ? (data['url'].split('/').pop() ?? '') : '';
    return `script ${fn} (${url})`;
  }
  if (event.name === 'EvaluateScript' || event.name === 'v8.evaluateModule') {
    const url = typeof data['url'] === 'string' ? (data['url'].split('/').pop() ?? '') : '';
    return `evaluate ${url}`;
  }
  if (event.name === 'EventDispatch') return `event ${String(data['type'])}`;
  if (event.name === 'TimerFire') return 'timer';
  if (event.name === 'FireAnimationFrame') return 'animation frame';
  if (event.name === 'FireIdleCallback') return 'idle callback';
  return undefined;
}

/**
 * Where the page's clock (`performance.now()`, ms) starts on a trace's clock (µs), and the page's main thread. A
 * trace holds several `navigationStart` events (other renderers, empty documents), the page's not always first:
 * the surest anchor is a step mark of {@link markStep}, which carries its page-clock time; then the navigation
 * whose document has an http(s) URL; then any navigation. Without any, zero and every thread.
 */
export function pageClock(events: readonly TraceEvent[]): { zero: number; thread: string | undefined } {
  const mark = events.find(
    (event) =>
      event.cat === 'blink.user_timing' &&
      event.name.startsWith('pvf-step:') &&
      typeof event.args?.data?.['startTime'] === 'number',
  );
  const markTime = mark?.args?.data?.['startTime'];
  if (mark && typeof markTime === 'number') {
    return { zero: mark.ts - markTime * 1000, thread: `${mark.pid}:${mark.tid}` };
  }
  const navigations = events.filter((event) => event.name === 'navigationStart');
  const navigation =
    navigations.find((event) => /^https?:/.test(String(event.args?.data?.['documentLoaderURL'] ?? ''))) ??
    navigations[0];
  return navigation
    ? { zero: navigation.ts, thread: `${navigation.pid}:${navigation.tid}` }
    : { zero: 0, thread: undefined };
}

/**
 * The main threads to read, as `pid:tid`: the page's own when {@link pageClock} names it (the browser's own pages,
 * such as its omnibox popup, have renderer main threads too), else every renderer main thread of the trace.
 */
function mainThreads(events: readonly TraceEvent[], pageThread: string | undefined): Set<string> {
  if (pageThread !== undefined) return new Set([pageThread]);
  return new Set(
    events
      .filter((event) => event.ph === 'M' && event.name === 'thread_name')
      .filter((event) => event.args?.name === 'CrRendererMain')
      .map((event) => `${event.pid}:${event.tid}`),
  );
}

/**
 * The complete events of `threads` in time order (of two that start together, the longer first: the outer one), and
 * the name their tasks go by: DevTools' timeline category names a task `RunTask`; a trace of `toplevel` alone has
 * only the scheduler's own event for it, one level out.
 */
function threadEvents(
  events: readonly TraceEvent[],
  threads: ReadonlySet<string>,
): { onMain: TraceEvent[]; taskName: string } {
  const onMain = events
    .filter((event) => event.ph === 'X' && threads.has(`${event.pid}:${event.tid}`))
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const taskName = onMain.some((event) => event.name === 'RunTask')
    ? 'RunTask'
    : 'ThreadControllerImpl::RunTask';
  return { onMain, taskName };
}

/**
 * The main thread's tasks over 50 ms in a trace (with `cpuOverMs`, also those that spent more than that much CPU
 * time: on a shared machine the wall clock says more about the neighbours than about the task, the CPU time does
 * not), each with its time split by cause: a nested timeline event (style, layout, paint, gc, compile) counts for
 * its own time; what is left of a script event (FunctionCall, event dispatch, timer, animation frame) counts for
 * that script; the rest is `other`.
 */
export function tracedLongTasks(events: TraceEvent[], options: { cpuOverMs?: number } = {}): TracedTask[] {
  const { zero: navigation, thread } = pageClock(events);
  const { onMain, taskName } = threadEvents(events, mainThreads(events, thread));
  const cpuOverUs = options.cpuOverMs === undefined ? Number.POSITIVE_INFINITY : options.cpuOverMs * 1000;
  const tasks = onMain.filter(
    (event) =>
      event.name === taskName && ((event.dur ?? 0) > LONG_TASK_MS * 1000 || (event.tdur ?? 0) > cpuOverUs),
  );
  return tasks.map((task) => {
    const end = task.ts + (task.dur ?? 0);
    const inside = onMain.filter(
      (event) =>
        event !== task &&
        event.pid === task.pid &&
        event.tid === task.tid &&
        event.ts >= task.ts &&
        event.ts + (event.dur ?? 0) <= end,
    );
    // Each event's time goes to the innermost named event holding it: walk with a stack of open events.
    const byCause = new Map<string, number>();
    const add = (cause: string, us: number) => byCause.set(cause, (byCause.get(cause) ?? 0) + us);
    const stack: { end: number; cause: string; childUs: number; us: number }[] = [];
    const close = (until: number) => {
      while (stack.length > 0 && (stack.at(-1)?.end ?? 0) <= until) {
        const done = stack.pop();
        if (!done) break;
        add(done.cause, done.us - done.childUs);
        const parent = stack.at(-1);
        if (parent) parent.childUs += done.us;
      }
    };
    for (const event of inside) {
      const cause = KINDS.get(event.name) ?? scriptName(event);
      if (cause === undefined) continue;
      close(event.ts);
      const parent = stack.at(-1);
      // A script event inside another keeps the outer name unless it names a function of its own.
      const named = cause === 'timer' || cause === 'animation frame' ? (parent?.cause ?? cause) : cause;
      stack.push({ end: event.ts + (event.dur ?? 0), cause: named, childUs: 0, us: event.dur ?? 0 });
    }
    close(Number.POSITIVE_INFINITY);
    const counted = [...byCause.values()].reduce((sum, us) => sum + us, 0);
    add('other', Math.max(0, (task.dur ?? 0) - counted));
    const causes = [...byCause]
      .map(([cause, us]) => ({ cause, ms: Math.round(us / 1000) }))
      .filter((entry) => entry.ms > 0)
      .sort((a, b) => b.ms - a.ms);
    return {
      at: Math.round((task.ts - navigation) / 1000),
      fromUs: task.ts,
      toUs: end,
      ms: Math.round((task.dur ?? 0) / 1000),
      cpuMs: task.tdur === undefined ? null : Math.round(task.tdur / 1000),
      causes,
    };
  });
}

/**
 * The main thread's CPU time in each of `tasks` (long tasks as the page's `PerformanceObserver` saw them: start and
 * duration in ms on the page clock), from a trace recorded with at least the `toplevel` category. A long task can be
 * long on the wall clock because its thread waited for a core; this says how much of it was work.
 *
 * Each observed task gets the thread time of the trace's top-level tasks that overlap it, each counted for the share
 * of its wall time inside the observed one (the two clocks agree to well under a millisecond, and one observed task
 * is one trace task in practice). The thread and the clock's zero are {@link pageClock}'s. Null where the trace has
 * no thread times or no task there.
 */
export function cpuOfTasks(
  events: readonly TraceEvent[],
  tasks: readonly { at: number; ms: number }[],
): (number | null)[] {
  const { zero, thread } = pageClock(events);
  const { onMain, taskName } = threadEvents(events, mainThreads(events, thread));
  // Outermost tasks only: a nested run loop's tasks are inside their parent's time already.
  const topLevel: TraceEvent[] = [];
  for (const event of onMain.filter((candidate) => candidate.name === taskName)) {
    const last = topLevel.at(-1);
    if (last && last.pid === event.pid && last.tid === event.tid && event.ts < last.ts + (last.dur ?? 0))
      continue;
    topLevel.push(event);
  }
  return tasks.map((task) => {
    const from = zero + task.at * 1000;
    const to = from + task.ms * 1000;
    let cpuUs = 0;
    let found = false;
    for (const event of topLevel) {
      const dur = event.dur ?? 0;
      const overlap = Math.min(to, event.ts + dur) - Math.max(from, event.ts);
      if (overlap <= 0 || dur <= 0 || event.tdur === undefined) continue;
      found = true;
      cpuUs += event.tdur * (overlap / dur);
    }
    return found ? Math.round(cpuUs / 1000) : null;
  });
}

/** A V8 CPU profile, as CDP's `Profiler.stop` returns it (the fields used here). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Starts sampling the page's JavaScript every `intervalUs`; `stop` returns the profile. */
export async function startProfile(
  cdp: CDPSession,
  intervalUs = 200,
): Promise<{ stop(): Promise<CpuProfile> }> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: intervalUs });
  await cdp.send('Profiler.start');
  return {
    async stop() {
      const { profile } = await cdp.send('Profiler.stop');
      return profile as unknown as CpuProfile;
    },
  };
}

/**
 * The functions that took the most time between two trace timestamps (µs, the clock traces and CPU profiles
 * share), by self time, and the app's own functions (not in a dependency's chunk) by inclusive time.
 */
export function hotspots(
  profile: CpuProfile,
  fromUs: number,
  toUs: number,
  top = 6,
): { self: { fn: string; ms: number }[]; inclusive: { fn: string; ms: number }[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const label = (id: number): string => {
    const frame = byId.get(id)?.callFrame;
    if (!frame) return '?';
    const file = frame.url.split('/').pop() ?? '';
    return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let time = profile.startTime;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let index = 0; index < samples.length; index++) {
    time += deltas[index] ?? 0;
    const next = time + (deltas[index + 1] ?? 0);
    if (time < fromUs || time > toUs) continue;
    const us = next - time;
    const leaf = samples[index] as number;
    const leafLabel = label(leaf);
    if (leafLabel.startsWith('(idle)') || leafLabel.startsWith('(program)')) continue;
    self.set(leafLabel, (self.get(leafLabel) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const name = label(id);
      if (seen.has(name) || !/^[A-Za-z_$]/.test(name) || name.includes('(anonymous)')) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const best = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, ms: Math.round(us / 1000) }));
  return { self: best(self), inclusive: best(inclusive) };
}
