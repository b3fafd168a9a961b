/**
 * @file Bad model files through the adapter in Node (the same checks run in the browser): a tokenizer from another
 * model, a corrupt ONNX file and a refused size each fail with a ModelFileError naming the file, before a session
 * exists; a good folder reports its weights' size before they are read. And the graph optimisation an ONNX file
 * asks for in its metadata: passed to its session, or refused when onnxruntime has no such level.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  GRAPH_OPTIMIZATION_KEY,
  GRAPH_OPTIMIZATION_LEVELS,
  graphOptimizationOf,
} from '../../../src/lib/ml/model-config.ts';
import { withModelMetadata } from '../../../src/lib/ml/onnx-graph/index.ts';
import { loadEncoder, ModelFileError } from '../../../src/lib/ml/transformers-adapter.ts';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/models');

let scratch: string;

/** A copy of tiny-bert in the scratch folder, changed by `edit`. */
async function copyOfTinyBert(name: string, edit: (folder: string) => Promise<void>): Promise<string> {
  const folder = join(scratch, name);
  await cp(join(FIXTURES, 'tiny-bert'), folder, { recursive: true });
  await edit(folder);
  return folder;
}

async function loadError(
  folder: string,
  onWeightsSize?: (file: string, bytes: number) => void,
): Promise<unknown> {
  return loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32', onWeightsSize }).then(
    async (encoder) => {
      await encoder.dispose();
      return undefined;
    },
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'pvf-encoder-files-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('bad model files', () => {
  test("another model's tokenizer is refused at load, naming tokenizer.json and both sizes", async () => {
    const folder = await copyOfTinyBert('mixed', async (target) => {
      await cp(join(FIXTURES, 'tiny-gpt2/tokenizer.json'), join(target, 'tokenizer.json'));
    });
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).path).toBe(join(folder, 'tokenizer.json'));
    expect((error as Error).message).toMatch(
      /token ids go up to 2791, but config\.json says the model has 733 tokens/,
    );
  });

  test('a corrupt ONNX file is named, with what to do', async () => {
    const folder = await copyOfTinyBert('corrupt', (target) =>
      writeFile(join(target, 'onnx/model.onnx'), Buffer.from('{"error": "not found"}')),
    );
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).toContain(
      `${join(folder, 'onnx/model.onnx')} is not a usable ONNX model`,
    );
    expect((error as Error).message).toContain('Download or copy it again');
  });

  test('the weights size is reported before reading, and a refusal stops the load', async () => {
    const sizes: [string, number][] = [];
    const folder = join(FIXTURES, 'tiny-bert');
    expect(await loadError(folder, (file, bytes) => sizes.push([file, bytes]))).toBeUndefined();
    expect(sizes).toEqual([['onnx/model.onnx', expect.any(Number)]]);
    expect(sizes[0]?.[1]).toBeGreaterThan(200_000);
    const refusal = new ModelFileError('onnx/model.onnx', 'too large for this test');
    await expect(
      loadError(folder, () => {
        throw refusal;
      }),
    ).resolves.toBe(refusal);
  });
});

describe('the graph optimisation an ONNX file asks for', () => {
  /** A copy of tiny-bert whose ONNX file carries `level` under the metadata key. */
  const tagged = (name: string, level: string) =>
    copyOfTinyBert(name, async (target) => {
      const file = join(target, 'onnx/model.onnx');
      await writeFile(
        file,
        withModelMetadata(await readFile(file), new Map([[GRAPH_OPTIMIZATION_KEY, level]])),
      );
    });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  test.each([
    { metadata: [], level: undefined },
    ...GRAPH_OPTIMIZATION_LEVELS.map((level) => ({ metadata: [[GRAPH_OPTIMIZATION_KEY, level]], level })),
    { metadata: [['author', 'someone']], level: undefined },
  ] as { metadata: [string, string][]; level: string | undefined }[])(
    'metadata $metadata asks for $level',
    ({ metadata, level }) => {
      expect(graphOptimizationOf(new Map(metadata), 'model.onnx')).toBe(level);
    },
  );

  test.each(['fastest', 'ALL', '', 'all\u001b[31m'])(
    '%j is refused, naming the file and the levels',
    (level) => {
      const call = () => graphOptimizationOf(new Map([[GRAPH_OPTIMIZATION_KEY, level]]), 'm/onnx/model.onnx');
      expect(call).toThrow(ModelFileError);
      expect(call).toThrow(
        `m/onnx/model.onnx asks for the graph optimisation level ${JSON.stringify(level)} (metadata ` +
          '"graph_optimization_level"), which onnxruntime does not have: use one of disabled, basic, extended, all, ' +
          'or remove the entry.',
      );
    },
  );

  test("reaches the session's options, and the model embeds as the untagged file does within 1e-4", async () => {
    const create = vi.spyOn(ort.InferenceSession, 'create');
    const embed = async (folder: string) => {
      const encoder = await loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' });
      try {
        return await encoder.embed(['a short text', 'another, somewhat longer text'], {
          layer: -1,
          pooling: 'mean',
        });
      } finally {
        await encoder.dispose();
      }
    };
    const plain = await embed(join(FIXTURES, 'tiny-bert'));
    expect(create.mock.calls.at(-1)?.[1]).not.toHaveProperty('graphOptimizationLevel');
    const disabled = await embed(await tagged('disabled', 'disabled'));
    expect(create.mock.calls.at(-1)?.[1]).toMatchObject({ graphOptimizationLevel: 'disabled' });
    expect(disabled.length).toBe(plain.length);
    disabled.forEach((vector, row) => {
      vector.forEach((value, dim) => expect(Math.abs(value - plain[row]![dim]!)).toBeLessThan(1e-4));
    });
  });

  test('a level onnxruntime does not have fails the load before a session exists', async () => {
    const create = vi.spyOn(ort.InferenceSession, 'create');
    const folder = await tagged('unknown-level', 'fastest');
    const error = await loadError(folder);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).path).toBe(join(folder, 'onnx/model.onnx'));
    expect((error as Error).message).toContain('"fastest"');
    expect(create).not.toHaveBeenCalled();
  });
});
