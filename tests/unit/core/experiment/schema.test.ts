import { describe, expect, it } from 'vitest';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import {
  checkHeadLayer,
  closestName,
  parseExperiment,
  parseExperimentText,
  serializeExperiment,
} from '../../../../src/lib/core/experiment/schema.ts';

/** The product's example experiment: every field a file may have, similarity prompts and two heads. */
function productExample(): Record<string, unknown> {
  return {
    version: 1,
    name: 'Spam: prompts vs a trained head',
    model: 'Xenova/all-MiniLM-L6-v2',
    dataset: { path: 'spam.csv', text: 'text', label: 'label' },
    split: { test: 0.3, seed: 42 },
    prompts: [
      { name: 'bare labels', strategy: 'similarity', template: '{label}' },
      {
        name: 'described',
        strategy: 'similarity',
        descriptions: {
          spam: ['an unsolicited advertisement', 'a scam'],
          ham: 'an ordinary personal or work email',
        },
      },
    ],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 50, learningRate: 0.01, seed: 1 },
      {
        name: 'mlp, 8 per class',
        layer: -1,
        pooling: 'mean',
        hidden: 64,
        epochs: 80,
        learningRate: 0.005,
        seed: 1,
        shotsPerClass: 8,
      },
    ],
  };
}

type Mutation = (experiment: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** An NLI prompt as the product's example writes it, with fields replaced (undefined removes one). */
function nli(fields: Record<string, unknown> = {}): Record<string, unknown> {
  const prompt: Record<string, unknown> = {
    name: 'entailment',
    strategy: 'nli',
    model: 'Xenova/mobilebert-uncased-mnli',
    hypothesis: 'This email is {label}.',
    ...fields,
  };
  for (const [key, value] of Object.entries(fields)) if (value === undefined) delete prompt[key];
  return prompt;
}

function errorFor(mutate: Mutation): ExperimentError {
  const experiment = productExample();
  mutate(experiment);
  try {
    parseExperiment(experiment);
  } catch (error) {
    if (error instanceof ExperimentError) return error;
    throw error;
  }
  throw new Error('expected an ExperimentError');
}

describe('parseExperiment: NLI prompts and calibration', () => {
  it('keeps an NLI prompt with every field, and calibrate on a similarity prompt', () => {
    const experiment = productExample();
    (experiment.prompts as unknown[]).push(nli({ textTemplate: 'Email: {text}', calibrate: true }));
    (experiment.prompts as Array<Record<string, unknown>>)[0]!.calibrate = false;
    const parsed = parseExperiment(experiment);
    expect(parsed.prompts[2]).toEqual({
      name: 'entailment',
      strategy: 'nli',
      hypothesis: 'This email is {label}.',
      textTemplate: 'Email: {text}',
      model: 'Xenova/mobilebert-uncased-mnli',
      calibrate: true,
    });
    expect(parsed.prompts[0]).toEqual({
      name: 'bare labels',
      strategy: 'similarity',
      template: '{label}',
      calibrate: false,
    });
    expect(parseExperimentText(serializeExperiment(parsed))).toEqual(parsed);
  });

  it('lets an NLI prompt run on the experiment model when it names none', () => {
    const experiment = productExample();
    (experiment.prompts as unknown[]).push(nli({ model: undefined }));
    expect(parseExperiment(experiment).prompts[2]).toEqual({
      name: 'entailment',
      strategy: 'nli',
      hypothesis: 'This email is {label}.',
    });
  });
});

describe('parseExperiment: valid files', () => {
  it('accepts the example experiment unchanged', () => {
    expect(parseExperiment(productExample())).toEqual(productExample());
  });

  it('keeps a head’s optional unfreeze and token cap', () => {
    const experiment = productExample();
    const heads = experiment.heads as Record<string, unknown>[];
    heads[0] = { ...heads[0], unfreeze: 2, maxTokens: 32, layerLearningRate: 0.001 };
    expect(parseExperiment(experiment).heads[0]).toMatchObject({
      unfreeze: 2,
      maxTokens: 32,
      layerLearningRate: 0.001,
    });
    expect(parseExperiment(productExample()).heads[0]).not.toHaveProperty('unfreeze');
  });

  it('accepts a built-in dataset with or without column names, and optional prompt fields', () => {
    const experiment = productExample();
    experiment.dataset = { builtin: 'topics' };
    experiment.prompts = [
      {
        name: 'q',
        strategy: 'similarity',
        template: 'about {label}',
        textTemplate: 'query: {text}',
        model: 'm2',
      },
    ];
    experiment.heads = [];
    const parsed = parseExperiment(experiment);
    expect(parsed.dataset).toEqual({ builtin: 'topics' });
    expect(parsed.prompts[0]).toEqual({
      name: 'q',
      strategy: 'similarity',
      template: 'about {label}',
      textTemplate: 'query: {text}',
      model: 'm2',
    });
    experiment.dataset = { builtin: 'topics', text: 'text', label: 'label' };
    expect(parseExperiment(experiment).dataset).toEqual({ builtin: 'topics', text: 'text', label: 'label' });
  });

  it('returns a copy and treats missing prompts or heads as empty lists', () => {
    const experiment = productExample();
    delete experiment.prompts;
    const parsed = parseExperiment(experiment);
    expect(parsed.prompts).toEqual([]);
    expect(parsed.heads).not.toBe(experiment.heads);
  });

  it('serializes to JSON that parses back to the same experiment', () => {
    const parsed = parseExperiment(productExample());
    const text = serializeExperiment(parsed);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseExperimentText(text)).toEqual(parsed);
    expect(parseExperimentText(`\ufeff${text}`)).toEqual(parsed);
  });

  it('reports text that is not JSON', () => {
    expect(() => parseExperimentText('{ "version": 1, }')).toThrow(/not valid JSON/);
  });
});

describe('parseExperiment: each bad field names its path', () => {
  const cases: [string, Mutation, string, RegExp][] = [
    ['not an object', (e) => Object.assign(e, { dataset: 'x' }), 'dataset', /must be an object/],
    ['version missing', (e) => delete e.version, 'version', /missing: add "version": 1/],
    ['version 2', (e) => (e.version = 2), 'version', /version 2 is not supported: this app reads version 1/],
    ['version as string', (e) => (e.version = '1'), 'version', /must be the number 1/],
    ['name empty', (e) => (e.name = ' '), 'name', /non-empty string/],
    ['model missing', (e) => delete e.model, 'model', /missing/],
    ['model not a string', (e) => (e.model = 3), 'model', /non-empty string/],
    ['top-level typo', (e) => (e.heds = []), 'heds', /unknown field: did you mean "heads"\?/],
    [
      'dataset both',
      (e) => (e.dataset.builtin = 'topics'),
      'dataset',
      /exactly one of "path".*"builtin".*"rows"/,
    ],
    ['dataset neither', (e) => (e.dataset = { text: 'a', label: 'b' }), 'dataset', /needs "path".*"builtin"/],
    ['dataset label missing', (e) => delete e.dataset.label, 'dataset.label', /missing/],
    ['dataset bad extension', (e) => (e.dataset.path = 'spam.xlsx'), 'dataset.path', /\.csv/],
    [
      'dataset unknown builtin',
      (e) => (e.dataset = { builtin: 'imdb' }),
      'dataset.builtin',
      /use one of "topics"/,
    ],
    [
      'dataset extra field',
      (e) => (e.dataset.sep = ';'),
      'dataset.sep',
      /Allowed fields here: "path", "text"/,
    ],
    ['split test 0', (e) => (e.split.test = 0), 'split.test', /between 0 and 1/],
    ['split test 1', (e) => (e.split.test = 1), 'split.test', /between 0 and 1/],
    ['split seed float', (e) => (e.split.seed = 4.2), 'split.seed', /whole number/],
    ['split missing', (e) => delete e.split, 'split', /missing/],
    ['prompts not a list', (e) => (e.prompts = {}), 'prompts', /must be a list/],
    [
      'more prompts than an experiment holds',
      (e) =>
        (e.prompts = Array.from({ length: 101 }, (_, i) => ({
          name: `p${i}`,
          strategy: 'similarity',
          template: '{label}',
        }))),
      'prompts',
      /^lists 101 prompt variations; an experiment holds at most 100: keep the ones to compare and put the others in another experiment\.$/,
    ],
    [
      'more heads than an experiment holds',
      (e) => (e.heads = Array.from({ length: 20_000 }, (_, i) => ({ ...e.heads[0], name: `h${i}` }))),
      'heads',
      /^lists 20,000 heads; an experiment holds at most 100/,
    ],
    ['prompt typo', (e) => (e.prompts[0].templat = 'x'), 'prompts[0].templat', /did you mean "template"/],
    [
      'prompt unknown strategy',
      (e) => (e.prompts[0].strategy = 'magic'),
      'prompts[0].strategy',
      /allowed values: "similarity"/,
    ],
    ['prompt no strategy', (e) => delete e.prompts[1].strategy, 'prompts[1].strategy', /missing/],
    [
      'prompt both forms',
      (e) => (e.prompts[1].template = '{label}'),
      'prompts[1]',
      /either "template" or "descriptions"/,
    ],
    ['prompt neither form', (e) => delete e.prompts[0].template, 'prompts[0]', /needs "template"/],
    [
      'template placeholder',
      (e) => (e.prompts[0].template = 'x'),
      'prompts[0].template',
      /must contain \{label\}/,
    ],
    [
      'textTemplate placeholder',
      (e) => (e.prompts[0].textTemplate = 'query:'),
      'prompts[0].textTemplate',
      /must contain \{text\}/,
    ],
    [
      'description empty',
      (e) => (e.prompts[1].descriptions.ham = ''),
      'prompts[1].descriptions.ham',
      /empty/,
    ],
    [
      'description list item',
      (e) => (e.prompts[1].descriptions.spam[1] = 3),
      'prompts[1].descriptions.spam[1]',
      /non-empty/,
    ],
    [
      'description empty list',
      (e) => (e.prompts[1].descriptions.spam = []),
      'prompts[1].descriptions.spam',
      /empty list/,
    ],
    [
      'description label with a space',
      (e) => (e.prompts[1].descriptions['not spam'] = 5),
      'prompts[1].descriptions["not spam"]',
      /text or a list/,
    ],
    ['head typo', (e) => (e.heads[0].epoch = 3), 'heads[0].epoch', /unknown field: did you mean "epochs"\?/],
    [
      'head snake case',
      (e) => (e.heads[1].learning_rate = 3),
      'heads[1].learning_rate',
      /did you mean "learningRate"/,
    ],
    ['head layer fraction', (e) => (e.heads[1].layer = 1.5), 'heads[1].layer', /whole number/],
    ['head layer text', (e) => (e.heads[1].layer = 'last'), 'heads[1].layer', /whole number/],
    [
      'head pooling',
      (e) => (e.heads[0].pooling = 'max'),
      'heads[0].pooling',
      /allowed values: "mean", "cls", "last"/,
    ],
    ['head hidden negative', (e) => (e.heads[0].hidden = -1), 'heads[0].hidden', /from 0 to 4096/],
    ['head hidden fraction', (e) => (e.heads[0].hidden = 1.5), 'heads[0].hidden', /whole number/],
    ['head epochs 0', (e) => (e.heads[0].epochs = 0), 'heads[0].epochs', /from 1 to 1000/],
    ['head epochs 1001', (e) => (e.heads[0].epochs = 1001), 'heads[0].epochs', /from 1 to 1000/],
    ['head learning rate 0', (e) => (e.heads[0].learningRate = 0), 'heads[0].learningRate', /greater than 0/],
    [
      'head learning rate string',
      (e) => (e.heads[0].learningRate = '0.1'),
      'heads[0].learningRate',
      /must be a number/,
    ],
    ['head seed float', (e) => (e.heads[0].seed = 0.5), 'heads[0].seed', /whole number/],
    ['head batch size 0', (e) => (e.heads[0].batchSize = 0), 'heads[0].batchSize', /from 1 to 4096/],
    ['head dropout 1', (e) => (e.heads[0].dropout = 1), 'heads[0].dropout', /from 0 to 0\.9/],
    [
      'head dropout on a linear head',
      (e) => ((e.heads[0].hidden = 0), (e.heads[0].dropout = 0.2)),
      'heads[0].dropout',
      /set "hidden" above 0/,
    ],
    [
      'head weight decay negative',
      (e) => (e.heads[0].weightDecay = -0.1),
      'heads[0].weightDecay',
      /from 0 to 1/,
    ],
    ['head validation 0.6', (e) => (e.heads[0].validation = 0.6), 'heads[0].validation', /from 0 to 0\.5/],
    [
      'head patience without validation',
      (e) => (e.heads[0].patience = 5),
      'heads[0].patience',
      /add "validation"/,
    ],
    [
      'head patience 0',
      (e) => ((e.heads[0].validation = 0.2), (e.heads[0].patience = 0)),
      'heads[0].patience',
      /from 1 to 1000/,
    ],
    [
      'head class weights typo',
      (e) => (e.heads[0].classWeights = 'balance'),
      'heads[0].classWeights',
      /"none", "balanced"/,
    ],
    ['head batch size big', (e) => (e.heads[0].batchSize = 5000), 'heads[0].batchSize', /from 1 to 4096/],
    ['head shots 0', (e) => (e.heads[0].shotsPerClass = 0), 'heads[0].shotsPerClass', /at least 1/],
    ['head unfreeze negative', (e) => (e.heads[0].unfreeze = -1), 'heads[0].unfreeze', /from 0 to 64/],
    ['head unfreeze fraction', (e) => (e.heads[0].unfreeze = 0.5), 'heads[0].unfreeze', /whole number/],
    ['head max tokens 0', (e) => (e.heads[0].maxTokens = 0), 'heads[0].maxTokens', /from 1 to 512/],
    [
      'head layer learning rate 0',
      (e) => (e.heads[0].layerLearningRate = 0),
      'heads[0].layerLearningRate',
      /between 0 and 1 \(exclusive\)/,
    ],
    ['head missing seed', (e) => delete e.heads[1].seed, 'heads[1].seed', /missing/],
    [
      'duplicate prompt names',
      (e) => (e.prompts[1].name = 'bare labels'),
      'prompts[1].name',
      /already the name of prompts\[0\]/,
    ],
    [
      'head named like a prompt',
      (e) => (e.heads[0].name = 'described'),
      'heads[0].name',
      /already the name of prompts\[1\]/,
    ],
    ['nothing to run', (e) => Object.assign(e, { prompts: [], heads: [] }), '', /nothing to run/],
    ...learningCurveCases(),
    [
      'calibrate not a boolean',
      (e) => (e.prompts[0].calibrate = 'yes'),
      'prompts[0].calibrate',
      /true or false/,
    ],
    [
      'nli hypothesis missing',
      (e) => e.prompts.push(nli({ hypothesis: undefined })),
      'prompts[2].hypothesis',
      /missing/,
    ],
    [
      'nli hypothesis without {label}',
      (e) => e.prompts.push(nli({ hypothesis: 'This email is spam.' })),
      'prompts[2].hypothesis',
      /must contain \{label\}/,
    ],
    [
      'nli hypothesis empty',
      (e) => e.prompts.push(nli({ hypothesis: ' ' })),
      'prompts[2].hypothesis',
      /non-empty/,
    ],
    [
      'nli with a similarity template',
      (e) => e.prompts.push(nli({ template: '{label}' })),
      'prompts[2].template',
      /Allowed fields here: "name", "strategy", "hypothesis"/,
    ],
    [
      'nli text template without {text}',
      (e) => e.prompts.push(nli({ textTemplate: 'review' })),
      'prompts[2].textTemplate',
      /must contain \{text\}/,
    ],
    ['nli model empty', (e) => e.prompts.push(nli({ model: '' })), 'prompts[2].model', /non-empty string/],
    [
      'nli calibrate a number',
      (e) => e.prompts.push(nli({ calibrate: 1 })),
      'prompts[2].calibrate',
      /true or false/,
    ],
  ];

  it.each(cases)('%s', (_title, mutate, path, message) => {
    const error = errorFor(mutate);
    expect(error.path).toBe(path);
    expect(error.detail).toMatch(message);
    expect(error.message).toBe(path === '' ? error.detail : `${path}: ${error.detail}`);
  });

  it('accepts as many prompts and heads as an experiment holds', () => {
    const experiment = productExample();
    const [prompt] = experiment.prompts as Record<string, unknown>[];
    const [head] = experiment.heads as Record<string, unknown>[];
    experiment.prompts = Array.from({ length: 100 }, (_, i) => ({ ...prompt, name: `p${i}` }));
    experiment.heads = Array.from({ length: 100 }, (_, i) => ({ ...head, name: `h${i}` }));
    const parsed = parseExperiment(experiment);
    expect([parsed.prompts.length, parsed.heads.length]).toEqual([100, 100]);
  });

  it('accepts any whole-number head layer: the range depends on the model, checked when it is loaded', () => {
    for (const layer of [0, 2, 4, -1, -5, 12]) {
      const experiment = productExample();
      (experiment.heads as Array<Record<string, unknown>>)[1]!.layer = layer;
      expect(parseExperiment(experiment).heads[1]?.layer).toBe(layer);
    }
  });

  it('refuses a document that is not an object', () => {
    expect(() => parseExperiment([])).toThrow(/the experiment must be an object/);
    expect(() => parseExperiment(null)).toThrow(ExperimentError);
  });
});

describe('parseExperiment: features of later versions are refused, not ignored', () => {
  it('runs every strategy of the product: an unknown one is refused, listing them', () => {
    const error = errorFor((e) => (e.prompts[0] = { name: 'g', strategy: 'generate' }));
    expect(error.path).toBe('prompts[0].strategy');
    expect(error.detail).toBe(
      'unknown strategy the string "generate": allowed values: "similarity", "nli", "instruction".',
    );
  });

  it('refuses strategy-specific fields on a similarity prompt', () => {
    const error = errorFor((e) => (e.prompts[0].verbalizers = { spam: 'spam' }));
    expect(error.path).toBe('prompts[0].verbalizers');
    expect(error.detail).toMatch(/unknown field/);
  });
});

describe('checkHeadLayer', () => {
  it('accepts 0..numLayers and -1..-(numLayers + 1)', () => {
    for (const layer of [0, 1, 4, -1, -5]) {
      expect(() => checkHeadLayer(layer, 4, 'fixtures/tiny-bert', 'heads[0].layer')).not.toThrow();
    }
  });

  it('names the field, the model and its range for a layer the model does not have', () => {
    for (const [layer, path] of [
      [5, 'heads[0].layer'],
      [-6, 'heads[2].layer'],
    ] as const) {
      let caught: unknown;
      try {
        checkHeadLayer(layer, 4, 'fixtures/tiny-bert', path);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ExperimentError);
      expect((caught as ExperimentError).path).toBe(path);
      expect((caught as ExperimentError).message).toBe(
        `${path}: layer ${layer} does not exist: fixtures/tiny-bert has layers 0..4 (0 = embeddings output, ` +
          '4 = last layer), or -1..-5 counting from the end.',
      );
    }
  });
});

describe('closestName', () => {
  it('suggests near misses only', () => {
    expect(closestName('epoch', ['epochs', 'seed'])).toBe('epochs');
    expect(closestName('LearningRate', ['learningRate'])).toBe('learningRate');
    expect(closestName('colour', ['epochs', 'seed'])).toBeUndefined();
  });
});

describe('parseExperiment: missing fields say what to add', () => {
  it('shows the field with an example value', () => {
    expect(errorFor((e) => delete e.prompts[0].name).message).toBe(
      'prompts[0].name: is missing: add "name": "bare labels".',
    );
    expect(errorFor((e) => delete e.heads[0].pooling).message).toBe(
      'heads[0].pooling: is missing: add "pooling": "mean".',
    );
    expect(errorFor((e) => delete e.dataset).message).toBe(
      'dataset: is missing: add "dataset": { "builtin": "topics" }.',
    );
  });
});

/** Bad `learningCurve` fields: [title, mutation, path, message]. */
function learningCurveCases(): [string, Mutation, string, RegExp][] {
  const curve =
    (fields: Record<string, unknown>): Mutation =>
    (e) =>
      (e.learningCurve = { shotsPerClass: [1, 2, 4], seeds: 3, ...fields });
  return [
    ['curve not an object', (e) => (e.learningCurve = [1, 2]), 'learningCurve', /must be an object/],
    ['curve typo', curve({ seed: 3 }), 'learningCurve.seed', /did you mean "seeds"\?/],
    [
      'curve sizes missing',
      (e) => (e.learningCurve = { seeds: 3 }),
      'learningCurve.shotsPerClass',
      /missing: add "shotsPerClass": \[1, 2, 4, 8, 16\]/,
    ],
    ['curve sizes empty', curve({ shotsPerClass: [] }), 'learningCurve.shotsPerClass', /non-empty list/],
    [
      'curve sizes a number',
      curve({ shotsPerClass: 4 }),
      'learningCurve.shotsPerClass',
      /non-empty list.*got 4/,
    ],
    ['curve size 0', curve({ shotsPerClass: [1, 0] }), 'learningCurve.shotsPerClass[1]', /at least 1; got 0/],
    [
      'curve size fraction',
      curve({ shotsPerClass: [2.5] }),
      'learningCurve.shotsPerClass[0]',
      /whole number/,
    ],
    [
      'curve size a string',
      curve({ shotsPerClass: ['8'] }),
      'learningCurve.shotsPerClass[0]',
      /got the string "8"/,
    ],
    [
      'curve too many sizes',
      curve({ shotsPerClass: Array.from({ length: 31 }, (_, i) => i + 1) }),
      'learningCurve.shotsPerClass',
      /lists 31 sizes: at most 30/,
    ],
    [
      'curve seeds missing',
      (e) => (e.learningCurve = { shotsPerClass: [1] }),
      'learningCurve.seeds',
      /missing/,
    ],
    ['curve seeds 0', curve({ seeds: 0 }), 'learningCurve.seeds', /from 1 to 20.*got 0/],
    ['curve seeds 21', curve({ seeds: 21 }), 'learningCurve.seeds', /from 1 to 20.*got 21/],
    ['curve seeds fraction', curve({ seeds: 1.5 }), 'learningCurve.seeds', /whole number/],
    ['curve head empty', curve({ head: ' ' }), 'learningCurve.head', /non-empty string/],
    [
      'curve head unknown',
      curve({ head: 'linaer' }),
      'learningCurve.head',
      /no head "linaer": did you mean "linear"\? Heads: "linear", "mlp, 8 per class"/,
    ],
    [
      'curve without heads',
      (e) => Object.assign(e, { heads: [], learningCurve: { shotsPerClass: [1], seeds: 1 } }),
      'learningCurve',
      /trains a head: add one to "heads"/,
    ],
  ];
}

describe('parseExperiment: learningCurve', () => {
  it('keeps a valid curve, sorting its sizes and dropping repeats, and round-trips it', () => {
    const experiment = productExample();
    experiment.learningCurve = { shotsPerClass: [8, 1, 4, 1, 2], seeds: 5, head: ' mlp, 8 per class ' };
    const parsed = parseExperiment(experiment);
    expect(parsed.learningCurve).toEqual({ shotsPerClass: [1, 2, 4, 8], seeds: 5, head: 'mlp, 8 per class' });
    expect(parseExperimentText(serializeExperiment(parsed))).toEqual(parsed);
  });

  it('leaves the head out when the file does (the first head is trained)', () => {
    const experiment = productExample();
    experiment.learningCurve = { shotsPerClass: [1], seeds: 20 };
    expect(parseExperiment(experiment).learningCurve).toEqual({ shotsPerClass: [1], seeds: 20 });
    expect(Object.keys(parseExperiment(productExample()))).not.toContain('learningCurve');
  });
});

describe('parseExperiment: instruction prompts', () => {
  const instruction = (): Record<string, unknown> => ({
    name: 'few-shot',
    strategy: 'instruction',
    instruction: 'Is this email spam?',
    verbalizers: { spam: ' spam', ham: ' ham' },
  });
  const withInstruction =
    (patch: Record<string, unknown>): Mutation =>
    (e) =>
      e.prompts.push({ ...instruction(), ...patch });

  it('reads every field, keeping verbalizers in a prototype-free record', () => {
    const experiment = productExample();
    withInstruction({
      shotsPerClass: 2,
      template: 'Q: {instruction}\n{shots}Email: {text}\nA:',
      chatTemplate: false,
      lengthNormalize: true,
      calibrate: true,
      model: 'fixtures/tiny-gpt2',
    })(experiment);
    const prompt = parseExperiment(experiment).prompts[2];
    expect(prompt).toEqual({
      ...instruction(),
      shotsPerClass: 2,
      template: 'Q: {instruction}\n{shots}Email: {text}\nA:',
      chatTemplate: false,
      lengthNormalize: true,
      calibrate: true,
      model: 'fixtures/tiny-gpt2',
    });
    expect(Object.getPrototypeOf(prompt?.strategy === 'instruction' ? prompt.verbalizers : {})).toBeNull();
  });

  it('accepts a zero-shot prompt with only the required fields, and a label named __proto__', () => {
    const experiment = productExample();
    withInstruction({ verbalizers: JSON.parse('{"__proto__": " odd", "ham": " ham"}') })(experiment);
    const prompt = parseExperiment(experiment).prompts[2];
    expect(prompt?.strategy === 'instruction' && Object.keys(prompt.verbalizers)).toEqual([
      '__proto__',
      'ham',
    ]);
  });

  const cases: [string, Mutation, string, RegExp][] = [
    ['no instruction', withInstruction({ instruction: undefined }), 'prompts[2].instruction', /missing/],
    ['blank instruction', withInstruction({ instruction: '  ' }), 'prompts[2].instruction', /non-empty/],
    ['no verbalizers', withInstruction({ verbalizers: undefined }), 'prompts[2].verbalizers', /missing/],
    ['verbalizers a list', withInstruction({ verbalizers: [' a'] }), 'prompts[2].verbalizers', /object/],
    [
      'one verbalizer',
      withInstruction({ verbalizers: { spam: ' spam' } }),
      'prompts[2].verbalizers',
      /at least two/,
    ],
    [
      'empty verbalizer',
      withInstruction({ verbalizers: { spam: '', ham: ' ham' } }),
      'prompts[2].verbalizers.spam',
      /non-empty/,
    ],
    [
      'number verbalizer',
      withInstruction({ verbalizers: { spam: 1, ham: ' ham' } }),
      'prompts[2].verbalizers.spam',
      /non-empty/,
    ],
    [
      'negative shots',
      withInstruction({ shotsPerClass: -1 }),
      'prompts[2].shotsPerClass',
      /0 \(zero-shot\) or more/,
    ],
    ['fractional shots', withInstruction({ shotsPerClass: 1.5 }), 'prompts[2].shotsPerClass', /whole number/],
    [
      'template without text',
      withInstruction({ template: '{instruction}{shots}' }),
      'prompts[2].template',
      /\{text\} exactly once/,
    ],
    [
      'template without instruction',
      withInstruction({ template: '{shots}{text}' }),
      'prompts[2].template',
      /\{instruction\} exactly once/,
    ],
    [
      'text before the shots',
      withInstruction({ template: '{instruction}{text}{shots}' }),
      'prompts[2].template',
      /before \{text\}/,
    ],
    [
      'shots asked, no {shots}',
      withInstruction({ shotsPerClass: 1, template: '{instruction} {text}' }),
      'prompts[2].template',
      /must contain \{shots\}/,
    ],
    [
      'chatTemplate not boolean',
      withInstruction({ chatTemplate: 'yes' }),
      'prompts[2].chatTemplate',
      /true or false/,
    ],
    ['calibrate not boolean', withInstruction({ calibrate: 1 }), 'prompts[2].calibrate', /true or false/],
    ['similarity field', withInstruction({ descriptions: {} }), 'prompts[2].descriptions', /unknown field/],
  ];
  it.each(cases)('%s', (_name, mutate, path, detail) => {
    const error = errorFor(mutate);
    expect(error.path).toBe(path);
    expect(error.detail).toMatch(detail);
  });
});
