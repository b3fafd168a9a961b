/**
 * @file The head file: one trained head kept to be used again — its weights, the label each output means, the
 * backbone it was trained on (model, file hash, dtype), where its features come from (layer, pooling, unfrozen
 * layers, text template), its training settings and its scores. Built from a run (`buildHeadFile`), validated like
 * the experiment file (`parseHeadFile`: unknown JSON in, a typed file out or a `HeadFileError` naming the field),
 * and checked against the loaded model before it predicts (`checkHeadBackbone`), in the browser and the CLI alike.
 * A head trained with unfrozen layers carries their weights layer by layer in `layers` (float32, base64), and
 * predicts through them: the token states of the layer below, the rebuilt layers, the pooling, then the head.
 */
import { fieldPath, quoteList } from '../errors.ts';
import { POOLINGS } from '../experiment/schema.ts';
import { jsonTooDeepMessage } from '../experiment/limits.ts';
import type { HeadSpec, Pooling, Prediction, RunResult } from '../experiment/types.ts';
import { layerIndex } from '../experiment/layers.ts';
import { headTokenCap } from '../experiment/unfreeze-run.ts';
import { DTYPES } from '../models/files.ts';
import type {
  Dtype,
  Encoder,
  LayerTrainingRequest,
  SerializedHead,
  TokenStatesHead,
  TrainedHead,
  UnfrozenLayersWeights,
} from '../ports.ts';
import { applyTextTemplate, TEXT_PLACEHOLDER } from '../prompts/similarity.ts';
import { emptyRecord } from '../records.ts';
import { predictionsFromProbabilities } from '../experiment/run.ts';
import { Base64Error, base64ToFloat32, float32ToBase64 } from './float32-base64.ts';

/** The `format` every head file starts with, so another JSON file is recognised as not being one. */
export const HEAD_FILE_FORMAT = 'prompt-vs-finetune-head';
/** The head-file version this app writes and reads. */
export const HEAD_FILE_VERSION = 1;

/** The model a head was trained on. */
export interface HeadBackbone {
  /** The model as the experiment named it (an id under models/, `fixtures/<name>`, or an absolute folder). */
  model: string;
  /** SHA-256 (hex) of the ONNX file the features came from, when known: another file of the same id is refused. */
  fileHash?: string;
  dtype: Dtype;
  /** Width of the feature vectors the head reads. */
  dimension: number;
}

/** Where the head's input vectors come from. */
export interface HeadFeatures {
  /** Hidden layer feeding the head as the experiment wrote it: 0 = embeddings, -1 = last. */
  layer: number;
  pooling: Pooling;
  /** Top transformer layers trained with the head (0 = a head on frozen features). */
  unfreeze: number;
  /** Wraps each text before it is embedded, e.g. "query: {text}". */
  textTemplate?: string;
}

/** The head's scores on the test split of the experiment it was trained in. */
export interface HeadScores {
  accuracy: number;
  macroF1: number;
  testExamples: number;
  labeledExamples: number;
}

export interface HeadFile {
  format: typeof HEAD_FILE_FORMAT;
  version: typeof HEAD_FILE_VERSION;
  /** The head's name in its experiment. */
  name: string;
  /** The experiment it was trained in. */
  experiment: string;
  /** The label of each output, in output order: the label map. */
  labels: string[];
  backbone: HeadBackbone;
  features: HeadFeatures;
  /** The head's settings as the experiment file writes them (name included). */
  training: HeadSpec;
  scores?: HeadScores;
  head: SerializedHead;
  /** Weights of the unfrozen transformer layers, bottom first (exactly when `features.unfreeze` > 0). */
  layers?: HeadFileLayer[];
}

/** One weight of an unfrozen layer: its ONNX initializer name, shape and values. */
export interface HeadFileWeight {
  /** The initializer's name in the model's ONNX file, e.g. `encoder.layer.3.attention.self.query.weight`. */
  name: string;
  shape: number[];
  /** The values, row-major, as float32 little-endian bytes in base64. */
  float32: string;
}

/** One unfrozen transformer layer's trained weights. */
export interface HeadFileLayer {
  /** The layer (node scope `…/layer.n/`): it turns hidden state n into n + 1. */
  layer: number;
  weights: HeadFileWeight[];
}

/**
 * A head file without its weights: everything checking and predicting needs besides them, with the unfrozen
 * layers' numbers only. A {@link HeadFile} is one; the browser keeps this on the main thread while the weights
 * stay in the head worker (see {@link headFileInfo}).
 */
export type HeadFileInfo = Omit<HeadFile, 'head' | 'layers'> & {
  layers?: readonly Pick<HeadFileLayer, 'layer'>[];
};

/** The {@link HeadFileInfo} of a file: a copy without the weights (so a small message carries it). */
export function headFileInfo(file: HeadFile): HeadFileInfo {
  const info: HeadFileInfo = {
    format: file.format,
    version: file.version,
    name: file.name,
    experiment: file.experiment,
    labels: [...file.labels],
    backbone: { ...file.backbone },
    features: { ...file.features },
    training: { ...file.training },
  };
  if (file.scores) info.scores = { ...file.scores };
  if (file.layers) info.layers = file.layers.map(({ layer }) => ({ layer }));
  return info;
}

/** An invalid head file: `path` names the field, e.g. `head.layers[0].bias`; empty for the whole file. */
export class HeadFileError extends Error {
  override readonly name = 'HeadFileError';
  readonly path: string;

  constructor(path: string, detail: string) {
    super(path === '' ? `Invalid head file: ${detail}` : `Invalid head file: ${path} ${detail}`);
    this.path = path;
  }
}

/** A head file that does not fit the loaded model: another model, file, dtype or feature width. */
export class HeadBackboneError extends Error {
  override readonly name = 'HeadBackboneError';
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

function objectAt(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new HeadFileError(path, `must be an object, not ${describe(value)}.`);
  return value;
}

function checkFields(object: JsonObject, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new HeadFileError(
        fieldPath(path, key),
        `is not a field of a head file here: allowed are ${quoteList(allowed)}.`,
      );
    }
  }
}

function stringAt(object: JsonObject, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HeadFileError(fieldPath(path, key), `must be a non-empty string, not ${describe(value)}.`);
  }
  return value;
}

function integerAt(object: JsonObject, key: string, path: string, min: number): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new HeadFileError(
      fieldPath(path, key),
      `must be a whole number of at least ${min}, not ${describe(value)}.`,
    );
  }
  return value;
}

function finiteAt(object: JsonObject, key: string, path: string): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new HeadFileError(fieldPath(path, key), `must be a finite number, not ${describe(value)}.`);
  }
  return value;
}

function numbersAt(object: JsonObject, key: string, path: string, length: number): number[] {
  const value = object[key];
  const keyPath = fieldPath(path, key);
  if (!Array.isArray(value))
    throw new HeadFileError(keyPath, `must be a list of ${length} numbers, not ${describe(value)}.`);
  if (value.length !== length)
    throw new HeadFileError(keyPath, `must hold ${length} numbers, not ${value.length}.`);
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'number' || !Number.isFinite(item)) {
      throw new HeadFileError(fieldPath(keyPath, index), `must be a finite number, not ${describe(item)}.`);
    }
  });
  return value as number[];
}

function parseLabels(value: unknown): string[] {
  if (!Array.isArray(value) || value.length < 2) {
    throw new HeadFileError('labels', `must be a list of at least 2 label names, not ${describe(value)}.`);
  }
  const seen = new Set<string>();
  return value.map((label: unknown, index) => {
    if (typeof label !== 'string' || label === '') {
      throw new HeadFileError(
        fieldPath('labels', index),
        `must be a non-empty label name, not ${describe(label)}.`,
      );
    }
    if (seen.has(label))
      throw new HeadFileError(fieldPath('labels', index), `repeats the label ${JSON.stringify(label)}.`);
    seen.add(label);
    return label;
  });
}

function parseBackbone(value: unknown): HeadBackbone {
  const object = objectAt(value, 'backbone');
  checkFields(object, 'backbone', ['model', 'fileHash', 'dtype', 'dimension']);
  const dtype = object.dtype;
  if (!(DTYPES as readonly unknown[]).includes(dtype)) {
    throw new HeadFileError('backbone.dtype', `must be one of ${quoteList(DTYPES)}, not ${describe(dtype)}.`);
  }
  const backbone: HeadBackbone = {
    model: stringAt(object, 'model', 'backbone'),
    dtype: dtype as Dtype,
    dimension: integerAt(object, 'dimension', 'backbone', 1),
  };
  if (object.fileHash !== undefined) {
    const hash = object.fileHash;
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
      throw new HeadFileError(
        'backbone.fileHash',
        `must be a SHA-256 as 64 lowercase hex digits, not ${describe(hash)}.`,
      );
    }
    backbone.fileHash = hash;
  }
  return backbone;
}

function parseFeatures(value: unknown): HeadFeatures {
  const object = objectAt(value, 'features');
  checkFields(object, 'features', ['layer', 'pooling', 'unfreeze', 'textTemplate']);
  const layer = object.layer;
  if (typeof layer !== 'number' || !Number.isSafeInteger(layer)) {
    throw new HeadFileError(
      'features.layer',
      `must be a whole number (0 = embeddings, -1 = last), not ${describe(layer)}.`,
    );
  }
  if (!(POOLINGS as readonly unknown[]).includes(object.pooling)) {
    throw new HeadFileError(
      'features.pooling',
      `must be one of ${quoteList(POOLINGS)}, not ${describe(object.pooling)}.`,
    );
  }
  const features: HeadFeatures = {
    layer,
    pooling: object.pooling as Pooling,
    unfreeze: integerAt(object, 'unfreeze', 'features', 0),
  };
  if (object.textTemplate !== undefined) {
    const template = stringAt(object, 'textTemplate', 'features');
    if (!template.includes(TEXT_PLACEHOLDER)) {
      throw new HeadFileError(
        'features.textTemplate',
        `must contain ${TEXT_PLACEHOLDER} where the text goes.`,
      );
    }
    features.textTemplate = template;
  }
  return features;
}

function parseScores(value: unknown): HeadScores {
  const object = objectAt(value, 'scores');
  checkFields(object, 'scores', ['accuracy', 'macroF1', 'testExamples', 'labeledExamples']);
  const fraction = (key: string): number => {
    const number = finiteAt(object, key, 'scores');
    if (number < 0 || number > 1)
      throw new HeadFileError(`scores.${key}`, `must be between 0 and 1, not ${number}.`);
    return number;
  };
  return {
    accuracy: fraction('accuracy'),
    macroF1: fraction('macroF1'),
    testExamples: integerAt(object, 'testExamples', 'scores', 0),
    labeledExamples: integerAt(object, 'labeledExamples', 'scores', 0),
  };
}

/** The dense layers' weights, checked against the shapes `inputSize`, `hidden` and the labels imply. */
function parseWeights(value: unknown, numLabels: number, dimension: number): SerializedHead {
  const object = objectAt(value, 'head');
  checkFields(object, 'head', ['inputSize', 'hidden', 'numClasses', 'layers']);
  const inputSize = integerAt(object, 'inputSize', 'head', 1);
  const hidden = integerAt(object, 'hidden', 'head', 0);
  const numClasses = integerAt(object, 'numClasses', 'head', 2);
  if (numClasses !== numLabels) {
    throw new HeadFileError('head.numClasses', `is ${numClasses} but "labels" names ${numLabels} labels.`);
  }
  if (inputSize !== dimension) {
    throw new HeadFileError('head.inputSize', `is ${inputSize} but "backbone.dimension" is ${dimension}.`);
  }
  const shapes: [number, number][] =
    hidden > 0
      ? [
          [inputSize, hidden],
          [hidden, numClasses],
        ]
      : [[inputSize, numClasses]];
  const layers = object.layers;
  if (!Array.isArray(layers) || layers.length !== shapes.length) {
    throw new HeadFileError(
      'head.layers',
      `must be a list of ${shapes.length} layer(s) for "hidden": ${hidden}, not ${Array.isArray(layers) ? `${layers.length}` : describe(layers)}.`,
    );
  }
  return {
    inputSize,
    hidden,
    numClasses,
    layers: shapes.map(([rows, columns], index) => {
      const path = fieldPath('head.layers', index);
      const layer = objectAt(layers[index], path);
      checkFields(layer, path, ['kernel', 'kernelShape', 'bias']);
      const shape = layer.kernelShape;
      if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== rows || shape[1] !== columns) {
        throw new HeadFileError(
          `${path}.kernelShape`,
          `must be [${rows}, ${columns}], not ${JSON.stringify(shape)}.`,
        );
      }
      return {
        kernel: numbersAt(layer, 'kernel', path, rows * columns),
        kernelShape: [rows, columns],
        bias: numbersAt(layer, 'bias', path, columns),
      };
    }),
  };
}

/** Training settings as the experiment file writes them: a plain object with a name, layer and pooling. */
function parseTraining(value: unknown, features: HeadFeatures, hidden: number): HeadSpec {
  const object = objectAt(value, 'training');
  const name = stringAt(object, 'name', 'training');
  for (const key of ['hidden', 'epochs', 'learningRate', 'seed']) finiteAt(object, key, 'training');
  if (object.hidden !== hidden) {
    throw new HeadFileError(
      'training.hidden',
      `is ${describe(object.hidden)} but the weights have ${hidden} hidden units.`,
    );
  }
  if (object.layer !== features.layer || object.pooling !== features.pooling) {
    throw new HeadFileError('training', 'names another layer or pooling than "features".');
  }
  // The token cap the unfrozen layers read each text with: prediction uses it again.
  if (object.maxTokens !== undefined) integerAt(object, 'maxTokens', 'training', 1);
  const copy = emptyRecord<unknown>();
  for (const [key, item] of Object.entries(object)) {
    if (typeof item !== 'string' && typeof item !== 'number') {
      throw new HeadFileError(
        fieldPath('training', key),
        `must be a number or a string, not ${describe(item)}.`,
      );
    }
    copy[key] = item;
  }
  return { ...(copy as unknown as HeadSpec), name };
}

/** Most dimensions a stored weight has (ONNX weights of transformer layers have 1 to 4). */
const MAX_WEIGHT_DIMENSIONS = 8;

function parseLayerWeight(value: unknown, path: string, names: Set<string>): HeadFileWeight {
  const weight = objectAt(value, path);
  checkFields(weight, path, ['name', 'shape', 'float32']);
  const name = stringAt(weight, 'name', path);
  if (names.has(name)) throw new HeadFileError(`${path}.name`, `repeats the weight ${JSON.stringify(name)}.`);
  names.add(name);
  const shape = weight.shape;
  if (
    !Array.isArray(shape) ||
    shape.length === 0 ||
    shape.length > MAX_WEIGHT_DIMENSIONS ||
    !shape.every((dim) => typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 1)
  ) {
    throw new HeadFileError(
      `${path}.shape`,
      `must be a list of 1 to ${MAX_WEIGHT_DIMENSIONS} positive whole numbers, not ${JSON.stringify(shape) ?? describe(shape)}.`,
    );
  }
  const size = (shape as number[]).reduce((product, dim) => product * dim, 1);
  const data = weight.float32;
  if (typeof data !== 'string') {
    throw new HeadFileError(
      `${path}.float32`,
      `must be base64 text of float32 values, not ${describe(data)}.`,
    );
  }
  let values: Float32Array;
  try {
    values = base64ToFloat32(data);
  } catch (error) {
    if (!(error instanceof Base64Error)) throw error;
    throw new HeadFileError(`${path}.float32`, `is not base64 of float32 values: ${error.message}`);
  }
  if (values.length !== size) {
    throw new HeadFileError(
      `${path}.float32`,
      `holds ${values.length} values, but shape [${(shape as number[]).join(', ')}] needs ${size}.`,
    );
  }
  const bad = values.findIndex((item) => !Number.isFinite(item));
  if (bad >= 0) {
    throw new HeadFileError(
      `${path}.float32`,
      `holds ${String(values[bad])} at value ${bad}: weights must be finite.`,
    );
  }
  return { name, shape: [...(shape as number[])], float32: data };
}

/** The unfrozen layers' weights: one entry per layer, consecutive and bottom first, every value finite. */
function parseLayers(value: unknown, unfreeze: number): HeadFileLayer[] {
  if (unfreeze === 0) {
    throw new HeadFileError(
      'layers',
      'must be left out: "features.unfreeze" is 0 (a head on frozen features).',
    );
  }
  if (!Array.isArray(value)) {
    throw new HeadFileError(
      'layers',
      `must be a list of the ${unfreeze} unfrozen layer(s), not ${describe(value)}.`,
    );
  }
  if (value.length !== unfreeze) {
    throw new HeadFileError(
      'layers',
      `must hold the ${unfreeze} unfrozen layer(s) "features.unfreeze" names, not ${value.length}.`,
    );
  }
  const names = new Set<string>();
  let first = 0;
  return value.map((item: unknown, index) => {
    const path = fieldPath('layers', index);
    const layer = objectAt(item, path);
    checkFields(layer, path, ['layer', 'weights']);
    const number = integerAt(layer, 'layer', path, 0);
    if (index === 0) first = number;
    else if (number !== first + index) {
      throw new HeadFileError(
        `${path}.layer`,
        `must be ${first + index}: the unfrozen layers are consecutive, bottom first (layers[0] is ${first}).`,
      );
    }
    const weights = layer.weights;
    if (!Array.isArray(weights) || weights.length === 0) {
      throw new HeadFileError(
        `${path}.weights`,
        `must be a non-empty list of weights, not ${describe(weights)}.`,
      );
    }
    return {
      layer: number,
      weights: weights.map((weight: unknown, w) =>
        parseLayerWeight(weight, fieldPath(`${path}.weights`, w), names),
      ),
    };
  });
}

const TOP_LEVEL_FIELDS = [
  'format',
  'version',
  'name',
  'experiment',
  'labels',
  'backbone',
  'features',
  'training',
  'scores',
  'head',
  'layers',
] as const;

/**
 * Validates a head file (parsed JSON) and returns a typed copy.
 * @throws HeadFileError naming the first wrong field and what it must be.
 */
export function parseHeadFile(json: unknown): HeadFile {
  const root = objectAt(json, '');
  if (root.format !== HEAD_FILE_FORMAT) {
    throw new HeadFileError(
      'format',
      `must be ${JSON.stringify(HEAD_FILE_FORMAT)}, not ${describe(root.format)}: this is not a head file ` +
        '(an experiment file is run with `npm run experiment`).',
    );
  }
  if (root.version !== HEAD_FILE_VERSION) {
    throw new HeadFileError(
      'version',
      typeof root.version === 'number'
        ? `${root.version} is not supported: this app reads head files of version ${HEAD_FILE_VERSION}.`
        : `must be the number ${HEAD_FILE_VERSION}, not ${describe(root.version)}.`,
    );
  }
  checkFields(root, '', TOP_LEVEL_FIELDS);
  const labels = parseLabels(root.labels);
  const backbone = parseBackbone(root.backbone);
  const features = parseFeatures(root.features);
  const head = parseWeights(root.head, labels.length, backbone.dimension);
  const file: HeadFile = {
    format: HEAD_FILE_FORMAT,
    version: HEAD_FILE_VERSION,
    name: stringAt(root, 'name', ''),
    experiment: stringAt(root, 'experiment', ''),
    labels,
    backbone,
    features,
    training: parseTraining(root.training, features, head.hidden),
    head,
  };
  if (root.scores !== undefined) file.scores = parseScores(root.scores);
  if (root.layers !== undefined) file.layers = parseLayers(root.layers, features.unfreeze);
  else if (features.unfreeze > 0) {
    throw new HeadFileError(
      'layers',
      `must hold the weights of the ${features.unfreeze} unfrozen layer(s) "features.unfreeze" names; it is missing.`,
    );
  }
  return file;
}

/**
 * Parses head file text.
 * @throws HeadFileError when the text is not JSON or not a valid head file.
 */
export function parseHeadFileText(text: string): HeadFile {
  const tooDeep = jsonTooDeepMessage(text, 'the head file');
  if (tooDeep) throw new HeadFileError('', tooDeep);
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text);
  } catch (error) {
    throw new HeadFileError(
      '',
      `it is not valid JSON (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  return parseHeadFile(json);
}

/** What a head file is built from: the experiment's names, the head's settings, its run and weights. */
export interface HeadFileInput {
  experiment: string;
  spec: HeadSpec;
  labels: readonly string[];
  backbone: HeadBackbone;
  head: SerializedHead;
  run?: Pick<RunResult, 'accuracy' | 'macroF1' | 'predictions' | 'cost'>;
  textTemplate?: string;
}

/**
 * The unfrozen layers' weights of a trained head, layer by layer.
 * @throws HeadFileError when a weight does not say which layer reads it, or a layer has no weights.
 */
function layersOfUnfrozen(unfrozen: UnfrozenLayersWeights): HeadFileLayer[] {
  const layers: HeadFileLayer[] = [];
  for (let layer = unfrozen.fromLayer; layer < unfrozen.toLayer; layer++) layers.push({ layer, weights: [] });
  for (const weight of unfrozen.weights) {
    const entry = layers[(weight.layer ?? -1) - unfrozen.fromLayer];
    if (!entry) {
      throw new HeadFileError(
        'layers',
        `cannot be written: the weight ${JSON.stringify(weight.name)} is not marked with one of the unfrozen ` +
          `layers ${unfrozen.fromLayer}..${unfrozen.toLayer - 1}; train the head again to export it.`,
      );
    }
    entry.weights.push({
      name: weight.name,
      shape: [...weight.shape],
      float32: float32ToBase64(weight.values),
    });
  }
  const empty = layers.find((entry) => entry.weights.length === 0);
  if (empty)
    throw new HeadFileError('layers', `cannot be written: layer ${empty.layer} has no trained weights.`);
  return layers;
}

/** A plain array of `values` (an indexed loop: about 2.5× faster than `Array.from` on millions of values). */
function numbersOf(values: Float32Array): number[] {
  const numbers = new Array<number>(values.length);
  for (let index = 0; index < values.length; index++) numbers[index] = values[index] as number;
  return numbers;
}

/** The unfrozen layers' weights a head file holds, decoded, as the layer trainer rebuilds them; none: undefined. */
export function unfrozenWeightsOf(file: HeadFile): UnfrozenLayersWeights | undefined {
  const layers = file.layers;
  const first = layers?.[0];
  if (!layers || !first) return undefined;
  return {
    fromLayer: first.layer,
    toLayer: first.layer + layers.length,
    weights: layers.flatMap(({ layer, weights }) =>
      weights.map(({ name, shape, float32 }) => ({
        name,
        shape: [...shape],
        values: numbersOf(base64ToFloat32(float32)),
        layer,
      })),
    ),
  };
}

/**
 * A head file for a trained head, validated (so what is written always reads back). A head trained with
 * unfrozen layers (`head.unfrozen`) gets their weights in `layers` and its `features.unfreeze` from them.
 */
export function buildHeadFile(input: HeadFileInput): HeadFile {
  const { spec, run } = input;
  const { unfrozen, ...head } = input.head;
  const file: HeadFile = {
    format: HEAD_FILE_FORMAT,
    version: HEAD_FILE_VERSION,
    name: spec.name,
    experiment: input.experiment,
    labels: [...input.labels],
    backbone: { ...input.backbone },
    features: {
      layer: spec.layer,
      pooling: spec.pooling,
      unfreeze: unfrozen === undefined ? 0 : unfrozen.toLayer - unfrozen.fromLayer,
      ...(input.textTemplate === undefined ? {} : { textTemplate: input.textTemplate }),
    },
    training: { ...spec },
    head,
    ...(unfrozen === undefined ? {} : { layers: layersOfUnfrozen(unfrozen) }),
  };
  if (run) {
    file.scores = {
      accuracy: run.accuracy,
      macroF1: run.macroF1,
      testExamples: run.predictions.length,
      labeledExamples: run.cost.labeledExamples,
    };
  }
  return parseHeadFile(JSON.parse(JSON.stringify(file)));
}

/** The head file as text: 2-space JSON with a trailing newline. */
export function serializeHeadFile(file: HeadFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * A file name for a head, from its name: letters, digits, `-` and `_` kept, anything else (path separators, dots,
 * control characters) replaced, so a head called `../x` or `a/b` stays inside the chosen folder.
 */
export function headFileName(name: string): string {
  const safe = name
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}_-]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
  return `${safe === '' ? 'head' : safe}.head.json`;
}

/** The loaded model, as far as a head file cares. */
export type BackboneInfo = Pick<Encoder, 'modelId' | 'dtype' | 'dimension' | 'numLayers'> & {
  fileHash?: string;
};

/**
 * Refuses a head trained on another backbone: another model file (by hash, when both are known), another dtype,
 * another feature width; for unfrozen layers, a quantized model or layers the loaded model numbers otherwise
 * (checked once `numLayers` is known, i.e. > 0). `loadedName` is how the user knows the model.
 * @throws HeadBackboneError saying what the head needs.
 */
export function checkHeadBackbone(
  file: HeadFileInfo,
  loaded: BackboneInfo,
  loadedName = loaded.modelId,
): void {
  const { backbone } = file;
  const needs = `The head "${file.name}" was trained on ${backbone.model} (${backbone.dtype})`;
  if (
    backbone.fileHash !== undefined &&
    loaded.fileHash !== undefined &&
    backbone.fileHash !== loaded.fileHash
  ) {
    throw new HeadBackboneError(
      `${needs}, but the loaded model ${loadedName} is another model file (SHA-256 ${loaded.fileHash.slice(0, 12)}…, ` +
        `the head needs ${backbone.fileHash.slice(0, 12)}…): load the model it was trained on.`,
    );
  }
  if (backbone.dtype !== loaded.dtype) {
    throw new HeadBackboneError(
      `${needs}, but ${loadedName} is loaded as ${loaded.dtype}: load it as ${backbone.dtype} ` +
        '(features of another precision differ, and so would its predictions).',
    );
  }
  if (backbone.dimension !== loaded.dimension) {
    throw new HeadBackboneError(
      `${needs}, whose features have ${backbone.dimension} values, but ${loadedName} gives ${loaded.dimension}: ` +
        'load the model it was trained on.',
    );
  }
  const { unfreeze } = file.features;
  if (unfreeze === 0) return;
  if (loaded.dtype === 'q8') {
    throw new HeadBackboneError(
      `The head "${file.name}" runs ${unfreeze} unfrozen layer(s), but ${loadedName} is loaded quantized (q8): ` +
        'its int8 weights cannot run them. Load it as fp32 (or fp16).',
    );
  }
  if (loaded.numLayers > 0) {
    const featureLayer = layerIndex(file.features.layer, loaded.numLayers);
    const first = file.layers?.[0]?.layer;
    if (featureLayer === undefined || featureLayer - unfreeze !== first) {
      throw new HeadBackboneError(
        `The head "${file.name}" holds layers ${String(first)}..${String((first ?? 0) + unfreeze - 1)} under its ` +
          `feature layer ${file.features.layer}, but ${loadedName} has ${loaded.numLayers} layers: load the ` +
          'model it was trained on.',
      );
    }
  }
}

/** One text's prediction: the label and a probability per label. */
export type TextPrediction = Pick<Prediction, 'label' | 'scores'>;

/** Rebuilds a head with its unfrozen layers (`head.unfrozen`) on the loaded model, to read token states. */
export type RebuildUnfrozenHead = (
  request: LayerTrainingRequest,
  head: SerializedHead,
) => Promise<TokenStatesHead>;

/**
 * Texts whose token states are computed and run through the unfrozen layers at a time: memory stays bounded
 * (at most this many texts' states at the token cap) whatever the number of texts.
 */
export const UNFROZEN_PREDICT_CHUNK = 64;

/**
 * A head file's weights, rebuilt where they live: in this thread from the file ({@link predictWithHeadFile}), or in
 * the browser's head worker, which holds an imported file's weights so only features travel.
 */
export interface HeadFileWeights {
  /** The head on frozen features, ready to predict; disposed after use. */
  head(): Promise<Pick<TrainedHead, 'predict' | 'dispose'>>;
  /** The head with its unfrozen layers on the loaded model (needed only for such a head); disposed after use. */
  layers?(request: LayerTrainingRequest): Promise<Pick<TokenStatesHead, 'predict' | 'dispose'>>;
}

/** Class probabilities through the unfrozen layers, chunk by chunk; the rebuilt head is disposed after. */
async function unfrozenProbabilities(
  file: HeadFileInfo,
  encoder: Encoder,
  weights: HeadFileWeights,
  inputs: string[],
  loaded: BackboneInfo,
): Promise<number[][]> {
  const { unfreeze } = file.features;
  const embedTokens = encoder.embedTokens?.bind(encoder);
  const rebuildLayers = weights.layers?.bind(weights);
  if (!rebuildLayers || !embedTokens) {
    throw new HeadBackboneError(
      `The head "${file.name}" runs ${unfreeze} unfrozen layer(s), which cannot run here (no token states or ` +
        'layer runner for this model).',
    );
  }
  const numLayers = loaded.numLayers;
  const featureLayer = layerIndex(file.features.layer, numLayers) ?? numLayers;
  const fromLayer = featureLayer - unfreeze;
  const cap = Math.min(headTokenCap(file.training), encoder.maxTokens);
  const head = await rebuildLayers({
    model: loaded.modelId,
    featureLayer,
    unfreeze,
    pooling: file.features.pooling,
  });
  try {
    const probabilities: number[][] = [];
    for (let start = 0; start < inputs.length; start += UNFROZEN_PREDICT_CHUNK) {
      const chunk = inputs.slice(start, start + UNFROZEN_PREDICT_CHUNK);
      const states = await embedTokens(chunk, { layer: fromLayer, maxTokens: cap });
      probabilities.push(...(await head.predict(states)));
    }
    return probabilities;
  } finally {
    head.dispose();
  }
}

/**
 * Predicts the label of each text with a head file on a loaded encoder: its text template, layer and pooling,
 * then the head. Checks the backbone first. A head with unfrozen layers reads each text's token states of the
 * layer below them (at its training's token cap, {@link UNFROZEN_PREDICT_CHUNK} texts at a time) through its
 * trained layers, rebuilt by `rebuildLayers`.
 * @param rebuild Turns the stored weights into a runnable head (the tfjs adapter's `fromJSON`); disposed after.
 * @param rebuildLayers Rebuilds a head with its unfrozen layers (needed only for such a head); disposed after.
 */
export async function predictWithHeadFile(
  file: HeadFile,
  encoder: Encoder,
  rebuild: (head: SerializedHead) => Promise<TrainedHead>,
  texts: readonly string[],
  loaded: BackboneInfo = encoder,
  rebuildLayers?: RebuildUnfrozenHead,
): Promise<TextPrediction[]> {
  const weights: HeadFileWeights = { head: () => rebuild(file.head) };
  if (rebuildLayers) {
    weights.layers = (request) =>
      rebuildLayers(request, { ...file.head, unfrozen: unfrozenWeightsOf(file) as UnfrozenLayersWeights });
  }
  return predictWithHeadWeights(file, encoder, weights, texts, loaded);
}

/**
 * {@link predictWithHeadFile} for a head file whose weights are held elsewhere (`weights`): the same checks,
 * inputs and chunks, whoever runs the head.
 */
export async function predictWithHeadWeights(
  file: HeadFileInfo,
  encoder: Encoder,
  weights: HeadFileWeights,
  texts: readonly string[],
  loaded: BackboneInfo = encoder,
): Promise<TextPrediction[]> {
  checkHeadBackbone(file, loaded);
  if (texts.length === 0) return [];
  const inputs = texts.map((text) => applyTextTemplate(file.features.textTemplate, text));
  const toPredictions = (probabilities: number[][]) =>
    predictionsFromProbabilities(
      probabilities,
      file.labels,
      texts.map((_, index) => String(index)),
    ).map(({ label, scores }) => ({ label, scores }));
  if (file.features.unfreeze > 0) {
    return toPredictions(await unfrozenProbabilities(file, encoder, weights, inputs, loaded));
  }
  const features = await encoder.embed(inputs, {
    layer: file.features.layer,
    pooling: file.features.pooling,
  });
  const head = await weights.head();
  try {
    return toPredictions(await head.predict(features));
  } finally {
    head.dispose();
  }
}
