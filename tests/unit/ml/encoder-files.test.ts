/**
 * @file Bad model files through the adapter in Node (the same checks run in the browser): a tokenizer from another
 * model, a corrupt ONNX file and a refused size each fail with a ModelFileError naming the file, before a session
 * exists; a good folder reports its weights' size before they are read.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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
