import { describe, expect, it } from 'vitest';
import { copyName, uniqueName } from '../../../../src/lib/core/text/names.ts';

describe('uniqueName', () => {
  const cases: [name: string, base: string, taken: string[], expected: string][] = [
    ['free base', 'variation', [], 'variation'],
    ['taken base', 'variation', ['variation'], 'variation 2'],
    ['the first free number', 'variation', ['variation', 'variation 2', 'variation 4'], 'variation 3'],
    ['prototype names are just names', 'constructor', ['toString'], 'constructor'],
  ];
  for (const [name, base, taken, expected] of cases) {
    it(name, () => expect(uniqueName(base, taken)).toBe(expected));
  }
});

describe('copyName', () => {
  const cases: [name: string, original: string, taken: string[], expected: string][] = [
    ['first copy', 'bare labels', ['bare labels'], 'bare labels copy'],
    ['second copy', 'bare labels', ['bare labels', 'bare labels copy'], 'bare labels copy 2'],
    ['copy of a copy is numbered', 'a copy', ['a', 'a copy'], 'a copy 2'],
    ['copy of a numbered copy', 'a copy 2', ['a', 'a copy', 'a copy 2'], 'a copy 3'],
    ['a head name taken too', 'x', ['x', 'x copy', 'x copy 2'], 'x copy 3'],
    ['"copy" alone is a name, not a suffix', 'copy', ['copy'], 'copy copy'],
    ['surrounding spaces are ignored', '  spaced  ', ['spaced'], 'spaced copy'],
    ['a word ending in copy is kept', 'photocopy', ['photocopy'], 'photocopy copy'],
  ];
  for (const [name, original, taken, expected] of cases) {
    it(name, () => {
      const result = copyName(original, taken);
      expect(result).toBe(expected);
      expect(taken).not.toContain(result);
    });
  }
});
