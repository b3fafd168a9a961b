/**
 * @file The loss chart's geometry (src/lib/components/finetune/loss-chart.ts): nice steps and ceilings, the
 * axes' spans and ticks, polyline points for each series (broken at missing or non-finite values, lone points as
 * dots) and the text alternative, table-driven.
 */
import { describe, expect, it } from 'vitest';
import {
  CHART_FRAME,
  hasValidation,
  lossChartGeometry,
  lossChartSummary,
  niceCeiling,
  niceStep,
  type ChartFrame,
} from '../../../src/lib/components/finetune/loss-chart.ts';
import type { EpochReport } from '../../../src/lib/core/ports.ts';

/** A 100 × 100 plot at (0, 0): positions read as percentages of each axis. */
const UNIT: ChartFrame = { width: 100, height: 100, left: 0, right: 0, top: 0, bottom: 0 };

const epoch = (n: number, loss: number, accuracy: number, extra: Partial<EpochReport> = {}): EpochReport => ({
  epoch: n,
  loss,
  accuracy,
  ...extra,
});

describe('niceStep', () => {
  it.each([
    [10, 5, 0, 2],
    [1, 4, 0, 0.5],
    [0.9, 4, 0, 0.5],
    [0.3, 4, 0, 0.1],
    [19, 8, 1, 5],
    [1, 8, 1, 1],
    [9, 8, 1, 2],
    [499, 8, 1, 100],
    [2.4, 4, 0, 1],
    [1000, 4, 0, 500],
    [0, 4, 0, 1],
    [Number.NaN, 4, 0, 1],
    [Number.POSITIVE_INFINITY, 4, 0, 1],
  ])('span %d in at most %d ticks (min %d) → %d', (span, ticks, min, step) => {
    expect(niceStep(span, ticks, min)).toBeCloseTo(step, 12);
  });
});

describe('niceCeiling', () => {
  it.each([
    [1.386, 1.5],
    [0.693, 0.8],
    [1, 1],
    [2.3, 3],
    [0.05, 0.06],
    [0.051, 0.06],
    [7.2, 8],
    [0, 1],
    [-3, 1],
    [Number.NaN, 1],
    [Number.POSITIVE_INFINITY, 1],
  ])('%d → %d', (max, ceiling) => {
    expect(niceCeiling(max)).toBe(ceiling);
  });
});

describe('lossChartGeometry axes', () => {
  it.each<[string, EpochReport[], number, [number, number], number[]]>([
    ['nothing yet, 20 planned', [], 20, [1, 20], [1, 5, 10, 15, 20]],
    ['nothing planned: still 1..2', [], 0, [1, 2], [1, 2]],
    ['one planned epoch: still 1..2', [epoch(1, 0.5, 0.5)], 1, [1, 2], [1, 2]],
    ['three epochs', [], 3, [1, 3], [1, 2, 3]],
    ['ten epochs', [], 10, [1, 10], [1, 2, 4, 6, 8, 10]],
    ['more reported than planned', [epoch(1, 1, 0), epoch(12, 1, 0)], 5, [1, 12], [1, 2, 4, 6, 8, 10, 12]],
    ['planned epochs not finite', [epoch(1, 1, 0), epoch(2, 1, 0)], Number.NaN, [1, 2], [1, 2]],
    ['500 epochs', [], 500, [1, 500], [1, 100, 200, 300, 400, 500]],
  ])('%s', (_name, epochs, total, span, ticks) => {
    const chart = lossChartGeometry(epochs, total, UNIT);
    expect(chart.epochs).toEqual(span);
    expect(chart.epochTicks.map((tick) => tick.value)).toEqual(ticks);
    expect(chart.epochTicks[0]?.at).toBe(0);
    expect(chart.epochTicks.at(-1)?.at).toBe(ticks.at(-1) === span[1] ? 100 : chart.epochTicks.at(-1)?.at);
  });

  it.each<[string, EpochReport[], [number, number], string[]]>([
    ['no epochs: 0..1', [], [0, 1], ['0.0', '0.5', '1.0']],
    ['loss 1.386 (ln 4)', [epoch(1, 1.386, 0.25)], [0, 1.5], ['0.0', '0.5', '1.0', '1.5']],
    [
      'validation loss above training loss',
      [epoch(1, 0.4, 0.9, { valLoss: 2.3 })],
      [0, 3],
      ['0', '1', '2', '3'],
    ],
    ['all losses zero', [epoch(1, 0, 1), epoch(2, 0, 1)], [0, 1], ['0.0', '0.5', '1.0']],
    [
      'NaN and Infinity ignored',
      [epoch(1, Number.NaN, 0), epoch(2, Infinity, 0), epoch(3, 0.7, 0)],
      [0, 0.8],
      ['0.0', '0.2', '0.4', '0.6', '0.8'],
    ],
    ['tiny losses', [epoch(1, 0.012, 1)], [0, 0.015], ['0.000', '0.005', '0.010', '0.015']],
  ])('loss axis: %s', (_name, epochs, span, labels) => {
    const chart = lossChartGeometry(epochs, 5, UNIT);
    expect(chart.loss).toEqual(span);
    expect(chart.lossTicks.map((tick) => tick.label)).toEqual(labels);
    expect(chart.lossTicks[0]?.at).toBe(100);
  });

  it('accuracy ticks run 0–100% from the bottom to the top', () => {
    const chart = lossChartGeometry([], 5, UNIT);
    expect(chart.accuracyTicks.map((tick) => [tick.label, tick.at])).toEqual([
      ['0%', 100],
      ['25%', 75],
      ['50%', 50],
      ['75%', 25],
      ['100%', 0],
    ]);
  });

  it('places the plot inside the margins of the default frame', () => {
    const chart = lossChartGeometry([], 5);
    expect(chart.plot).toEqual({
      x0: CHART_FRAME.left,
      x1: CHART_FRAME.width - CHART_FRAME.right,
      y0: CHART_FRAME.top,
      y1: CHART_FRAME.height - CHART_FRAME.bottom,
    });
  });
});

describe('lossChartGeometry series', () => {
  it.each<
    [string, EpochReport[], number, Record<string, { runs: string[]; dots: { x: number; y: number }[] }>]
  >([
    ['no epochs: no lines', [], 5, {}],
    [
      'one epoch: dots, no polyline',
      [epoch(1, 1, 0.5)],
      3,
      { loss: { runs: [], dots: [{ x: 0, y: 0 }] }, accuracy: { runs: [], dots: [{ x: 0, y: 50 }] } },
    ],
    [
      'two epochs over the whole span',
      [epoch(1, 1, 0), epoch(3, 0.5, 1)],
      3,
      { loss: { runs: ['0,0 100,50'], dots: [] }, accuracy: { runs: ['0,100 100,0'], dots: [] } },
    ],
    [
      'fills left to right: half the planned epochs',
      [epoch(1, 1, 0.2), epoch(2, 0.5, 0.6)],
      3,
      { loss: { runs: ['0,0 50,50'], dots: [] }, accuracy: { runs: ['0,80 50,40'], dots: [] } },
    ],
    [
      'a NaN loss breaks the loss line only',
      [epoch(1, 1, 0), epoch(2, Number.NaN, 0.5), epoch(3, 0.5, 1)],
      3,
      {
        loss: {
          runs: [],
          dots: [
            { x: 0, y: 0 },
            { x: 100, y: 50 },
          ],
        },
        accuracy: { runs: ['0,100 50,50 100,0'], dots: [] },
      },
    ],
    [
      'validation lines when reported',
      [epoch(1, 1, 0, { valLoss: 1, valAccuracy: 0 }), epoch(2, 0.5, 1, { valLoss: 0.75, valAccuracy: 0.5 })],
      2,
      {
        loss: { runs: ['0,0 100,50'], dots: [] },
        accuracy: { runs: ['0,100 100,0'], dots: [] },
        valLoss: { runs: ['0,0 100,25'], dots: [] },
        valAccuracy: { runs: ['0,100 100,50'], dots: [] },
      },
    ],
    [
      'accuracy out of range is clamped to the axis',
      [epoch(1, 1, -0.5), epoch(2, 1, 1.5)],
      2,
      { loss: { runs: ['0,0 100,0'], dots: [] }, accuracy: { runs: ['0,100 100,0'], dots: [] } },
    ],
    [
      'a non-finite epoch number breaks the line',
      [epoch(1, 1, 0), epoch(Number.NaN, 1, 0), epoch(2, 1, 0)],
      2,
      {
        loss: {
          runs: [],
          dots: [
            { x: 0, y: 0 },
            { x: 100, y: 0 },
          ],
        },
        accuracy: {
          runs: [],
          dots: [
            { x: 0, y: 100 },
            { x: 100, y: 100 },
          ],
        },
      },
    ],
    [
      'coordinates rounded to two decimals',
      [epoch(1, 1, 0), epoch(2, 1, 1 / 3), epoch(4, 1, 0)],
      4,
      {
        loss: { runs: ['0,0 33.33,0 100,0'], dots: [] },
        accuracy: { runs: ['0,100 33.33,66.67 100,100'], dots: [] },
      },
    ],
  ])('%s', (_name, epochs, total, expected) => {
    const chart = lossChartGeometry(epochs, total, UNIT);
    const actual = Object.fromEntries(
      chart.series.map((line) => [line.key, { runs: line.runs, dots: line.dots }]),
    );
    expect(actual).toEqual(expected);
  });

  it('keeps a fixed order and labels: training lines first', () => {
    const chart = lossChartGeometry(
      [epoch(1, 1, 0, { valLoss: 1, valAccuracy: 0 }), epoch(2, 1, 0, { valLoss: 1, valAccuracy: 0 })],
      2,
    );
    expect(chart.series.map((line) => line.label)).toEqual([
      'loss',
      'train accuracy',
      'validation loss',
      'validation accuracy',
    ]);
  });
});

describe('hasValidation and lossChartSummary', () => {
  it.each<[EpochReport[], boolean]>([
    [[], false],
    [[epoch(1, 1, 0)], false],
    [[epoch(1, 1, 0, { valLoss: 1 })], true],
    [[epoch(1, 1, 0), epoch(2, 1, 0, { valAccuracy: 0.5 })], true],
  ])('hasValidation %#', (epochs, expected) => {
    expect(hasValidation(epochs)).toBe(expected);
  });

  it.each<[EpochReport[], number, string]>([
    [[], 20, 'Training loss and accuracy per epoch: 0 of 20 epochs.'],
    [
      [epoch(1, 1.386, 0.25), epoch(2, 0.5, 0.875)],
      20,
      'Training loss and accuracy per epoch, 2 of 20 epochs: loss 1.386 at epoch 1, 0.500 at epoch 2; training accuracy 25.0%, then 87.5%.',
    ],
    [
      [epoch(1, 1, 0.5, { valLoss: 0.9, valAccuracy: 0.6 })],
      1,
      'Training loss and accuracy per epoch, 1 of 1 epochs: loss 1.000 at epoch 1, 1.000 at epoch 1; training accuracy 50.0%, then 50.0%; validation loss 0.900, validation accuracy 60.0%.',
    ],
  ])('summary %#', (epochs, total, text) => {
    expect(lossChartSummary(epochs, total)).toBe(text);
  });
});
