import { describe, expect, it } from 'vitest';
import {
  buildHeadFile,
  checkHeadBackbone,
  HEAD_FILE_FORMAT,
  HeadBackboneError,
  HeadFileError,
  headFileName,
  parseHeadFile,
  parseHeadFileText,
  predictWithHeadFile,
  serializeHeadFile,
  type HeadFile,
} from '../../../../src/lib/core/heads/head-file.ts';
import type { Encoder, SerializedHead, TrainedHead } from '../../../../src/lib/core/ports.ts';

const HASH = 'a'.repeat(64);

/** A head file as loose JSON, so a test can break any field. */
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A valid hidden-2 head on 3-wide features, 2 labels, as JSON (so tests can break any field). */
function validFile(): Loose {
  return JSON.parse(
    JSON.stringify({
      format: HEAD_FILE_FORMAT,
      version: 1,
      name: 'hidden head',
      experiment: 'Spam',
      labels: ['spam', 'ham'],
      backbone: { model: 'fixtures/tiny-bert', fileHash: HASH, dtype: 'fp32', dimension: 3 },
      features: { layer: -1, pooling: 'mean', unfreeze: 0 },
      training: {
        name: 'hidden head',
        layer: -1,
        pooling: 'mean',
        hidden: 2,
        epochs: 5,
        learningRate: 0.01,
        seed: 1,
      },
      scores: { accuracy: 0.9, macroF1: 0.88, testExamples: 30, labeledExamples: 70 },
      head: {
        inputSize: 3,
        hidden: 2,
        numClasses: 2,
        layers: [
          { kernel: [1, 0, 0, 1, 1, 1], kernelShape: [3, 2], bias: [0, 0] },
          { kernel: [1, -1, -1, 1], kernelShape: [2, 2], bias: [0.5, 0] },
        ],
      },
    }),
  ) as Loose;
}

describe('parseHeadFile', () => {
  it('accepts a valid file and round-trips it unchanged', () => {
    const file = parseHeadFile(validFile());
    expect(parseHeadFileText(serializeHeadFile(file))).toEqual(file);
    expect(file).toEqual(validFile());
  });

  it('accepts a file without scores or hash, and unfrozen layers stored under "layers"', () => {
    const json = validFile();
    delete json.scores;
    delete json.backbone.fileHash;
    json.features.unfreeze = 1;
    json.layers = [{ any: 'shape the unfreeze format defines' }];
    expect(parseHeadFile(json).layers).toHaveLength(1);
  });

  type Mutate = (file: Loose) => unknown;
  const cases: [string, Mutate, string, RegExp][] = [
    ['not an object', (f) => Object.keys(f).forEach((k) => delete f[k]), 'format', /not a head file/],
    ['an experiment file', (f) => ((f.format = undefined), (f.version = 1)), 'format', /npm run experiment/],
    ['a newer version', (f) => (f.version = 2), 'version', /2 is not supported/],
    ['an unknown field', (f) => (f.weights = []), 'weights', /not a field of a head file/],
    ['one label', (f) => (f.labels = ['spam']), 'labels', /at least 2/],
    ['a repeated label', (f) => (f.labels = ['spam', 'spam']), 'labels[1]', /repeats the label "spam"/],
    ['an empty label', (f) => (f.labels = ['spam', '']), 'labels[1]', /non-empty label/],
    [
      'labels not matching the outputs',
      (f) => (f.labels = ['a', 'b', 'c']),
      'head.numClasses',
      /names 3 labels/,
    ],
    ['no model', (f) => delete f.backbone.model, 'backbone.model', /non-empty string/],
    ['a bad dtype', (f) => (f.backbone.dtype = 'int4'), 'backbone.dtype', /"fp32", "fp16", "q8"/],
    ['a bad hash', (f) => (f.backbone.fileHash = 'abc'), 'backbone.fileHash', /64 lowercase hex/],
    [
      'a width that differs from the weights',
      (f) => (f.backbone.dimension = 4),
      'head.inputSize',
      /is 3 but/,
    ],
    ['a fractional layer', (f) => (f.features.layer = 1.5), 'features.layer', /whole number/],
    ['an unknown pooling', (f) => (f.features.pooling = 'max'), 'features.pooling', /"mean", "cls"/],
    ['negative unfreeze', (f) => (f.features.unfreeze = -1), 'features.unfreeze', /at least 0/],
    ['unfreeze without layers', (f) => (f.features.unfreeze = 2), 'layers', /2 unfrozen layer/],
    [
      'a template without {text}',
      (f) => (f.features.textTemplate = 'query:'),
      'features.textTemplate',
      /\{text\}/,
    ],
    ['an accuracy above 1', (f) => (f.scores.accuracy = 1.5), 'scores.accuracy', /between 0 and 1/],
    ['training on another layer', (f) => (f.training.layer = 2), 'training', /another layer or pooling/],
    ['training hidden ≠ weights', (f) => (f.training.hidden = 4), 'training.hidden', /2 hidden units/],
    ['a nested training value', (f) => (f.training.extra = {}), 'training.extra', /number or a string/],
    ['a missing layer', (f) => f.head.layers.pop(), 'head.layers', /list of 2 layer/],
    [
      'a wrong kernel shape',
      (f) => (f.head.layers[1].kernelShape = [2, 3]),
      'head.layers[1].kernelShape',
      /\[2, 2\]/,
    ],
    ['a short kernel', (f) => f.head.layers[0].kernel.pop(), 'head.layers[0].kernel', /hold 6 numbers/],
    ['a NaN weight', (f) => (f.head.layers[0].kernel[2] = null), 'head.layers[0].kernel[2]', /finite number/],
    ['a string bias', (f) => (f.head.layers[1].bias = 'x'), 'head.layers[1].bias', /list of 2 numbers/],
  ];

  it.each(cases)('refuses %s, naming the field', (_title, mutate, path, message) => {
    const json = validFile();
    mutate(json);
    let error: unknown;
    try {
      parseHeadFile(json);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HeadFileError);
    expect((error as HeadFileError).path).toBe(path);
    expect((error as HeadFileError).message).toMatch(message);
  });

  it.each([
    ['not JSON', '{"format":', /not valid JSON/],
    ['nested too deep', `${'['.repeat(2000)}${']'.repeat(2000)}`, /too deep|nest/i],
  ])('refuses text that is %s', (_title, text, message) => {
    expect(() => parseHeadFileText(text)).toThrow(message);
  });
});

describe('head files from runs, names and backbones', () => {
  it('builds a valid file from a head spec, its weights and its run', () => {
    const json = validFile();
    const file = buildHeadFile({
      experiment: 'Spam',
      spec: json.training,
      labels: ['spam', 'ham'],
      backbone: json.backbone,
      head: json.head as SerializedHead,
      run: {
        accuracy: 0.9,
        macroF1: 0.88,
        predictions: new Array(30),
        cost: { labeledExamples: 70 } as never,
      },
    });
    expect(file).toEqual(parseHeadFile(json));
  });

  it.each([
    ['linear head', 'linear-head.head.json'],
    ['../../etc/passwd', 'etc-passwd.head.json'],
    ['a/b\\c', 'a-b-c.head.json'],
    ['\u0000\u001b[31m', '31m.head.json'],
    ['...', 'head.head.json'],
    ['tête 2', 'tête-2.head.json'],
  ])('names the file of head %j %j', (name, expected) => {
    expect(headFileName(name)).toBe(expected);
  });

  const loaded = {
    modelId: 'fixtures/tiny-bert',
    dtype: 'fp32',
    dimension: 3,
    numLayers: 2,
    fileHash: HASH,
  } as const;
  it.each([
    ['another file', { fileHash: 'b'.repeat(64) }, /another model file/],
    ['another dtype', { dtype: 'q8' }, /loaded as q8: load it as fp32/],
    ['another width', { dimension: 8 }, /features have 3 values/],
  ] as const)('refuses a head for %s', (_title, patch, message) => {
    const file = parseHeadFile(validFile());
    expect(() => checkHeadBackbone(file, { ...loaded, ...patch })).toThrow(HeadBackboneError);
    expect(() => checkHeadBackbone(file, { ...loaded, ...patch })).toThrow(message);
  });

  it('predicts through the template, layer and pooling the file names', async () => {
    const json = validFile();
    json.features.textTemplate = 'mail: {text}';
    const file: HeadFile = parseHeadFile(json);
    const seen: unknown[] = [];
    const encoder = {
      ...loaded,
      embed: async (texts: string[], options: unknown) => {
        seen.push(texts, options);
        return texts.map(() => Float32Array.from([1, 0, 0]));
      },
    } as unknown as Encoder;
    let disposed = false;
    const rebuild = async (): Promise<TrainedHead> =>
      ({
        parameterCount: 0,
        predict: async (features: Float32Array[]) => features.map(() => [0.25, 0.75]),
        toJSON: () => file.head,
        dispose: () => (disposed = true),
      }) as TrainedHead;
    const predictions = await predictWithHeadFile(file, encoder, rebuild, ['hi'], loaded);
    expect(seen).toEqual([['mail: hi'], { layer: -1, pooling: 'mean' }]);
    expect(predictions).toEqual([{ label: 'ham', scores: { spam: 0.25, ham: 0.75 } }]);
    expect(disposed).toBe(true);
  });
});
