/**
 * @file The learning curve: one head's settings trained again on k labeled examples per class, for every k and
 * seed of the experiment's `learningCurve`, each scored on the usual test split; and the crossover, the smallest k
 * from which the head's mean accuracy reaches the best prompt's. Features come from the orchestrator's feature
 * cache (the same entries a head run uses), so the whole curve costs one feature extraction at most.
 */
import type { LabeledExample } from '../dataset/types.ts';
import { checkHeadLayer, checkHeadPooling } from './schema.ts';
import {
  cachedVectors,
  featureKey,
  type ExperimentPorts,
  type PreparedData,
  type RunPart,
} from './orchestrator.ts';
import { runHead, timedEmbed } from './run.ts';
import type {
  Experiment,
  HeadSpec,
  LearningCurveCap,
  LearningCurvePoint,
  LearningCurveResult,
  LearningCurveSpec,
  RunResult,
} from './types.ts';
import { terminalSafe } from '../text/terminal.ts';

/** What a browser offers when the experiment has no `learningCurve` of its own. */
export const DEFAULT_LEARNING_CURVE: LearningCurveSpec = { shotsPerClass: [1, 2, 4, 8, 16], seeds: 3 };

/**
 * Mean accuracies closer than this count as equal: a mean of equal accuracies must reach them despite rounding
 * (e.g. (0.7 + 0.7 + 0.7) / 3 < 0.7 in floating point).
 */
const ACCURACY_TOLERANCE = 1e-9;

/** The ports the curve uses: the orchestrator's, without the per-run callbacks. */
export type LearningCurvePorts = Pick<
  ExperimentPorts,
  'encoders' | 'trainer' | 'cache' | 'now' | 'onProgress' | 'signal'
>;

/** One size of the curve summarised over its seeds. */
export interface LearningCurveSummary {
  shots: number;
  /** Mean over seeds. */
  accuracy: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  accuracySd: number;
  macroF1: number;
  macroF1Sd: number;
  /** Points of this size, one per seed. */
  seeds: number;
}

/**
 * The head a curve trains: the one `spec.head` names, or the first head.
 * @throws RangeError when there is no such head (the schema refuses such files; this guards other callers).
 */
export function curveHead(
  heads: readonly HeadSpec[],
  spec: LearningCurveSpec,
): { index: number; head: HeadSpec } {
  const index = spec.head === undefined ? 0 : heads.findIndex((head) => head.name === spec.head);
  const head = heads[index];
  if (index < 0 || head === undefined) {
    throw new RangeError(
      spec.head === undefined
        ? 'A learning curve trains a head: the experiment has none.'
        : `A learning curve trains the head "${spec.head}", which the experiment does not have.`,
    );
  }
  return { index, head };
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const average = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1));
}

/** Mean and spread over seeds for each size of the curve, in `shotsPerClass` order (sizes with no point left out). */
export function summarizeCurve(
  result: Pick<LearningCurveResult, 'shotsPerClass' | 'points'>,
): LearningCurveSummary[] {
  return result.shotsPerClass.flatMap((shots) => {
    const points = result.points.filter((point) => point.shots === shots);
    if (points.length === 0) return [];
    const accuracies = points.map((point) => point.accuracy);
    const f1s = points.map((point) => point.macroF1);
    return [
      {
        shots,
        accuracy: mean(accuracies),
        accuracySd: sampleSd(accuracies),
        macroF1: mean(f1s),
        macroF1Sd: sampleSd(f1s),
        seeds: points.length,
      },
    ];
  });
}

/** The most accurate prompt run (the first one on a tie), or undefined when no prompt ran. */
export function bestPromptRun(runs: readonly RunResult[]): RunResult | undefined {
  let best: RunResult | undefined;
  for (const run of runs) {
    if (run.kind === 'prompt' && (best === undefined || run.accuracy > best.accuracy)) best = run;
  }
  return best;
}

/**
 * The smallest size whose mean accuracy over seeds reaches `target`, or null when none does (or there is no
 * target: no prompt ran).
 */
export function crossoverOf(
  result: Pick<LearningCurveResult, 'shotsPerClass' | 'points'>,
  target: number | undefined,
): number | null {
  if (target === undefined) return null;
  const reached = summarizeCurve(result).find((summary) => summary.accuracy >= target - ACCURACY_TOLERANCE);
  return reached === undefined ? null : reached.shots;
}

/** Classes with fewer training examples than a size asks for, per size (in size order, then label order). */
export function curveCaps(
  train: readonly LabeledExample[],
  labels: readonly string[],
  shotsPerClass: readonly number[],
): LearningCurveCap[] {
  const available = new Map<string, number>(labels.map((label) => [label, 0]));
  for (const example of train) available.set(example.label, (available.get(example.label) ?? 0) + 1);
  return shotsPerClass.flatMap((shots) =>
    labels.flatMap((label) => {
      const count = available.get(label) ?? 0;
      return count < shots ? [{ shots, label, available: count }] : [];
    }),
  );
}

/**
 * The curve measured against the prompt runs among `runs`: `bestPrompt` and `crossover` set from the most accurate
 * one (both cleared when no prompt ran). The app calls it again when prompts are run after the curve.
 */
export function measureAgainst(curve: LearningCurveResult, runs: readonly RunResult[]): LearningCurveResult {
  const best = bestPromptRun(runs);
  const { bestPrompt: _previous, ...rest } = curve;
  const measured: LearningCurveResult = { ...rest, crossover: crossoverOf(curve, best?.accuracy) };
  if (best !== undefined) measured.bestPrompt = { name: best.name, accuracy: best.accuracy };
  return measured;
}

/**
 * Runs the experiment's learning curve on prepared data: the head's layer is checked against the model, its
 * features come from `ports.cache` (or are extracted once and stored there), then for every size k and seed s
 * (1..seeds) the head's settings are trained on a sample of k examples per class drawn with seed s (the trainer
 * is seeded with s too) and scored on the test split. Each trained head is disposed once scored. `prompts` are the
 * runs the crossover is measured against (any head runs among them are ignored).
 * @throws RangeError when the experiment has no `learningCurve` or its head does not exist.
 * @throws the signal's reason when cancelled (between points and during training).
 */
export async function runLearningCurve(
  experiment: Pick<Experiment, 'model' | 'heads' | 'learningCurve'>,
  data: PreparedData,
  prompts: readonly RunResult[],
  ports: LearningCurvePorts,
): Promise<LearningCurveResult> {
  const spec = experiment.learningCurve;
  if (spec === undefined) throw new RangeError('The experiment asks for no learning curve.');
  const { index, head } = curveHead(experiment.heads, spec);
  const part: RunPart = { kind: 'head', index, name: head.name };
  const progress = ports.onProgress ?? (() => undefined);
  const checkAborted = (): void => ports.signal?.throwIfAborted();
  const { dataset, split } = data;
  const options = { layer: head.layer, pooling: head.pooling };
  const key = featureKey(experiment.model, head.layer, head.pooling);
  const keys = { train: `${key}:train`, test: `${key}:test` };

  checkAborted();
  const cached = ports.cache.get(keys.train) !== undefined && ports.cache.get(keys.test) !== undefined;
  let features;
  try {
    // Features a head run already extracted need no model at all.
    const encoder = cached ? undefined : await ports.encoders.encoder(experiment.model);
    if (encoder !== undefined) {
      checkHeadLayer(head.layer, encoder.numLayers, experiment.model, `heads[${index}].layer`);
      checkHeadPooling(options, encoder, experiment.model, `heads[${index}].pooling`);
      progress({
        stage: 'features',
        message: `Learning curve: extracting features (layer ${head.layer}, ${head.pooling} pooling) once`,
        part,
      });
    }
    const extract = (examples: readonly LabeledExample[]) => () => {
      if (encoder === undefined) throw new Error('The cached features went missing during the curve.');
      return timedEmbed(
        encoder,
        examples.map((example) => example.text),
        options,
        ports.now,
      );
    };
    const train = await cachedVectors(ports.cache, keys.train, extract(split.train));
    checkAborted();
    const test = await cachedVectors(ports.cache, keys.test, extract(split.test));
    features = { train: train.vectors, test: test.vectors };
  } catch (error) {
    // The release must not hide the error that stopped the curve.
    if (!cached) await ports.encoders.release?.().catch(() => undefined);
    throw error;
  }
  if (!cached) await ports.encoders.release?.();

  const points: LearningCurvePoint[] = [];
  const total = spec.shotsPerClass.length * spec.seeds;
  for (const shots of spec.shotsPerClass) {
    for (let seed = 1; seed <= spec.seeds; seed++) {
      checkAborted();
      progress({
        stage: 'training',
        message:
          `Learning curve "${head.name}": ${shots} per class, seed ${seed} ` +
          `(${points.length + 1} of ${total})`,
        part,
      });
      const outcome = await runHead({
        spec: { ...head, shotsPerClass: shots, seed },
        labels: dataset.labels,
        train: split.train,
        trainFeatures: features.train,
        test: split.test,
        testFeatures: features.test,
        trainer: ports.trainer,
        now: ports.now,
        ...(ports.signal === undefined ? {} : { signal: ports.signal }),
      });
      outcome.head.dispose();
      const { run } = outcome;
      // Without feature times, a head's adapt time is its training time alone.
      points.push({ shots, seed, accuracy: run.accuracy, macroF1: run.macroF1, trainMs: run.cost.adaptMs });
    }
  }

  const result = measureAgainst(
    { head: head.name, shotsPerClass: [...spec.shotsPerClass], seeds: spec.seeds, points, crossover: null },
    prompts,
  );
  const caps = curveCaps(split.train, dataset.labels, spec.shotsPerClass);
  if (caps.length > 0) result.capped = caps;
  progress({ stage: 'finished', message: crossoverSentence(result), part });
  return result;
}

/** The crossover in words, e.g. `the head "linear" reaches the best prompt ("tmpl", accuracy 0.750) from 8 …`. */
export function crossoverSentence(result: LearningCurveResult): string {
  const head = `the head "${result.head}"`;
  const best = result.bestPrompt;
  const largest = result.shotsPerClass.at(-1) ?? 0;
  if (best === undefined) {
    return `Learning curve: no prompt ran, so there is nothing for ${head} to cross.`;
  }
  const prompt = `the best prompt ("${best.name}", accuracy ${best.accuracy.toFixed(3)})`;
  const seeds = result.seeds === 1 ? 'one seed' : `the mean of ${result.seeds} seeds`;
  if (result.crossover === null) {
    return (
      `Learning curve: ${head} does not reach ${prompt} with up to ${largest} labeled examples per class ` +
      `(${seeds}): here the prompt wins.`
    );
  }
  return (
    `Learning curve: ${head} reaches ${prompt} from ${result.crossover} labeled ` +
    `example${result.crossover === 1 ? '' : 's'} per class (${seeds}).`
  );
}

/**
 * The curve for a terminal: one row per size (mean ± sd of accuracy and macro-F1 over seeds), then any capped
 * sizes and the crossover in words.
 */
export function formatLearningCurve(result: LearningCurveResult): string {
  const header = ['per class', 'accuracy', '± sd', 'macro-F1', '± sd', 'seeds'];
  const rows = summarizeCurve(result).map((summary) => [
    String(summary.shots),
    summary.accuracy.toFixed(3),
    summary.accuracySd.toFixed(3),
    summary.macroF1.toFixed(3),
    summary.macroF1Sd.toFixed(3),
    String(summary.seeds),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (cells: string[]): string =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ');
  const lines = [
    terminalSafe(`Learning curve of head "${result.head}"`),
    format(header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(format),
  ];
  for (const cap of result.capped ?? []) {
    lines.push(
      terminalSafe(
        `capped: class "${cap.label}" has ${cap.available} training example${cap.available === 1 ? '' : 's'}, ` +
          `so all of them were used for ${cap.shots} per class`,
      ),
    );
  }
  lines.push(terminalSafe(crossoverSentence(result)));
  return lines.join('\n');
}
