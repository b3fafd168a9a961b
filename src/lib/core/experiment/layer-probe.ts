/**
 * @file Probe every layer: the same head trained on each layer's features (0 = embeddings … numLayers = last,
 * one pooling) and scored on the same test split, to show where in the network the task's information lives.
 * Features of all layers come from one forward pass per text when the encoder offers `embedLayers` (and none
 * for texts whose vectors are stored); they go into the run's feature cache, so each layer's head then trains
 * through {@link runParts} exactly as a head of the experiment would, and training a head on any layer
 * afterwards needs no forward pass either.
 */
import {
  featureKey,
  runParts,
  type ExperimentParts,
  type ExperimentPorts,
  type PreparedData,
} from './orchestrator.ts';
import { storedEmbedLayers } from './feature-store.ts';
import type { TimedVectors } from './run.ts';
import type { HeadSpec, Pooling, RunResult } from './types.ts';

/** One layer's head, scored. */
export interface LayerProbePoint {
  /** Hidden-state index, 0 = embeddings output … numLayers = last layer. */
  layer: number;
  accuracy: number;
  macroF1: number;
  accuracyCI?: [number, number];
  /** The run's adapting time (its share of feature extraction plus training). */
  adaptMs: number;
}

/** Test accuracy by layer for one head's settings. */
export interface LayerProbeResult {
  /** The head whose settings were trained on every layer. */
  head: string;
  model: string;
  pooling: Pooling;
  numLayers: number;
  /** One point per layer, 0..numLayers. */
  points: LayerProbePoint[];
}

/** The name of the probe's head on `layer`. */
export function probeHeadName(head: string, layer: number): string {
  return `${head} @ layer ${layer}`;
}

/**
 * Trains the head `experiment.heads[headIndex]` on every layer of the experiment's model (its pooling; its own
 * layer is ignored) and scores each on the test split. `ports.onRun` hears each layer's run as it finishes (the
 * run's name is {@link probeHeadName}); the runs are not part of the experiment.
 * @throws RangeError when there is no such head, or its pooling is `sentence` (computed from the last layer
 *   only: probe with mean, cls or last pooling).
 */
export async function probeLayers(
  experiment: ExperimentParts,
  data: PreparedData,
  headIndex: number,
  ports: ExperimentPorts,
): Promise<LayerProbeResult> {
  const spec = experiment.heads[headIndex];
  if (spec === undefined) {
    throw new RangeError(`There is no heads[${headIndex}]: the experiment has ${experiment.heads.length}.`);
  }
  if (spec.pooling === 'sentence') {
    throw new RangeError(
      `The sentence embedding exists for the last layer only, so it cannot be compared across layers: probe ` +
        `with mean, cls or last pooling.`,
    );
  }
  ports.signal?.throwIfAborted();
  const encoder = await ports.encoders.encoder(experiment.model);
  const numLayers = encoder.numLayers;
  const layers = Array.from({ length: numLayers + 1 }, (_, layer) => layer);
  const heads: HeadSpec[] = layers.map((layer) => ({
    ...spec,
    name: probeHeadName(spec.name, layer),
    layer,
  }));
  const { split } = data;
  for (const side of ['train', 'test'] as const) {
    const keys = layers.map((layer) => `${featureKey(experiment.model, layer, spec.pooling)}:${side}`);
    if (keys.every((key) => ports.cache.get(key) !== undefined)) continue;
    ports.signal?.throwIfAborted();
    const examples = split[side];
    ports.onProgress?.({
      stage: 'features',
      message: `Features of layers 0..${numLayers} (${spec.pooling} pooling) for ${examples.length} ${side} texts`,
    });
    const computed = storedEmbedLayers(
      encoder,
      examples.map((example) => example.text),
      layers,
      spec.pooling,
      ports.now,
      ports,
    );
    keys.forEach((key, layer) => {
      const vectors: Promise<TimedVectors> = computed.then((all) => all[layer] as TimedVectors);
      ports.cache.set(key, vectors);
      vectors.catch(() => {
        if (ports.cache.get(key) === vectors) ports.cache.delete(key);
      });
    });
    await computed;
  }
  const runs: RunResult[] = await runParts(
    { model: experiment.model, prompts: [], heads },
    data,
    { prompts: [], heads: layers },
    ports,
  );
  const byName = new Map(runs.map((run) => [run.name, run]));
  const points = layers.flatMap((layer): LayerProbePoint[] => {
    const run = byName.get(probeHeadName(spec.name, layer));
    if (run === undefined) return [];
    return [
      {
        layer,
        accuracy: run.accuracy,
        macroF1: run.macroF1,
        ...(run.accuracyCI === undefined ? {} : { accuracyCI: run.accuracyCI }),
        adaptMs: run.cost.adaptMs,
      },
    ];
  });
  return { head: spec.name, model: experiment.model, pooling: spec.pooling, numLayers, points };
}
