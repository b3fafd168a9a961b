import { describe, expect, it } from 'vitest';
import {
  jsonNestingDepth,
  jsonTooDeepMessage,
  MAX_JSON_DEPTH,
} from '../../../../src/lib/core/experiment/limits.ts';
import { parseExperimentText } from '../../../../src/lib/core/experiment/schema.ts';

describe('jsonNestingDepth', () => {
  const cases: [text: string, depth: number][] = [
    ['1', 0],
    ['[]', 1],
    ['{"a": [1, {"b": []}]}', 4],
    ['[[]][[[]]]', 3],
    ['{"a": "[[[{{{"}', 1],
    ['{"a": "\\"[[["}', 1],
    ['[[[', 3],
    [']]][', 1],
  ];
  for (const [text, depth] of cases) {
    it(`${text} → ${depth}`, () => {
      expect(jsonNestingDepth(text)).toBe(depth);
    });
  }

  it('stops counting past the limit', () => {
    expect(jsonNestingDepth('['.repeat(1000), 10)).toBe(11);
  });
});

describe('deeply nested experiment files', () => {
  const deep = (depth: number) => `{"version": 1, "x": ${'['.repeat(depth)}${']'.repeat(depth)}}`;

  it('accepts the limit and refuses one level more', () => {
    expect(jsonTooDeepMessage(deep(MAX_JSON_DEPTH - 1), 'f.json')).toBeUndefined();
    expect(jsonTooDeepMessage(deep(MAX_JSON_DEPTH), 'f.json')).toMatch(
      new RegExp(`^f\\.json nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`),
    );
  });

  it('the app import refuses 100,000 levels with the depth message, not a stack overflow', () => {
    for (const text of [deep(100_000), `{"a": ${'['.repeat(100_000)}`]) {
      expect(() => parseExperimentText(text)).toThrow(/more than 64 levels deep/);
    }
  });
});
