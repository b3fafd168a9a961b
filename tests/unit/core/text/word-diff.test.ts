import { describe, expect, it } from 'vitest';
import {
  MAX_DIFF_CELLS,
  wordDiff,
  wordPieces,
  type DiffPart,
} from '../../../../src/lib/core/text/word-diff.ts';

/** `[kind initial, text]` pairs, compact to read in a table. */
function compact(parts: DiffPart[]): [string, string][] {
  return parts.map((part) => [part.kind[0] as string, part.text]);
}

/** The side a view shows: `same` plus `removed` parts (a), or `same` plus `added` (b). */
function side(parts: DiffPart[], which: 'a' | 'b'): string {
  const drop = which === 'a' ? 'added' : 'removed';
  return parts
    .filter((part) => part.kind !== drop)
    .map((part) => part.text)
    .join('');
}

describe('wordDiff', () => {
  const cases: [name: string, a: string, b: string, expected: [string, string][]][] = [
    [
      'identical texts',
      'This text is about {label}.',
      'This text is about {label}.',
      [['s', 'This text is about {label}.']],
    ],
    ['both empty', '', '', []],
    ['added from nothing', '', 'about {label}', [['a', 'about {label}']]],
    ['removed to nothing', '{label}', '', [['r', '{label}']]],
    [
      'one word replaced',
      'This text is about {label}.',
      'This email is about {label}.',
      [
        ['s', 'This '],
        ['r', 'text'],
        ['a', 'email'],
        ['s', ' is about {label}.'],
      ],
    ],
    [
      'a word inserted',
      'a text about {label}',
      'a short text about {label}',
      [
        ['s', 'a '],
        ['a', 'short '],
        ['s', 'text about {label}'],
      ],
    ],
    [
      'a word deleted at the end',
      'spam mail offer',
      'spam mail',
      [
        ['s', 'spam mail'],
        ['r', ' offer'],
      ],
    ],
    [
      'moved words: the longest common run is kept',
      'ham is personal mail',
      'personal mail is ham',
      [
        ['r', 'ham is '],
        ['s', 'personal mail'],
        ['a', ' is ham'],
      ],
    ],
    [
      'whitespace changes are differences too',
      'a  b',
      'a b',
      [
        ['s', 'a'],
        ['r', '  '],
        ['a', ' '],
        ['s', 'b'],
      ],
    ],
    [
      'lines of an ensemble',
      'an advert\na scam',
      'an advert\na phishing scam',
      [
        ['s', 'an advert\na '],
        ['a', 'phishing '],
        ['s', 'scam'],
      ],
    ],
  ];
  for (const [name, a, b, expected] of cases) {
    it(name, () => {
      const parts = wordDiff(a, b);
      expect(compact(parts)).toEqual(expected);
      expect(side(parts, 'a')).toBe(a);
      expect(side(parts, 'b')).toBe(b);
    });
  }

  it('never leaves two neighbouring parts of the same kind', () => {
    const parts = wordDiff('one two three four five six', 'one 2 3 four 5 six seven');
    parts.slice(1).forEach((part, i) => expect(part.kind).not.toBe(parts[i]?.kind));
    expect(side(parts, 'a')).toBe('one two three four five six');
    expect(side(parts, 'b')).toBe('one 2 3 four 5 six seven');
  });

  it('shows a middle too large for the table as replaced whole, keeping the common head and tail', () => {
    const words = Math.ceil(Math.sqrt(MAX_DIFF_CELLS));
    const a = `start ${Array.from({ length: words }, (_, i) => `a${i}`).join(' ')} end`;
    const b = `start ${Array.from({ length: words }, (_, i) => `b${i}`).join(' ')} end`;
    const parts = wordDiff(a, b);
    expect(parts.map((part) => part.kind)).toEqual(['same', 'removed', 'added', 'same']);
    expect(parts[0]?.text).toBe('start ');
    expect(parts[3]?.text).toBe(' end');
    expect(side(parts, 'a')).toBe(a);
    expect(side(parts, 'b')).toBe(b);
  });
});

describe('wordPieces', () => {
  it('splits into words and whitespace runs that join back exactly', () => {
    const text = '  tâche — 分類\t🙂\n end ';
    expect(wordPieces(text)).toEqual(['  ', 'tâche', ' ', '—', ' ', '分類', '\t', '🙂', '\n ', 'end', ' ']);
    expect(wordPieces(text).join('')).toBe(text);
  });
});
