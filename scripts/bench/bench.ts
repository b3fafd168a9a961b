/**
 * @file `npm run bench [-- --skip node|browser|spam|scaling] [--no-readme]`: measures every performance goal of
 * issue 13 (P1–P6) as a ratio in one run, Node and browser, on the tiny-bert fixture, on a generated model of
 * all-MiniLM-L6-v2's shape and on the default model (universal-sentence-encoder-lite): interleaved A/B rounds,
 * median and spread. Also the scaling table (150 / 600 / 2,400 / 9,600 texts: time and peak memory), model load
 * phases, and the prefix-cache speed-up of instruction prompts (prefix-cache.ts).
 *
 * Writes `bench-results/bench.json` (`{ goals: [{ id, ratio, target, pass, samples, … }], details }`) and rewrites
 * README.md between `<!-- bench:start -->` and `<!-- bench:end -->` from it. The bench is not a test: a goal that
 * fails is reported, never thrown. `scripts/bench/edit-cost.ts` (the cost of one edit with a 50,000-row upload)
 * stays a separate command: it takes minutes on its own.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { runBrowserBench, type BrowserFigures } from './browser-goals.ts';
import { ensureMiniLmShape } from './minilm-shape.ts';
import {
  runNodeBench,
  SCALING_SIZES,
  type BenchModel,
  type NodeFigures,
  type ScalingRow,
} from './node-goals.ts';
import { benchPrefixCache, type PrefixCacheBench } from './prefix-cache.ts';
import {
  BENCH_END,
  BENCH_START,
  renderBenchSection,
  replaceBenchBlock,
  type FigureTable,
} from './readme-table.ts';
import { round, type GoalResult } from './stats.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const OUTPUT = join(PROJECT_ROOT, 'bench-results/bench.json');
const README = join(PROJECT_ROOT, 'README.md');

type Part = 'node' | 'browser' | 'spam' | 'scaling';

function skipped(): Set<Part> {
  const parts = new Set<Part>();
  process.argv.forEach((argument, index) => {
    if (argument !== '--skip') return;
    for (const part of (process.argv[index + 1] ?? '').split(',')) {
      if (part === 'node' || part === 'browser' || part === 'spam' || part === 'scaling') parts.add(part);
      else throw new Error(`--skip takes node, browser, spam or scaling, not "${part}".`);
    }
  });
  return parts;
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

function mb(value: number): string {
  return `${Math.round(value)} MB`;
}

function scalingTable(rows: readonly ScalingRow[]): FigureTable {
  return {
    title: `Scaling: embedding mixed-length e-mails with ${rows[0]?.model ?? 'the fixture'} (time, throughput, peak memory)`,
    header: ['runtime', 'texts', 'time', 'texts/s', 'peak memory', 'before embedding'],
    rows: rows.map((row) => [
      row.runtime,
      row.texts.toLocaleString('en-US'),
      `${(row.ms / 1000).toFixed(1)} s`,
      row.textsPerSecond.toFixed(0),
      mb(row.peakMB),
      mb(row.baseMB),
    ]),
  };
}

function phaseTables(node: NodeFigures | undefined, browser: BrowserFigures | undefined): FigureTable[] {
  const tables: FigureTable[] = [];
  if (node && node.loadPhases.length > 0) {
    tables.push({
      title: 'Model load phases, Node (ms)',
      header: ['model', 'read weights', 'bare session', 'product load (all)', 'first embedding'],
      rows: node.loadPhases.map((row) => [
        row.model,
        row.readMs.toFixed(0),
        row.bareSessionMs.toFixed(0),
        row.encoderLoadMs.toFixed(0),
        row.warmUpMs.toFixed(0),
      ]),
    });
  }
  if (browser && browser.loadPhases.length > 0) {
    const cellOf = (row: Record<string, unknown>, key: string) =>
      typeof row[key] === 'number' ? (row[key] as number).toFixed(0) : '—';
    tables.push({
      title: 'Model load phases, browser worker (ms)',
      header: [
        'model',
        'fetch',
        'WASM + session',
        'tokenizer',
        'warm-up run',
        'product load (all)',
        'first embedding',
      ],
      rows: browser.loadPhases.map((row) => [
        String(row.model),
        cellOf(row, 'fetchMs'),
        cellOf(row, 'sessionMs'),
        cellOf(row, 'tokenizerMs'),
        cellOf(row, 'warmUpMs'),
        cellOf(row, 'encoderLoadMs'),
        cellOf(row, 'encoderWarmUpMs'),
      ]),
    });
  }
  if (browser?.longTasks && browser.longTasks.length > 0) {
    tables.push({
      title: 'Worst main-thread long tasks after first paint (scripted app runs)',
      header: ['duration', 'CPU', 'run', 'at', 'during'],
      rows: browser.longTasks.map((task) => [
        `${task.durationMs} ms`,
        typeof task.cpuMs === 'number' ? `${task.cpuMs} ms` : '?',
        String(task.run),
        `${(task.startMs / 1000).toFixed(1)} s`,
        task.phase,
      ]),
    });
  }
  return tables;
}

function prefixTable(results: readonly PrefixCacheBench[]): FigureTable {
  return {
    title: 'Instruction prompts: shared prefix KV cache reused vs none',
    header: [
      'model',
      'texts × labels',
      'prefix tokens',
      'with cache',
      'without',
      'speed-up',
      'max |Δ log p|',
    ],
    rows: results.map((result) => [
      result.model,
      `${result.texts} × ${result.labels}`,
      String(result.prefixTokens),
      `${result.withCache.medianMs.toFixed(0)} ms`,
      `${result.withoutCache.medianMs.toFixed(0)} ms`,
      `${result.speedUp.toFixed(2)}×`,
      result.maxAbsDifference.toExponential(1),
    ]),
  };
}

async function main(): Promise<void> {
  const skip = skipped();
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const fixtureFolder = join(PROJECT_ROOT, 'tests/fixtures/models/tiny-bert');
  if (!existsSync(join(fixtureFolder, 'onnx/model.onnx'))) {
    throw new Error(`Fixture model missing at ${fixtureFolder}: run \`npm run fixtures\` first.`);
  }
  log('generating the MiniLM-shaped model (once; kept in bench-results/models)');
  const miniLmFolder = (await ensureMiniLmShape(join(PROJECT_ROOT, 'bench-results/models'))).folder;
  const defaultFolder = join(PROJECT_ROOT, 'models/universal-sentence-encoder-lite');
  const fixture: BenchModel = { name: 'tiny-bert', folder: fixtureFolder, pooling: 'mean' };
  const miniLm: BenchModel = { name: 'minilm-shape', folder: miniLmFolder, pooling: 'mean' };
  const defaultModel: BenchModel | undefined = existsSync(join(defaultFolder, 'onnx/model.onnx'))
    ? { name: 'universal-sentence-encoder-lite', folder: defaultFolder, pooling: 'sentence' }
    : undefined;
  if (!defaultModel)
    log('the default model is missing (run `npm run models:builtin`): its goals are skipped');

  const goals: GoalResult[] = [];
  let node: NodeFigures | undefined;
  let browser: BrowserFigures | undefined;
  if (!skip.has('node')) {
    const result = await runNodeBench({
      projectRoot: PROJECT_ROOT,
      fixture,
      miniLm,
      ...(defaultModel ? { defaultModel } : {}),
      spam: !skip.has('spam'),
      scalingSizes: skip.has('scaling') ? [] : SCALING_SIZES,
      log,
    });
    goals.push(...result.goals);
    node = result.figures;
  }
  if (!skip.has('browser')) {
    const result = await runBrowserBench({
      projectRoot: PROJECT_ROOT,
      fixture,
      miniLm,
      ...(defaultModel ? { defaultModel } : {}),
      scalingSizes: skip.has('scaling') ? [] : SCALING_SIZES,
      log,
    });
    goals.push(...result.goals);
    browser = result.figures;
  }
  log('prefix cache (tiny-gpt2)');
  const prefixCache = [
    await benchPrefixCache('fixtures/tiny-gpt2', join(PROJECT_ROOT, 'tests/fixtures/models/tiny-gpt2'), {
      texts: 60,
      shotsPerClass: 1,
      warmupRuns: 1,
      timedRuns: 3,
    }),
  ];

  const cpuList = cpus();
  const elapsedS = round((performance.now() - started) / 1000, 0);
  const report: BenchReport = {
    date: new Date().toISOString(),
    elapsedSeconds: elapsedS,
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      totalMemoryGB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAverageAtStart: round(loadAtStart, 1),
      loadAverageAtEnd: round(loadavg()[0] ?? 0, 1),
    },
    skipped: [...skip],
    goals,
    details: { node, browser, prefixCache },
  };
  await writeOutputs(report);
}

/** What bench.json holds. */
interface BenchReport {
  date: string;
  elapsedSeconds: number;
  machine: { cpus: number; loadAverageAtStart: number; loadAverageAtEnd: number } & Record<string, unknown>;
  skipped: string[];
  goals: GoalResult[];
  details: { node?: NodeFigures; browser?: BrowserFigures; prefixCache: PrefixCacheBench[] };
  /** Present when the file was combined from runs of separate parts (`--combine`). */
  combinedFrom?: { date: string; elapsedSeconds: number; skipped: string[] }[];
}

/**
 * `--combine a.json b.json`: one report from bench.json files of runs that each skipped a part (e.g. `--skip
 * browser` and `--skip node` run side by side): goals measured in either (a measured one wins over an unmeasured
 * one of the same id), each part's figures from the run that measured them.
 */
async function combine(paths: string[]): Promise<void> {
  const reports = await Promise.all(
    paths.map(async (path) => JSON.parse(await readFile(path, 'utf8')) as BenchReport),
  );
  const byId = new Map<string, GoalResult>();
  for (const report of reports) {
    for (const goal of report.goals) {
      const known = byId.get(goal.id);
      if (known === undefined || (known.ratio === null && goal.ratio !== null)) byId.set(goal.id, goal);
    }
  }
  const first = reports[0];
  if (!first) throw new Error('--combine needs bench.json files to combine.');
  const node = reports.find((report) => report.details.node)?.details.node;
  const browser = reports.find((report) => report.details.browser)?.details.browser;
  const skipped = ['node', 'browser', 'spam', 'scaling'].filter((part) =>
    reports.every((report) => report.skipped.includes(part)),
  );
  await writeOutputs({
    date:
      reports
        .map((report) => report.date)
        .sort()
        .at(-1) ?? first.date,
    elapsedSeconds: Math.max(...reports.map((report) => report.elapsedSeconds)),
    machine: {
      ...first.machine,
      loadAverageAtStart: Math.min(...reports.map((report) => report.machine.loadAverageAtStart)),
      loadAverageAtEnd: Math.max(...reports.map((report) => report.machine.loadAverageAtEnd)),
    },
    skipped,
    goals: [...byId.values()],
    details: { node, browser, prefixCache: reports.at(-1)?.details.prefixCache ?? [] },
    combinedFrom: reports.map((report) => ({
      date: report.date,
      elapsedSeconds: report.elapsedSeconds,
      skipped: report.skipped,
    })),
  });
}

/** Writes bench.json, prints the README block, and rewrites it in README.md unless `--no-readme`. */
async function writeOutputs(report: BenchReport): Promise<void> {
  await mkdir(join(PROJECT_ROOT, 'bench-results'), { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${relative(process.cwd(), OUTPUT)} after ${report.elapsedSeconds} s`);
  const { node, browser, prefixCache } = report.details;
  const scaling = [...(node?.scaling ?? []), ...(browser?.scaling ?? [])];
  const tables = [
    ...(scaling.length > 0 ? [scalingTable(scaling)] : []),
    ...phaseTables(node, browser),
    ...(prefixCache.length > 0 ? [prefixTable(prefixCache)] : []),
  ];
  const runs = report.combinedFrom
    ? `${report.combinedFrom.length} runs of separate parts at the same time, the longest ${report.elapsedSeconds} s`
    : `${report.elapsedSeconds} s in all`;
  const provenance =
    `Generated by \`npm run bench\` from \`bench-results/bench.json\` (${report.date.slice(0, 10)}, ` +
    `${report.machine.cpus} cores, load average ${report.machine.loadAverageAtStart}–` +
    `${report.machine.loadAverageAtEnd} while other jobs shared the machine, ${runs}` +
    `${report.skipped.length > 0 ? `; not run: ${report.skipped.join(', ')}` : ''}). ` +
    'Each ratio is the median of interleaved A/B rounds; the range is the smallest and largest round.';
  const section = renderBenchSection(report.goals, tables, provenance);
  console.log(section);
  if (!process.argv.includes('--no-readme')) {
    const readme = await readFile(README, 'utf8');
    if (!readme.includes(BENCH_START) || !readme.includes(BENCH_END)) {
      log(`README.md has no ${BENCH_START} block: the table is printed above only`);
    } else {
      await writeFile(README, replaceBenchBlock(readme, section));
      log('rewrote the bench table in README.md');
    }
  }
}

function entry(): Promise<void> {
  const index = process.argv.indexOf('--combine');
  if (index < 0) return main();
  return combine(process.argv.slice(index + 1).filter((argument) => !argument.startsWith('--')));
}

entry().catch((error: unknown) => {
  console.error(
    `error: ${error instanceof Error ? (process.env.DEBUG ? error.stack : error.message) : String(error)}`,
  );
  process.exitCode = 1;
});
