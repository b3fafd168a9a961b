import { describe, expect, it } from 'vitest';
import { ExperimentError } from '../../../../src/lib/core/errors.ts';
import {
  applyTextTemplate,
  argmax,
  classifyBySimilarity,
  classifyBySimilarityCooperative,
  cosine,
  labelTexts,
  meanVector,
} from '../../../../src/lib/core/prompts/similarity.ts';

const v = (...values: number[]): Float32Array => Float32Array.from(values);

function experimentError(fn: () => unknown): ExperimentError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ExperimentError) return error;
    throw error;
  }
  throw new Error('expected an ExperimentError');
}

describe('labelTexts', () => {
  const labels = ['ham', 'spam'];

  it('fills the template for every label, literally', () => {
    expect(labelTexts({ template: 'This email is {label}. {label}!' }, labels)).toEqual([
      ['This email is ham. ham!'],
      ['This email is spam. spam!'],
    ]);
    expect(labelTexts({ template: 'costs $& {label}' }, ['$1'])).toEqual([['costs $& $1']]);
  });

  it('uses one description or a list (ensemble) per label, in labels order', () => {
    const texts = labelTexts(
      { descriptions: { spam: ['an advertisement', 'a scam'], ham: 'a personal email' } },
      labels,
    );
    expect(texts).toEqual([['a personal email'], ['an advertisement', 'a scam']]);
  });

  it('names the path of a label without a description', () => {
    const error = experimentError(() => labelTexts({ descriptions: { spam: 'ads' } }, labels, 'prompts[1]'));
    expect(error.path).toBe('prompts[1].descriptions.ham');
    expect(error.message).toMatch(/^prompts\[1\]\.descriptions\.ham: label "ham" has no description/);
  });

  it('names a description for a label the dataset does not have, listing the real labels', () => {
    const error = experimentError(() =>
      labelTexts({ descriptions: { spam: 'ads', ham: 'mail', 'not spam': 'x' } }, labels, 'prompts[0]'),
    );
    expect(error.path).toBe('prompts[0].descriptions["not spam"]');
    expect(error.message).toContain('describe exactly these labels: "ham", "spam"');
  });

  it('refuses empty descriptions, a template without {label}, and a prompt with neither', () => {
    expect(experimentError(() => labelTexts({ descriptions: { ham: [], spam: 'x' } }, labels)).path).toBe(
      'prompt.descriptions.ham',
    );
    expect(experimentError(() => labelTexts({ template: 'no placeholder' }, labels)).message).toMatch(
      /must contain \{label\}/,
    );
    expect(experimentError(() => labelTexts({}, labels)).message).toMatch(/needs a "template"/);
  });
});

describe('applyTextTemplate', () => {
  it('wraps the text, or leaves it alone without a template', () => {
    expect(applyTextTemplate('query: {text}', 'hello')).toBe('query: hello');
    expect(applyTextTemplate(undefined, 'hello')).toBe('hello');
    expect(applyTextTemplate('{text}', 'price $& $1')).toBe('price $& $1');
  });
});

describe('vector helpers', () => {
  it('meanVector averages element-wise', () => {
    expect([...meanVector([v(1, 2), v(3, 6)])]).toEqual([2, 4]);
    expect(() => meanVector([])).toThrow(/zero vectors/);
    expect(() => meanVector([v(1), v(1, 2)])).toThrow(/lengths 1 and 2/);
  });

  it('cosine is 1 for parallel, 0 for orthogonal, -1 for opposite, 0 for a zero vector', () => {
    expect(cosine(v(1, 2), v(2, 4))).toBeCloseTo(1, 6);
    expect(cosine(v(1, 0), v(0, 3))).toBe(0);
    expect(cosine(v(1, 1), v(-1, -1))).toBeCloseTo(-1, 6);
    expect(cosine(v(0, 0), v(1, 1))).toBe(0);
    expect(() => cosine(v(1), v(1, 2))).toThrow(/lengths/);
  });

  it('argmax picks the first of tied maxima', () => {
    expect(argmax([0.1, 0.9, 0.9])).toBe(1);
    expect(argmax([-3, -1, -2])).toBe(1);
    expect(() => argmax([])).toThrow();
  });
});

describe('classifyBySimilarity', () => {
  it('predicts the most similar label and reports every cosine as a score', () => {
    const predictions = classifyBySimilarity(
      [v(1, 0.1), v(0.2, 1)],
      [v(1, 0), v(0, 1)],
      ['x', 'y'],
      ['r1', 'r2'],
    );
    expect(predictions.map((prediction) => [prediction.id, prediction.label])).toEqual([
      ['r1', 'x'],
      ['r2', 'y'],
    ]);
    expect(predictions[0]?.scores.x).toBeCloseTo(1 / Math.sqrt(1.01), 6);
    expect(Object.keys(predictions[0]?.scores ?? {})).toEqual(['x', 'y']);
  });

  it('breaks ties in favour of the first label', () => {
    const [prediction] = classifyBySimilarity([v(1, 1)], [v(1, 0), v(0, 1)], ['first', 'second'], ['r1']);
    expect(prediction?.label).toBe('first');
    const [zero] = classifyBySimilarity([v(0, 0)], [v(1, 0), v(0, 1)], ['first', 'second'], ['r1']);
    expect(zero?.label).toBe('first');
  });

  it('refuses mismatched inputs', () => {
    expect(() => classifyBySimilarity([v(1)], [v(1)], ['a', 'b'], ['r1'])).toThrow(/1 label vectors for 2/);
    expect(() => classifyBySimilarity([v(1)], [v(1)], ['a'], [])).toThrow(/0 ids/);
    expect(() => classifyBySimilarity([v(1, 2)], [v(1)], ['a'], ['r1'])).toThrow(/lengths 2 and 1/);
  });
});

describe('classifyBySimilarityCooperative', () => {
  /** Seeded vectors with some exact zeros, so a zero norm is among them. */
  function vectors(count: number, width: number, seed: number): Float32Array[] {
    let state = seed;
    const next = (): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 30 - 1;
    };
    return Array.from({ length: count }, (_, row) =>
      row % 17 === 0 ? new Float32Array(width) : Float32Array.from({ length: width }, next),
    );
  }

  it.each([
    ['one row per slice', 0],
    ['the default slices', undefined],
  ])('gives exactly the predictions of a plain cosine per label (%s)', async (_, sliceMs) => {
    const texts = vectors(60, 24, 7);
    const labelVectors = vectors(4, 24, 11).slice(1);
    const labels = ['a', 'b', 'c'];
    const ids = texts.map((_, i) => `r${i}`);
    const predictions = await classifyBySimilarityCooperative(texts, labelVectors, labels, ids, sliceMs);
    // The reference: the exported cosine per pair, the first maximum wins.
    const expected = texts.map((text, i) => {
      const cosines = labelVectors.map((label) => cosine(text, label));
      return {
        id: ids[i],
        label: labels[argmax(cosines)],
        scores: { a: cosines[0], b: cosines[1], c: cosines[2] },
      };
    });
    expect(predictions.map((prediction) => ({ ...prediction, scores: { ...prediction.scores } }))).toEqual(
      expected,
    );
    expect(classifyBySimilarity(texts, labelVectors, labels, ids)).toEqual(predictions);
  });

  it('scores nothing for no texts, and rejects mismatched inputs', async () => {
    await expect(classifyBySimilarityCooperative([], [v(1)], ['a'], [])).resolves.toEqual([]);
    await expect(classifyBySimilarityCooperative([v(1)], [v(1)], ['a', 'b'], ['r1'])).rejects.toThrow(
      /1 label vectors for 2/,
    );
    await expect(classifyBySimilarityCooperative([v(1, 2)], [v(1)], ['a'], ['r1'])).rejects.toThrow(
      /lengths 2 and 1/,
    );
  });
});
