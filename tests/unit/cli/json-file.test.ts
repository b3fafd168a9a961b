import { describe, expect, it } from 'vitest';
import { findSyntaxErrorOffset, lineAndColumn, parseJsonText } from '../../../src/cli/json-file.ts';

/** Where V8 itself reports the error, when its message has a position; otherwise undefined. */
function v8Offset(text: string): number | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const match = /position (\d+)/.exec((error as Error).message);
    return match ? Number(match[1]) : undefined;
  }
}

describe('JSON syntax errors', () => {
  it('reports line and column for errors V8 locates and for those it does not', () => {
    expect(() => parseJsonText('{\n  "a": 1\n  "b": 2\n}', 'x.json')).toThrow(
      /^x\.json is not valid JSON \(line 3, column 3\): Expected ',' or '}' after property value\.$/,
    );
    // "Unexpected token" messages carry no position in Node 20: the scanner finds it.
    expect(() => parseJsonText('{\n  "a": [1, 2,]\n}', 'x.json')).toThrow(
      /\(line 2, column 14\): Unexpected token '\]'\.$/,
    );
    expect(() => parseJsonText("{\n  'a': 1\n}", 'x.json')).toThrow(/\(line 2, column 3\)/);
  });

  it('finds the same offset as V8 wherever V8 states one', () => {
    const broken = ['{"a":1,}', '{a:1}', '{"a":1}}', '{"a": "x\n"}', '{"a": 01}', '{"a":1', '{"a": "\\q"}'];
    for (const text of broken) {
      expect(findSyntaxErrorOffset(text), text).toBe(v8Offset(text));
    }
    expect(findSyntaxErrorOffset('{"a": [1, {"b": null}], "c": -1.5e3, "d": "\\u00e9"}')).toBeUndefined();
  });

  it('converts offsets to 1-based lines and columns', () => {
    expect(lineAndColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
