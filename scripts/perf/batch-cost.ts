/**
 * @file `npx tsx scripts/perf/batch-cost.ts [model folder] [--rounds 5]`: calibrates the encoder's batch cost model
 * (src/lib/core/models/batches.ts `BatchCost`) on this machine. Runs a bare onnxruntime-node session of the model
 * (default: the bench's minilm-shape, `npm run bench` writes it) on padded batches of every shape in a grid of rows
 * × tokens, the shapes in turn round after round (so slow drift in a shared machine's load falls on all of them),
 * keeps each shape's fastest round (the least disturbed by other processes), and fits the planner's
 * `ms = perCall + rows × longest × perToken × (1 + longest / (6 × width))` by least squares (relative errors
 * weighted equally) over the shapes within `tokenBudgetFor(width)`. Prints the table (µs per padded token shows
 * where bigger batches stop paying), the fitted constants and each shape's error. Not a test.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { tokenBudgetFor } from '../../src/lib/core/models/batches.ts';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 5;
const folder = resolve(
  args.find((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--rounds') ??
    'bench-results/models/minilm-shape',
);
const ROWS = [1, 2, 4, 8, 16, 32];
const TOKENS = [8, 16, 32, 64, 128, 256];

const session = await ort.InferenceSession.create(join(folder, 'onnx/model.onnx'));
const output = session.outputNames.includes('last_hidden_state')
  ? 'last_hidden_state'
  : session.outputNames[0];
if (output === undefined) throw new Error(`${folder}: the model has no outputs.`);

/** One forward pass of a rows × tokens batch of ordinary token ids; its wall time in ms. */
async function forward(rows: number, tokens: number): Promise<number> {
  const size = rows * tokens;
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const data = new BigInt64Array(size).fill(
      name === 'input_ids' ? 5n : name === 'attention_mask' ? 1n : 0n,
    );
    feeds[name] = new ort.Tensor('int64', data, [rows, tokens]);
  }
  const started = performance.now();
  await session.run(feeds, [output as string]);
  return performance.now() - started;
}

const shapes = TOKENS.flatMap((tokens) =>
  ROWS.map((rows) => ({ rows, tokens, best: Number.POSITIVE_INFINITY })),
);
await forward(4, 32);
for (let round = 0; round < rounds; round++) {
  for (const shape of round % 2 === 0 ? shapes : [...shapes].reverse()) {
    shape.best = Math.min(shape.best, await forward(shape.rows, shape.tokens));
  }
}

const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8')) as { hidden_size?: number };
const width = config.hidden_size ?? 384;
const budget = tokenBudgetFor(width);
const work = (rows: number, tokens: number) => rows * tokens * (1 + tokens / (6 * width));
// Least squares on relative error: each row [1, work] / ms against 1, shapes within the budget.
const fitted = shapes.filter(({ rows, tokens }) => rows === 1 || rows * tokens <= budget);
const features = fitted.map(({ rows, tokens, best }) => ({ x: [1 / best, work(rows, tokens) / best], y: 1 }));
const normal = [0, 1].map((i) => [0, 1].map((j) => features.reduce((sum, f) => sum + f.x[i]! * f.x[j]!, 0)));
const right = [0, 1].map((i) => features.reduce((sum, f) => sum + f.x[i]! * f.y, 0));
const [perCall, perToken] = solve(normal, right) as [number, number];

console.log(`${folder}, fastest of ${rounds} rounds, ms (µs per padded token):`);
for (const tokens of TOKENS) {
  const row = shapes.filter((shape) => shape.tokens === tokens);
  console.log(
    `  ${String(tokens).padStart(3)} tokens: ` +
      row
        .map((s) => `${s.rows}×: ${s.best.toFixed(1)} (${((s.best / (s.rows * tokens)) * 1000).toFixed(0)})`)
        .join('  '),
  );
}
console.log(
  `fit (width ${width}, ${fitted.length} shapes within ${budget} padded tokens): perCall ${(perCall * 1000).toFixed(0)} µs, ` +
    `perToken ${(perToken * 1000).toFixed(1)} µs (a call ≈ ${(perCall / perToken).toFixed(1)} tokens)`,
);
for (const shape of shapes) {
  const estimate = perCall + perToken * work(shape.rows, shape.tokens);
  const within = fitted.includes(shape) ? '' : ' (over the budget, not fitted)';
  console.log(
    `  ${shape.rows}×${shape.tokens}: measured ${shape.best.toFixed(1)} ms, model ${estimate.toFixed(1)} ms${within}`,
  );
}
await session.release();

/** Gaussian elimination with partial pivoting on a small dense system. */
function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i] as number]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) {
      if (Math.abs(a[row]![col]!) > Math.abs(a[pivot]![col]!)) pivot = row;
    }
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let row = col + 1; row < n; row++) {
      const factor = a[row]![col]! / a[col]![col]!;
      for (let k = col; k <= n; k++) a[row]![k]! -= factor * a[col]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = a[row]![n]!;
    for (let k = row + 1; k < n; k++) sum -= a[row]![k]! * x[k]!;
    x[row] = sum / a[row]![row]!;
  }
  return x;
}
