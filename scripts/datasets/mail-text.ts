/**
 * @file Turns one raw RFC 822 mail message into a short plain-text example: its Subject and the start of its
 * readable body. Pure functions over strings, so the dataset build and its tests share one implementation.
 *
 * Raw messages are handled as "binary strings" (one char per byte, Latin-1 decoded) until a part's charset is
 * known; only then are bytes decoded to Unicode. That keeps quoted-printable and base64 decoding byte-exact.
 */

/** Why a message produced no example. Stable strings: the build counts them in its provenance. */
export type SkipReason =
  | 'no-text-part'
  | 'unsupported-charset'
  | 'malformed-multipart'
  | 'mostly-non-ascii'
  | 'too-short'
  | 'explicit-content'
  | 'header-like-text'
  | 'duplicate'
  | 'near-duplicate';

/** The readable content of a message, cleaned but not yet shortened. */
export interface MailText {
  subject: string;
  body: string;
}

/** Either the cleaned text of a message or the reason it was left out. */
export type MailTextResult = { ok: true; value: MailText } | { ok: false; reason: SkipReason };

/** Headers of one MIME entity, names lower-cased; the first occurrence of a name wins. */
type Headers = Map<string, string>;

interface ContentType {
  mediaType: string;
  params: Map<string, string>;
}

type PartResult = { ok: true; text: string; html: boolean } | { ok: false; reason: SkipReason };

/** Nesting deeper than this is treated as having no text: real mail never needs it, hostile mail might. */
const MAX_MIME_DEPTH = 8;

/** Charsets decoded as Latin text. Anything else (Chinese, Korean, Cyrillic spam...) is skipped. */
const LATIN_CHARSETS = new Set([
  'us-ascii',
  'ascii',
  'iso-8859-1',
  'iso8859-1',
  'latin1',
  'iso-8859-15',
  'windows-1252',
  'cp1252',
  'ansi_x3.4-1968',
]);
const UTF8_CHARSETS = new Set(['utf-8', 'utf8']);

/**
 * Windows-1252's characters for bytes 0x80-0x9F (where it differs from Latin-1); unassigned bytes stay C1
 * controls and are removed later. A table of our own because Node 20's TextDecoder('windows-1252') decodes this
 * range as Latin-1, and a later Node that fixes it would otherwise change the build's output.
 */
const WINDOWS_1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

/** Decodes a binary string as Windows-1252. */
function decodeWindows1252(binary: string): string {
  return binary.replace(/[\u0080-\u009F]/g, (char) => WINDOWS_1252_HIGH[char.charCodeAt(0) - 0x80] ?? char);
}
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits a message or MIME part at the first empty line. Expects `\n` line endings. */
function splitEntity(raw: string): { headerText: string; body: string } {
  const end = raw.indexOf('\n\n');
  if (end === -1) return { headerText: raw, body: '' };
  return { headerText: raw.slice(0, end), body: raw.slice(end + 2) };
}

/** Parses a header block, unfolding continuation lines and ignoring lines that are not `Name: value`. */
function parseHeaders(headerText: string): Headers {
  const headers: Headers = new Map();
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (current && !headers.has(current.name)) headers.set(current.name, current.value.trim());
    current = undefined;
  };
  for (const line of headerText.split('\n')) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ' ' + line.trim();
      continue;
    }
    flush();
    // The mbox envelope line ("From someone date") has no colon after its first word and is not a header.
    const match = /^([!-9;-~]+):(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      current = { name: match[1].toLowerCase(), value: match[2] };
    }
  }
  flush();
  return headers;
}

function parseContentType(value: string | undefined): ContentType {
  const params = new Map<string, string>();
  if (!value) return { mediaType: 'text/plain', params };
  const mediaType = (value.split(';')[0] ?? '').trim().toLowerCase() || 'text/plain';
  const paramPattern = /;\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  for (const match of value.matchAll(paramPattern)) {
    const name = match[1]?.toLowerCase();
    let paramValue = match[2] ?? '';
    if (paramValue.startsWith('"')) paramValue = paramValue.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name && !params.has(name)) params.set(name, paramValue);
  }
  return { mediaType, params };
}

/** Decodes quoted-printable into a binary string (soft line breaks joined, `=XX` to bytes). */
export function decodeQuotedPrintable(input: string): string {
  return input
    .replace(/=[ \t]*\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Decodes base64 into a binary string, ignoring line breaks and any stray non-alphabet characters. */
export function decodeBase64(input: string): string {
  return Buffer.from(input.replace(/[^A-Za-z0-9+/]/g, ''), 'base64').toString('latin1');
}

/**
 * True for text that is quoted-printable although its headers say otherwise (some bulk mailers declare 7bit and
 * send `=3D` escapes and `=` soft line breaks anyway).
 */
function looksQuotedPrintable(body: string): boolean {
  // A line of "=====" also ends in "=", so a soft break must follow some other character.
  const softBreaks = body.match(/[^=\n]=\n/g)?.length ?? 0;
  return /=3D/.test(body) || softBreaks >= 3;
}

function decodeTransfer(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case 'base64':
      return decodeBase64(body);
    default:
      return looksQuotedPrintable(body) ? decodeQuotedPrintable(body) : body;
  }
}

/**
 * Decodes a binary string in the given charset, or returns null for a charset this build does not keep.
 * Undeclared and ASCII-declared text often holds 8-bit bytes anyway: valid UTF-8 is read as UTF-8, the rest as
 * Windows-1252 (the superset browsers use for Latin-1).
 */
export function decodeCharset(binary: string, charset: string | undefined): string | null {
  const name = (charset ?? '').trim().toLowerCase();
  if (name === '' || UTF8_CHARSETS.has(name) || name === 'us-ascii' || name === 'ascii') {
    try {
      return strictUtf8.decode(Buffer.from(binary, 'latin1'));
    } catch {
      return decodeWindows1252(binary);
    }
  }
  return LATIN_CHARSETS.has(name) ? decodeWindows1252(binary) : null;
}

const ENCODED_WORD = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;

/**
 * Decodes RFC 2047 encoded words (`=?charset?Q?...?=`, `=?charset?B?...?=`) in a header value; the text around
 * them is raw bytes and is decoded like an undeclared body. Returns null when an encoded word uses a charset this
 * build does not keep.
 */
export function decodeEncodedWords(value: string): string | null {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 section 6.2).
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  let result = '';
  let last = 0;
  for (const match of joined.matchAll(ENCODED_WORD)) {
    const [whole, charset = '', encoding = '', text = ''] = match;
    const binary =
      encoding.toUpperCase() === 'B' ? decodeBase64(text) : decodeQuotedPrintable(text.replace(/_/g, ' '));
    // RFC 2231 allows a language suffix ("utf-8*en"); it does not change the bytes.
    const decoded = decodeCharset(binary, charset.split('*')[0]);
    if (decoded === null) return null;
    result += (decodeCharset(joined.slice(last, match.index), '') ?? '') + decoded;
    last = match.index + whole.length;
  }
  return result + (decodeCharset(joined.slice(last), '') ?? '');
}

function splitMultipart(body: string, boundary: string): string[] | null {
  const parts: string[] = [];
  let current: string[] | undefined;
  let closed = false;
  for (const line of body.split('\n')) {
    if (line.startsWith('--' + boundary)) {
      const rest = line.slice(boundary.length + 2).trim();
      if (rest === '' || rest === '--') {
        if (current) parts.push(current.join('\n'));
        current = rest === '' ? [] : undefined;
        if (rest === '--') {
          closed = true;
          break;
        }
        continue;
      }
    }
    current?.push(line);
  }
  if (current && !closed) parts.push(current.join('\n'));
  return parts.length > 0 ? parts : null;
}

function looksLikeHtml(text: string): boolean {
  return /<(?:html|body|head|p|br|div|font|table|td|a\s|img|center|span|b|i|u)\b[^<>]*>/i.test(text);
}

/** Picks the readable text of one MIME entity, recursing through multiparts and attached messages. */
function extractPart(raw: string, depth: number): PartResult {
  if (depth > MAX_MIME_DEPTH) return { ok: false, reason: 'no-text-part' };
  const { headerText, body } = splitEntity(raw);
  const headers = parseHeaders(headerText);
  return extractBody(headers, body, depth);
}

function extractBody(headers: Headers, body: string, depth: number): PartResult {
  const contentType = parseContentType(headers.get('content-type'));
  const { mediaType } = contentType;

  if (mediaType.startsWith('multipart/')) {
    const boundary = contentType.params.get('boundary');
    const parts = boundary ? splitMultipart(body, boundary) : null;
    if (!parts) return { ok: false, reason: 'malformed-multipart' };
    const results = parts
      .filter(
        (part) =>
          !/^attachment/i.test(parseHeaders(splitEntity(part).headerText).get('content-disposition') ?? ''),
      )
      .map((part) => extractPart(part, depth + 1));
    const usable = results.filter((result) => result.ok && result.text.trim() !== '');
    // In an alternative, the plain version is the author's own text; elsewhere the first readable part leads.
    const preferred =
      mediaType === 'multipart/alternative'
        ? (usable.find((result) => result.ok && !result.html) ?? usable[0])
        : usable[0];
    if (preferred) return preferred;
    // Report why no part was readable (e.g. an unsupported charset) rather than a generic "no text".
    return (
      results.find((result) => !result.ok && result.reason !== 'no-text-part') ??
      ({
        ok: false,
        reason: 'no-text-part',
      } as const)
    );
  }

  if (mediaType === 'message/rfc822') return extractPart(body, depth + 1);

  if (mediaType === 'text/plain' || mediaType === 'text/html' || mediaType === 'text/enriched') {
    const binary = decodeTransfer(body, headers.get('content-transfer-encoding'));
    const text = decodeCharset(binary, contentType.params.get('charset'));
    if (text === null) return { ok: false, reason: 'unsupported-charset' };
    return { ok: true, text, html: mediaType === 'text/html' || looksLikeHtml(text) };
  }

  return { ok: false, reason: 'no-text-part' };
}

const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
  cent: '¢',
  yen: '¥',
  sect: '§',
  deg: '°',
  plusmn: '±',
  times: '×',
  divide: '÷',
  frac12: '½',
  frac14: '¼',
  frac34: '¾',
  laquo: '«',
  raquo: '»',
  iexcl: '¡',
  iquest: '¿',
  shy: '',
  eacute: 'é',
  egrave: 'è',
  ecirc: 'ê',
  euml: 'ë',
  aacute: 'á',
  agrave: 'à',
  acirc: 'â',
  auml: 'ä',
  atilde: 'ã',
  aring: 'å',
  oacute: 'ó',
  ograve: 'ò',
  ocirc: 'ô',
  ouml: 'ö',
  otilde: 'õ',
  uacute: 'ú',
  ugrave: 'ù',
  ucirc: 'û',
  uuml: 'ü',
  iacute: 'í',
  igrave: 'ì',
  icirc: 'î',
  iuml: 'ï',
  ntilde: 'ñ',
  ccedil: 'ç',
  szlig: 'ß',
  Eacute: 'É',
  Aacute: 'Á',
  Oacute: 'Ó',
  Uacute: 'Ú',
  Ntilde: 'Ñ',
  Ccedil: 'Ç',
  Auml: 'Ä',
  Ouml: 'Ö',
  Uuml: 'Ü',
};

function codePointToText(codePoint: number): string {
  // Old HTML often wrote Windows-1252 bytes as numeric references (&#146; for a right quote).
  if (codePoint >= 0x80 && codePoint <= 0x9f) return decodeWindows1252(String.fromCharCode(codePoint));
  if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint === 0) return '';
  return String.fromCodePoint(codePoint);
}

/** Replaces named and numeric character references; unknown names are left as written. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(
    /&(#[xX][0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,7});?/g,
    (whole, ref: string) => {
      if (ref.startsWith('#x') || ref.startsWith('#X')) return codePointToText(parseInt(ref.slice(2), 16));
      if (ref.startsWith('#')) return codePointToText(parseInt(ref.slice(1), 10));
      const named = NAMED_ENTITIES[ref] ?? NAMED_ENTITIES[ref.toLowerCase()];
      // Without the semicolon only the very common names are meant as references ("&nbsp" in sloppy spam).
      if (
        named === undefined ||
        (!whole.endsWith(';') && !['nbsp', 'amp', 'lt', 'gt', 'quot'].includes(ref))
      ) {
        return whole;
      }
      return named;
    },
  );
}

const BLOCK_TAGS =
  'address|article|blockquote|body|br|center|dd|div|dl|dt|footer|form|h[1-6]|header|hr|html|li|ol|option|p|pre|section|table|tbody|td|tfoot|th|thead|title|tr|ul';
const TAG_PATTERN = /<\/?[A-Za-z][^<>]*>/g;

/**
 * Converts an HTML fragment to plain text: drops comments, scripts, styles and the head, turns block tags into
 * line breaks, removes the other tags and decodes entities. Markup that survives decoding (`&lt;b&gt;`) is
 * removed too, so the result never contains a tag.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, ' ')
    .replace(/<(script|style|head|object|noscript)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(script|style)\b[^>]*>[\s\S]*$/gi, ' ')
    // Declarations, Word's conditional comments ("<![if !supportLists]>") and hash-buster pseudo-comments.
    .replace(/<![^<>]*>/g, ' ')
    .replace(new RegExp(`</?(?:${BLOCK_TAGS})\\b[^<>]*>`, 'gi'), '\n')
    .replace(TAG_PATTERN, '')
    // A tag cut off by the end of the part (truncated or malformed mail) is markup, not text.
    .replace(/<\/?[A-Za-z][^<>]*$/, '');
  return decodeHtmlEntities(text).replace(TAG_PATTERN, '');
}

/** Header names that only carry transport data; a forwarded message can repeat them inside a body. */
const TRANSPORT_HEADER =
  /^(?:Received|Return-Path|Delivered-To|Envelope-To|Content-[A-Za-z-]+|MIME-Version|Message-I[Dd]|X-[A-Za-z0-9-]+|In-Reply-To|References|Precedence|List-[A-Za-z-]+|Errors-To|Sender):/i;

/** Removes lines that are mail plumbing rather than what the sender wrote. */
function dropPlumbingLines(text: string): string {
  const kept: string[] = [];
  let inSignature = false;
  let inHeaderRun = false;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (/^-----BEGIN PGP SIGNATURE-----/.test(trimmed)) inSignature = true;
    if (inSignature) {
      if (/^-----END PGP SIGNATURE-----/.test(trimmed)) inSignature = false;
      continue;
    }
    if (/^-----BEGIN PGP SIGNED MESSAGE-----$/.test(trimmed) || /^Hash: [A-Za-z0-9-]+$/.test(trimmed))
      continue;
    if (/^This is a multi-part message in MIME format\.?$/i.test(trimmed)) continue;
    // A MIME boundary line that leaked into text (seen in messages with a mis-declared boundary).
    if (/^--[-=_A-Za-z0-9.:+/]{12,}$/.test(trimmed) && /[0-9]/.test(trimmed)) continue;
    if (TRANSPORT_HEADER.test(trimmed)) {
      inHeaderRun = true;
      continue;
    }
    // Continuation lines of a dropped header start with whitespace.
    if (inHeaderRun && /^[ \t]+\S/.test(line)) continue;
    inHeaderRun = false;
    kept.push(line);
  }
  return kept.join('\n');
}

/**
 * Final normalisation shared by subjects and bodies: compatibility-normalised Unicode (NFKC: non-breaking spaces,
 * ligatures and full-width letters become plain ones), no control or invisible characters, separator rules
 * ("=====", "_____") removed, whitespace collapsed to single spaces.
 */
export function normalizeText(text: string): string {
  return (
    text
      // NFKC would turn a lone acute accent (often typed for an apostrophe) into a combining mark.
      .replace(/\u00B4/g, "'")
      .normalize('NFKC')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/g, ' ')
      .replace(/[\u00AD\u200B-\u200F\u2060\uFEFF\uFFFD]/g, '')
      .replace(/([^\p{L}\p{N}\s])\1{3,}/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** Mailing-list tags such as "[ILUG]" or "[use Perl]": they name the list, not what the mail is about. */
const LIST_TAG = /\[[A-Za-z][\w.+-]*(?: [\w.+-]+)?\]/g;

/** Cleans a decoded Subject header: list tags removed, normalised. */
export function cleanSubject(subject: string): string {
  return normalizeText(subject.replace(LIST_TAG, ' '));
}

/**
 * Extracts the Subject and readable body of one raw message (any line endings, Latin-1 binary string). Only the
 * Subject header survives; every other header, MIME boundary and non-text attachment is dropped, transfer
 * encodings are decoded and HTML is reduced to text.
 */
export function extractMailText(raw: string): MailTextResult {
  const normalizedRaw = raw.replace(/\r\n?/g, '\n');
  const { headerText, body } = splitEntity(normalizedRaw);
  const headers = parseHeaders(headerText);

  const subject = decodeEncodedWords(headers.get('subject') ?? '');
  if (subject === null) return { ok: false, reason: 'unsupported-charset' };

  const part = extractBody(headers, body, 0);
  if (!part.ok) return part;
  const readable = part.html
    ? htmlToText(part.text)
    : part.text.replace(/<![^<>]*>/g, ' ').replace(TAG_PATTERN, ' ');
  return {
    ok: true,
    value: { subject: cleanSubject(subject), body: normalizeText(dropPlumbingLines(readable)) },
  };
}

/** Cuts text to at most `maxChars`, preferring the last word boundary in the final fifth of the allowance. */
export function truncateAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const lastSpace = cut.lastIndexOf(' ');
  return (lastSpace >= maxChars * 0.8 ? cut.slice(0, lastSpace) : cut).trimEnd();
}

/** Share of non-ASCII letters above which a text is not kept: undeclared Asian-charset spam decodes to them. */
const MAX_NON_ASCII_LETTER_SHARE = 0.1;

/**
 * True when too many letters are outside ASCII for this English-language dataset. Counting non-ASCII letters
 * (not non-Latin ones) also catches 8-bit text in an undeclared charset, which decodes to accented Latin noise.
 */
export function isMostlyNonAscii(text: string): boolean {
  const letters = text.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return false;
  const nonAscii = letters.filter((letter) => letter.charCodeAt(0) > 0x7f).length;
  return nonAscii / letters.length > MAX_NON_ASCII_LETTER_SHARE;
}

/**
 * Sexually explicit wording, matched on whole words. The corpus holds a lot of pornographic spam; the app is meant
 * for classrooms, so such messages are left out of the shipped subset (ham that matches is left out too).
 */
const EXPLICIT_WORDS =
  /\b(?:porn\w*|xxx|cocks?|pussy|horny|fuck\w*|cum|cumshots?|hardcore|rape|nudes?|naked|slut\w*|whores?|blowjobs?|orgasms?|erotic\w*|fetish\w*|bestiality|sex|sexy|sexual\w*|sucking|barely legal)\b/i;

/** True when the text contains sexually explicit wording (see `EXPLICIT_WORDS`). */
export function isExplicit(text: string): boolean {
  return EXPLICIT_WORDS.test(text);
}
