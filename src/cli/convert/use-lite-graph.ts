/**
 * @file Rebuilds Google's Universal Sentence Encoder Lite (the tfjs graph "KonaTransformer") as an ONNX encoder
 * graph that transformers.js runs like a BERT model: dense `input_ids` + `attention_mask` in (instead of the tfjs
 * graph's sparse `indices`/`values`), `last_hidden_state`, every layer's `hidden_states.N` and the model's own
 * `sentence_embedding` out.
 *
 * What the original graph computes, read from its node list and constants:
 * - twice the token embeddings (8002 × 256) plus a sin/cos timing signal of each token's position (128
 *   timescales, sin first), zero at padding (the original adds the embeddings to their timed copy);
 * - layer 0: pre-norm (LayerNorm, ε 1e-6) self-attention with 4 heads of 64 (q scaled by 64^-½ before the dot
 *   product, padding keys masked with −1e9) projecting 256 → 512, added to a 256 → 512 dense projection of the
 *   layer input (zero at padding); then a pre-norm ReLU feed-forward 512 → 1536 → 512 applied to real tokens only;
 * - layer 1: the same at width 512 (4 heads of 128, residual = the layer input);
 * - the sum of the last layer over the real tokens divided by their count, a 512 × 512 dense layer with tanh,
 *   and L2 normalisation (norm² floored at 1e-12): the 512-d sentence embedding.
 * Node names follow PyTorch export scopes (`/encoder/layer.N/...`), so the project's layer finder reads it like
 * any exported encoder.
 */
import { ElementType, GraphBuilder } from '../../../scripts/fixtures/onnx-builder.ts';
import type { TfjsWeight } from './tfjs-weights.ts';

/** Sizes of the converted model (checked against the weights while converting). */
export const USE_LITE_SHAPE = {
  vocabSize: 8002,
  embeddingSize: 256,
  hiddenSize: 512,
  intermediateSize: 1536,
  numHeads: 4,
  numLayers: 2,
  maxTokens: 128,
  timescales: 128,
} as const;

const LAYER_NORM_EPSILON = 1e-6;
const MASKED_SCORE = -1e9;
const NORM_FLOOR = 1e-12;

const APPLY = 'module_apply_default/Encoder_en/KonaTransformer/Encode';
const STACK = `${APPLY}/TransformerStack`;
const VARS = 'module/Encoder_en/KonaTransformer/Encode';

/** tfjs weight names of layer `n`'s parameters. */
function layerWeightNames(n: number) {
  const layer = `${APPLY}/Layer_${n}/TransformerLayer`;
  const attention = `${layer}/MultiheadAttention`;
  return {
    attentionNormScale: `${layer}/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`,
    attentionNormBias: `${layer}/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`,
    qkvKernel: `${VARS}/Layer_${n}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`,
    qkvBias: `${attention}/qkv_transform_single/bias/ConcatPartitions/concat`,
    outputKernel: `${VARS}/Layer_${n}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`,
    outputBias: `${attention}/output_transform_single/bias/ConcatPartitions/concat`,
    ffnNormScale: `${layer}/FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`,
    ffnNormBias: `${layer}/FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`,
    ffnInKernel: `${STACK}/Layer_${n}/TransformerLayer/FFN/conv1/Tensordot/Reshape_1`,
    ffnInBias: `${layer}/FFN/conv1/bias/ConcatPartitions/concat`,
    ffnOutKernel: `${STACK}/Layer_${n}/TransformerLayer/FFN/conv2/Tensordot/Reshape_1`,
    ffnOutBias: `${layer}/FFN/conv2/bias/ConcatPartitions/concat`,
    /** Only layer 0, whose input (256) is narrower than its output (512). */
    residualKernel: `${layer}/dense/kernel/ConcatPartitions/concat`,
    residualBias: `${layer}/dense/bias/ConcatPartitions/concat`,
    queryScale: `${STACK}/Layer_${n}/TransformerLayer/MultiheadAttention/mul/y`,
  };
}

const WEIGHT_NAMES = {
  embeddings: 'module/Embeddings_en',
  inverseTimescales: `${STACK}/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`,
  poolKernel: 'module/Encoder_en/hidden_layers/tanh_layer_0/weights',
  poolBias: 'module/Encoder_en/hidden_layers/tanh_layer_0/bias',
};

/** Looks a weight up by name, checking its shape. */
function weight(weights: ReadonlyMap<string, TfjsWeight>, name: string, shape: number[]): Float32Array {
  const found = weights.get(name);
  if (!found)
    throw new Error(`The tfjs model has no weight "${name}": not the Universal Sentence Encoder Lite.`);
  const size = (dims: number[]) => dims.reduce((product, dim) => product * dim, 1);
  if (size(found.shape) !== size(shape) || !(found.values instanceof Float32Array)) {
    throw new Error(
      `Weight "${name}" has shape [${found.shape}] (${found.dtype}); expected float32 [${shape}].`,
    );
  }
  return found.values;
}

/** Columns [from, from + count) of a row-major [rows, cols] matrix. */
function columns(
  matrix: Float32Array,
  rows: number,
  cols: number,
  from: number,
  count: number,
): Float32Array {
  const out = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++)
    out.set(matrix.subarray(r * cols + from, r * cols + from + count), r * count);
  return out;
}

/** Emits the converted graph; each method adds one module's nodes under its scope. */
class UseLiteWriter {
  readonly graph = new GraphBuilder();
  readonly #weights: ReadonlyMap<string, TfjsWeight>;
  readonly #c: Record<string, string>;

  constructor(weights: ReadonlyMap<string, TfjsWeight>) {
    this.#weights = weights;
    const g = this.graph;
    const scalar = (name: string, value: number) => g.floatTensor(name, [], Float32Array.of(value));
    this.#c = {
      axis1: g.int64Tensor('const/axis_1', [1], [1]),
      axisLast: g.int64Tensor('const/axis_last', [1], [-1]),
      zero: g.int64Tensor('const/zero', [], [0]),
      index1: g.int64Tensor('const/index_1', [1], [1]),
      one: scalar('const/one', 1),
      ones: g.floatTensor('const/ones', [1], Float32Array.of(1)),
      maskValues: g.floatTensor('const/mask_values', [2], Float32Array.of(0, 1)),
      maskedScore: scalar('const/masked_score', MASKED_SCORE),
      normFloor: scalar('const/norm_floor', NORM_FLOOR),
      mergeShape: g.int64Tensor('const/merge_heads', [3], [0, 0, -1]),
    };
  }

  #w(name: string, shape: number[]): Float32Array {
    return weight(this.#weights, name, shape);
  }

  /** `input @ kernel + bias` under `scope`. */
  dense(
    scope: string,
    input: string,
    kernel: Float32Array,
    bias: Float32Array,
    shape: [number, number],
  ): string {
    const g = this.graph;
    const k = g.floatTensor(`${scope}.kernel`, shape, kernel);
    const b = g.floatTensor(`${scope}.bias`, [shape[1]], bias);
    return g.node('Add', `${scope}/Add`, [g.node('MatMul', `${scope}/MatMul`, [input, k]), b]);
  }

  layerNorm(scope: string, input: string, scale: Float32Array, bias: Float32Array): string {
    const g = this.graph;
    const s = g.floatTensor(`${scope}.scale`, [scale.length], scale);
    const b = g.floatTensor(`${scope}.bias`, [bias.length], bias);
    return g.node('LayerNormalization', `${scope}/LayerNormalization`, [input, s, b], {
      axis: -1,
      epsilon: { float: LAYER_NORM_EPSILON },
    });
  }

  /**
   * Float mask [B, T, 1] and the additive attention bias [B, 1, 1, T] from attention_mask. The 0/1 mask becomes
   * float by looking each value up in [0, 1] (a Gather, like the token embeddings) rather than by a Cast:
   * onnxruntime's Cast kernel is one huge WebAssembly function (490 kB of code) that becomes hot after a few runs
   * and then costs the browser's compiler threads 1–3 s of CPU on a first visit, beside the page.
   */
  masks(attentionMask: string): { mask: string; mask3: string; scoreBias: string } {
    const g = this.graph;
    const c = this.#c;
    const mask = g.node('Gather', '/mask/Gather_float', [c.maskValues!, attentionMask], { axis: 0 });
    const mask3 = g.node('Unsqueeze', '/mask/Unsqueeze', [mask, c.axisLast!]);
    const inverted = g.node('Sub', '/mask/Sub', [c.one!, mask]);
    const scaled = g.node('Mul', '/mask/Mul', [inverted, c.maskedScore!]);
    const scoreBias = g.node('Unsqueeze', '/mask/Unsqueeze_heads', [
      g.node('Unsqueeze', '/mask/Unsqueeze_query', [scaled, c.axis1!]),
      c.axis1!,
    ]);
    return { mask, mask3, scoreBias };
  }

  /** Token embeddings plus the timing signal, zero at padding: hidden state 0. */
  embeddings(inputIds: string, mask3: string): string {
    const g = this.graph;
    const c = this.#c;
    const { vocabSize, embeddingSize, timescales } = USE_LITE_SHAPE;
    const table = g.floatTensor(
      'embeddings.word_embeddings.weight',
      [vocabSize, embeddingSize],
      this.#w(WEIGHT_NAMES.embeddings, [vocabSize, embeddingSize]),
    );
    const tokens = g.node('Gather', '/embeddings/word_embeddings/Gather', [table, inputIds], { axis: 0 });
    // Positions 0..T-1 as floats, counted by an exclusive running sum of T ones (no Cast, see `masks`; exact,
    // since whole numbers this small are exact in float32).
    const length = g.node(
      'Gather',
      '/embeddings/timing/Gather_length',
      [g.node('Shape', '/embeddings/timing/Shape', [inputIds]), c.index1!],
      { axis: 0 },
    );
    const ones = g.node('Expand', '/embeddings/timing/Expand', [c.ones!, length]);
    const positions = g.node('CumSum', '/embeddings/timing/CumSum', [ones, c.zero!], { exclusive: 1 });
    const column = g.node('Unsqueeze', '/embeddings/timing/Unsqueeze', [positions, c.axisLast!]);
    const inverse = g.floatTensor(
      'embeddings.timing.inverse_timescales',
      [1, timescales],
      this.#w(WEIGHT_NAMES.inverseTimescales, [1, timescales]),
    );
    const angles = g.node('Mul', '/embeddings/timing/Mul', [column, inverse]);
    const signal = g.node(
      'Concat',
      '/embeddings/timing/Concat',
      [g.node('Sin', '/embeddings/timing/Sin', [angles]), g.node('Cos', '/embeddings/timing/Cos', [angles])],
      { axis: -1 },
    );
    // The original adds the timing signal to the embeddings and then adds the embeddings once more.
    const timed = g.node('Add', '/embeddings/Add_timing', [tokens, signal]);
    const summed = g.node('Add', '/embeddings/Add', [tokens, timed]);
    return g.node('Mul', '/embeddings/Mul_mask', [summed, mask3]);
  }

  /** Multi-head self-attention of `normed` (width `width`), projected to the hidden size. */
  attention(scope: string, n: number, normed: string, width: number, scoreBias: string): string {
    const g = this.graph;
    const names = layerWeightNames(n);
    const { numHeads, hiddenSize } = USE_LITE_SHAPE;
    const headSize = width / numHeads;
    const qkv = this.#w(names.qkvKernel, [1, 1, width, 3 * width]);
    const qkvBias = this.#w(names.qkvBias, [3 * width]);
    const split = g.int64Tensor(`${scope}.split_heads_shape`, [4], [0, 0, numHeads, headSize]);
    const heads = (part: string, index: number, perm: number[]) => {
      const projected = this.dense(
        `${scope}/${part}`,
        normed,
        columns(qkv, width, 3 * width, index * width, width),
        qkvBias.slice(index * width, (index + 1) * width),
        [width, width],
      );
      const reshaped = g.node('Reshape', `${scope}/${part}/Reshape`, [projected, split]);
      return g.node('Transpose', `${scope}/${part}/Transpose`, [reshaped], { perm: { ints: perm } });
    };
    const query = heads('query', 0, [0, 2, 1, 3]);
    const key = heads('key', 1, [0, 2, 3, 1]);
    const value = heads('value', 2, [0, 2, 1, 3]);
    const scale = this.#w(names.queryScale, []);
    const scaledQuery = g.node('Mul', `${scope}/Mul_scale`, [
      query,
      g.floatTensor(`${scope}.query_scale`, [], scale),
    ]);
    const scores = g.node('Add', `${scope}/Add_mask`, [
      g.node('MatMul', `${scope}/MatMul_scores`, [scaledQuery, key]),
      scoreBias,
    ]);
    const probabilities = g.node('Softmax', `${scope}/Softmax`, [scores], { axis: -1 });
    const context = g.node('MatMul', `${scope}/MatMul_context`, [probabilities, value]);
    const merged = g.node('Reshape', `${scope}/Reshape_merge`, [
      g.node('Transpose', `${scope}/Transpose_merge`, [context], { perm: { ints: [0, 2, 1, 3] } }),
      this.#c.mergeShape!,
    ]);
    return this.dense(
      `${scope}/output`,
      merged,
      this.#w(names.outputKernel, [1, 1, width, hiddenSize]),
      this.#w(names.outputBias, [hiddenSize]),
      [width, hiddenSize],
    );
  }

  /** One transformer layer; its last node (`.../output/Add_residual`) produces the layer's output. */
  layer(n: number, input: string, width: number, mask3: string, scoreBias: string): string {
    const g = this.graph;
    const names = layerWeightNames(n);
    const { hiddenSize, intermediateSize } = USE_LITE_SHAPE;
    const scope = `/encoder/layer.${n}`;
    const normed = this.layerNorm(
      `${scope}/attention/LayerNorm`,
      input,
      this.#w(names.attentionNormScale, [width]),
      this.#w(names.attentionNormBias, [width]),
    );
    const attended = this.attention(`${scope}/attention/self`, n, normed, width, scoreBias);
    const residual =
      width === hiddenSize
        ? input
        : g.node('Mul', `${scope}/residual/Mul_mask`, [
            this.dense(
              `${scope}/residual`,
              input,
              this.#w(names.residualKernel, [width, hiddenSize]),
              this.#w(names.residualBias, [hiddenSize]),
              [width, hiddenSize],
            ),
            mask3,
          ]);
    const afterAttention = g.node('Add', `${scope}/attention/Add_residual`, [attended, residual]);
    const ffnIn = this.layerNorm(
      `${scope}/intermediate/LayerNorm`,
      afterAttention,
      this.#w(names.ffnNormScale, [hiddenSize]),
      this.#w(names.ffnNormBias, [hiddenSize]),
    );
    const expanded = g.node('Relu', `${scope}/intermediate/Relu`, [
      this.dense(
        `${scope}/intermediate/dense`,
        ffnIn,
        this.#w(names.ffnInKernel, [hiddenSize, intermediateSize]),
        this.#w(names.ffnInBias, [intermediateSize]),
        [hiddenSize, intermediateSize],
      ),
    ]);
    const projected = this.dense(
      `${scope}/output/dense`,
      expanded,
      this.#w(names.ffnOutKernel, [intermediateSize, hiddenSize]),
      this.#w(names.ffnOutBias, [hiddenSize]),
      [intermediateSize, hiddenSize],
    );
    const masked = g.node('Mul', `${scope}/output/Mul_mask`, [projected, mask3]);
    return g.node('Add', `${scope}/output/Add_residual`, [masked, afterAttention]);
  }

  /** Mean over real tokens, dense + tanh, L2 normalisation: the sentence embedding [B, 512]. */
  sentenceEmbedding(last: string, mask: string, mask3: string): string {
    const g = this.graph;
    const c = this.#c;
    const { hiddenSize } = USE_LITE_SHAPE;
    const summed = g.node(
      'ReduceSum',
      '/pooler/ReduceSum',
      [g.node('Mul', '/pooler/Mul_mask', [last, mask3]), c.axis1!],
      { keepdims: 0 },
    );
    const count = g.node('Max', '/pooler/Max_count', [
      g.node('ReduceSum', '/pooler/ReduceSum_count', [mask, c.axis1!], { keepdims: 1 }),
      c.one!,
    ]);
    const mean = g.node('Div', '/pooler/Div', [summed, count]);
    const dense = this.dense(
      '/pooler/dense',
      mean,
      this.#w(WEIGHT_NAMES.poolKernel, [hiddenSize, hiddenSize]),
      this.#w(WEIGHT_NAMES.poolBias, [hiddenSize]),
      [hiddenSize, hiddenSize],
    );
    const activated = g.node('Tanh', '/pooler/Tanh', [dense]);
    const squares = g.node(
      'ReduceSum',
      '/normalize/ReduceSum',
      [g.node('Mul', '/normalize/Mul_square', [activated, activated]), c.axisLast!],
      { keepdims: 1 },
    );
    const norm = g.node('Sqrt', '/normalize/Sqrt', [
      g.node('Max', '/normalize/Max', [squares, c.normFloor!]),
    ]);
    return g.node('Div', '/normalize/Div', [activated, norm], {}, 'sentence_embedding');
  }
}

/**
 * Builds the ONNX model (opset 17, fp32) from the tfjs model's weights.
 * @throws Error naming the weight when one is missing or has an unexpected shape.
 */
export function buildUseLiteOnnx(weights: ReadonlyMap<string, TfjsWeight>): Uint8Array {
  const writer = new UseLiteWriter(weights);
  const g = writer.graph;
  const { embeddingSize, hiddenSize, numLayers } = USE_LITE_SHAPE;
  const inputIds = g.input('input_ids', ElementType.int64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', ElementType.int64, ['batch_size', 'sequence_length']);
  const { mask, mask3, scoreBias } = writer.masks(attentionMask);
  const hidden = [writer.embeddings(inputIds, mask3)];
  for (let n = 0; n < numLayers; n++) {
    hidden.push(writer.layer(n, hidden[n]!, n === 0 ? embeddingSize : hiddenSize, mask3, scoreBias));
  }
  const last = hidden[numLayers]!;
  writer.sentenceEmbedding(last, mask, mask3);
  g.node('Identity', '/last_hidden_state/Identity', [last], {}, 'last_hidden_state');
  hidden.forEach((tensor, layer) =>
    g.node('Identity', `hidden_states.${layer}/Identity`, [tensor], {}, `hidden_states.${layer}`),
  );

  g.output('last_hidden_state', ElementType.float, ['batch_size', 'sequence_length', hiddenSize]);
  g.output('sentence_embedding', ElementType.float, ['batch_size', hiddenSize]);
  hidden.forEach((_, layer) =>
    g.output(`hidden_states.${layer}`, ElementType.float, [
      'batch_size',
      'sequence_length',
      layer === 0 ? embeddingSize : hiddenSize,
    ]),
  );
  return g.encode('universal_sentence_encoder_lite', {
    irVersion: 8,
    opset: 17,
    producer: 'prompt-vs-finetune-playground',
  });
}
