/**
 * @file The feeds of an encoder's bare ONNX session (onnxruntime-node or onnxruntime-web) for one tokenized batch:
 * `input_ids`, `attention_mask`, and `token_type_ids` when the session takes them (the batch's own, else zeros:
 * one segment per text).
 */
import type { TokenizedBatch } from '../../src/lib/ml/transformers-adapter.ts';

/** `int64Tensor` makes a tensor of the runtime in use, e.g. `(values, dims) => new ort.Tensor('int64', values, dims)`. */
export function encoderFeeds<T>(
  batch: TokenizedBatch,
  inputNames: readonly string[],
  int64Tensor: (values: BigInt64Array, dims: [number, number]) => T,
): Record<string, T> {
  const feeds: Record<string, T> = {
    input_ids: int64Tensor(batch.inputIds, batch.dims),
    attention_mask: int64Tensor(batch.attentionMask, batch.dims),
  };
  if (inputNames.includes('token_type_ids')) {
    feeds.token_type_ids = int64Tensor(
      batch.tokenTypeIds ?? new BigInt64Array(batch.inputIds.length),
      batch.dims,
    );
  }
  return feeds;
}
