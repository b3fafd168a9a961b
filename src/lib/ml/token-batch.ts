/**
 * @file Padded int64 batches built from texts tokenized once. The encoder tokenizes every text a single time (to
 * plan length-bucketed batches) and builds each batch's `input_ids`, `attention_mask` and `token_type_ids` from
 * those ids, exactly as the tokenizer's own `padding: true, truncation: true, max_length` call would: each text
 * cut to `maxLength` tokens (its end, special tokens included), every row padded to the batch's longest one.
 */

/** One text as the tokenizer encodes it (special tokens included), before truncation and padding. */
export interface TextEncoding {
  input_ids: readonly number[];
  attention_mask: readonly number[];
  /** Present when the tokenizer produces segment ids (BERT-style). */
  token_type_ids?: readonly number[];
}

/** A padded batch, row-major `[rows, tokens]`, as int64 ONNX inputs take it. */
export interface PaddedBatch {
  dims: [rows: number, tokens: number];
  input_ids: BigInt64Array;
  attention_mask: BigInt64Array;
  /** Present when every encoding has segment ids. */
  token_type_ids?: BigInt64Array;
}

/** How a tokenizer pads: its pad token id and side. */
export interface PaddingRule {
  padTokenId: number;
  side: 'left' | 'right';
}

/**
 * The padded batch of `encodings` (at least one): each cut to `maxLength` tokens, padded to the longest row with
 * `rule.padTokenId` in `input_ids` and 0 elsewhere, on `rule.side`.
 * @throws RangeError for an empty batch or a `maxLength` below 1.
 */
export function padEncodings(
  encodings: readonly TextEncoding[],
  maxLength: number,
  rule: PaddingRule,
): PaddedBatch {
  if (encodings.length === 0) throw new RangeError('A batch needs at least one text.');
  if (!(maxLength >= 1)) throw new RangeError(`maxLength must be at least 1, got ${maxLength}.`);
  const width = Math.min(maxLength, Math.max(...encodings.map((encoding) => encoding.input_ids.length)));
  const rows = encodings.length;
  const withTypes = encodings.every((encoding) => encoding.token_type_ids !== undefined);
  const inputIds = new BigInt64Array(rows * width);
  const attentionMask = new BigInt64Array(rows * width);
  const tokenTypeIds = withTypes ? new BigInt64Array(rows * width) : undefined;
  const pad = BigInt(rule.padTokenId);
  encodings.forEach((encoding, row) => {
    const length = Math.min(encoding.input_ids.length, width);
    const start = row * width + (rule.side === 'left' ? width - length : 0);
    const padStart = rule.side === 'left' ? row * width : start + length;
    inputIds.fill(pad, padStart, padStart + (width - length));
    for (let t = 0; t < length; t++) {
      inputIds[start + t] = BigInt(encoding.input_ids[t] as number);
      attentionMask[start + t] = BigInt(encoding.attention_mask[t] as number);
      if (tokenTypeIds) tokenTypeIds[start + t] = BigInt(encoding.token_type_ids?.[t] as number);
    }
  });
  return {
    dims: [rows, width],
    input_ids: inputIds,
    attention_mask: attentionMask,
    ...(tokenTypeIds ? { token_type_ids: tokenTypeIds } : {}),
  };
}
