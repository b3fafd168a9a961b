/**
 * @file The one layer resolver (src/lib/core/experiment/layers.ts): 0..numLayers and -1..-(numLayers + 1) name the
 * same hidden states; anything else is refused with the model's range.
 */
import { describe, expect, it } from 'vitest';
import { layerIndex, resolveLayer } from '../../../../src/lib/core/experiment/layers.ts';

describe('layerIndex', () => {
  const cases: [number, number, number | undefined][] = [
    [0, 4, 0],
    [4, 4, 4],
    [-1, 4, 4],
    [-2, 4, 3],
    [-5, 4, 0],
    [5, 4, undefined],
    [-6, 4, undefined],
    [1.5, 4, undefined],
    [Number.NaN, 4, undefined],
    [0, 0, 0],
    [-1, 0, 0],
    [1, 0, undefined],
  ];

  it.each(cases)('layer %d of a %d-layer model is hidden state %s', (layer, numLayers, expected) => {
    expect(layerIndex(layer, numLayers)).toBe(expected);
  });
});

describe('resolveLayer', () => {
  it('returns the index of a layer the model has', () => {
    expect(resolveLayer(-1, 6, 'm')).toBe(6);
  });

  it('names the layer, the model and its range otherwise', () => {
    expect(() => resolveLayer(7, 6, 'Xenova/all-MiniLM-L6-v2')).toThrow(
      new RangeError(
        'Layer 7 does not exist: Xenova/all-MiniLM-L6-v2 has layers 0..6 (0 = embeddings output, 6 = last layer), ' +
          'or -1..-7 counting from the end.',
      ),
    );
  });
});
