/**
 * @file `waitUntilQuiet` (tests/browser/browser-processes.ts): how the bench decides that a just-launched browser
 * has finished its own start-up, on a fake clock and scripted CPU readings; and that the /proc reader finds
 * nothing for a profile no browser uses.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  browserCpuMs,
  browserProcesses,
  browserThreads,
  cpuByThreadKind,
  QUIET_BROWSER,
  readStat,
  type BrowserThread,
  waitUntilQuiet,
  type QuietOptions,
} from '../../browser/browser-processes.ts';

/** A fake clock whose sleeps advance time at once; `readings` are the CPU totals read, one per call. */
function scripted(readings: number[]) {
  let time = 0;
  let calls = 0;
  return {
    read: () => Promise.resolve(readings[Math.min(calls++, readings.length - 1)] as number),
    clock: {
      now: () => time,
      sleep: (ms: number) => {
        time += ms;
        return Promise.resolve();
      },
    },
    calls: () => calls,
  };
}

const OPTIONS: QuietOptions = { windowMs: 500, maxCpuMs: 50, windows: 2, timeoutMs: 5_000 };

describe('waitUntilQuiet', () => {
  it.each([
    {
      name: 'quiet from the start: two windows',
      readings: [1000, 1010, 1020],
      result: { quiet: true, waitedMs: 1000 },
    },
    {
      name: 'a busy window in between starts the count again',
      readings: [0, 400, 420, 700, 720, 740],
      result: { quiet: true, waitedMs: 2500 },
    },
    {
      name: 'exactly the limit counts as quiet',
      readings: [0, 50, 100],
      result: { quiet: true, waitedMs: 1000 },
    },
    {
      name: 'one quiet window between busy ones is not enough',
      readings: [0, 10, 300, 310, 600, 610, 900, 910, 1200, 1210, 1500],
      result: { quiet: false, waitedMs: 5000 },
    },
  ])('$name', async ({ readings, result }) => {
    const fake = scripted(readings);
    await expect(waitUntilQuiet(fake.read, OPTIONS, fake.clock)).resolves.toEqual(result);
  });

  it('gives up at the timeout with quiet: false, having read once per window', async () => {
    const fake = scripted(Array.from({ length: 40 }, (_, index) => index * 200));
    await expect(waitUntilQuiet(fake.read, OPTIONS, fake.clock)).resolves.toEqual({
      quiet: false,
      waitedMs: 5000,
    });
    expect(fake.calls()).toBe(1 + 5000 / 500);
  });

  it('asks for a tenth of a core over two half-second windows by default', () => {
    expect(QUIET_BROWSER.maxCpuMs / QUIET_BROWSER.windowMs).toBeCloseTo(0.1);
    expect(QUIET_BROWSER.windows).toBe(2);
  });
});

describe('browserProcesses', () => {
  it('finds no process for a profile no browser uses', async () => {
    const profile = `/nonexistent/pvf-profile-${process.pid}`;
    await expect(browserProcesses(profile, { memory: true })).resolves.toEqual([]);
    await expect(browserCpuMs(profile)).resolves.toBe(0);
    await expect(browserThreads(profile)).resolves.toEqual([]);
  });
});

describe('readStat', () => {
  // /proc/<pid>/stat: pid (comm) state ppid … utime stime …; a thread may name itself with spaces and parentheses.
  it.each([
    { name: 'ThreadPoolForeg', comm: 'ThreadPoolForeg' },
    { name: 'a name with ) and spaces', comm: 'a name with ) and spaces' },
  ])('reads "$name", its fields and its CPU time', ({ comm }) => {
    const stat = `4242 (${comm}) R 4200 1 2 3 4 5 6 7 8 9 300 200 0 0 20 0 1 0 99`;
    const read = readStat(stat);
    expect(read.name).toBe(comm);
    expect(read.fields.slice(0, 2)).toEqual(['R', '4200']);
    // utime + stime = 500 clock ticks (five seconds at Linux's usual 100 a second).
    const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    expect(read.cpuMs).toBeCloseTo((500 * 1000) / ticksPerSecond);
  });
});

/** A thread of a reading: `pid/tid process name cpuMs`. */
function thread(spec: string): BrowserThread {
  const [ids, process, name, cpuMs] = spec.split(' ') as [string, string, string, string];
  const [pid, tid] = ids.split('/').map(Number) as [number, number];
  return { pid, tid, process, name, cpuMs: Number(cpuMs) };
}

describe('cpuByThreadKind', () => {
  it.each([
    {
      name: 'the time each thread used in between, summed by process and thread name, largest first',
      before: [
        '10/10 renderer main 100',
        '10/11 renderer ThreadPoolForeg 50',
        '10/12 renderer ThreadPoolForeg 0',
      ],
      after: [
        '10/10 renderer main 130',
        '10/11 renderer ThreadPoolForeg 250',
        '10/12 renderer ThreadPoolForeg 40',
      ],
      kinds: [
        { kind: 'renderer ThreadPoolForeg', cpuMs: 240 },
        { kind: 'renderer main', cpuMs: 30 },
      ],
    },
    {
      name: 'the same thread name in two processes stays apart when their types differ',
      before: ['1/1 browser main 0', '2/2 gpu-process main 0'],
      after: ['1/1 browser main 20', '2/2 gpu-process main 20'],
      kinds: [
        { kind: 'browser main', cpuMs: 20 },
        { kind: 'gpu-process main', cpuMs: 20 },
      ],
    },
    {
      name: 'a thread started in between counts all its time; threads that used none are left out',
      before: ['10/10 renderer main 100'],
      after: ['10/10 renderer main 100', '10/20 renderer DedicatedWorker 70'],
      kinds: [{ kind: 'renderer DedicatedWorker', cpuMs: 70 }],
    },
    {
      name: 'a thread gone from the later reading counts nothing; a new one counts from zero',
      before: ['10/10 renderer main 500'],
      after: ['10/11 renderer main 30'],
      kinds: [{ kind: 'renderer main', cpuMs: 30 }],
    },
    { name: 'nothing read', before: [], after: [], kinds: [] },
  ])('$name', ({ before, after, kinds }) => {
    expect(cpuByThreadKind(before.map(thread), after.map(thread))).toEqual(kinds);
  });
});
