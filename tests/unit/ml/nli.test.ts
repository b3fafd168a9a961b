/**
 * @file NLI through the transformers.js adapter on the tiny-nli fixtures: the pair classifier's logits equal
 * transformers.js' own `AutoModelForSequenceClassification`, the entailment index comes from config.json (a fixture
 * with another label order gives the same predictions), calibration repairs tiny-nli-biased's designed bias, a long
 * premise is cut before the hypothesis is (and "what the model sees" counts and cuts each pair as the classifier
 * does), and a model that cannot do NLI is refused with its field named.
 */
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env,
  type Tensor,
} from '@huggingface/transformers';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../../src/lib/core/dataset/types.ts';
import { loadExperimentDataset } from '../../../src/lib/core/experiment/run.ts';
import type { NliPrompt, RunResult } from '../../../src/lib/core/experiment/types.ts';
import type { Encoder, PairClassifier } from '../../../src/lib/core/ports.ts';
import { measurePieces } from '../../../src/lib/core/prompts/measure-pieces.ts';
import { renderModelInput } from '../../../src/lib/core/prompts/model-input.ts';
import { runNliPrompt } from '../../../src/lib/core/prompts/nli.ts';
import { loadEncoder } from '../../../src/lib/ml/transformers-adapter.ts';

const MODELS = resolve(import.meta.dirname, '../../fixtures/models');
const DATASET = resolve(import.meta.dirname, '../../fixtures/datasets/topics-keywords.csv');
const LOAD_TIMEOUT_MS = 60_000;

const PROMPT: NliPrompt = { name: 'nli', strategy: 'nli', hypothesis: 'This text is about {label}.' };

function load(name: string): Promise<Encoder> {
  return loadEncoder({ kind: 'folder', path: join(MODELS, name) }, { device: 'cpu', dtype: 'fp32' });
}

function classifierOf(encoder: Encoder | undefined): PairClassifier {
  const classifier = encoder?.pairClassifier;
  if (!classifier) throw new Error(`${encoder?.modelId ?? 'the model'} is not a pair classifier`);
  return classifier;
}

/** Zero-shot on every row of the keyword topics dataset. */
function zeroShot(encoder: Encoder, dataset: Dataset, prompt: NliPrompt = PROMPT): Promise<RunResult> {
  return runNliPrompt({
    prompt,
    path: 'prompts[0]',
    model: encoder.modelId,
    modelPath: 'prompts[0].model',
    labels: dataset.labels,
    test: dataset.examples,
    classifier: encoder.pairClassifier,
    ...(encoder.maskToken === undefined ? {} : { maskToken: encoder.maskToken }),
    now: () => performance.now(),
  });
}

const encoders = new Map<string, Encoder>();
let dataset: Dataset;
const tempDirs: string[] = [];

beforeAll(async () => {
  for (const name of ['tiny-nli', 'tiny-nli-reordered', 'tiny-nli-biased', 'tiny-bert']) {
    encoders.set(name, await load(name));
  }
  ({ dataset } = await loadExperimentDataset({ path: DATASET, text: 'text', label: 'label' }, (path) =>
    readFile(path, 'utf8'),
  ));
}, LOAD_TIMEOUT_MS);

afterAll(async () => {
  for (const encoder of encoders.values()) await encoder.dispose();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const pairs = [
  { premise: 'Snow and fog closed the roads this morning.', hypothesis: 'This text is about weather.' },
  { premise: 'Snow and fog closed the roads this morning.', hypothesis: 'This text is about food.' },
  { premise: 'The striker scored twice.', hypothesis: 'This text is about sports.' },
  { premise: '', hypothesis: 'This text is about sports.' },
];

describe('the pair classifier', () => {
  it('returns the logits of transformers.js’ own sequence classifier, in id2label order', async () => {
    const classifier = classifierOf(encoders.get('tiny-nli'));
    expect(classifier.id2label).toEqual(['entailment', 'neutral', 'contradiction']);
    const { logits, tokens, truncated } = await classifier.classifyPairs(pairs);

    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${MODELS}/`;
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-nli');
    const model = await AutoModelForSequenceClassification.from_pretrained('tiny-nli', { dtype: 'fp32' });
    try {
      for (const [index, pair] of pairs.entries()) {
        const inputs = tokenizer(pair.premise, { text_pair: pair.hypothesis });
        const output = (await model(inputs)) as { logits: Tensor };
        const expected = Array.from(output.logits.data as Float32Array);
        logits[index]?.forEach((value, k) => expect(value).toBeCloseTo(expected[k] ?? NaN, 5));
      }
      const lengths = pairs.map(
        (pair) => tokenizer(pair.premise, { text_pair: pair.hypothesis }).input_ids.dims[1] as number,
      );
      expect(tokens).toBe(lengths.reduce((sum, length) => sum + length, 0));
    } finally {
      await model.dispose();
    }
    expect(truncated).toEqual([]);
    // Entailment for the same concept, contradiction for another, neutral with no concept in the premise.
    expect(logits.map((row) => row.indexOf(Math.max(...row)))).toEqual([0, 2, 0, 1]);
  });

  it('reads id2label from config.json: tiny-nli-reordered gives the same logits, permuted', async () => {
    const plain = await classifierOf(encoders.get('tiny-nli')).classifyPairs(pairs);
    const reordered = classifierOf(encoders.get('tiny-nli-reordered'));
    expect(reordered.id2label).toEqual(['CONTRADICTION', 'ENTAILMENT', 'NEUTRAL']);
    const { logits } = await reordered.classifyPairs(pairs);
    logits.forEach((row, index) => {
      const [entailment, neutral, contradiction] = plain.logits[index] ?? [];
      expect(row).toEqual([contradiction, entailment, neutral]);
    });
  });

  it('cuts a long premise at its end and never the hypothesis', async () => {
    const classifier = classifierOf(encoders.get('tiny-nli'));
    const premise = `The football match ${'went on and on '.repeat(60)}`;
    const long = [
      { premise, hypothesis: 'This text is about sports.' },
      { premise, hypothesis: 'This text is about food.' },
      { premise: 'The football match.', hypothesis: 'This text is about sports.' },
    ];
    const { logits, tokens, truncated } = await classifier.classifyPairs(long);
    expect(truncated).toEqual([0, 1]);
    expect(tokens).toBeGreaterThan(2 * classifier.maxTokens);
    expect(tokens).toBeLessThanOrEqual(3 * classifier.maxTokens);
    // The hypothesis survived the cut: the sports premise entails "sports" and contradicts "food".
    expect(logits.map((row) => row.indexOf(Math.max(...row)))).toEqual([0, 2, 0]);
  });

  it('refuses a hypothesis that leaves no room for the text', async () => {
    const classifier = classifierOf(encoders.get('tiny-nli'));
    await expect(
      classifier.classifyPairs([{ premise: 'The match.', hypothesis: 'sports '.repeat(200) }]),
    ).rejects.toThrow(/leaves no room for the text within the model's 128 tokens: shorten the hypothesis/);
  });
});

describe('what the model sees for an NLI prompt, counted with the real tokenizer', () => {
  it('counts each premise/hypothesis pair as the classifier feeds it, and cuts the premise where it does', async () => {
    const encoder = encoders.get('tiny-nli');
    if (!encoder) throw new Error('tiny-nli is not loaded');
    const classifier = classifierOf(encoder);
    const count = (texts: string[], pairs: (string | null)[]) => encoder.countTokens(texts, pairs);
    const render = (text: string) => {
      const rendering = renderModelInput(
        {
          name: 'n',
          strategy: 'nli',
          hypothesis: 'This text is about {label}.',
          textTemplate: 'Text: {text}',
        },
        { id: 'x', text, label: 'sports' },
        { labels: ['sports', 'food'], train: [], seed: 1, path: 'prompts[0]' },
      );
      if (!rendering.ok) throw new Error(rendering.error);
      return rendering.pieces;
    };

    const short = render('The football match.');
    const measures = await measurePieces(short, encoder.maxTokens, count);
    const pairs = short.map((piece) => ({ premise: piece.text, hypothesis: piece.pair ?? '' }));
    for (const [k, pair] of pairs.entries()) {
      const classified = await classifier.classifyPairs([pair]);
      expect(measures?.[k]).toEqual({ tokens: classified.tokens, maxTokens: 128, truncated: false });
    }

    const long = render(`The football match ${'went on and on '.repeat(60)}`);
    const [cut] = (await measurePieces(long, encoder.maxTokens, count)) ?? [];
    const piece = long[0];
    if (cut?.keptChars === undefined || piece?.pair === undefined)
      throw new Error('the long premise was not cut');
    const classified = await classifier.classifyPairs([{ premise: piece.text, hypothesis: piece.pair }]);
    expect(classified).toMatchObject({ truncated: [0], tokens: 128 });
    const kept = piece.text.slice(0, cut.keptChars);
    const nextWord = piece.text.slice(0, piece.text.indexOf(' ', cut.keptChars + 1));
    const [keptTokens, overTokens] = await encoder.countTokens([kept, nextWord], [piece.pair, piece.pair]);
    expect(keptTokens).toBeLessThanOrEqual(128);
    expect(overTokens).toBeGreaterThan(128);
    // The count shown is the whole pair's; the classifier feeds its first 128 tokens, the hypothesis kept whole.
    expect(cut.tokens).toBeGreaterThan(128);
    expect(cut.tokens).toBe((await encoder.countTokens([piece.text], [piece.pair]))[0]);
  });
});

describe('zero-shot NLI prompts on the keyword topics (90 texts)', () => {
  it('tiny-nli and tiny-nli-reordered score 0.9 with identical predictions', async () => {
    const plain = await zeroShot(encoders.get('tiny-nli') as Encoder, dataset);
    const reordered = await zeroShot(encoders.get('tiny-nli-reordered') as Encoder, dataset);
    expect(plain.accuracy).toBeCloseTo(0.9, 10);
    expect(reordered.predictions).toEqual(plain.predictions);
    expect(plain.tokens).toBeGreaterThan(0);
    expect(plain.truncated).toBe(0);
  });

  it('calibration repairs tiny-nli-biased from 1/3 (all sports) to tiny-nli’s 0.9, and leaves tiny-nli alone', async () => {
    const biased = encoders.get('tiny-nli-biased') as Encoder;
    const raw = await zeroShot(biased, dataset);
    expect(raw.accuracy).toBeCloseTo(1 / 3, 10);
    expect(new Set(raw.predictions.map((prediction) => prediction.label))).toEqual(new Set(['sports']));

    const calibrate = { ...PROMPT, calibrate: true };
    const repaired = await zeroShot(biased, dataset, calibrate);
    expect(repaired.calibrated).toBe(true);
    expect(repaired.accuracy).toBeCloseTo(0.9, 10);
    expect(repaired.accuracy - raw.accuracy).toBeCloseTo(0.9 - 1 / 3, 10);

    const plain = await zeroShot(encoders.get('tiny-nli') as Encoder, dataset);
    const plainCalibrated = await zeroShot(encoders.get('tiny-nli') as Encoder, dataset, calibrate);
    expect(plainCalibrated.predictions.map((prediction) => prediction.label)).toEqual(
      plain.predictions.map((prediction) => prediction.label),
    );
    // The bias depends on the hypothesis only, so calibration recovers the unbiased scores.
    repaired.predictions.forEach((prediction, index) => {
      for (const label of dataset.labels) {
        expect(prediction.scores[label]).toBeCloseTo(plain.predictions[index]?.scores[label] ?? NaN, 3);
      }
    });
  });
});

describe('models an NLI prompt cannot use', () => {
  it('an encoder without classification logits is not a sequence classifier', async () => {
    const bert = encoders.get('tiny-bert') as Encoder;
    expect(bert.pairClassifier).toBeUndefined();
    await expect(zeroShot(bert, dataset)).rejects.toThrow(
      /^prompts\[0\]\.model: .*tiny-bert is not a sequence classifier/,
    );
  });

  it('a classifier without an entailment label is refused, naming its id2label', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nli-labels-'));
    tempDirs.push(dir);
    await cp(join(MODELS, 'tiny-nli'), dir, { recursive: true });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    config.id2label = { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' };
    config.label2id = { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    const encoder = await loadEncoder({ kind: 'folder', path: dir }, { device: 'cpu', dtype: 'fp32' });
    try {
      await expect(zeroShot(encoder, dataset)).rejects.toThrow(
        'has no "entailment" class (its id2label is {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"})',
      );
    } finally {
      await encoder.dispose();
    }
  });
});
