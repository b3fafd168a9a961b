/**
 * @file Graph output names the unfreezing code shares with the encoder adapter, kept free of runtime imports.
 */

/** The output of models that compute their own sentence embedding (see src/cli/convert/use-lite-graph.ts). */
export const SENTENCE_EMBEDDING_OUTPUT_NAME = 'sentence_embedding';
