/**
 * @file The report of an experiment, as strings: a self-contained HTML page (inline SVG charts, print
 * stylesheet, no script, nothing fetched) and the same content as Markdown, plus a CSV of every test example's
 * predictions. Pure: the browser downloads what these return and `npm run experiment -- --report` writes it.
 * Every string a user wrote (names, labels, texts, settings) is escaped for the format it lands in.
 */
import { buildArticleTable } from '../answer/article-table.ts';
import { answerQuestion, describeComparison, formatP } from '../answer/verdict.ts';
import { getBuiltinDataset } from '../dataset/builtin/registry.ts';
import type { DatasetRef, Experiment, ExperimentResults, RunResult } from '../experiment/types.ts';
import { csvField, escapeHtml, escapeMarkdown, markdownCodeBlock } from './escape.ts';
import { confusionSvg, curveSummary, learningCurveSvg, scoresChartSvg } from './svg.ts';
import { groupedInteger } from '../format.ts';

/** Where the data came from, as the report states it. */
export interface DatasetProvenance {
  name: string;
  source?: string;
  license?: string;
  summary?: string;
}

/** What a report is made from. */
export interface ReportInput {
  results: ExperimentResults;
  /** The experiment that produced the results: its settings are printed (inline rows elided). */
  experiment?: Experiment;
  dataset?: DatasetProvenance;
  /** When the report was made (ISO 8601); omitted from the report when not given. */
  generatedAt?: string;
  /** Where it ran, e.g. "npm run experiment (Node)" or "the browser". */
  producedBy?: string;
}

/** The provenance of a dataset reference: a built-in's source and license, a file's path, an upload's name. */
export function datasetProvenance(ref: DatasetRef): DatasetProvenance {
  if ('builtin' in ref) {
    try {
      const builtin = getBuiltinDataset(ref.builtin);
      return {
        name: builtin.title,
        source: builtin.source,
        license: builtin.license,
        summary: builtin.provenance.summary,
      };
    } catch {
      return { name: ref.builtin };
    }
  }
  if ('rows' in ref) {
    return {
      name: ref.name,
      summary: `Uploaded file, ${ref.rows.length} rows stored inside the experiment (text column "${ref.text}", label column "${ref.label}").`,
    };
  }
  return {
    name: ref.path,
    summary: `File ${ref.path} (text column "${ref.text}", label column "${ref.label}").`,
  };
}

/** The experiment's settings as JSON, with uploaded rows replaced by their count (the data is not the settings). */
function settingsJson(experiment: Experiment): string {
  const dataset =
    'rows' in experiment.dataset
      ? {
          ...experiment.dataset,
          rows: `[${experiment.dataset.rows.length} rows stored in the experiment file]`,
        }
      : experiment.dataset;
  return JSON.stringify({ ...experiment, dataset }, null, 2);
}

function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function withInterval(value: number, ci: [number, number] | undefined): string {
  return ci ? `${pct(value)} [${pct(ci[0])}, ${pct(ci[1])}]` : pct(value);
}

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${groupedInteger(value)} ms`;
}

/** The rows of the runs table, as plain strings (escaped by each format). */
function runRows(results: ExperimentResults): string[][] {
  const testSize = Math.max(1, results.split.test.length);
  return results.runs.map((run) => [
    run.name,
    run.kind === 'prompt' ? 'prompt' : 'trained head',
    withInterval(run.accuracy, run.accuracyCI),
    withInterval(run.macroF1, run.macroF1CI),
    ms(run.cost.adaptMs),
    ms(run.cost.inferMs / testSize),
    groupedInteger(run.cost.labeledExamples),
    groupedInteger(run.cost.trainedParameters),
  ]);
}

const RUN_HEADERS = [
  'Run',
  'Method',
  'Accuracy [95% CI]',
  'Macro-F1 [95% CI]',
  'Time to adapt',
  'Inference per example',
  'Labeled examples',
  'Parameters changed',
];

/** Every pair's McNemar numbers and words. */
function comparisonRows(
  results: ExperimentResults,
): { a: string; b: string; counts: string; p: string; words: string }[] {
  const testSize = Math.max(1, results.split.test.length);
  return (results.comparisons ?? []).map((comparison) => ({
    a: comparison.a,
    b: comparison.b,
    counts: `${comparison.onlyA} / ${comparison.onlyB}`,
    p: formatP(comparison.p),
    words: describeComparison(comparison, testSize).text,
  }));
}

function curveRows(results: ExperimentResults): string[][] {
  const curve = results.learningCurve;
  if (!curve) return [];
  return curveSummary(curve).map((entry) => [
    String(entry.shots),
    pct(entry.mean),
    pct(entry.sd),
    String(entry.n),
  ]);
}

function splitText(results: ExperimentResults): string {
  const { split, labels } = results;
  return (
    `${split.test.length} test examples (${pct(split.testFraction)} of each class, seed ${split.seed}), ` +
    `${split.train} for training; ${labels.length} labels: ${labels.join(', ')}.`
  );
}

// ---------------------------------------------------------------- Markdown

function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** The report as Markdown (GitHub-flavoured tables; user text escaped). */
export function reportMarkdown(input: ReportInput): string {
  const { results } = input;
  const out: string[] = [];
  out.push(`# ${escapeMarkdown(results.name)}: prompt or fine-tune?`, '');
  const made =
    `Model: ${escapeMarkdown(results.model)}.` +
    (input.generatedAt
      ? ` Made ${escapeMarkdown(input.generatedAt)}${input.producedBy ? ` with ${escapeMarkdown(input.producedBy)}` : ''}.`
      : '');
  out.push(made, '');
  out.push('## The answer', '', escapeMarkdown(answerQuestion(results).text), '');
  out.push('## Runs', '', escapeMarkdown(`On the same ${splitText(results)}`), '');
  out.push(markdownTable(RUN_HEADERS, runRows(results)), '');
  out.push(
    '## Is the difference real? (McNemar)',
    '',
    'For every pair: test examples only the first got right / only the second got right, and the exact two-sided p-value.',
    '',
  );
  const comparisons = comparisonRows(results);
  if (comparisons.length === 0) out.push('Only one run: nothing to compare.', '');
  else {
    out.push(
      markdownTable(
        ['A', 'B', 'Only A / only B right', 'p', 'What it means'],
        comparisons.map((row) => [row.a, row.b, row.counts, row.p, row.words]),
      ),
      '',
    );
  }
  out.push('## Prompt engineering vs fine-tuning, measured here', '');
  out.push(
    markdownTable(
      ['Aspect', 'Prompt engineering', 'Fine-tuning'],
      buildArticleTable(results).map((row) => [row.title, row.prompt, row.fineTune]),
    ),
    '',
  );
  const curve = results.learningCurve;
  if (curve) {
    out.push(
      '## Learning curve',
      '',
      escapeMarkdown(
        `Head "${curve.head}" trained on k labeled examples per class, ${curve.seeds} seeds each; ` +
          (curve.crossover === null
            ? 'it never reached the best prompt’s accuracy.'
            : `it reaches the best prompt’s accuracy from k = ${curve.crossover} (the crossover).`),
      ),
      '',
      markdownTable(['Examples per class', 'Mean accuracy', 'SD', 'Seeds'], curveRows(results)),
      '',
    );
  }
  out.push('## Confusion matrices', '', 'Rows: true label; columns: predicted label.', '');
  for (const run of results.runs) {
    out.push(`### ${escapeMarkdown(run.name)}`, '');
    out.push(
      markdownTable(
        ['true \\ predicted', ...results.labels],
        run.confusion.map((row, i) => [results.labels[i] ?? '', ...row.map(String)]),
      ),
      '',
    );
  }
  out.push('## Dataset', '');
  const dataset = input.dataset;
  if (dataset) {
    out.push(`**${escapeMarkdown(dataset.name)}**`, '');
    if (dataset.source) out.push(`- Source: ${escapeMarkdown(dataset.source)}`);
    if (dataset.license) out.push(`- License: ${escapeMarkdown(dataset.license)}`);
    if (dataset.summary) out.push(`- Provenance: ${escapeMarkdown(dataset.summary)}`);
    out.push('');
  }
  out.push(escapeMarkdown(`Split: ${splitText(results)}`), '');
  if (input.experiment) {
    out.push('## Settings', '', 'The experiment file (`npm run experiment` reruns it):', '');
    out.push(markdownCodeBlock(settingsJson(input.experiment), 'json'), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------- HTML

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; color: #111; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.75rem 0; } th, td { border: 1px solid #bbb; padding: 0.3rem 0.5rem; vertical-align: top; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.answer { font-size: 1.1rem; padding: 0.75rem 1rem; border-left: 5px solid #0072B2; background: #f2f7fb; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } .charts svg { width: 19rem; height: auto; }
svg.wide { width: 100%; max-width: 44rem; height: auto; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
.muted { color: #555; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; } table, svg, figure { break-inside: avoid; }
  .answer { background: none; }
  pre { white-space: pre-wrap; }
}`;

function htmlTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: (column: number) => boolean,
): string {
  const head = headers.map((cell) => `<th scope="col">${escapeHtml(cell)}</th>`).join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells
          .map((cell, column) =>
            column === 0
              ? `<th scope="row">${escapeHtml(cell)}</th>`
              : `<td${numeric(column) ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The report as one self-contained HTML page: no script, no external resource, charts as inline SVG. */
export function reportHtml(input: ReportInput): string {
  const { results } = input;
  const title = `${results.name}: prompt or fine-tune?`;
  const body: string[] = [];
  body.push(`<h1>${escapeHtml(title)}</h1>`);
  const made = [
    `Model: ${escapeHtml(results.model)}.`,
    input.generatedAt
      ? `Made ${escapeHtml(input.generatedAt)}${input.producedBy ? ` with ${escapeHtml(input.producedBy)}` : ''}.`
      : '',
  ].join(' ');
  body.push(`<p class="muted">${made.trim()}</p>`);
  body.push(
    '<h2>The answer</h2>',
    `<p class="answer" data-choice="${answerQuestion(results).choice}">${escapeHtml(answerQuestion(results).text)}</p>`,
  );
  body.push('<h2>Runs</h2>', `<p>On the same ${escapeHtml(splitText(results))}</p>`);
  body.push(htmlTable(RUN_HEADERS, runRows(results), (column) => column >= 2));
  body.push(
    `<figure>${scoresChartSvg(results.runs).replace('<svg ', '<svg class="wide" ')}<figcaption class="muted">Dots: accuracy (circles) and macro-F1 (squares); lines: their 95% bootstrap intervals.</figcaption></figure>`,
  );
  body.push(
    '<h2>Is the difference real? (McNemar)</h2>',
    '<p>For every pair: test examples only the first got right / only the second got right, and the exact two-sided p-value.</p>',
  );
  const comparisons = comparisonRows(results);
  body.push(
    comparisons.length === 0
      ? '<p>Only one run: nothing to compare.</p>'
      : htmlTable(
          ['A', 'B', 'Only A / only B right', 'p', 'What it means'],
          comparisons.map((row) => [row.a, row.b, row.counts, row.p, row.words]),
          (column) => column === 2 || column === 3,
        ),
  );
  body.push('<h2>Prompt engineering vs fine-tuning, measured here</h2>');
  body.push(
    htmlTable(
      ['Aspect', 'Prompt engineering', 'Fine-tuning'],
      buildArticleTable(results).map((row) => [row.title, row.prompt, row.fineTune]),
      () => false,
    ),
  );
  const curve = results.learningCurve;
  if (curve) {
    const prompts = results.runs.filter((run) => run.kind === 'prompt');
    body.push(
      '<h2>Learning curve</h2>',
      `<p>${escapeHtml(
        `Head "${curve.head}" trained on k labeled examples per class, ${curve.seeds} seeds each (dots; line and band: mean ± sd); ` +
          'dashed lines: the prompts, with their 95% intervals. ' +
          (curve.crossover === null
            ? 'The head never reached the best prompt’s accuracy.'
            : `The head reaches the best prompt’s accuracy from k = ${curve.crossover} (the crossover).`),
      )}</p>`,
      `<figure>${learningCurveSvg(curve, prompts).replace('<svg ', '<svg class="wide" ')}</figure>`,
      htmlTable(
        ['Examples per class', 'Mean accuracy', 'SD', 'Seeds'],
        curveRows(results),
        (column) => column > 0,
      ),
    );
  }
  body.push(
    '<h2>Confusion matrices</h2>',
    '<p>Rows: true label; columns: predicted label; darker = larger share of the row; the diagonal (right answers) is outlined.</p>',
  );
  body.push(
    `<div class="charts">${results.runs.map((run) => `<figure>${confusionSvg(results.labels, run.confusion, run.name)}</figure>`).join('')}</div>`,
  );
  body.push('<h2>Dataset</h2>');
  const dataset = input.dataset;
  if (dataset) {
    const facts = [
      dataset.source ? `<li>Source: ${escapeHtml(dataset.source)}</li>` : '',
      dataset.license ? `<li>License: ${escapeHtml(dataset.license)}</li>` : '',
      dataset.summary ? `<li>Provenance: ${escapeHtml(dataset.summary)}</li>` : '',
    ].join('');
    body.push(`<p><strong>${escapeHtml(dataset.name)}</strong></p>`, facts ? `<ul>${facts}</ul>` : '');
  }
  body.push(`<p>Split: ${escapeHtml(splitText(results))}</p>`);
  if (input.experiment) {
    body.push(
      '<h2>Settings</h2>',
      '<p>The experiment file (<code>npm run experiment</code> reruns it):</p>',
      `<pre>${escapeHtml(settingsJson(input.experiment))}</pre>`,
    );
  }
  return (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(title)}</title>\n<style>${STYLE}\n</style>\n</head>\n<body>\n` +
    `${body.filter(Boolean).join('\n')}\n</body>\n</html>\n`
  );
}

// ---------------------------------------------------------------- CSV

/**
 * Every test example's predictions as CSV: id, text, true label, then per run its predicted label, whether it
 * is right, and the score of the predicted label. Columns are named after the runs (escaped as CSV fields).
 */
export function predictionsCsv(results: ExperimentResults): string {
  const byRun = results.runs.map(
    (run: RunResult) => new Map(run.predictions.map((prediction) => [prediction.id, prediction])),
  );
  const header = ['id', 'text', 'label'];
  for (const run of results.runs)
    header.push(`${run.name}: predicted`, `${run.name}: correct`, `${run.name}: score`);
  const lines = [header.map(csvField).join(',')];
  for (const example of results.split.test) {
    const cells: (string | number | boolean)[] = [example.id, example.text, example.label];
    for (const predictions of byRun) {
      const prediction = predictions.get(example.id);
      const score =
        prediction && Object.hasOwn(prediction.scores, prediction.label)
          ? prediction.scores[prediction.label]
          : undefined;
      cells.push(
        prediction?.label ?? '',
        prediction ? prediction.label === example.label : '',
        score === undefined ? '' : Number(score.toFixed(6)),
      );
    }
    lines.push(cells.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
