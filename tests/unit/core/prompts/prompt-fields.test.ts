import { describe, expect, it } from 'vitest';
import type { SimilarityPrompt } from '../../../../src/lib/core/experiment/types.ts';
import { comparePrompts, fieldLabel, promptFields } from '../../../../src/lib/core/prompts/prompt-fields.ts';

const described: SimilarityPrompt = {
  name: 'described',
  strategy: 'similarity',
  descriptions: { spam: ['an advert', 'a scam'], ham: 'a personal email' },
  textTemplate: 'email: {text}',
};

describe('promptFields', () => {
  it('flattens a variation into its fields, name left out, lists one item per line, any label a key', () => {
    const prompt: SimilarityPrompt = JSON.parse(
      '{"name":"d","strategy":"similarity","descriptions":{"spam":["an advert","a scam"],"ham":"mail",' +
        '"__proto__":"odd label"},"textTemplate":"email: {text}"}',
    ) as SimilarityPrompt;
    expect(promptFields(prompt)).toEqual([
      { path: ['strategy'], text: 'similarity' },
      { path: ['descriptions', 'spam'], text: 'an advert\na scam' },
      { path: ['descriptions', 'ham'], text: 'mail' },
      { path: ['descriptions', '__proto__'], text: 'odd label' },
      { path: ['textTemplate'], text: 'email: {text}' },
    ]);
  });

  it('writes numbers and other values of any strategy as JSON, and skips undefined ones', () => {
    const other = { name: 'x', strategy: 'instruction', shotsPerClass: 2, chat: false, model: undefined };
    expect(promptFields(other)).toEqual([
      { path: ['strategy'], text: 'instruction' },
      { path: ['shotsPerClass'], text: '2' },
      { path: ['chat'], text: 'false' },
    ]);
  });
});

describe('comparePrompts', () => {
  it('lines up the fields of both sides and marks which differ', () => {
    const templated: SimilarityPrompt = { name: 'plain', strategy: 'similarity', template: 'about {label}' };
    const rows = comparePrompts(described, templated).map((row) => [
      fieldLabel(row.path),
      row.a,
      row.b,
      row.same,
    ]);
    expect(rows).toEqual([
      ['strategy', 'similarity', 'similarity', true],
      ['descriptions › spam', 'an advert\na scam', undefined, false],
      ['descriptions › ham', 'a personal email', undefined, false],
      ['textTemplate', 'email: {text}', undefined, false],
      ['template', undefined, 'about {label}', false],
    ]);
  });

  it('finds two copies the same everywhere', () => {
    const copy = { ...structuredClone(described), name: 'described copy' };
    expect(comparePrompts(described, copy).every((row) => row.same)).toBe(true);
  });
});
