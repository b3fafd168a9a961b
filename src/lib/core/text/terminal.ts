/**
 * @file Text that came from outside (run and prompt names, file names, error messages quoting them) made safe
 * to print on a terminal: no escape sequence in a name can clear the screen, move the cursor, retitle the
 * window or reorder what is shown.
 */

/**
 * Whole ANSI sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC ] … ESC \`), and the other `ESC …`
 * forms (`ESC c`, `ESC ( B`).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is this module's purpose
const ESCAPE_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[ -/]*[0-~])/g;
/** Line breaks and tabs: shown as a space, or kept when the caller asks. */
const WHITESPACE_CONTROL = /[\t\n\r\v\f]/g;
/** C0 and C1 controls, DEL, and the invisible bidirectional controls that reorder what a terminal shows. */
const OTHER_CONTROL =
  // eslint-disable-next-line no-control-regex -- as above
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Options of {@link terminalSafe}. */
export interface TerminalSafeOptions {
  /** Keep `\n` (for multi-line text the program itself composed); otherwise it becomes a space. */
  keepNewlines?: boolean;
}

/**
 * `text` with every terminal control removed: ANSI escape sequences entirely, other control and bidi characters
 * dropped, tabs and line breaks turned into spaces (`\n` kept with `keepNewlines`). Printable text, including
 * any script and emoji, is unchanged.
 */
export function terminalSafe(text: string, options: TerminalSafeOptions = {}): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(WHITESPACE_CONTROL, (char) => (char === '\n' && options.keepNewlines ? '\n' : ' '))
    .replace(OTHER_CONTROL, '');
}
