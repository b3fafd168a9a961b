import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../../../src/lib/core/text/terminal.ts';

describe('terminalSafe', () => {
  const cases: [name: string, input: string, expected: string, keepNewlines?: boolean][] = [
    ['plain text', 'linear, hidden 16', 'linear, hidden 16'],
    ['non-Latin text and emoji', 'tâche — 分類 🙂', 'tâche — 分類 🙂'],
    ['clear screen and home', 'run\u001b[2J\u001b[Hname', 'runname'],
    ['colours', '\u001b[31mred\u001b[0m', 'red'],
    ['window title (OSC ... BEL)', '\u001b]0;pwned\u0007title', 'title'],
    ['OSC 8 hyperlink (ESC \\ terminator)', '\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['unterminated OSC', 'a\u001b]0;rest', 'a'],
    ['two-byte escape (reset)', 'a\u001bcb', 'ab'],
    ['character set selection', 'a\u001b(Bb', 'ab'],
    ['lone ESC at the end', 'a\u001b', 'a'],
    ['C1 CSI (U+009B)', 'a\u009b2Jb', 'a2Jb'],
    ['bell, backspace, NUL, DEL', 'a\u0007\b\u0000\u007fb', 'ab'],
    ['carriage return overwriting the line', 'ok\rfake', 'ok fake'],
    ['tab', 'a\tb', 'a b'],
    ['newline in a name', 'two\nlines', 'two lines'],
    ['newline kept when asked', 'two\nlines\r\n', 'two\nlines \n', true],
    ['bidi override', 'abc\u202edcba\u202c', 'abcdcba'],
    ['bidi isolates and marks', '\u2066x\u2069\u200e\u061c', 'x'],
  ];
  for (const [name, input, expected, keepNewlines] of cases) {
    it(name, () => {
      expect(terminalSafe(input, { keepNewlines: keepNewlines ?? false })).toBe(expected);
    });
  }
});
