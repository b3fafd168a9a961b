/**
 * @file Charts as standalone SVG strings for the report: runs' accuracy and macro-F1 with their 95% intervals,
 * a confusion matrix as a heatmap with counts, and a learning curve with the prompts as reference lines. Every
 * user string is escaped; colours come from a colour-blind-safe sequential palette and every value is also
 * written as text, so the charts read in grey and on paper.
 */
import type { LearningCurveResult, RunResult } from '../experiment/types.ts';
import { escapeHtml } from './escape.ts';

/** ColorBrewer "Blues" (sequential, colour-blind safe, monotonic lightness): light for 0, dark for the maximum. */
const BLUES = [
  '#f7fbff',
  '#deebf7',
  '#c6dbef',
  '#9ecae1',
  '#6baed6',
  '#4292c6',
  '#2171b5',
  '#08519c',
  '#08306b',
];

/** Okabe–Ito colours for series (safe for the common colour-vision deficiencies). */
export const SERIES_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

function hexToRgb(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** WCAG relative luminance of an sRGB colour given as 0–255 channels. */
export function relativeLuminance([r, g, b]: readonly [number, number, number]): number {
  const linear = (channel: number): number => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG contrast ratio between two relative luminances (1 to 21). */
export function contrastRatio(a: number, b: number): number {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/**
 * The fill of a heatmap cell holding `fraction` (0…1) of its row, and a text colour with enough contrast on it:
 * black or white, whichever contrasts more (one of them always reaches WCAG's 4.5:1, on any fill).
 * @throws RangeError when the fraction is not within 0…1.
 */
export function heatColour(fraction: number): { fill: string; text: string } {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`A fraction is within 0…1, got ${fraction}.`);
  const position = fraction * (BLUES.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, BLUES.length - 1);
  const [r0, g0, b0] = hexToRgb(BLUES[below] as string);
  const [r1, g1, b1] = hexToRgb(BLUES[above] as string);
  const t = position - below;
  const mix = (x: number, y: number) => Math.round(x + (y - x) * t);
  const rgb: [number, number, number] = [mix(r0, r1), mix(g0, g1), mix(b0, b1)];
  const fill = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
  const luminance = relativeLuminance(rgb);
  const onWhite = contrastRatio(luminance, 1);
  const onBlack = contrastRatio(luminance, 0);
  return { fill, text: onWhite > onBlack ? '#ffffff' : '#000000' };
}

function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** Cuts a label for a chart axis (the full text is in the SVG title). */
function shortLabel(text: string, max = 28): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Each run's accuracy and macro-F1 as dots on a 0–100% scale, each with its 95% interval as a whisker.
 */
export function scoresChartSvg(runs: readonly RunResult[]): string {
  const labelWidth = 210;
  const plotWidth = 420;
  const rowHeight = 34;
  const top = 30;
  const height = top + runs.length * rowHeight + 30;
  const x = (value: number) => labelWidth + value * plotWidth;
  const parts: string[] = [];
  for (let tick = 0; tick <= 10; tick += 2) {
    const at = x(tick / 10);
    parts.push(
      `<line x1="${at}" y1="${top - 6}" x2="${at}" y2="${height - 24}" stroke="#ccc" />`,
      `<text x="${at}" y="${height - 8}" text-anchor="middle" font-size="11">${tick * 10}%</text>`,
    );
  }
  parts.push(
    `<circle cx="${labelWidth}" cy="12" r="4" fill="${SERIES_COLOURS[0]}" />`,
    `<text x="${labelWidth + 8}" y="16" font-size="11">accuracy</text>`,
    `<rect x="${labelWidth + 80}" y="8" width="8" height="8" fill="${SERIES_COLOURS[1]}" />`,
    `<text x="${labelWidth + 92}" y="16" font-size="11">macro-F1 (lines: 95% intervals)</text>`,
  );
  runs.forEach((run, i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 4}" text-anchor="end" font-size="12"><title>${escapeHtml(run.name)}</title>${escapeHtml(shortLabel(run.name))}</text>`,
    );
    const series = [
      { value: run.accuracy, ci: run.accuracyCI, dy: -5, colour: SERIES_COLOURS[0], square: false },
      { value: run.macroF1, ci: run.macroF1CI, dy: 6, colour: SERIES_COLOURS[1], square: true },
    ];
    for (const { value, ci, dy, colour, square } of series) {
      if (ci) {
        parts.push(
          `<line x1="${x(ci[0])}" y1="${y + dy}" x2="${x(ci[1])}" y2="${y + dy}" stroke="${colour}" stroke-width="2" />`,
        );
      }
      parts.push(
        square
          ? `<rect x="${x(value) - 4}" y="${y + dy - 4}" width="8" height="8" fill="${colour}" />`
          : `<circle cx="${x(value)}" cy="${y + dy}" r="4.5" fill="${colour}" />`,
      );
    }
  });
  const description = runs
    .map((run) => `${run.name}: accuracy ${pct(run.accuracy)}, macro-F1 ${pct(run.macroF1)}`)
    .join('; ');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${labelWidth + plotWidth + 20} ${height}" role="img" ` +
    `aria-label="${escapeHtml(`Scores with 95% intervals. ${description}`)}">${parts.join('')}</svg>`
  );
}

/** A confusion matrix as a heatmap: rows true label, columns predicted, each cell its count, shaded by row share. */
export function confusionSvg(
  labels: readonly string[],
  confusion: readonly (readonly number[])[],
  title: string,
): string {
  const cell = 44;
  const left = 110;
  const top = 64;
  const size = labels.length * cell;
  const parts: string[] = [
    `<text x="${left + size / 2}" y="14" text-anchor="middle" font-size="12" font-weight="bold">${escapeHtml(shortLabel(title, 40))}</text>`,
    `<text x="${left + size / 2}" y="30" text-anchor="middle" font-size="11">predicted</text>`,
    `<text x="12" y="${top + size / 2}" font-size="11" transform="rotate(-90 12 ${top + size / 2})" text-anchor="middle">true</text>`,
  ];
  labels.forEach((label, j) => {
    parts.push(
      `<text x="${left + j * cell + cell / 2}" y="${top - 8}" text-anchor="middle" font-size="11"><title>${escapeHtml(label)}</title>${escapeHtml(shortLabel(label, 7))}</text>`,
    );
  });
  confusion.forEach((row, i) => {
    const total = row.reduce((sum, value) => sum + value, 0);
    parts.push(
      `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11"><title>${escapeHtml(labels[i] ?? '')}</title>${escapeHtml(shortLabel(labels[i] ?? '', 14))}</text>`,
    );
    row.forEach((count, j) => {
      const { fill, text } = heatColour(total === 0 ? 0 : count / total);
      const diagonal = i === j;
      parts.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="${diagonal ? '#000' : '#fff'}" stroke-width="${diagonal ? 2 : 1}" />`,
        `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 5}" text-anchor="middle" font-size="14" fill="${text}"${diagonal ? ' font-weight="bold"' : ''}>${count}</text>`,
      );
    });
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${left + size + 10} ${top + size + 10}" role="img" ` +
    `aria-label="${escapeHtml(`Confusion matrix of ${title}`)}">${parts.join('')}</svg>`
  );
}

/** Mean and standard deviation of a non-empty list (sample sd; 0 for one value). */
function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.length < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, sd: Math.sqrt(variance) };
}

/** Per shots per class, the mean and sd of the head's accuracy over the seeds. */
export function curveSummary(
  curve: LearningCurveResult,
): { shots: number; mean: number; sd: number; n: number }[] {
  return curve.shotsPerClass
    .map((shots) => {
      const values = curve.points.filter((point) => point.shots === shots).map((point) => point.accuracy);
      return values.length === 0 ? undefined : { shots, n: values.length, ...meanSd(values) };
    })
    .filter((entry) => entry !== undefined);
}

/**
 * The learning curve: the head's accuracy per shots per class (each seed a dot, mean ± sd as a line and band),
 * every prompt as a dashed horizontal line with its 95% interval as a band, and the crossover marked.
 */
export function learningCurveSvg(curve: LearningCurveResult, prompts: readonly RunResult[]): string {
  const left = 50;
  const width = 480;
  const top = 20;
  const plotHeight = 240;
  const shots = curve.shotsPerClass;
  const x = (index: number) => left + (shots.length === 1 ? width / 2 : (index / (shots.length - 1)) * width);
  const y = (value: number) => top + (1 - value) * plotHeight;
  const parts: string[] = [];
  for (let tick = 0; tick <= 10; tick += 2) {
    parts.push(
      `<line x1="${left}" y1="${y(tick / 10)}" x2="${left + width}" y2="${y(tick / 10)}" stroke="#ddd" />`,
      `<text x="${left - 6}" y="${y(tick / 10) + 4}" text-anchor="end" font-size="11">${tick * 10}%</text>`,
    );
  }
  shots.forEach((k, i) => {
    parts.push(
      `<text x="${x(i)}" y="${top + plotHeight + 16}" text-anchor="middle" font-size="11">${k}</text>`,
    );
  });
  parts.push(
    `<text x="${left + width / 2}" y="${top + plotHeight + 34}" text-anchor="middle" font-size="11">labeled examples per class</text>`,
  );
  prompts.forEach((run, i) => {
    const colour = SERIES_COLOURS[(i + 1) % SERIES_COLOURS.length];
    if (run.accuracyCI) {
      parts.push(
        `<rect x="${left}" y="${y(run.accuracyCI[1])}" width="${width}" height="${Math.max(0, y(run.accuracyCI[0]) - y(run.accuracyCI[1]))}" fill="${colour}" fill-opacity="0.12" />`,
      );
    }
    parts.push(
      `<line x1="${left}" y1="${y(run.accuracy)}" x2="${left + width}" y2="${y(run.accuracy)}" stroke="${colour}" stroke-dasharray="6 4" stroke-width="1.5" />`,
      `<text x="${left + width + 4}" y="${y(run.accuracy) + 4}" font-size="11" fill="${colour}"><title>${escapeHtml(run.name)}</title>${escapeHtml(shortLabel(run.name, 18))}</text>`,
    );
  });
  const summary = curveSummary(curve);
  const index = new Map(shots.map((k, i) => [k, i]));
  const head = SERIES_COLOURS[0];
  if (summary.length > 0) {
    const upper = summary.map(
      (entry) => `${x(index.get(entry.shots) ?? 0)},${y(Math.min(1, entry.mean + entry.sd))}`,
    );
    const lower = summary
      .map((entry) => `${x(index.get(entry.shots) ?? 0)},${y(Math.max(0, entry.mean - entry.sd))}`)
      .reverse();
    parts.push(
      `<polygon points="${[...upper, ...lower].join(' ')}" fill="${head}" fill-opacity="0.18" />`,
      `<polyline points="${summary.map((entry) => `${x(index.get(entry.shots) ?? 0)},${y(entry.mean)}`).join(' ')}" fill="none" stroke="${head}" stroke-width="2.5" />`,
    );
  }
  for (const point of curve.points) {
    const i = index.get(point.shots);
    if (i !== undefined)
      parts.push(`<circle cx="${x(i)}" cy="${y(point.accuracy)}" r="3" fill="${head}" fill-opacity="0.6" />`);
  }
  if (curve.crossover !== null) {
    const i = index.get(curve.crossover);
    if (i !== undefined) {
      parts.push(
        `<line x1="${x(i)}" y1="${top}" x2="${x(i)}" y2="${top + plotHeight}" stroke="#000" stroke-dasharray="2 3" />`,
        `<text x="${x(i) + 4}" y="${top + 12}" font-size="11" font-weight="bold">crossover: ${curve.crossover} per class</text>`,
      );
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${left + width + 130} ${top + plotHeight + 44}" role="img" ` +
    `aria-label="${escapeHtml(`Learning curve of ${curve.head}: accuracy by labeled examples per class`)}">${parts.join('')}</svg>`
  );
}
