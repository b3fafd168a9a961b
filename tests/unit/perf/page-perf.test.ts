/**
 * @file The pure halves of scripts/perf/page-perf.ts: long tasks named after their step and counted from first
 * paint, and a Chromium trace's long tasks split by cause (innermost named event wins; the rest is `other`).
 */
import { describe, expect, it } from 'vitest';
import { cpuTime, namePagePerf, tracedLongTasks } from '../../../scripts/perf/page-perf.ts';

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
});

describe('cpuTime', () => {
  const navigation = { ...event('navigationStart', 1000, 0), ph: 'X' };

  it.each([
    {
      what: 'counts tasks over 50 ms of CPU time, not those stretched by waiting for a core',
      tasks: [task(1100, 120, 110), task(1300, 200, 30), task(1600, 60, 51)],
      from: 0,
      overCpu: 2,
      worstCpuMs: 110,
      cpu: [110, 30, 51],
    },
    {
      what: 'starts at first paint, on the page clock (ms since navigation start)',
      tasks: [task(1100, 300, 300), task(1400, 80, 70)],
      from: 200,
      overCpu: 1,
      worstCpuMs: 70,
      cpu: [70],
    },
    {
      what: 'a task of exactly 50 ms of CPU time is not over',
      tasks: [task(1100, 90, 50)],
      from: 0,
      overCpu: 0,
      worstCpuMs: 50,
      cpu: [50],
    },
    { what: 'no long task at all', tasks: [task(1100, 40, 40)], from: 0, overCpu: 0, worstCpuMs: 0, cpu: [] },
    {
      what: 'a trace without thread times reports none',
      tasks: [task(1100, 90)],
      from: 0,
      overCpu: 0,
      worstCpuMs: null,
      cpu: [null],
    },
  ])('$what', ({ tasks, from, overCpu, worstCpuMs, cpu }) => {
    const report = cpuTime([threadName(1, 'CrRendererMain'), navigation, ...tasks], from);
    expect(report.tasks.map((entry) => entry.cpuMs)).toEqual(cpu);
    expect(report.overCpu).toBe(overCpu);
    expect(report.worstCpuMs).toBe(worstCpuMs);
  });

  it('reads a toplevel-only trace, whose tasks are the scheduler events', () => {
    const scheduler = (atMs: number, durMs: number, cpuMs: number) => ({
      ...task(atMs, durMs, cpuMs),
      name: 'ThreadControllerImpl::RunTask',
      cat: 'toplevel',
    });
    const report = cpuTime([
      threadName(1, 'CrRendererMain'),
      navigation,
      scheduler(1100, 149, 25),
      scheduler(1400, 90, 80),
    ]);
    expect(report.tasks).toEqual([
      { at: 100, ms: 149, cpuMs: 25 },
      { at: 400, ms: 90, cpuMs: 80 },
    ]);
    expect(report.overCpu).toBe(1);
  });

  it('counts a task once when the trace has both names for it', () => {
    const both = [task(1100, 120, 100), { ...task(1100, 121, 101), name: 'ThreadControllerImpl::RunTask' }];
    expect(cpuTime([threadName(1, 'CrRendererMain'), navigation, ...both]).tasks).toEqual([
      { at: 100, ms: 120, cpuMs: 100 },
    ]);
  });
});
