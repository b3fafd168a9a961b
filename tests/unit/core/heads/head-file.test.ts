import { describe, expect, it } from 'vitest';
import {
  headFileInfo,
  predictWithHeadWeights,
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
  unfrozenWeightsOf,
  UNFROZEN_PREDICT_CHUNK,
  type HeadFile,
} from '../../../../src/lib/core/heads/head-file.ts';
import { float32ToBase64 } from '../../../../src/lib/core/heads/float32-base64.ts';
import type {
  Encoder,
  LayerTrainingRequest,
  SerializedHead,
  TextTokenStates,
  TokenStatesHead,
  TrainedHead,
} from '../../../../src/lib/core/ports.ts';

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

/** `json` as a head trained with unfrozen layers 2 and 3 (of a 4-layer model): a 2×2 kernel and a bias each. */
function withLayers(json: Loose): Loose {
  json.features.unfreeze = 2;
  json.training.unfreeze = 2;
  json.training.maxTokens = 16;
  json.layers = [2, 3].map((layer) => ({
    layer,
    weights: [
      { name: `layer.${layer}.kernel`, shape: [2, 2], float32: float32ToBase64([layer, 0.5, -0.25, 1e-3]) },
      { name: `layer.${layer}.bias`, shape: [2], float32: float32ToBase64([0.125, -layer]) },
    ],
  }));
  return json;
}

describe('parseHeadFile', () => {
  it('accepts a valid file and round-trips it unchanged', () => {
    const file = parseHeadFile(validFile());
    expect(parseHeadFileText(serializeHeadFile(file))).toEqual(file);
    expect(file).toEqual(validFile());
  });

  it('accepts a file without scores or hash', () => {
    const json = validFile();
    delete json.scores;
    delete json.backbone.fileHash;
    expect(parseHeadFile(json).scores).toBeUndefined();
  });

  it('accepts unfrozen layers stored layer by layer, and round-trips them unchanged', () => {
    const file = parseHeadFile(withLayers(validFile()));
    expect(file.layers?.map((layer) => layer.layer)).toEqual([2, 3]);
    expect(parseHeadFileText(serializeHeadFile(file))).toEqual(file);
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

  const layerCases: [string, Mutate, string, RegExp][] = [
    ['one layer too few', (f) => f.layers.pop(), 'layers', /2 unfrozen layer\(s\) .* not 1/],
    ['one layer too many', (f) => f.layers.push(f.layers[1]), 'layers', /not 3/],
    ['layers on a frozen head', (f) => (f.features.unfreeze = 0), 'layers', /must be left out/],
    ['layers that are not a list', (f) => (f.layers = {}), 'layers', /must be a list/],
    ['a gap between layers', (f) => (f.layers[1].layer = 4), 'layers[1].layer', /must be 3: .*consecutive/],
    ['a negative layer', (f) => (f.layers[0].layer = -1), 'layers[0].layer', /at least 0/],
    ['an unknown field in a layer', (f) => (f.layers[0].bias = []), 'layers[0].bias', /not a field/],
    ['a layer without weights', (f) => (f.layers[1].weights = []), 'layers[1].weights', /non-empty list/],
    [
      'a repeated weight name',
      (f) => (f.layers[1].weights[0].name = 'layer.2.kernel'),
      'layers[1].weights[0].name',
      /repeats the weight "layer.2.kernel"/,
    ],
    [
      'a weight of another size than its shape',
      (f) => (f.layers[0].weights[0].shape = [2, 3]),
      'layers[0].weights[0].float32',
      /holds 4 values, but shape \[2, 3\] needs 6/,
    ],
    [
      'a zero dimension',
      (f) => (f.layers[0].weights[0].shape = [0, 4]),
      'layers[0].weights[0].shape',
      /positive/,
    ],
    [
      'a NaN weight',
      (f) => (f.layers[1].weights[1].float32 = float32ToBase64([0.5, Number.NaN])),
      'layers[1].weights[1].float32',
      /holds NaN at value 1: weights must be finite/,
    ],
    [
      'an infinite weight',
      (f) => (f.layers[0].weights[0].float32 = float32ToBase64([1, 2, 3, Infinity])),
      'layers[0].weights[0].float32',
      /holds Infinity at value 3/,
    ],
    [
      'values as a list of numbers',
      (f) => (f.layers[0].weights[0].float32 = [1, 2, 3, 4]),
      'layers[0].weights[0].float32',
      /must be base64 text/,
    ],
    [
      'text that is not base64',
      (f) => (f.layers[0].weights[0].float32 = 'not base64!'),
      'layers[0].weights[0].float32',
      /is not base64 of float32 values/,
    ],
    [
      'a weight field of the in-memory format',
      (f) => (f.layers[0].weights[0].values = [1, 2, 3, 4]),
      'layers[0].weights[0].values',
      /not a field/,
    ],
    ['a negative maxTokens', (f) => (f.training.maxTokens = -3), 'training.maxTokens', /at least 1/],
  ];

  it.each(layerCases)(
    'refuses unfrozen layers with %s, naming the field',
    (_title, mutate, path, message) => {
      const json = withLayers(validFile());
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
    },
  );

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

describe('head files with unfrozen layers', () => {
  /** A trained head's weights with unfrozen layers 2..3 (hidden states 2 → 4), as the layer trainer gives them. */
  function trainedHead(): SerializedHead {
    const head = validFile().head as SerializedHead;
    return {
      ...head,
      unfrozen: {
        fromLayer: 2,
        toLayer: 4,
        weights: [
          { name: 'k2', shape: [2, 2], values: [0.1, 0.2, 0.3, 0.4].map(Math.fround), layer: 2 },
          { name: 'k3', shape: [2, 2], values: [-1, 2, -3, 4], layer: 3 },
          { name: 'b2', shape: [2], values: [Math.fround(1 / 3), 0], layer: 2 },
        ],
      },
    };
  }
  const spec = { ...validFile().training, unfreeze: 2, maxTokens: 16 };
  const backbone = { model: 'fixtures/tiny-bert', dtype: 'fp32', dimension: 3 } as const;

  it('stores the layers layer by layer and gives back exactly the trained weights', () => {
    const file = buildHeadFile({
      experiment: 'Spam',
      spec,
      labels: ['spam', 'ham'],
      backbone,
      head: trainedHead(),
    });
    expect(file.features.unfreeze).toBe(2);
    expect(file.head).not.toHaveProperty('unfrozen');
    expect(file.layers?.map(({ layer, weights }) => [layer, weights.map((w) => w.name)])).toEqual([
      [2, ['k2', 'b2']],
      [3, ['k3']],
    ]);
    const again = parseHeadFileText(serializeHeadFile(file));
    const weights = unfrozenWeightsOf(again);
    expect(weights?.fromLayer).toBe(2);
    expect(weights?.toLayer).toBe(4);
    const byName = new Map(weights?.weights.map((weight) => [weight.name, weight]));
    for (const weight of trainedHead().unfrozen?.weights ?? [])
      expect(byName.get(weight.name)).toEqual(weight);
    expect(unfrozenWeightsOf(parseHeadFile(validFile()))).toBeUndefined();
  });

  it('refuses to write weights that do not say which layer reads them', () => {
    const head = trainedHead();
    delete head.unfrozen?.weights[1]?.layer;
    expect(() =>
      buildHeadFile({ experiment: 'Spam', spec, labels: ['spam', 'ham'], backbone, head }),
    ).toThrow(/"k3" is not marked with one of the unfrozen layers 2..3; train the head again/);
  });

  const loaded = { modelId: 'fixtures/tiny-bert', dtype: 'fp32', dimension: 3, numLayers: 4 } as const;

  it.each([
    ['a quantized model', { dtype: 'q8' }, 'q8', /loaded quantized \(q8\): its int8 weights cannot run them/],
    [
      'a model with other layers',
      { numLayers: 6 },
      'fp32',
      /holds layers 2..3 under its feature layer -1, but .* 6 layers/,
    ],
  ] as const)('refuses to run the layers on %s', (_title, patch, dtype, message) => {
    const json = withLayers(validFile());
    json.backbone.dtype = dtype;
    const file = parseHeadFile(json);
    expect(() => checkHeadBackbone(file, { ...loaded, ...patch })).toThrow(HeadBackboneError);
    expect(() => checkHeadBackbone(file, { ...loaded, ...patch })).toThrow(message);
    // Before the model is loaded its layers are not known: only what can be checked is.
    if (dtype === 'fp32') expect(() => checkHeadBackbone(file, { ...loaded, numLayers: 0 })).not.toThrow();
  });

  it('predicts through token states of the layer below, in chunks, at the training’s token cap', async () => {
    const json = withLayers(validFile());
    json.features.textTemplate = 'mail: {text}';
    const file = parseHeadFile(json);
    const texts = Array.from({ length: UNFROZEN_PREDICT_CHUNK * 2 + 3 }, (_, i) => `text ${i}`);
    const calls: { texts: string[]; options: unknown }[] = [];
    const encoder = {
      ...loaded,
      maxTokens: 128,
      embed: async () => {
        throw new Error('a head with unfrozen layers reads token states, not pooled features');
      },
      embedTokens: async (chunk: string[], options: unknown): Promise<TextTokenStates[]> => {
        calls.push({ texts: chunk, options });
        return chunk.map((text) => ({
          ids: Int32Array.of(1),
          states: Float32Array.of(text.length),
          width: 1,
        }));
      },
    } as unknown as Encoder;
    let request: LayerTrainingRequest | undefined;
    let rebuilt: SerializedHead | undefined;
    let disposed = 0;
    const rebuildLayers = async (
      asked: LayerTrainingRequest,
      head: SerializedHead,
    ): Promise<TokenStatesHead> => {
      request = asked;
      rebuilt = head;
      return {
        parameterCount: 0,
        // Longer texts lean to "ham": the head sees exactly the states it was given, in order.
        predict: async (states) =>
          states.map(({ states: [length = 0] }) => [length < 14 ? 0.9 : 0.1, length < 14 ? 0.1 : 0.9]),
        toJSON: () => head,
        dispose: () => void disposed++,
      };
    };
    const rebuild = async (): Promise<TrainedHead> => {
      throw new Error('not a frozen-feature head');
    };
    const predictions = await predictWithHeadFile(file, encoder, rebuild, texts, loaded, rebuildLayers);
    expect(request).toEqual({ model: 'fixtures/tiny-bert', featureLayer: 4, unfreeze: 2, pooling: 'mean' });
    expect(rebuilt?.unfrozen).toEqual(unfrozenWeightsOf(file));
    expect(calls.map(({ texts: chunk }) => chunk.length)).toEqual([
      UNFROZEN_PREDICT_CHUNK,
      UNFROZEN_PREDICT_CHUNK,
      3,
    ]);
    expect(calls[0]?.options).toEqual({ layer: 2, maxTokens: 16 });
    expect(calls.flatMap(({ texts: chunk }) => chunk)).toEqual(texts.map((text) => `mail: ${text}`));
    expect(predictions[0]).toEqual({ label: 'spam', scores: { spam: 0.9, ham: 0.1 } });
    expect(predictions.at(-1)?.label).toBe('ham');
    expect(disposed).toBe(1);

    await expect(predictWithHeadFile(file, encoder, rebuild, texts, loaded)).rejects.toThrow(
      /runs 2 unfrozen layer\(s\), which cannot run here/,
    );
  });

  it('keeps all but the weights in its info, which is checked and predicts like the whole file', async () => {
    const file = parseHeadFile(withLayers(validFile()));
    const info = headFileInfo(file);
    expect(info).not.toHaveProperty('head');
    expect(info.layers).toEqual([{ layer: 2 }, { layer: 3 }]);
    const { head: _head, layers: _layers, ...rest } = file;
    expect({ ...info, layers: undefined }).toEqual({ ...rest, layers: undefined });
    for (const patch of [{ dtype: 'q8' as const }, { numLayers: 6 }, { dimension: 4 }]) {
      const message = (() => {
        try {
          checkHeadBackbone(file, { ...loaded, ...patch });
        } catch (error) {
          return (error as Error).message;
        }
        return 'accepted';
      })();
      expect(message).not.toBe('accepted');
      expect(() => checkHeadBackbone(info, { ...loaded, ...patch })).toThrow(message);
    }

    const texts = ['short', 'a much longer text than that'];
    const encoder = {
      ...loaded,
      maxTokens: 128,
      embedTokens: async (chunk: string[]): Promise<TextTokenStates[]> =>
        chunk.map((text) => ({ ids: Int32Array.of(1), states: Float32Array.of(text.length), width: 1 })),
    } as unknown as Encoder;
    const layersHead = (): TokenStatesHead => ({
      parameterCount: 0,
      predict: async (states) => states.map(({ states: [length = 0] }) => [length < 14 ? 0.8 : 0.3, 0]),
      toJSON: () => file.head,
      dispose: () => undefined,
    });
    const notFrozen = async (): Promise<TrainedHead> => {
      throw new Error('not a frozen-feature head');
    };
    const asked: LayerTrainingRequest[] = [];
    const held = await predictWithHeadWeights(
      info,
      encoder,
      {
        head: notFrozen,
        layers: async (request) => {
          asked.push(request);
          return layersHead();
        },
      },
      texts,
      loaded,
    );
    const whole = await predictWithHeadFile(file, encoder, notFrozen, texts, loaded, async () =>
      layersHead(),
    );
    expect(held).toEqual(whole);
    expect(held.map((prediction) => prediction.label)).toEqual(['spam', 'spam']);
    expect(asked).toEqual([{ model: 'fixtures/tiny-bert', featureLayer: 4, unfreeze: 2, pooling: 'mean' }]);
  });
});
