/**
 * @file The layer stack and its cost (core/experiment/layer-stack.ts): roles of each layer as the feature layer
 * and N change, exact or estimated parameter counts, cached memory and the time estimate.
 */
import { describe, expect, it } from 'vitest';
import {
  ASSUMED_FLOPS_PER_SECOND,
  estimatedLayerParameters,
  planLayerStack,
  type LayerStackInput,
} from '../../../../src/lib/core/experiment/layer-stack.ts';

const BASE: LayerStackInput = {
  numLayers: 4,
  hiddenSize: 32,
  layerParameters: [8544, 8544, 8544, 8544],
  featureLayer: 4,
  unfreeze: 0,
  hidden: 0,
  numClasses: 3,
  trainTexts: 100,
  tokensPerText: 10,
  epochs: 10,
};

describe('planLayerStack', () => {
  it.each([
    { featureLayer: 4, unfreeze: 0, roles: ['frozen', 'frozen', 'frozen', 'frozen'], updated: 99 },
    { featureLayer: 4, unfreeze: 1, roles: ['frozen', 'frozen', 'frozen', 'trained'], updated: 99 + 8544 },
    {
      featureLayer: 3,
      unfreeze: 2,
      roles: ['frozen', 'trained', 'trained', 'unused'],
      updated: 99 + 2 * 8544,
    },
    { featureLayer: 1, unfreeze: 5, roles: ['trained', 'unused', 'unused', 'unused'], updated: 99 + 8544 },
    { featureLayer: 0, unfreeze: 1, roles: ['unused', 'unused', 'unused', 'unused'], updated: 99 },
  ])('feature layer $featureLayer, unfreeze $unfreeze', ({ featureLayer, unfreeze, roles, updated }) => {
    const plan = planLayerStack({ ...BASE, featureLayer, unfreeze });
    expect(plan.layers.map((layer) => layer.role)).toEqual(roles);
    expect(plan.parametersUpdated).toBe(updated);
    expect(plan.estimatedParameters).toBe(false);
  });

  it('caches one vector per text for a head alone, every token for unfrozen layers', () => {
    expect(planLayerStack(BASE).cachedBytes).toBe(100 * 32 * 4);
    expect(planLayerStack({ ...BASE, unfreeze: 1 }).cachedBytes).toBe(100 * 10 * 32 * 4);
    // The test split's inputs are cached too.
    expect(planLayerStack({ ...BASE, testTexts: 40 }).cachedBytes).toBe(140 * 32 * 4);
    expect(planLayerStack({ ...BASE, unfreeze: 1, testTexts: 40 }).cachedBytes).toBe(140 * 10 * 32 * 4);
  });

  it.each([
    { flopsPerSecond: undefined, rate: ASSUMED_FLOPS_PER_SECOND, measured: false },
    { flopsPerSecond: 0, rate: ASSUMED_FLOPS_PER_SECOND, measured: false },
    { flopsPerSecond: 7.5e9, rate: 7.5e9, measured: true },
  ])(
    'estimates time from the FLOPs of training at a measured rate $flopsPerSecond, else the assumed one',
    ({ flopsPerSecond, rate, measured }) => {
      const plan = planLayerStack({
        ...BASE,
        unfreeze: 1,
        ...(flopsPerSecond === undefined ? {} : { flopsPerSecond }),
      });
      const flops = 10 * 3 * (2 * 8544 * 1000 + 2 * 99 * 100);
      expect(plan.estimatedTrainMs).toBeCloseTo((flops / rate) * 1000, 6);
      expect([plan.flopsPerSecond, plan.measuredRate]).toEqual([rate, measured]);
    },
  );

  it('estimates layer sizes from the hidden size when the counts are unknown', () => {
    const { layerParameters: _unused, ...withoutCounts } = BASE;
    const plan = planLayerStack({ ...withoutCounts, unfreeze: 1 });
    expect(plan.estimatedParameters).toBe(true);
    expect(plan.layers[3]?.parameters).toBe(estimatedLayerParameters(32));
    // A BERT layer at hidden 768 (intermediate 3072) has 7,087,872 parameters.
    expect(estimatedLayerParameters(768)).toBe(7_087_872);
  });
});
