/**
 * @file Download progress on a stream (stderr): one redrawn bar per file on a terminal, a few plain lines
 * otherwise (logs, CI), so a long download never floods a log file.
 */
import { formatBytes } from '../../lib/core/format.ts';

/** Progress of one file's transfer. */
export interface FileProgress {
  /** `received` = bytes of the file on disk so far, resumed bytes included. */
  update(received: number): void;
  /** The file is finished; `note` says how (e.g. "verified"). */
  done(note: string): void;
  /** The transfer stopped early (the caller reports why). */
  stop(): void;
}

export interface Reporter {
  info(line: string): void;
  /** Starts a file: `total` bytes, `resumedFrom` of them already on disk. */
  file(label: string, total: number, resumedFrom: number): FileProgress;
}

/** The part of a stream the reporter needs (process.stderr, or a collecting stream in tests). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 100;
/** Percentages at which a non-terminal stream gets a line. */
const PLAIN_MILESTONES = [25, 50, 75];

function percentOf(received: number, total: number): number {
  return total === 0 ? 100 : Math.min(100, Math.floor((received / total) * 100));
}

function bar(percent: number): string {
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  return `[${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`;
}

function speed(bytes: number, startedAt: number): string {
  const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
  return `${formatBytes(bytes / seconds)}/s`;
}

function transferLine(
  label: string,
  received: number,
  total: number,
  transferred: number,
  startedAt: number,
) {
  const percent = percentOf(received, total);
  return `${label} ${bar(percent)} ${String(percent).padStart(3)}%  ${formatBytes(received)} / ${formatBytes(total)}  ${speed(transferred, startedAt)}`;
}

function terminalFile(
  stream: ProgressStream,
  label: string,
  total: number,
  resumedFrom: number,
): FileProgress {
  const startedAt = Date.now();
  let received = resumedFrom;
  let lastDraw = 0;
  const draw = () =>
    stream.write(`\r\x1b[2K  ${transferLine(label, received, total, received - resumedFrom, startedAt)}`);
  draw();
  return {
    update(bytes) {
      received = bytes;
      if (Date.now() - lastDraw < REDRAW_INTERVAL_MS) return;
      lastDraw = Date.now();
      draw();
    },
    done(note) {
      draw();
      stream.write(`  ${note}\n`);
    },
    stop() {
      draw();
      stream.write('\n');
    },
  };
}

function plainFile(stream: ProgressStream, label: string, total: number, resumedFrom: number): FileProgress {
  const startedAt = Date.now();
  const resumed = resumedFrom > 0 ? `, resuming at ${formatBytes(resumedFrom)}` : '';
  stream.write(`  ${label}: ${formatBytes(total)}${resumed}\n`);
  let nextMilestone = PLAIN_MILESTONES.findIndex((milestone) => milestone > percentOf(resumedFrom, total));
  let received = resumedFrom;
  return {
    update(bytes) {
      received = bytes;
      const milestone = nextMilestone === -1 ? undefined : PLAIN_MILESTONES[nextMilestone];
      if (milestone === undefined || percentOf(received, total) < milestone) return;
      stream.write(`  ${transferLine(label, received, total, received - resumedFrom, startedAt)}\n`);
      nextMilestone = nextMilestone + 1 < PLAIN_MILESTONES.length ? nextMilestone + 1 : -1;
    },
    done(note) {
      stream.write(`  ${transferLine(label, received, total, received - resumedFrom, startedAt)}  ${note}\n`);
    },
    stop() {
      stream.write(`  ${label}: stopped at ${formatBytes(received)} of ${formatBytes(total)}\n`);
    },
  };
}

/** A reporter writing to `stream`: a live bar per file when it is a terminal, plain lines otherwise. */
export function createReporter(stream: ProgressStream): Reporter {
  return {
    info: (line) => stream.write(`${line}\n`),
    file: (label, total, resumedFrom) =>
      stream.isTTY
        ? terminalFile(stream, label, total, resumedFrom)
        : plainFile(stream, label, total, resumedFrom),
  };
}
