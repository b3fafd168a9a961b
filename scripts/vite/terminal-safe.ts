/**
 * @file One pure function making untrusted text safe to print in a terminal line. A stand-in until the shared
 * `src/lib/core/text/terminal.ts` lands; then this file should re-export or be replaced by it.
 */

/** C0 controls (ESC, BEL, CR, LF, …), DEL, C1 controls (incl. the 8-bit CSI), and bidirectional marks/overrides. */
function isUnsafe(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/**
 * `text` with every control or bidi character written out visibly as `\u{hex}` (so escape sequences cannot move
 * the cursor, recolour, retitle or clear the terminal, nor a report forge extra log lines), cut to `maxLength`
 * characters with an ellipsis.
 */
export function terminalSafe(text: string, maxLength = 300): string {
  const chars = Array.from(text, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return isUnsafe(code) ? `\\u{${code.toString(16)}}` : c;
  });
  return chars.length > maxLength ? `${chars.slice(0, maxLength).join('')}…` : chars.join('');
}
