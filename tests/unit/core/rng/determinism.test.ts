/**
 * @file Pins the exact random streams that saved experiments depend on. A saved or exported experiment stores
 * only its seeds; if the generator, the seed folding or the split's use of it changed, the same file would pick
 * other test examples and other training samples, and every saved result would silently stop matching. These
 * numbers must never change; a deliberate change needs a new experiment-file version and a migration.
 */
import { describe, expect, it } from 'vitest';
import { buildDatasetFromRef } from '../../../../src/lib/core/dataset/ref.ts';
import { SPLIT_SETTINGS } from '../../../../src/lib/core/experiment/settings.ts';
import { createRng, mulberry32 } from '../../../../src/lib/core/rng/rng.ts';
import { sampleShotsPerClass, stratifiedSplit } from '../../../../src/lib/core/split/split.ts';

/** A list of example ids written as one line of text. */
const ids = (text: string): string[] => text.split(' ');

const draw = (rng: () => number, count: number): number[] => Array.from({ length: count }, () => rng());

describe('the seeded streams', () => {
  it('createRng(42) gives exactly these first numbers', () => {
    expect(draw(createRng(42), 6)).toEqual([
      0.4813160905614495, 0.9852536325342953, 0.7379171899519861, 0.6130663156509399, 0.7036195879336447,
      0.9655741918832064,
    ]);
  });

  it('createRng(0) is not a weak state, and folds fractions the same way', () => {
    expect(draw(createRng(0), 3)).toEqual([0.3588899802416563, 0.10590326134115458, 0.675290479324758]);
    expect(draw(createRng(0.9), 3)).toEqual(draw(createRng(0), 3));
  });

  it('mulberry32 from a raw state (the fixture generator) gives exactly these first numbers', () => {
    expect(draw(mulberry32(1), 3)).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });
});

describe('the split of a built-in dataset with the default settings', () => {
  const { dataset } = buildDatasetFromRef({ builtin: 'topics' });
  const split = stratifiedSplit(dataset, {
    test: SPLIT_SETTINGS.test.default,
    seed: SPLIT_SETTINGS.seed.default,
  });

  it('holds out exactly these 45 "topics" examples', () => {
    expect(SPLIT_SETTINGS.test.default).toBe(0.3);
    expect(SPLIT_SETTINGS.seed.default).toBe(42);
    expect(split.test.map((example) => example.id)).toEqual(
      ids(
        'r1 r2 r4 r5 r9 r13 r18 r20 r22 r27 r28 r31 r32 r35 r43 ' +
          'r51 r54 r57 r59 r63 r67 r72 r84 r87 r90 r92 r94 r95 r96 r99 ' +
          'r104 r106 r108 r114 r115 r119 r123 r125 r131 r136 r139 r143 r146 r147 r149',
      ),
    );
    expect(split.train).toHaveLength(105);
  });

  it('samples exactly these training examples for 2 shots per class with head seed 1', () => {
    expect(sampleShotsPerClass(split.train, dataset.labels, 2, 1).map((example) => example.id)).toEqual(
      ids('r41 r48 r76 r83 r101 r138'),
    );
  });

  it('holds out the same "spam-assassin" examples as ever', () => {
    const spam = buildDatasetFromRef({ builtin: 'spam-assassin' }).dataset;
    const test = stratifiedSplit(spam, { test: 0.3, seed: 42 }).test.map((example) => example.id);
    expect(test).toHaveLength(180);
    expect(test.slice(0, 12)).toEqual(ids('r3 r5 r6 r7 r18 r19 r22 r23 r35 r37 r43 r44'));
    expect(test.slice(-6)).toEqual(ids('r582 r585 r594 r596 r597 r600'));
  });
});
