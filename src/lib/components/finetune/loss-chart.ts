/**
 * @file The loss chart's geometry, apart from its SVG: scales, tick marks and polyline points for training and
 * validation loss (left axis) and accuracy (right axis, 0–1) per epoch, and the chart's text alternative.
 *
 * Everything is plain arithmetic in the chart's own `viewBox` units, computed in one pass over the epochs: no
 * layout reads, no canvas, no chart library. A chart library's first build (uPlot: fonts measured, canvases
 * sized, a resize observer) was a main-thread task of over 100 ms when the first epoch arrived.
 */
import type { EpochReport } from '../../core/ports.ts';
import { percent } from '../shared/format.ts';

/** The chart's size and margins, in `viewBox` units. */
export interface ChartFrame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The frame the app draws in: room on the left for loss ticks, on the right for accuracy ticks. */
export const CHART_FRAME: ChartFrame = { width: 640, height: 220, left: 48, right: 48, top: 12, bottom: 36 };

/** One tick mark: its value, its position along its axis and its label. */
export interface Tick {
  value: number;
  at: number;
  label: string;
}

/** The four lines the chart can draw. */
export type SeriesKey = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

/** One line: unbroken runs of points (a missing or non-finite value breaks it), each run as SVG points. */
export interface SeriesGeometry {
  key: SeriesKey;
  label: string;
  /** Each unbroken run as a polyline's `points` attribute, "x,y x,y …". */
  runs: string[];
  /** Points standing alone (a run of one), drawn as dots: a polyline of one point shows nothing. */
  dots: { x: number; y: number }[];
}

/** Everything the SVG needs. */
export interface ChartGeometry {
  frame: ChartFrame;
  /** The plot area: x from `x0` to `x1`, y from `y0` (top) to `y1` (bottom). */
  plot: { x0: number; x1: number; y0: number; y1: number };
  /** Epoch axis span. */
  epochs: [number, number];
  /** Loss axis span (0 to a nice value at or above the largest loss). */
  loss: [number, number];
  epochTicks: Tick[];
  lossTicks: Tick[];
  accuracyTicks: Tick[];
  /** Only the lines with at least one finite point, training lines first. */
  series: SeriesGeometry[];
}

/**
 * A "nice" step (1, 2 or 5 times a power of ten) that splits `span` into at most `maxTicks` intervals, never
 * below `minStep`.
 */
export function niceStep(span: number, maxTicks: number, minStep = 0): number {
  if (!(span > 0) || !Number.isFinite(span) || maxTicks < 1) return Math.max(minStep, 1);
  const raw = span / maxTicks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw * (1 - 1e-9)) ?? raw;
  return Math.max(step, minStep);
}

/** The smallest multiple of a nice step at or above `max` (1 when there is nothing positive to show). */
export function niceCeiling(max: number, maxTicks = 4): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const step = niceStep(max, maxTicks);
  return roundTo(Math.ceil(max / step - 1e-9) * step);
}

/** Ticks from 0 (or `from`) to `to` by `step`, ends included when they fall on a step. */
function ticksBetween(from: number, to: number, step: number): number[] {
  const first = Math.ceil(from / step - 1e-9) * step;
  const values: number[] = [];
  for (let value = first; value <= to + step * 1e-9; value += step) values.push(roundTo(value));
  return values;
}

/** Drops floating-point dust (0.30000000000000004 → 0.3). */
function roundTo(value: number): number {
  return Number(value.toPrecision(12));
}

/** A loss tick's label: as many decimals as the step needs. */
function lossLabel(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(decimals);
}

const finite = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value);

/** Two decimals are enough for a position in a 640-unit box. */
const coordinate = (value: number): string => String(Math.round(value * 100) / 100);

const SERIES: { key: SeriesKey; label: string; scale: 'loss' | 'accuracy' }[] = [
  { key: 'loss', label: 'loss', scale: 'loss' },
  { key: 'accuracy', label: 'train accuracy', scale: 'accuracy' },
  { key: 'valLoss', label: 'validation loss', scale: 'loss' },
  { key: 'valAccuracy', label: 'validation accuracy', scale: 'accuracy' },
];

/**
 * The chart for these epochs. The epoch axis spans 1 to the planned epochs (or the last epoch reported, or 2,
 * whichever is largest), so the lines fill left to right as training runs; loss from 0 to a nice value at or
 * above the largest finite loss; accuracy 0–1. Values outside an axis are clamped to its edge.
 */
export function lossChartGeometry(
  epochs: readonly EpochReport[],
  totalEpochs: number,
  frame: ChartFrame = CHART_FRAME,
): ChartGeometry {
  const plot = {
    x0: frame.left,
    x1: frame.width - frame.right,
    y0: frame.top,
    y1: frame.height - frame.bottom,
  };
  const lastEpoch = Math.max(0, ...epochs.map((report) => report.epoch).filter(finite));
  const planned = Number.isFinite(totalEpochs) ? totalEpochs : 0;
  const epochSpan: [number, number] = [1, Math.max(2, Math.ceil(lastEpoch), Math.ceil(planned))];
  const losses = epochs.flatMap((report) => [report.loss, report.valLoss]).filter(finite);
  const lossSpan: [number, number] = [0, niceCeiling(Math.max(0, ...losses))];

  const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
  const x = (epoch: number): number =>
    plot.x0 +
    ((clamp(epoch, ...epochSpan) - epochSpan[0]) / (epochSpan[1] - epochSpan[0])) * (plot.x1 - plot.x0);
  const yOf = (value: number, span: [number, number]): number =>
    plot.y1 - ((clamp(value, ...span) - span[0]) / (span[1] - span[0])) * (plot.y1 - plot.y0);

  const epochStep = niceStep(epochSpan[1] - epochSpan[0], 8, 1);
  const epochValues = ticksBetween(epochStep, epochSpan[1], epochStep);
  // Epoch 1 always gets a tick; with a step above 1, ticks then fall on its multiples (1, 5, 10, 15 …).
  const epochTicks = [1, ...epochValues.filter((value) => value > 1)].map((value) => ({
    value,
    at: x(value),
    label: String(value),
  }));
  const lossStep = niceStep(lossSpan[1], 4);
  const lossTicks = ticksBetween(0, lossSpan[1], lossStep).map((value) => ({
    value,
    at: yOf(value, lossSpan),
    label: lossLabel(value, lossStep),
  }));
  const accuracyTicks = [0, 0.25, 0.5, 0.75, 1].map((value) => ({
    value,
    at: yOf(value, [0, 1]),
    label: percent(value, 0),
  }));

  const series: SeriesGeometry[] = [];
  for (const { key, label, scale } of SERIES) {
    const span: [number, number] = scale === 'loss' ? lossSpan : [0, 1];
    const runs: { x: number; y: number }[][] = [];
    let run: { x: number; y: number }[] = [];
    for (const report of epochs) {
      const value = report[key];
      if (finite(value) && finite(report.epoch)) run.push({ x: x(report.epoch), y: yOf(value, span) });
      else if (run.length > 0) {
        runs.push(run);
        run = [];
      }
    }
    if (run.length > 0) runs.push(run);
    if (runs.length === 0) continue;
    series.push({
      key,
      label,
      runs: runs
        .filter((points) => points.length > 1)
        .map((points) => points.map((p) => `${coordinate(p.x)},${coordinate(p.y)}`).join(' ')),
      dots: runs.filter((points) => points.length === 1).flat(),
    });
  }
  return { frame, plot, epochs: epochSpan, loss: lossSpan, epochTicks, lossTicks, accuracyTicks, series };
}

/** True when the epochs report a validation slice (`valLoss` or `valAccuracy`). */
export function hasValidation(epochs: readonly EpochReport[]): boolean {
  return epochs.some((report) => report.valLoss !== undefined || report.valAccuracy !== undefined);
}

/** What the chart shows, in words: the first and last epoch's numbers (its text alternative). */
export function lossChartSummary(epochs: readonly EpochReport[], totalEpochs: number): string {
  const first = epochs[0];
  const last = epochs.at(-1);
  const done = `${epochs.length} of ${totalEpochs} epochs`;
  if (!first || !last) return `Training loss and accuracy per epoch: ${done}.`;
  const validation =
    last.valLoss !== undefined && last.valAccuracy !== undefined
      ? `; validation loss ${last.valLoss.toFixed(3)}, validation accuracy ${percent(last.valAccuracy)}`
      : '';
  return (
    `Training loss and accuracy per epoch, ${done}: loss ${first.loss.toFixed(3)} at epoch ${first.epoch}, ` +
    `${last.loss.toFixed(3)} at epoch ${last.epoch}; training accuracy ${percent(first.accuracy)}, then ` +
    `${percent(last.accuracy)}${validation}.`
  );
}
