/**
 * @file What the adapter reads from a model's config.json and tokenizer: sizes under their several names, the
 * token limit, the external-data flag, and whether tokenizer and model belong together; and from the ONNX file's
 * metadata, the graph optimisation its session asks for. Pure; the adapter passes the parsed config and metadata in.
 */
import { ModelFileError } from './model-errors.ts';

/** config.json as a plain record of its fields. */
export type ConfigFields = Readonly<Record<string, unknown>>;

/** Names config.json files use for the number of transformer layers. */
export const LAYER_COUNT_KEYS: readonly string[] = ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'];
/** Names config.json files use for the hidden size. */
const HIDDEN_SIZE_KEYS: readonly string[] = ['hidden_size', 'd_model', 'n_embd', 'dim'];
/** Names config.json files use for the position table's length. */
const POSITION_KEYS: readonly string[] = ['max_position_embeddings', 'n_positions'];
/** Names config.json files use for the vocabulary size. */
const VOCAB_SIZE_KEYS: readonly string[] = ['vocab_size', 'n_vocab'];

/** Used when neither the tokenizer nor the config states a usable limit. */
const FALLBACK_MAX_TOKENS = 512;

/** `value` when it is a positive finite number. */
export function positiveFinite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The first of `keys` whose value is a positive finite number. */
export function configNumber(config: ConfigFields, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = positiveFinite(config[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * The hidden size the model's vectors have.
 * @throws Error naming the model when config.json states none.
 */
export function hiddenSizeOf(config: ConfigFields, modelId: string): number {
  const dimension = configNumber(config, HIDDEN_SIZE_KEYS);
  if (dimension === undefined) {
    throw new Error(`${modelId}: config.json states no hidden size (hidden_size, d_model or n_embd).`);
  }
  return dimension;
}

/**
 * Tokens per text the model takes: the smaller of the tokenizer's limit and the position table. Tokenizers
 * without a limit report a huge sentinel (1e30); the position table is the real bound.
 */
export function maxTokensOf(config: ConfigFields, tokenizerLimit: unknown): number {
  const limits = [positiveFinite(tokenizerLimit), configNumber(config, POSITION_KEYS)].filter(
    (limit): limit is number => limit !== undefined && limit < 1e9,
  );
  return limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_TOKENS;
}

/** True when config.json asks transformers.js to load the weights from separate `.onnx_data` files. */
export function usesExternalData(config: ConfigFields): boolean {
  const jsConfig = config['transformers.js_config'] as { use_external_data_format?: unknown } | undefined;
  const external = jsConfig?.use_external_data_format;
  if (typeof external === 'object' && external !== null) return Object.values(external).some(Boolean);
  return Boolean(external);
}

/**
 * A tokenizer whose ids reach past the model's embedding table belongs to another model: ORT would fail on the
 * first text with an index error, or worse, a model with a larger table would silently read the wrong rows.
 * `largestTokenId` is the tokenizer's largest id (undefined when it cannot tell); `tokenizerFile` names the file.
 * @throws ModelFileError naming tokenizer.json and what to copy.
 */
export function checkTokenizerFitsModel(
  largestTokenId: number | undefined,
  config: ConfigFields,
  tokenizerFile: string,
): void {
  const vocabSize = configNumber(config, VOCAB_SIZE_KEYS);
  if (vocabSize === undefined || largestTokenId === undefined || largestTokenId < vocabSize) return;
  throw new ModelFileError(
    tokenizerFile,
    `${tokenizerFile} does not match the model: its token ids go up to ${largestTokenId}, but config.json says ` +
      `the model has ${vocabSize} tokens (vocab_size). The tokenizer comes from a different model. Copy ` +
      'tokenizer.json and tokenizer_config.json from the same export as config.json and the ONNX file.',
  );
}

/** onnxruntime's graph optimisation levels (`SessionOptions.graphOptimizationLevel`); `all` is its default. */
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

/** The ONNX `metadata_props` key by which a model file asks for a graph optimisation level (README, *Models*). */
export const GRAPH_OPTIMIZATION_KEY = 'graph_optimization_level';

/** Whether `value` is one of onnxruntime's graph optimisation levels. */
export function isGraphOptimizationLevel(value: string): value is GraphOptimizationLevel {
  return (GRAPH_OPTIMIZATION_LEVELS as readonly string[]).includes(value);
}

/**
 * The graph optimisation level the ONNX file's metadata asks its session to use, or undefined when it asks for
 * none (onnxruntime's default then applies). `onnxFile` names the file in the error.
 * @throws ModelFileError naming the file, the value and the levels onnxruntime knows.
 */
export function graphOptimizationOf(
  metadata: ReadonlyMap<string, string>,
  onnxFile: string,
): GraphOptimizationLevel | undefined {
  const level = metadata.get(GRAPH_OPTIMIZATION_KEY);
  if (level === undefined || isGraphOptimizationLevel(level)) return level;
  throw new ModelFileError(
    onnxFile,
    `${onnxFile} asks for the graph optimisation level ${JSON.stringify(level)} (metadata ` +
      `"${GRAPH_OPTIMIZATION_KEY}"), which onnxruntime does not have: use one of ` +
      `${GRAPH_OPTIMIZATION_LEVELS.join(', ')}, or remove the entry.`,
  );
}
