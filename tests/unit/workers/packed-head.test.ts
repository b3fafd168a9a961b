import { describe, expect, it } from 'vitest';
import type { SerializedHead } from '../../../src/lib/core/ports.ts';
import {
  packedBuffers,
  packHead,
  unpackHead,
  unpackHeadInSlices,
} from '../../../src/lib/workers/packed-head.ts';

/** A hidden head with unfrozen layers; every value float32 (as tfjs gives them), one weight without a layer mark. */
function head(): SerializedHead {
  const values = (count: number, scale: number) =>
    Array.from({ length: count }, (_, i) => Math.fround((i - count / 2) * scale));
  return {
    inputSize: 3,
    hidden: 2,
    numClasses: 2,
    layers: [
      { kernel: values(6, 0.1), kernelShape: [3, 2], bias: values(2, 1 / 3) },
      { kernel: values(4, -0.7), kernelShape: [2, 2], bias: [0, Math.fround(1e-8)] },
    ],
    unfrozen: {
      fromLayer: 1,
      toLayer: 2,
      weights: [
        { name: 'w', shape: [3, 3], values: values(9, 0.01), layer: 1 },
        { name: 'b', shape: [3], values: [Math.fround(-2.5), 0, Math.fround(Math.PI)] },
      ],
    },
  };
}

describe('packed heads', () => {
  it('give back exactly the same weights, with and without unfrozen layers', () => {
    const original = head();
    expect(unpackHead(packHead(original).head)).toEqual(original);
    const { unfrozen: _unfrozen, ...frozen } = original;
    const unpacked = unpackHead(packHead(frozen).head);
    expect(unpacked).toEqual(frozen);
    expect(unpacked).not.toHaveProperty('unfrozen');
  });

  it('list every array’s buffer once for the transfer, which moves them without copying', () => {
    const { head: packed, transfer } = packHead(head());
    expect(transfer).toHaveLength(2 * 2 + 2);
    expect(new Set(transfer).size).toBe(transfer.length);
    const moved = structuredClone(packed, { transfer });
    expect(transfer.every((buffer) => buffer.byteLength === 0)).toBe(true);
    expect(unpackHead(moved)).toEqual(head());
  });

  it('name the buffers of a packed head once each, for a reply’s transfer list', () => {
    const { head: packed, transfer } = packHead(head());
    expect(new Set(packedBuffers(packed))).toEqual(new Set(transfer));
    const shared = new Float32Array(4);
    const twice = {
      ...packed,
      layers: [{ kernel: shared, kernelShape: [1, 4] as [number, number], bias: shared }],
    };
    const { unfrozen: _unfrozen, ...frozen } = twice;
    expect(packedBuffers(frozen)).toEqual([shared.buffer]);
  });

  it('unpack in slices to the same plain head, pausing between slices of at most the given size', async () => {
    const { head: packed } = packHead(head());
    // 6 + 2 + 4 + 2 head values, 9 + 3 layer values: 26 values in slices of 4.
    let pauses = 0;
    const sliced = await unpackHeadInSlices(packed, 4, async () => {
      pauses++;
    });
    expect(sliced).toEqual(unpackHead(packed));
    expect(sliced).toEqual(head());
    expect(pauses).toBe(Math.ceil(26 / 4) - 1);
    expect(await unpackHeadInSlices(packed)).toEqual(head());
  });
});
