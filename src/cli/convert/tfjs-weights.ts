/**
 * @file Reads the weights of a TensorFlow.js graph model (`model.json` + binary shards) from a folder, by
 * name, without running TensorFlow.js: the manifest lists every weight's name, shape and dtype in shard order.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One weight tensor of a tfjs graph model. */
export interface TfjsWeight {
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** The parts of a tfjs `model.json` this reader needs. */
export interface TfjsModelJson {
  modelTopology: { node: Array<{ name: string; op: string; input?: string[] }> };
  weightsManifest: WeightGroup[];
}

/**
 * Reads `model.json` and its shards from `folder` and returns every weight by name (a Map: names are data).
 * @throws Error naming the file when a shard is missing or shorter than the manifest says, or when a weight
 * is quantized or of a dtype this reader does not know.
 */
export async function readTfjsWeights(
  folder: string,
): Promise<{ model: TfjsModelJson; weights: Map<string, TfjsWeight> }> {
  const model = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as TfjsModelJson;
  const weights = new Map<string, TfjsWeight>();
  for (const group of model.weightsManifest) {
    const shards = await Promise.all(group.paths.map((path) => readFile(join(folder, path))));
    const data = Buffer.concat(shards);
    let offset = 0;
    for (const spec of group.weights) {
      if (spec.quantization !== undefined) {
        throw new Error(`Weight "${spec.name}" is quantized; only float32/int32 weights can be read.`);
      }
      if (spec.dtype !== 'float32' && spec.dtype !== 'int32') {
        throw new Error(`Weight "${spec.name}" has dtype ${spec.dtype}; only float32/int32 can be read.`);
      }
      const count = spec.shape.reduce((product, dim) => product * dim, 1);
      const bytes = count * 4;
      if (offset + bytes > data.length) {
        throw new Error(
          `The weight shards ${group.paths.join(', ')} in ${folder} end before weight "${spec.name}": ` +
            'the package is incomplete; reinstall it with npm ci.',
        );
      }
      // Copy into an aligned buffer of its own (shard boundaries need not be 4-byte aligned in memory).
      const copy = new ArrayBuffer(bytes);
      new Uint8Array(copy).set(data.subarray(offset, offset + bytes));
      const values = spec.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy);
      weights.set(spec.name, { shape: spec.shape, dtype: spec.dtype, values });
      offset += bytes;
    }
  }
  return { model, weights };
}
