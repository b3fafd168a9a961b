/**
 * @file The processes of a Chromium launched on its own profile folder, read from Linux's /proc: the browser
 * process (the one whose command line names the profile) and every process it started. The memory test and the
 * bench read the renderers' proportional set size; the bench also waits for a just-launched browser to finish its
 * own start-up before it opens the app ({@link waitUntilQuiet}), and it and `scripts/perf/long-tasks.ts --threads`
 * read each thread's CPU time ({@link browserThreads}). Linux only.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/** One process of the browser's tree. */
export interface BrowserProcess {
  pid: number;
  /**
   * Its role: the `--type=` of its command line (`renderer`, where pages and their workers run; `gpu-process`,
   * `utility`, …), else `browser`.
   */
  type: string;
  /** User + system CPU time used so far, ms. */
  cpuMs: number;
  /** Proportional set size (pages shared between processes count once in a sum), when memory was asked for. */
  pssBytes?: number;
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux when it cannot be asked). */
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * A process's or thread's /proc `stat` line: its name (in parentheses, may hold spaces) and the fields after it
 * (state, ppid, …; utime is the 12th and stime the 13th), with the CPU time so far in ms.
 */
export function readStat(stat: string): { name: string; fields: string[]; cpuMs: number } {
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, close),
    fields,
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks(),
  };
}

/** The processes of the browser whose profile folder is `userDataDir`; with `memory`, each one's PSS too. */
export async function browserProcesses(
  userDataDir: string,
  options: { memory?: boolean } = {},
): Promise<BrowserProcess[]> {
  const all = new Map<number, BrowserProcess & { parent: number; root: boolean }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes('chrom')) continue;
      const { fields, cpuMs } = readStat(await readFile(`/proc/${name}/stat`, 'utf8'));
      const type = /--type=([\w-]+)/.exec(cmdline)?.[1] ?? 'browser';
      const entry: BrowserProcess & { parent: number; root: boolean } = {
        pid: Number(name),
        parent: Number(fields[1]),
        root: cmdline.includes(`--user-data-dir=${userDataDir}`),
        type,
        cpuMs,
      };
      if (options.memory) {
        const rollup = await readFile(`/proc/${name}/smaps_rollup`, 'utf8');
        entry.pssBytes = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
      }
      all.set(entry.pid, entry);
    } catch {
      // The process ended while being read.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let current = all.get(pid); current; current = all.get(current.parent)) {
      if (current.root) return true;
    }
    return false;
  };
  return [...all.values()]
    .filter((entry) => inTree(entry.pid))
    .map(({ pid, type, cpuMs, pssBytes }) => ({
      pid,
      type,
      cpuMs,
      ...(pssBytes === undefined ? {} : { pssBytes }),
    }));
}

/** One thread of the browser's processes and the CPU time it has used so far. */
export interface BrowserThread {
  pid: number;
  tid: number;
  /** Its process's {@link BrowserProcess.type}. */
  process: string;
  /**
   * The thread's name as Linux keeps it (15 characters at most: `ThreadPoolForeg` for Chromium's pool, where V8
   * compiles; `DedicatedWorker` for a Web Worker and each of onnxruntime's threads), `main` for a process's
   * first thread.
   */
  name: string;
  cpuMs: number;
}

/** Every thread of the browser whose profile folder is `userDataDir`, with its CPU time so far. */
export async function browserThreads(userDataDir: string): Promise<BrowserThread[]> {
  const threads: BrowserThread[] = [];
  for (const { pid, type } of await browserProcesses(userDataDir)) {
    let tids: string[];
    try {
      tids = await readdir(`/proc/${pid}/task`);
    } catch {
      continue; // The process ended.
    }
    for (const tid of tids) {
      try {
        const { name, cpuMs } = readStat(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        threads.push({
          pid,
          tid: Number(tid),
          process: type,
          name: Number(tid) === pid ? 'main' : name,
          cpuMs,
        });
      } catch {
        // The thread ended while being read.
      }
    }
  }
  return threads;
}

/**
 * CPU time (ms) used between two {@link browserThreads} readings, summed by kind of thread (`<process> <name>`,
 * e.g. `renderer ThreadPoolForeg`), largest first; kinds that used none are left out. A thread that started in
 * between counts all its time; one that ended in between is not in the later reading, and its time is lost.
 */
export function cpuByThreadKind(
  before: readonly BrowserThread[],
  after: readonly BrowserThread[],
): { kind: string; cpuMs: number }[] {
  const earlier = new Map(before.map((thread) => [`${thread.pid}/${thread.tid}`, thread.cpuMs]));
  const byKind = new Map<string, number>();
  for (const thread of after) {
    const used = thread.cpuMs - (earlier.get(`${thread.pid}/${thread.tid}`) ?? 0);
    if (used <= 0) continue;
    const kind = `${thread.process} ${thread.name}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + used);
  }
  return [...byKind]
    .map(([kind, cpuMs]) => ({ kind, cpuMs: Math.round(cpuMs) }))
    .sort((a, b) => b.cpuMs - a.cpuMs || a.kind.localeCompare(b.kind));
}

/**
 * Proportional set size (bytes) of the renderer processes of the browser whose profile is `userDataDir`: the page
 * and its workers. The browser and network processes are left out: they hold the bytes Playwright's routes answer
 * with for a while, which has nothing to do with the app.
 */
export async function rendererMemoryBytes(userDataDir: string): Promise<number> {
  const processes = await browserProcesses(userDataDir, { memory: true });
  return processes.reduce((sum, entry) => sum + (entry.type === 'renderer' ? (entry.pssBytes ?? 0) : 0), 0);
}

/** CPU time (ms) the whole browser whose profile is `userDataDir` has used so far. */
export async function browserCpuMs(userDataDir: string): Promise<number> {
  const processes = await browserProcesses(userDataDir);
  return processes.reduce((sum, entry) => sum + entry.cpuMs, 0);
}

/** When {@link waitUntilQuiet} calls a browser quiet. */
export interface QuietOptions {
  /** Length of one reading window, ms. */
  windowMs: number;
  /** Most CPU time (ms) the browser may use in a window that counts as quiet. */
  maxCpuMs: number;
  /** Quiet windows in a row needed. */
  windows: number;
  /** Longest wait, ms: past it the wait ends with `quiet: false`. */
  timeoutMs: number;
}

/**
 * Two windows of half a second in which the browser used at most 50 ms of CPU (a tenth of one core). A fresh
 * headless Chromium on the 2-core machine took 2.2 s to get there: its own pages (the omnibox popup's WebUI) load
 * at start and spent about 0.6 s of main-thread CPU while the app's first frame was being made.
 */
export const QUIET_BROWSER: QuietOptions = { windowMs: 500, maxCpuMs: 50, windows: 2, timeoutMs: 20_000 };

/**
 * Waits until `readCpuMs` (a process tree's CPU time so far) grows by at most `maxCpuMs` in each of `windows`
 * windows in a row, or `timeoutMs` passes. Returns whether it got quiet and how long the wait took.
 */
export async function waitUntilQuiet(
  readCpuMs: () => Promise<number>,
  options: QuietOptions = QUIET_BROWSER,
  clock: { now(): number; sleep(ms: number): Promise<void> } = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  },
): Promise<{ quiet: boolean; waitedMs: number }> {
  const start = clock.now();
  let previous = await readCpuMs();
  let quietInARow = 0;
  while (clock.now() - start < options.timeoutMs) {
    await clock.sleep(options.windowMs);
    const current = await readCpuMs();
    quietInARow = current - previous <= options.maxCpuMs ? quietInARow + 1 : 0;
    previous = current;
    if (quietInARow >= options.windows) return { quiet: true, waitedMs: clock.now() - start };
  }
  return { quiet: false, waitedMs: clock.now() - start };
}
