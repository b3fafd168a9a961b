/**
 * @file Reading a JSON file with errors a person can act on: the path, and for a syntax error its line and column.
 */
import { formatBytesOverLimit, formatBytes } from '../lib/core/format.ts';
import { jsonTooDeepMessage, MAX_EXPERIMENT_FILE_BYTES } from '../lib/core/experiment/limits.ts';
import { NotRegularFileError, readBoundedFile } from './bounded-read.ts';

/** A file that could not be read or parsed; the message names the file (and the position of a syntax error). */
export class JsonFileError extends Error {
  override readonly name = 'JsonFileError';
}

/** 1-based line and column of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Offset of the first JSON syntax error in `text`, for the messages where V8 gives none ("Unexpected token …").
 * A small recursive-descent scan of the JSON grammar; returns undefined when it finds no error.
 */
export function findSyntaxErrorOffset(text: string): number | undefined {
  let index = 0;
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const skipSpace = () => {
    while (index < text.length && ' \t\n\r'.includes(text.charAt(index))) index++;
  };
  const expect = (literal: string) => {
    for (const char of literal) {
      if (text.charAt(index) !== char) fail();
      index++;
    }
  };
  const string = () => {
    expect('"');
    for (;;) {
      const char = text.charAt(index);
      if (char === '' || char < ' ') fail();
      index++;
      if (char === '"') return;
      if (char === '\\') {
        const escape = text.charAt(index);
        if (escape === 'u') {
          index++;
          for (let digit = 0; digit < 4; digit++, index++)
            if (!/[0-9a-fA-F]/.test(text.charAt(index))) fail();
        } else if ('"\\/bfnrt'.includes(escape) && escape !== '') index++;
        else fail();
      }
    }
  };
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(index));
    if (!match) fail();
    index += match?.[0].length ?? 0;
  };
  const value = (): void => {
    skipSpace();
    const char = text.charAt(index);
    if (char === '{') {
      index++;
      skipSpace();
      if (text.charAt(index) === '}') return void index++;
      for (;;) {
        skipSpace();
        string();
        skipSpace();
        expect(':');
        value();
        skipSpace();
        if (text.charAt(index) === ',') index++;
        else return expect('}');
      }
    }
    if (char === '[') {
      index++;
      skipSpace();
      if (text.charAt(index) === ']') return void index++;
      for (;;) {
        value();
        skipSpace();
        if (text.charAt(index) === ',') index++;
        else return expect(']');
      }
    }
    if (char === '"') return string();
    if (char === 't') return expect('true');
    if (char === 'f') return expect('false');
    if (char === 'n') return expect('null');
    return number();
  };
  try {
    value();
    skipSpace();
    return index < text.length ? index : undefined;
  } catch (error) {
    if (error instanceof Stop) return index;
    throw error;
  }
}

/**
 * Parses JSON text; a syntax error becomes a {@link JsonFileError} naming `displayPath` with line and column.
 * V8 reports either "at position N" (Node 20) or "(line L column C)" (newer), so both are understood.
 */
export function parseJsonText(text: string, displayPath: string): unknown {
  // Before parsing: whatever walks the parsed value recursively would overflow the stack on 100,000 levels.
  const tooDeep = jsonTooDeepMessage(text, displayPath);
  if (tooDeep) throw new JsonFileError(tooDeep);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const stated = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : findSyntaxErrorOffset(text);
    const where = stated
      ? { line: Number(stated[1]), column: Number(stated[2]) }
      : offset !== undefined
        ? lineAndColumn(text, offset)
        : undefined;
    // Drop V8's own position suffix; the line and column say it better.
    const reason = message
      .replace(/\s*(?:in JSON )?at position \d+.*$/s, '')
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    const location = where ? `line ${where.line}, column ${where.column}` : 'unknown position';
    throw new JsonFileError(`${displayPath} is not valid JSON (${location}): ${reason}.`, { cause: error });
  }
}

/**
 * Reads and parses a JSON file of at most `maxBytes` (the experiment file's limit unless given); a missing,
 * unreadable, oversized or non-regular file names the full path it looked for.
 */
export async function readJsonFile(
  path: string,
  displayPath = path,
  maxBytes: number = MAX_EXPERIMENT_FILE_BYTES,
): Promise<unknown> {
  let text: string;
  try {
    const bytes = await readBoundedFile(path, maxBytes, (size) => {
      if (size > maxBytes) {
        throw new JsonFileError(
          `${path} is ${formatBytesOverLimit(size, maxBytes)}; a JSON file read here can be at most ` +
            `${formatBytes(maxBytes)}. Give the experiment file itself, not a dataset or results file.`,
        );
      }
    });
    text = new TextDecoder().decode(bytes);
  } catch (error) {
    if (error instanceof JsonFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new JsonFileError(`File not found: ${path}.`, { cause: error });
    if (code === 'EISDIR' || (error instanceof NotRegularFileError && error.kind === 'folder')) {
      throw new JsonFileError(`${path} is a folder; give the path of a .json file.`);
    }
    if (error instanceof NotRegularFileError) {
      throw new JsonFileError(`${path} is not a regular file (a device, pipe or socket); give a .json file.`);
    }
    throw new JsonFileError(`Could not read ${path}: ${(error as Error).message}`, { cause: error });
  }
  // A byte-order mark is legal in files saved by some editors but not in JSON.parse.
  return parseJsonText(text.replace(/^\uFEFF/, ''), displayPath);
}
