/**
 * @file Training with unfrozen layers (src/lib/ml/unfreeze) on the tiny-bert fixture: the encoder's token-level
 * states feed one unfrozen layer, training lowers the loss and changes that layer's weights, parameter counts
 * match a hand count (tiny-bert and the real Universal Sentence Encoder Lite), a quantized layer is refused with
 * the reason, and tfjs memory returns to where it was. Every head setting works with unfrozen layers as on frozen
 * features: weight decay (head kernels and layer matrices, not vectors), early stopping restoring the best epoch,
 * class weights, a validation slice never trained on, seeded dropout.
 */
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIXTURES_DIR } from '../../../scripts/fixtures/make-fixtures.ts';
import { validationSplit } from '../../../src/lib/core/heads/training-data.ts';
import type {
  Encoder,
  EpochReport,
  HeadTrainingOptions,
  SerializedHead,
  TextTokenStates,
} from '../../../src/lib/core/ports.ts';
import { loadEncoder } from '../../../src/lib/ml/transformers-adapter.ts';
import { layerStackOfGraph } from '../../../src/lib/ml/unfreeze/layer-parameters.ts';
import { UntrainableModelError } from '../../../src/lib/ml/unfreeze/onnx-tensors.ts';
import { buildTopLayers, loadUnfrozenWeights } from '../../../src/lib/ml/unfreeze/top-layers.ts';
import { trainUnfrozen, unfrozenHeadFromJSON } from '../../../src/lib/ml/unfreeze/train.ts';
import { ensureUseLite } from '../../helpers/use-lite.ts';

const { onnx } = onnxProto;
const FOLDER = join(DEFAULT_FIXTURES_DIR, 'models', 'tiny-bert');

/** One tiny-bert layer by hand (hidden 32, intermediate 64): q, k, v, attention output, two norms, FFN in/out. */
const TINY_BERT_LAYER = 4 * (32 * 32 + 32) + 2 * (32 + 32) + (32 * 64 + 64) + (64 * 32 + 32);
/** USE lite layer 0: q, k, v (256 → 256), output 256 → 512, residual projection 256 → 512, norms, FFN. */
const USE_LAYER_0 =
  3 * (256 * 256 + 256) +
  (256 * 512 + 512) +
  (256 * 512 + 512) +
  2 * 256 +
  2 * 512 +
  (512 * 1536 + 1536) +
  (1536 * 512 + 512);
/** USE lite layer 1: q, k, v and output at 512, two norms, FFN 512 → 1536 → 512. */
const USE_LAYER_1 = 4 * (512 * 512 + 512) + 2 * (2 * 512) + (512 * 1536 + 1536) + (1536 * 512 + 512);

const TEXTS: [string, number][] = [
  ['The striker scored twice in the second half.', 0],
  ['Our team won the championship final.', 0],
  ['The coach praised the defence after the match.', 0],
  ['Fans cheered as the runner crossed the line.', 0],
  ['Expect heavy rain and strong wind tomorrow.', 1],
  ['A sunny morning will turn cloudy by noon.', 1],
  ['Snow is forecast for the mountains tonight.', 1],
  ['The storm brought thunder and hail.', 1],
];

describe('training one unfrozen tiny-bert layer with a head', () => {
  let encoder: Encoder;
  let bytes: Uint8Array;
  let states: TextTokenStates[];
  beforeAll(async () => {
    await tf.setBackend('cpu');
    bytes = await readFile(join(FOLDER, 'onnx', 'model.onnx'));
    encoder = await loadEncoder({ kind: 'folder', path: FOLDER }, { device: 'cpu', dtype: 'fp32' });
    states = await encoder.embedTokens!(
      TEXTS.map(([text]) => text),
      { layer: 3, maxTokens: 16 },
    );
  });
  afterAll(async () => {
    await encoder.dispose();
  });

  it('returns each text’s real tokens only, capped, as wide as the layer', async () => {
    const counts = await encoder.countTokens(TEXTS.map(([text]) => text));
    states.forEach((text, i) => {
      expect(text.width).toBe(32);
      expect(text.ids.length).toBe(Math.min(counts[i] ?? 0, 16));
      expect(text.states.length).toBe(text.ids.length * 32);
    });
    const capped = await encoder.embedTokens!([TEXTS[2]![0]], { layer: 3, maxTokens: 4 });
    expect(capped[0]?.ids.length).toBe(4);
  });

  it('lowers the loss, updates the layer and counts head + layer parameters exactly', async () => {
    const before = tf.memory().numTensors;
    const layers = buildTopLayers(bytes, {
      featureLayer: 4,
      unfreeze: 1,
      pooling: 'mean',
      modelId: 'tiny-bert',
    });
    const initial = new Map(
      [...layers.variables].map(([name, variable]) => [name, variable.dataSync().slice()]),
    );
    const reports: EpochReport[] = [];
    const head = await trainUnfrozen(
      layers,
      states,
      TEXTS.map(([, label]) => label),
      2,
      { hidden: 0, epochs: 12, learningRate: 0.01, seed: 1, batchSize: 4 },
      (report) => reports.push(report),
    );
    try {
      expect(reports).toHaveLength(12);
      expect(reports.at(-1)!.loss).toBeLessThan(reports[0]!.loss);
      expect(head.layerParameterCount).toBe(TINY_BERT_LAYER);
      expect(head.headParameterCount).toBe(32 * 2 + 2);
      expect(head.parameterCount).toBe(TINY_BERT_LAYER + 32 * 2 + 2);
      const serialized = head.toJSON();
      expect(serialized.unfrozen?.fromLayer).toBe(3);
      expect(serialized.unfrozen?.toLayer).toBe(4);
      const stored = serialized.unfrozen?.weights ?? [];
      expect(stored.reduce((sum, weight) => sum + weight.values.length, 0)).toBe(TINY_BERT_LAYER);
      const changed = stored.filter((weight) =>
        weight.values.some((value, i) => Math.abs(value - (initial.get(weight.name)?.[i] ?? NaN)) > 1e-7),
      );
      expect(changed.length).toBe(stored.length);
      const restored = buildTopLayers(bytes, {
        featureLayer: 4,
        unfreeze: 1,
        pooling: 'mean',
        modelId: 'tiny-bert',
      });
      try {
        loadUnfrozenWeights(restored, serialized.unfrozen!);
        for (const weight of stored) {
          expect(Array.from(restored.variables.get(weight.name)!.dataSync())).toEqual(
            Array.from(Float32Array.from(weight.values)),
          );
        }
        const [first, ...rest] = stored;
        const reshaped = {
          ...serialized.unfrozen!,
          weights: [{ ...first!, shape: [1, first!.values.length] }, ...rest],
        };
        expect(() => loadUnfrozenWeights(restored, reshaped)).toThrow(/has shape \[1, \d+\]/);
        expect(() => loadUnfrozenWeights(restored, { ...serialized.unfrozen!, weights: rest })).toThrow(
          /missing/,
        );
        expect(() => loadUnfrozenWeights(restored, { ...serialized.unfrozen!, fromLayer: 2 })).toThrow(
          /from layer 2/,
        );
      } finally {
        restored.dispose();
      }
      const probabilities = await head.predict(states);
      expect(probabilities).toHaveLength(TEXTS.length);
      for (const row of probabilities) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    } finally {
      head.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('packs the same weights as toJSON into Float32Arrays of their own: transferring them leaves the head intact', async () => {
    const before = tf.memory().numTensors;
    const head = await trainUnfrozen(
      buildTopLayers(bytes, { featureLayer: 4, unfreeze: 1, pooling: 'mean', modelId: 'tiny-bert' }),
      states,
      TEXTS.map(([, label]) => label),
      2,
      { hidden: 4, epochs: 2, learningRate: 0.01, seed: 1, batchSize: 4 },
    );
    try {
      const plain = head.toJSON();
      const expected = await head.predict(states);
      const packed = head.toPacked();
      const arrays = [
        ...packed.layers.flatMap((layer) => [layer.kernel, layer.bias]),
        ...packed.unfrozen.weights.map((weight) => weight.values),
      ];
      expect(arrays.every((array) => array instanceof Float32Array)).toBe(true);
      expect(new Set(arrays.map((array) => array.buffer)).size).toBe(arrays.length);
      // Moved away as postMessage moves them: the packed arrays are emptied, the head's tensors are not.
      const moved = structuredClone(packed, { transfer: arrays.map((array) => array.buffer as ArrayBuffer) });
      expect(arrays.every((array) => array.length === 0)).toBe(true);
      expect(head.toJSON()).toEqual(plain);
      expect(await head.predict(states)).toEqual(expected);
      expect(moved.unfrozen.weights.map((weight) => Array.from(weight.values))).toEqual(
        plain.unfrozen!.weights.map((weight) => weight.values),
      );
      expect(moved.layers.map((layer) => [Array.from(layer.kernel), Array.from(layer.bias)])).toEqual(
        plain.layers.map((layer) => [layer.kernel, layer.bias]),
      );
      // A packed head rebuilds the same head as the plain one.
      const rebuilt = unfrozenHeadFromJSON(
        buildTopLayers(bytes, { featureLayer: 4, unfreeze: 1, pooling: 'mean', modelId: 'tiny-bert' }),
        moved,
      );
      try {
        expect(await rebuilt.predict(states)).toEqual(expected);
      } finally {
        rebuilt.dispose();
      }
    } finally {
      head.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('marks each weight with the layer reading it, and refuses a saved weight marked with another', () => {
    const before = tf.memory().numTensors;
    const layers = buildTopLayers(bytes, {
      featureLayer: 4,
      unfreeze: 2,
      pooling: 'mean',
      modelId: 'tiny-bert',
    });
    try {
      const marked = [...layers.variables.keys()].map((name) => [name, layers.layerOf.get(name)]);
      expect(marked).toHaveLength(2 * 16);
      // tiny-bert's initializers are named after their module, so the name says which layer reads it.
      for (const [name, layer] of marked)
        expect(name).toMatch(new RegExp(`^encoder\\.layer\\.${String(layer)}\\.`));
      const weights = [...layers.variables].map(([name, variable]) => ({
        name,
        shape: [...variable.shape],
        values: Array.from(variable.dataSync()),
        layer: layers.layerOf.get(name) as number,
      }));
      expect(() => loadUnfrozenWeights(layers, { fromLayer: 2, toLayer: 4, weights })).not.toThrow();
      const moved = weights.map((weight, i) => (i === 0 ? { ...weight, layer: 5 - weight.layer } : weight));
      expect(() => loadUnfrozenWeights(layers, { fromLayer: 2, toLayer: 4, weights: moved })).toThrow(
        /weight "encoder\.layer\.\d\..*" was stored with layer \d, but layer \d reads it/,
      );
    } finally {
      layers.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops with the signal’s reason on cancel and releases everything', async () => {
    const before = tf.memory().numTensors;
    const layers = buildTopLayers(bytes, {
      featureLayer: 4,
      unfreeze: 1,
      pooling: 'mean',
      modelId: 'tiny-bert',
    });
    const controller = new AbortController();
    const training = trainUnfrozen(
      layers,
      states,
      TEXTS.map(([, label]) => label),
      2,
      { hidden: 8, epochs: 50, learningRate: 0.01, seed: 1, batchSize: 4 },
      (report) => {
        if (report.epoch === 1) controller.abort(new Error('stopped by the test'));
      },
      controller.signal,
    );
    await expect(training).rejects.toThrow('stopped by the test');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('moves the layers by their own learning rate, and refuses one that is not positive', async () => {
    // Adam moves a weight by at most about its learning rate per step: one step (8 texts, batch 8), so the
    // layers' largest change is bounded by `layerLearningRate` (the head keeps 0.01).
    const largestChange = async (layerLearningRate: number) => {
      const layers = buildTopLayers(bytes, {
        featureLayer: 4,
        unfreeze: 1,
        pooling: 'mean',
        modelId: 'tiny-bert',
      });
      const initial = new Map([...layers.variables].map(([name, v]) => [name, v.dataSync().slice()]));
      const head = await trainUnfrozen(
        layers,
        states,
        TEXTS.map(([, label]) => label),
        2,
        {
          hidden: 0,
          epochs: 1,
          learningRate: 0.01,
          layerLearningRate,
          seed: 1,
          batchSize: 8,
        },
      );
      try {
        const saved = head.toJSON();
        const moved = Math.max(
          ...(saved.unfrozen?.weights ?? []).flatMap((weight) =>
            weight.values.map((value, i) => Math.abs(value - (initial.get(weight.name)?.[i] ?? NaN))),
          ),
        );
        return { moved };
      } finally {
        head.dispose();
      }
    };
    const slow = await largestChange(1e-4);
    const fast = await largestChange(1e-2);
    expect(slow.moved).toBeGreaterThan(0);
    expect(slow.moved).toBeLessThanOrEqual(1.01e-4);
    expect(fast.moved).toBeGreaterThan(50 * slow.moved);
    expect(fast.moved).toBeLessThanOrEqual(1.01e-2);
    await expect(
      trainUnfrozen(
        buildTopLayers(bytes, { featureLayer: 4, unfreeze: 1, pooling: 'mean', modelId: 'tiny-bert' }),
        states,
        TEXTS.map(([, label]) => label),
        2,
        { hidden: 0, epochs: 1, learningRate: 0.01, layerLearningRate: 0, seed: 1, batchSize: 8 },
      ),
    ).rejects.toThrow(/"layerLearningRate" must be a positive number, got 0/);
  });

  it('refuses N outside 1..feature layer, naming the range', () => {
    expect(() =>
      buildTopLayers(bytes, { featureLayer: 2, unfreeze: 3, pooling: 'mean', modelId: 'tiny-bert' }),
    ).toThrow(/unfreeze must be 1\.\.2/);
  });

  describe('every head setting', () => {
    const LABELS = TEXTS.map(([, label]) => label);
    const BASE: HeadTrainingOptions = { hidden: 8, epochs: 4, learningRate: 0.01, seed: 1, batchSize: 4 };
    const layersOf = () =>
      buildTopLayers(bytes, { featureLayer: 4, unfreeze: 1, pooling: 'mean', modelId: 'tiny-bert' });

    /** Trains on `texts` (default: all eight), returns the epochs, weights and held-out probabilities, disposes. */
    async function run(
      options: Partial<HeadTrainingOptions>,
      texts: TextTokenStates[] = states,
      labels: number[] = LABELS,
      predictOn: TextTokenStates[] = [],
    ) {
      const reports: EpochReport[] = [];
      const head = await trainUnfrozen(layersOf(), texts, labels, 2, { ...BASE, ...options }, (report) =>
        reports.push(report),
      );
      try {
        return { reports, weights: head.toJSON(), probabilities: await head.predict(predictOn) };
      } finally {
        head.dispose();
      }
    }

    /** Every weight of a serialized head by name: head layers as `head.<i>.kernel|bias`, then the layers'. */
    function weightsByName(head: SerializedHead): Map<string, { values: number[]; rank: number }> {
      const byName = new Map<string, { values: number[]; rank: number }>();
      head.layers.forEach((layer, i) => {
        byName.set(`head.${i}.kernel`, { values: layer.kernel, rank: 2 });
        byName.set(`head.${i}.bias`, { values: layer.bias, rank: 1 });
      });
      for (const weight of head.unfrozen?.weights ?? []) {
        byName.set(weight.name, { values: weight.values, rank: weight.shape.length });
      }
      return byName;
    }

    it('weight decay shrinks the head’s kernels and the layers’ matrices by their own rates, not biases or norms', async () => {
      const before = tf.memory().numTensors;
      // One step (8 texts, batch 8): the same gradient with and without decay, then × (1 − rate · decay).
      const step = { hidden: 0, epochs: 1, batchSize: 8, learningRate: 1e-3, layerLearningRate: 1e-4 };
      const plain = weightsByName((await run(step)).weights);
      const decayed = weightsByName((await run({ ...step, weightDecay: 100 })).weights);
      expect(tf.memory().numTensors).toBe(before);
      const ratios = { head: [] as number[], layerMatrices: [] as number[], vectors: [] as number[] };
      for (const [name, { values, rank }] of plain) {
        const shrunk = decayed.get(name)!.values;
        const group =
          rank === 1 ? ratios.vectors : name.startsWith('head.') ? ratios.head : ratios.layerMatrices;
        values.forEach((value, i) => {
          if (Math.abs(value) > 1e-3) group.push((shrunk[i] ?? NaN) / value);
        });
      }
      expect(ratios.head.length).toBeGreaterThan(0);
      expect(ratios.layerMatrices.length).toBeGreaterThan(1000);
      expect(ratios.vectors.length).toBeGreaterThan(100);
      // Head: 1 − 1e-3 · 100 = 0.9; layers: 1 − 1e-4 · 100 = 0.99; biases and layer norms: untouched.
      for (const ratio of ratios.head) expect(ratio).toBeCloseTo(0.9, 5);
      for (const ratio of ratios.layerMatrices) expect(ratio).toBeCloseTo(0.99, 5);
      for (const ratio of ratios.vectors) expect(ratio).toBe(1);
    });

    it('early stopping stops after `patience` epochs without a better validation loss, keeping the best epoch’s head and layers', async () => {
      const before = tf.memory().numTensors;
      const options = {
        epochs: 60,
        learningRate: 0.05,
        layerLearningRate: 0.01,
        validation: 0.25,
        patience: 2,
      };
      const held = validationSplit(LABELS, options.validation, BASE.seed).validation;
      const { reports, probabilities } = await run(
        options,
        states,
        LABELS,
        held.map((index) => states[index]!),
      );
      expect(tf.memory().numTensors).toBe(before);
      expect(reports.length).toBeLessThan(60);
      const losses = reports.map((report) => report.valLoss!);
      const bestAt = losses.indexOf(Math.min(...losses));
      expect(reports.length - 1 - bestAt).toBe(2);
      // The returned head's loss on the validation texts is the best epoch's, not the last one's.
      const heldLoss =
        held.reduce((sum, index, row) => sum - Math.log(probabilities[row]![LABELS[index]!]!), 0) /
        held.length;
      expect(heldLoss).toBeCloseTo(losses[bestAt]!, 4);
      expect(Math.abs(heldLoss - losses.at(-1)!)).toBeGreaterThan(1e-3);
      const without = await run({ ...options, epochs: reports.length + 3, patience: undefined });
      expect(without.reports).toHaveLength(reports.length + 3);
    });

    it('weighs each example’s loss by its class weight, as computed by hand', async () => {
      // Four examples of class 0, two of class 1: balanced weights 6 / (2 · 4) = 0.75 and 6 / (2 · 2) = 1.5.
      const texts = states.slice(0, 6);
      const labels = LABELS.slice(0, 6);
      const weights = [0.75, 1.5];
      // One step at a negligible rate: the epoch's loss (from the logits before the step) is that of the head
      // as predicted after it, to far below the precision checked.
      const still = { hidden: 0, epochs: 1, batchSize: 6, learningRate: 1e-9, layerLearningRate: 1e-9 };
      const none = await run(still, texts, labels, texts);
      const balanced = await run({ ...still, classWeights: 'balanced' }, texts, labels, texts);
      const crossEntropy = none.probabilities.map((row, i) => -Math.log(row[labels[i]!]!));
      const mean = crossEntropy.reduce((a, b) => a + b, 0) / 6;
      const weighted = crossEntropy.reduce((sum, value, i) => sum + weights[labels[i]!]! * value, 0) / 6;
      expect(Math.abs(weighted - mean)).toBeGreaterThan(1e-3);
      expect(none.reports[0]!.loss).toBeCloseTo(mean, 5);
      expect(balanced.reports[0]!.loss).toBeCloseTo(weighted, 5);
    });

    it('never trains on the validation rows: other states there change the validation loss, not one weight', async () => {
      const options: Partial<HeadTrainingOptions> = {
        validation: 0.25,
        dropout: 0.3,
        weightDecay: 0.01,
        classWeights: 'balanced',
      };
      const held = new Set(validationSplit(LABELS, 0.25, BASE.seed).validation);
      expect(held.size).toBe(2);
      // Each held-out text gets the token states of a text of the other class.
      const swapped = states.map((text, i) => (held.has(i) ? states[(i + 4) % 8]! : text));
      const first = await run(options);
      const second = await run(options, swapped);
      expect(second.weights).toEqual(first.weights);
      expect(second.reports.map(({ loss, accuracy }) => ({ loss, accuracy }))).toEqual(
        first.reports.map(({ loss, accuracy }) => ({ loss, accuracy })),
      );
      for (const report of first.reports) {
        expect(report.valLoss).toBeGreaterThan(0);
        expect(report.valAccuracy).toBeGreaterThanOrEqual(0);
        expect(report.valAccuracy).toBeLessThanOrEqual(1);
      }
      expect(second.reports.at(-1)!.valLoss).not.toBeCloseTo(first.reports.at(-1)!.valLoss!, 3);
    });

    it('gives the same result for the same seed with every setting on; dropout and the seed change it', async () => {
      const before = tf.memory().numTensors;
      const options: Partial<HeadTrainingOptions> = {
        epochs: 5,
        dropout: 0.3,
        weightDecay: 0.01,
        validation: 0.25,
        patience: 2,
        classWeights: 'balanced',
      };
      const first = await run(options, states, LABELS, states);
      const second = await run(options, states, LABELS, states);
      expect(second).toEqual(first);
      const noDropout = await run({ ...options, dropout: 0 });
      expect(noDropout.weights.layers[0]!.kernel).not.toEqual(first.weights.layers[0]!.kernel);
      const otherSeed = await run({ ...options, seed: 2 });
      expect(otherSeed.weights.layers[0]!.kernel).not.toEqual(first.weights.layers[0]!.kernel);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('releases every tensor on cancel while keeping a best epoch', async () => {
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const training = trainUnfrozen(
        layersOf(),
        states,
        LABELS,
        2,
        { ...BASE, epochs: 50, dropout: 0.2, weightDecay: 0.01, validation: 0.25, patience: 10 },
        (report) => {
          if (report.epoch === 2) controller.abort(new Error('stopped by the test'));
        },
        controller.signal,
      );
      await expect(training).rejects.toThrow('stopped by the test');
      expect(tf.memory().numTensors).toBe(before);
    });

    it('refuses settings the frozen-feature head refuses, with the same words', async () => {
      const before = tf.memory().numTensors;
      await expect(run({ hidden: 0, dropout: 0.5 })).rejects.toThrow(/"dropout" applies to the hidden layer/);
      await expect(run({ patience: 2 })).rejects.toThrow(
        /"patience" \(early stopping\) needs a "validation"/,
      );
      await expect(run({ weightDecay: -1 })).rejects.toThrow(/"weightDecay" must be 0 or a positive number/);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

describe('layer parameter counts', () => {
  it('match the hand count on tiny-bert, per layer and for N = 2', async () => {
    const bytes = await readFile(join(FOLDER, 'onnx', 'model.onnx'));
    const stack = layerStackOfGraph(onnx.ModelProto.decode(bytes).graph!);
    expect(stack.layers.map((layer) => layer.parameters)).toEqual([
      TINY_BERT_LAYER,
      TINY_BERT_LAYER,
      TINY_BERT_LAYER,
      TINY_BERT_LAYER,
    ]);
    expect(stack.untrainable).toBeUndefined();
    const layers = buildTopLayers(bytes, {
      featureLayer: 4,
      unfreeze: 2,
      pooling: 'cls',
      modelId: 'tiny-bert',
    });
    expect(layers.parameterCount).toBe(2 * TINY_BERT_LAYER);
    layers.dispose();
  });

  it('match the hand count on the Universal Sentence Encoder Lite', async () => {
    const bytes = await readFile(join(await ensureUseLite(), 'onnx', 'model.onnx'));
    const stack = layerStackOfGraph(onnx.ModelProto.decode(bytes).graph!);
    expect(stack.layers.map((layer) => layer.parameters)).toEqual([USE_LAYER_0, USE_LAYER_1]);
    const layers = buildTopLayers(bytes, {
      featureLayer: 2,
      unfreeze: 1,
      pooling: 'sentence',
      modelId: 'use',
    });
    expect(layers.parameterCount).toBe(USE_LAYER_1);
    layers.dispose();
  }, 120_000);
});

describe('a quantized (q8) layer', () => {
  /** tiny-bert with layer 3's query projection quantized, as an int8 export has it. */
  async function quantizedTinyBert(): Promise<Uint8Array> {
    const model = onnx.ModelProto.decode(await readFile(join(FOLDER, 'onnx', 'model.onnx')));
    const graph = model.graph!;
    const matMul = graph.node!.find((node) => node.name === '/encoder/layer.3/attention/self/query/MatMul')!;
    matMul.opType = 'MatMulInteger';
    const weight = graph.initializer!.find((tensor) => tensor.name === matMul.input![1])!;
    weight.dataType = onnx.TensorProto.DataType.INT8;
    weight.rawData = new Uint8Array(32 * 32);
    return onnx.ModelProto.encode(model).finish();
  }

  it('is refused with the reason when unfrozen; the layers below it still train', async () => {
    const bytes = await quantizedTinyBert();
    const before = tf.memory().numTensors;
    expect(() =>
      buildTopLayers(bytes, { featureLayer: 4, unfreeze: 1, pooling: 'mean', modelId: 'q8' }),
    ).toThrow(UntrainableModelError);
    expect(() =>
      buildTopLayers(bytes, { featureLayer: 4, unfreeze: 1, pooling: 'mean', modelId: 'q8' }),
    ).toThrow(/quantized \(int8\/q8\).*fp32/);
    expect(tf.memory().numTensors).toBe(before);
    const below = buildTopLayers(bytes, { featureLayer: 3, unfreeze: 1, pooling: 'mean', modelId: 'q8' });
    expect(below.parameterCount).toBe(TINY_BERT_LAYER);
    below.dispose();
    expect(layerStackOfGraph(onnx.ModelProto.decode(bytes).graph!).untrainable).toMatch(/quantized/);
  });
});
