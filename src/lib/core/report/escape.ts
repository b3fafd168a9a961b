/**
 * @file Escaping for everything a report prints that a user wrote (run, label, dataset and experiment names,
 * texts): HTML, Markdown and CSV each have their own rules, and a name must read as itself in every format.
 */

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe inside HTML elements and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character] as string);
}

/**
 * Text safe inline in Markdown, including inside a table cell: every character that could start inline markup
 * (emphasis, code, links, HTML, entities, strikethrough) or end a cell is backslash-escaped (CommonMark allows
 * it before any ASCII punctuation), and line breaks become spaces. Block markup (`-`, `1.`, `#` at the start
 * of a line) cannot start inside a line, and the report never starts a line with user text.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r\n?|\n/g, ' ').replace(/[\\`*_[\]<>#|~&]/g, (character) => `\\${character}`);
}

/** A fenced Markdown code block of `text` whose fence is longer than any run of backticks inside it. */
export function markdownCodeBlock(text: string, language = ''): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text}\n${fence}`;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A text starting with `=`, `+`,
 * `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it instead of running it as a
 * formula.
 */
export function csvField(value: string | number | boolean): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
