/**
 * @file `npx tsx scripts/perf/wasm-tier-up.ts [--model models/universal-sentence-encoder-lite] [--runs 40]
 * [--top 12] [--raw] [--optimization LEVEL]`: which of onnxruntime-web's WebAssembly functions V8 optimises while
 * a model is loaded and run, and what each costs to optimise.
 *
 * V8 first compiles a WebAssembly function quickly (Liftoff) and recompiles it with its optimising compiler
 * (TurboFan) on background threads once the function has run enough. In the browser those compiler threads share
 * the cores with the page, so an optimisation that takes a second slows the page down on a 2-core machine
 * (docs/performance.md, round 7). Node runs the same onnxruntime-web module with the same function numbers, so
 * this runs the model's `onnx/model.onnx` there, prepared as the app prepares it (layer outputs added, the
 * attention mask's Casts replaced; `--raw`: the file as it is), one onnxruntime thread, in a child `node
 * --trace-wasm-compilation-times`: first the session's creation, then `--runs` batches of 8 built-in texts (padded
 * to lengths 8–40 tokens, as the app's batches are), and lists the optimised functions, the largest compile
 * first, each with its code size and the phase that made it hot. Function numbers are those of the
 * onnxruntime-web build in node_modules (no names: the build has no name section); a new function in the list
 * after a model change is the one to look for. `--optimization disabled|basic|extended|all` sets onnxruntime's
 * graph optimisation level for the session; by default it is the one the file asks for, as in the app (else
 * `all`, onnxruntime's default): the optimiser's code is much of what creating a session makes hot
 * (docs/performance.md, round 8). Not a test: nothing here asserts a time.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { exposeHiddenStates } from '../../src/lib/ml/layer-access.ts';
import {
  GRAPH_OPTIMIZATION_LEVELS,
  graphOptimizationOf,
  isGraphOptimizationLevel,
  type GraphOptimizationLevel,
} from '../../src/lib/ml/model-config.ts';
import { modelMetadata } from '../../src/lib/ml/onnx-graph/index.ts';
import { loadBatchTokenizer } from '../../src/lib/ml/transformers-adapter.ts';
import { encoderFeeds } from '../bench/feeds.ts';
import { benchTexts } from '../bench/texts.ts';
import { PROJECT_ROOT } from './page-perf.ts';
import { collectTierUps, PHASE_MARK, type TierUp } from './tier-up-log.ts';

const BATCH = 8;

/** What the child prints once a phase's work is done; it then waits for a line on stdin before going on. */
const SETTLE_MARK = '@@settle';

/** Resolves on the next line the parent writes to the child's stdin. */
function nextLine(): Promise<void> {
  return new Promise((resolveLine) => process.stdin.once('data', () => resolveLine()));
}

/**
 * The child: creates the session, then runs the batches. After each phase it waits until the parent has seen no
 * compile finish for a while, so that every optimisation a phase started is counted in that phase.
 */
async function child(
  folder: string,
  runs: number,
  raw: boolean,
  graphOptimizationLevel: GraphOptimizationLevel,
): Promise<void> {
  ort.env.wasm.numThreads = 1;
  const tokenizer = await loadBatchTokenizer(folder);
  const { texts } = benchTexts('spam-assassin', BATCH * runs);
  console.log(`${PHASE_MARK}create session`);
  const file = await readFile(join(folder, 'onnx/model.onnx'));
  // As the app prepares it (layer outputs added, the attention mask's Casts replaced), unless --raw.
  const bytes = raw ? file : exposeHiddenStates(file, undefined, folder).bytes;
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel });
  console.log(SETTLE_MARK);
  await nextLine();
  console.log(`${PHASE_MARK}runs`);
  for (let run = 0; run < runs; run++) {
    const maxTokens = 8 + (run % 5) * 8;
    const batch = tokenizer.tokenize(texts.slice(run * BATCH, (run + 1) * BATCH), maxTokens);
    await session.run(
      encoderFeeds(batch, session.inputNames, (values, dims) => new ort.Tensor('int64', values, dims)),
    );
  }
  console.log(SETTLE_MARK);
  await nextLine();
  await session.release();
  process.exit(0);
}

/** A phase is over once its work is done and no compile has finished for this long. */
const QUIET_MS = 2000;

/** Runs the child under the trace flag and returns its TurboFan compiles. */
export async function measureTierUps(
  folder: string,
  runs: number,
  raw = false,
  optimization: GraphOptimizationLevel = 'all',
): Promise<TierUp[]> {
  const script = fileURLToPath(import.meta.url);
  // V8 prints through C's stdio, which holds a pipe's output in blocks: `stdbuf -oL` (coreutils) makes it write
  // each line as it is printed, in order with the phase marks.
  const child = spawn(
    'stdbuf',
    [
      '-oL',
      process.execPath,
      '--import',
      'tsx',
      '--trace-wasm-compilation-times',
      script,
      '--child',
      folder,
      String(runs),
      raw ? 'raw' : 'prepared',
      optimization,
    ],
    { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let output = '';
  let settles = 0;
  let quietTimer: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolvePromise, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      // Once the child has done a phase's work, every new line (a compile finishing) restarts the wait.
      if (output.split(SETTLE_MARK).length - 1 > settles) {
        clearTimeout(quietTimer);
        quietTimer = setTimeout(() => {
          settles += 1;
          child.stdin.write('\n');
        }, QUIET_MS);
      }
    });
    child.on('error', (error) =>
      reject(
        new Error(`Could not start stdbuf (GNU coreutils), which this measurement needs: ${error.message}`),
      ),
    );
    child.on('exit', (code) => {
      clearTimeout(quietTimer);
      if (code === 0) resolvePromise();
      else reject(new Error(`The measuring process ended with code ${code}.`));
    });
  });
  await finished;
  return collectTierUps(output);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/universal-sentence-encoder-lite' },
      runs: { type: 'string', default: '40' },
      raw: { type: 'boolean', default: false },
      top: { type: 'string', default: '12' },
      optimization: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const top = Number(values.top);
  if (!Number.isInteger(runs) || runs < 0)
    throw new Error(`--runs must be a whole number; got "${values.runs}".`);
  if (!Number.isInteger(top) || top < 1)
    throw new Error(`--top must be a whole number ≥ 1; got "${values.top}".`);
  const folder = resolve(PROJECT_ROOT, values.model);
  const file = join(folder, 'onnx/model.onnx');
  const optimization =
    values.optimization ?? graphOptimizationOf(modelMetadata(await readFile(file)), file) ?? 'all';
  if (!isGraphOptimizationLevel(optimization)) {
    throw new Error(
      `--optimization must be one of ${GRAPH_OPTIMIZATION_LEVELS.join(', ')}; got "${optimization}".`,
    );
  }
  const tierUps = await measureTierUps(folder, runs, values.raw, optimization);
  const byPhase = new Map<string, { count: number; ms: number }>();
  for (const { phase, compileMs } of tierUps) {
    const entry = byPhase.get(phase) ?? { count: 0, ms: 0 };
    byPhase.set(phase, { count: entry.count + 1, ms: entry.ms + compileMs });
  }
  console.log(
    `Optimising (TurboFan) compiles of onnxruntime-web's WebAssembly, ${values.model}, ${runs} runs, ` +
      `graph optimisation ${optimization}:`,
  );
  for (const [phase, { count, ms }] of byPhase) {
    console.log(`  made hot during ${phase}: ${count} functions, ${Math.round(ms)} ms`);
  }
  console.log(`The ${Math.min(top, tierUps.length)} longest:`);
  for (const tierUp of [...tierUps].sort((a, b) => b.compileMs - a.compileMs).slice(0, top)) {
    console.log(
      `  #${tierUp.functionIndex}  ${Math.round(tierUp.compileMs)} ms  body ${Math.round(tierUp.bodyBytes / 1000)} kB  (${tierUp.phase})`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const childAt = process.argv.indexOf('--child');
  const level = process.argv[childAt + 4] ?? '';
  const run =
    childAt >= 0
      ? child(
          process.argv[childAt + 1]!,
          Number(process.argv[childAt + 2]),
          process.argv[childAt + 3] === 'raw',
          isGraphOptimizationLevel(level) ? level : 'all',
        )
      : main();
  run.catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
