/**
 * @file The pure halves of scripts/perf/page-perf.ts: long tasks named after their step and counted from first
 * paint, a Chromium trace's long tasks split by cause (innermost named event wins; the rest is `other`), and the
 * CPU time of each observed long task from the trace.
 */
import { describe, expect, it } from 'vitest';
import { cpuOfTasks, namePagePerf, pageClock, tracedLongTasks } from '../../../scripts/perf/page-perf.ts';

describe('namePagePerf', () => {
  const record = {
    paints: [
      { name: 'first-paint', at: 90 },
      { name: 'first-contentful-paint', at: 100 },
    ],
    tasks: [
      { ms: 120, at: 40 },
      { ms: 30, at: 150 },
      { ms: 51, at: 300 },
      { ms: 400, at: 1200 },
      { ms: 50, at: 1300 },
    ],
    steps: [
      { name: 'start-up', at: 0 },
      { name: 'open tab data', at: 1000 },
    ],
  };

  it('keeps tasks over 50 ms from first contentful paint on, each named after the step it started in', () => {
    const perf = namePagePerf(record);
    expect(perf.firstPaintMs).toBe(100);
    expect(perf.beforePaint).toBe(1);
    expect(perf.longTasks).toEqual([
      { step: 'start-up', ms: 51, at: 300 },
      { step: 'open tab data', ms: 400, at: 1200 },
    ]);
  });

  it('falls back to first paint, and counts every task when the page reported no paint', () => {
    expect(namePagePerf({ ...record, paints: [{ name: 'first-paint', at: 20 }] }).beforePaint).toBe(0);
    const none = namePagePerf({ ...record, paints: [] });
    expect(none.firstPaintMs).toBeNull();
    expect(none.longTasks).toHaveLength(3);
  });
});

/** A complete ('X') event on thread 1 of process 1, times in ms (the trace's µs made by the helper). */
function event(name: string, atMs: number, durMs: number, data?: Record<string, unknown>) {
  return {
    name,
    cat: 'devtools.timeline',
    ph: 'X',
    pid: 1,
    tid: 1,
    ts: atMs * 1000,
    dur: durMs * 1000,
    args: { data },
  };
}

const threadName = (tid: number, name: string) => ({
  name: 'thread_name',
  cat: '__metadata',
  ph: 'M',
  pid: 1,
  tid,
  ts: 0,
  args: { name },
});

/** A main-thread task of `durMs` wall time and `cpuMs` thread time (none when undefined). */
const task = (atMs: number, durMs: number, cpuMs?: number) => ({
  ...event('RunTask', atMs, durMs),
  ...(cpuMs === undefined ? {} : { tdur: cpuMs * 1000 }),
});

describe('tracedLongTasks', () => {
  it.each([
    {
      what: 'layout inside a script call counts as layout, the call keeps the rest',
      events: [
        event('RunTask', 1000, 200),
        event('FunctionCall', 1000, 150, { functionName: 'mount', url: 'http://x/assets/index.js' }),
        event('Layout', 1050, 100),
      ],
      causes: [
        { cause: 'layout', ms: 100 },
        { cause: 'script mount (index.js)', ms: 50 },
        { cause: 'other', ms: 50 },
      ],
    },
    {
      what: 'a timer keeps no name of its own inside an event handler',
      events: [
        event('RunTask', 1000, 80),
        event('EventDispatch', 1000, 80, { type: 'click' }),
        event('TimerFire', 1010, 60),
        event('MinorGC', 1020, 20),
      ],
      causes: [
        { cause: 'event click', ms: 60 },
        { cause: 'gc', ms: 20 },
      ],
    },
  ])('$what', ({ events, causes }) => {
    const tasks = tracedLongTasks([threadName(1, 'CrRendererMain'), ...events]);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.causes).toEqual(causes);
  });

  it('lists only tasks over 50 ms on the renderer main thread', () => {
    const worker = { ...event('RunTask', 0, 500), tid: 2 };
    const tasks = tracedLongTasks([
      threadName(1, 'CrRendererMain'),
      threadName(2, 'DedicatedWorker thread'),
      worker,
      event('RunTask', 0, 50),
      event('RunTask', 100, 51),
    ]);
    expect(tasks.map((task) => task.ms)).toEqual([51]);
  });

  it('with cpuOverMs, also lists shorter tasks that spent more CPU time than that', () => {
    const events = [
      threadName(1, 'CrRendererMain'),
      task(0, 40, 21),
      task(100, 40, 20),
      task(200, 30),
      task(300, 51, 2),
    ];
    expect(tracedLongTasks(events, { cpuOverMs: 20 }).map((t) => [t.ms, t.cpuMs])).toEqual([
      [40, 21],
      [51, 2],
    ]);
    expect(tracedLongTasks(events).map((t) => t.ms)).toEqual([51]);
  });

  it("keeps to the page's main thread when a step mark names it, not the browser's own pages", () => {
    const renderers = [threadName(1, 'CrRendererMain'), { ...threadName(2, 'CrRendererMain'), pid: 2 }];
    const browserPage = { ...task(200, 300, 150), pid: 2, tid: 2 };
    const mark = { ...event('pvf-step:run', 100, 0, { startTime: 100 }), cat: 'blink.user_timing', ph: 'I' };
    expect(tracedLongTasks([...renderers, mark, browserPage, task(600, 80, 40)]).map((t) => t.ms)).toEqual([
      80,
    ]);
    // Without a mark or a navigation to tell, every renderer main thread counts.
    expect(tracedLongTasks([...renderers, browserPage, task(600, 80, 40)]).map((t) => t.ms)).toEqual([
      300, 80,
    ]);
  });
});

describe('pageClock', () => {
  /** A navigationStart on process `pid`'s main thread at `atMs` of trace time, for a document at `url`. */
  const navigationAt = (pid: number, atMs: number, url: string) => ({
    name: 'navigationStart',
    cat: 'blink.user_timing',
    ph: 'R',
    pid,
    tid: pid,
    ts: atMs * 1000,
    args: { data: { documentLoaderURL: url } },
  });
  /** A step mark of markStep on process `pid`, at `atMs` of trace time and `pageMs` of page time. */
  const markAt = (pid: number, atMs: number, pageMs: number) => ({
    name: 'pvf-step:load the model',
    cat: 'blink.user_timing',
    ph: 'I',
    pid,
    tid: pid,
    ts: atMs * 1000,
    args: { data: { startTime: pageMs } },
  });

  it.each([
    {
      what: "a step mark gives the page clock's zero and thread, whatever navigations come first",
      events: [
        navigationAt(7, 500, ''),
        navigationAt(3, 900, 'http://127.0.0.1:4173/'),
        markAt(3, 2400, 1250.5),
      ],
      zero: 1_149_500,
      thread: '3:3',
    },
    {
      what: "without a mark, the navigation of an http(s) document, not another renderer's empty one before it",
      events: [navigationAt(7, 500, ''), navigationAt(3, 900, 'http://127.0.0.1:4173/')],
      zero: 900_000,
      thread: '3:3',
    },
    { what: 'then any navigation', events: [navigationAt(7, 500, '')], zero: 500_000, thread: '7:7' },
    { what: 'nothing to go by: zero and every thread', events: [], zero: 0, thread: undefined },
  ])('$what', ({ events, zero, thread }) => {
    expect(pageClock(events)).toEqual({ zero, thread });
  });
});

describe('cpuOfTasks', () => {
  /** Navigation starts at 1,000 ms of trace time on thread 1: the page clock's zero. */
  const navigation = { ...event('navigationStart', 1000, 0), ph: 'R' };
  const scheduler = (atMs: number, durMs: number, cpuMs: number) => ({
    ...task(atMs, durMs, cpuMs),
    name: 'ThreadControllerImpl::RunTask',
    cat: 'toplevel',
  });

  it.each([
    {
      what: 'gives each observed task the CPU time of the trace task it is',
      trace: [task(1100, 120, 110), task(1300, 200, 30)],
      observed: [
        { at: 100, ms: 120 },
        { at: 300, ms: 200 },
      ],
      cpu: [110, 30],
    },
    {
      what: 'reads a toplevel-only trace, whose tasks are the scheduler events',
      trace: [scheduler(1100, 149, 25), scheduler(1400, 90, 80)],
      observed: [
        { at: 400, ms: 90 },
        { at: 100, ms: 149 },
      ],
      cpu: [80, 25],
    },
    {
      what: 'counts a task once when the trace has both names for it',
      trace: [task(1100, 120, 100), { ...task(1100, 121, 101), name: 'ThreadControllerImpl::RunTask' }],
      observed: [{ at: 100, ms: 120 }],
      cpu: [100],
    },
    {
      what: 'leaves out tasks nested in another (a nested run loop) and tasks outside the window',
      trace: [task(1100, 100, 60), task(1120, 20, 20), task(1250, 10, 10)],
      observed: [{ at: 100, ms: 100 }],
      cpu: [60],
    },
    {
      what: 'counts a task that only partly overlaps for its share inside the window',
      // Half of the first task (20 of 40 ms) and three quarters of the second (15 of 20 ms).
      trace: [task(1100, 60, 40), task(1160, 40, 20)],
      observed: [{ at: 130, ms: 60 }],
      cpu: [35],
    },
    {
      what: 'null where the trace has no task there, or no thread time for it',
      trace: [task(1100, 90)],
      observed: [
        { at: 100, ms: 90 },
        { at: 500, ms: 60 },
      ],
      cpu: [null, null],
    },
  ])('$what', ({ trace, observed, cpu }) => {
    expect(cpuOfTasks([navigation, ...trace], observed)).toEqual(cpu);
  });

  it("uses the navigating thread's tasks, not another renderer's at the same time", () => {
    const otherRenderer = { ...task(1100, 120, 5), pid: 2, tid: 2 };
    const events = [threadName(1, 'CrRendererMain'), { ...threadName(2, 'CrRendererMain'), pid: 2 }];
    expect(
      cpuOfTasks([...events, navigation, otherRenderer, task(1100, 120, 90)], [{ at: 100, ms: 120 }]),
    ).toEqual([90]);
    // Another renderer's navigation first: the page's step mark still picks the page's thread and clock.
    const otherNavigation = { ...navigation, pid: 2, tid: 2, ts: 0 };
    const mark = {
      ...event('pvf-step:run', 1050, 0, { startTime: 50 }),
      cat: 'blink.user_timing',
      ph: 'I',
    };
    expect(
      cpuOfTasks(
        [...events, otherNavigation, mark, otherRenderer, task(1100, 120, 90)],
        [{ at: 100, ms: 120 }],
      ),
    ).toEqual([90]);
    // Without a navigationStart every renderer main thread counts, on the trace's own clock.
    expect(cpuOfTasks([...events, task(100, 120, 90)], [{ at: 100, ms: 120 }])).toEqual([90]);
  });
});
