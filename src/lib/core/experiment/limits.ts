/**
 * @file Limits on an experiment file, the same for the app's import and `npm run experiment`: its size, checked
 * before it is read, and how deeply its JSON nests, checked before it is parsed.
 */

/**
 * Largest experiment file read (50 MB): room for the inline rows of the largest dataset file an upload accepts
 * (20 MB), JSON escaping included. Reading and validating more would freeze the tab.
 */
export const MAX_EXPERIMENT_FILE_BYTES = 50_000_000;

/**
 * Most prompt variations, and most heads, one experiment holds. A lab compares a handful; the prompt lab shows one
 * more card per frame so that opening it never freezes the page, and 2,000 variations kept it filling for over a
 * minute (20,000 froze the import itself for 0.6 s).
 */
export const MAX_PROMPTS = 100;
export const MAX_HEADS = 100;

/**
 * Deepest nesting of arrays and objects accepted in an experiment file. A real one nests 4 levels; 100,000 nested
 * brackets overflow the stack of a recursive walk (`Maximum call stack size exceeded`), so refuse them up front.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply `text`'s arrays and objects nest, counted with a loop (no recursion, so no stack to overflow);
 * stops counting as soon as `limit` is exceeded and returns the depth reached then. Brackets inside strings
 * do not count. The text need not be valid JSON.
 */
export function jsonNestingDepth(text: string, limit: number = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c /* \ */) index++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b /* [ */ || char === 0x7b /* { */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (char === 0x5d /* ] */ || char === 0x7d /* } */) depth = Math.max(0, depth - 1);
  }
  return deepest;
}

/**
 * The message for JSON that nests deeper than {@link MAX_JSON_DEPTH}, or undefined when it does not.
 * @param what names the file for the message, e.g. `"experiment.json"`.
 */
export function jsonTooDeepMessage(text: string, what: string): string | undefined {
  if (jsonNestingDepth(text, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH) return undefined;
  return (
    `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; an experiment file needs a few. ` +
    'Choose the experiment file itself, not generated or damaged data.'
  );
}
