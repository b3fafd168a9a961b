/**
 * @file The settings table (src/lib/core/experiment/settings.ts): every declaration is self-consistent, the
 * schema and the app's defaults follow it, and its messages say what a value must be.
 */
import { describe, expect, it } from 'vitest';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import { DEFAULT_HEAD_BATCH_SIZE } from '../../../../src/lib/core/experiment/run.ts';
import { parseExperiment, POOLINGS } from '../../../../src/lib/core/experiment/schema.ts';
import {
  HEAD_SETTINGS,
  isValidSetting,
  rangeText,
  settingProblem,
  SPLIT_SETTINGS,
  type NumberSetting,
} from '../../../../src/lib/core/experiment/settings.ts';
import { defaultExperiment, defaultHead } from '../../../../src/lib/state/defaults.ts';

const numberSettings: [string, NumberSetting][] = [
  ...Object.entries(SPLIT_SETTINGS).map(([key, setting]): [string, NumberSetting] => [
    `split.${key}`,
    setting,
  ]),
  ...Object.entries(HEAD_SETTINGS).flatMap(([key, setting]): [string, NumberSetting][] =>
    setting.kind === 'enum' ? [] : [[`heads[0].${key}`, setting]],
  ),
];

describe('the settings table', () => {
  it.each(numberSettings)('%s: its key, default and example are valid for its own range', (path, setting) => {
    expect(path.endsWith(`.${setting.key}`)).toBe(true);
    expect(setting.help.length).toBeGreaterThan(20);
    if (setting.default === undefined) {
      expect(setting.optional).toBe(true);
    } else {
      expect(settingProblem(setting, setting.default)).toBeUndefined();
    }
    if (setting.whenMissing !== undefined) expect(isValidSetting(setting, setting.whenMissing)).toBe(true);
    const example = Number.parseFloat(setting.example);
    expect(settingProblem(setting, example)).toBeUndefined();
  });

  it('declares each pooling once, with the words the picker shows', () => {
    expect(POOLINGS).toEqual(['mean', 'cls', 'last', 'sentence']);
    expect(POOLINGS).toContain(HEAD_SETTINGS.pooling.default);
    for (const choice of HEAD_SETTINGS.pooling.choices) expect(choice.text).not.toBe('');
  });

  it('is where the app defaults and the run fallback come from', () => {
    const head = defaultHead();
    for (const [key, setting] of Object.entries(HEAD_SETTINGS)) {
      expect(head[key as keyof typeof head], key).toBe(setting.default);
    }
    expect(defaultExperiment().split).toEqual({
      test: SPLIT_SETTINGS.test.default,
      seed: SPLIT_SETTINGS.seed.default,
    });
    expect(DEFAULT_HEAD_BATCH_SIZE).toBe(HEAD_SETTINGS.batchSize.whenMissing);
  });

  it('gives a new experiment that the schema accepts unchanged', () => {
    const experiment = defaultExperiment();
    expect(parseExperiment(experiment)).toEqual(experiment);
  });
});

describe('settingProblem', () => {
  const cases: [string, NumberSetting, number, string | undefined][] = [
    ['an epoch count in range', HEAD_SETTINGS.epochs, 1000, undefined],
    ['too many epochs', HEAD_SETTINGS.epochs, 1001, 'must be from 1 to 1000; got 1001.'],
    ['a fraction of an epoch', HEAD_SETTINGS.epochs, 2.5, 'must be a whole number, e.g. 50; got 2.5.'],
    ['no hidden layer', HEAD_SETTINGS.hidden, 0, undefined],
    ['a learning rate of 0', HEAD_SETTINGS.learningRate, 0, 'must be greater than 0, e.g. 0.01; got 0.'],
    ['a tiny learning rate', HEAD_SETTINGS.learningRate, 1e-6, undefined],
    [
      'an infinite learning rate',
      HEAD_SETTINGS.learningRate,
      Infinity,
      'must be a number, e.g. 0.01; got Infinity.',
    ],
    ['0 shots', HEAD_SETTINGS.shotsPerClass, 0, 'must be at least 1; got 0.'],
    ['a negative seed', HEAD_SETTINGS.seed, -7, undefined],
    ['an unsafe seed', SPLIT_SETTINGS.seed, 2 ** 60, `must be a whole number, e.g. 42; got ${2 ** 60}.`],
    ['any layer (the model decides)', HEAD_SETTINGS.layer, -12, undefined],
    [
      'a test fraction of 1',
      SPLIT_SETTINGS.test,
      1,
      'is the fraction of each class held out for testing: it must be between 0 and 1 (exclusive), e.g. 0.3; got 1.',
    ],
    ['a test fraction just above 0', SPLIT_SETTINGS.test, 0.001, undefined],
  ];

  it.each(cases)('%s', (_title, setting, value, expected) => {
    expect(settingProblem(setting, value)).toBe(expected);
    expect(isValidSetting(setting, value)).toBe(expected === undefined);
  });

  it('words each kind of range', () => {
    expect(rangeText(HEAD_SETTINGS.batchSize)).toBe('from 1 to 4096');
    expect(rangeText(HEAD_SETTINGS.shotsPerClass)).toBe('at least 1');
    expect(rangeText(HEAD_SETTINGS.learningRate)).toBe('greater than 0');
    expect(rangeText(SPLIT_SETTINGS.test)).toBe('between 0 and 1 (exclusive)');
    expect(rangeText(HEAD_SETTINGS.seed)).toBeUndefined();
    expect(rangeText({ ...HEAD_SETTINGS.seed, max: 9 })).toBe('at most 9');
    expect(rangeText({ ...HEAD_SETTINGS.seed, max: 9, exclusive: true })).toBe('less than 9');
  });

  it('is what the schema says about the same value, after the field path', () => {
    const experiment = defaultExperiment();
    experiment.heads[0]!.batchSize = 5000;
    let caught: unknown;
    try {
      parseExperiment(experiment);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ExperimentError);
    expect((caught as ExperimentError).message).toBe(
      `heads[0].batchSize: ${String(settingProblem(HEAD_SETTINGS.batchSize, 5000))}`,
    );
  });
});
