/**
 * @file The experiment a new session starts with: the built-in "topics" dataset, the built-in model, three prompt
 * variations (bare label, a sentence template, described labels with an ensemble) and a linear head.
 */
import {
  EXPERIMENT_VERSION,
  type Experiment,
  type HeadSpec,
  type SimilarityPrompt,
} from '../core/experiment/types.ts';
import { HEAD_SETTINGS, SPLIT_SETTINGS } from '../core/experiment/settings.ts';
import { DEFAULT_MODEL_ID } from '../clients/model-index.ts';

/** Default head (settings.ts declares each value): linear, trained on the last layer's mean-pooled features. */
export function defaultHead(): HeadSpec {
  // shotsPerClass has no default: a new head trains on every training example.
  return {
    name: 'linear head',
    layer: HEAD_SETTINGS.layer.default,
    pooling: HEAD_SETTINGS.pooling.default,
    hidden: HEAD_SETTINGS.hidden.default,
    epochs: HEAD_SETTINGS.epochs.default,
    learningRate: HEAD_SETTINGS.learningRate.default,
    seed: HEAD_SETTINGS.seed.default,
    batchSize: HEAD_SETTINGS.batchSize.default,
    classWeights: HEAD_SETTINGS.classWeights.default,
  };
}

/** Default prompt variations for the "topics" labels (food, sports, weather). */
export function defaultPrompts(): SimilarityPrompt[] {
  return [
    { name: 'bare labels', strategy: 'similarity', template: '{label}' },
    { name: 'sentence', strategy: 'similarity', template: 'This text is about {label}.' },
    {
      name: 'described',
      strategy: 'similarity',
      descriptions: {
        food: ['food, cooking and recipes', 'a meal at a restaurant'],
        sports: ['sports, games and matches', 'a team winning a championship'],
        weather: ['weather, rain and sunshine', 'the forecast for storms and snow'],
      },
    },
  ];
}

/** A fresh experiment. */
export function defaultExperiment(): Experiment {
  return {
    version: EXPERIMENT_VERSION,
    name: 'Topics: prompts vs a trained head',
    model: DEFAULT_MODEL_ID,
    dataset: { builtin: 'topics', text: 'text', label: 'label' },
    split: { test: SPLIT_SETTINGS.test.default, seed: SPLIT_SETTINGS.seed.default },
    prompts: defaultPrompts(),
    heads: [defaultHead()],
  };
}
