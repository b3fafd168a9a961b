/**
 * @file The printable one-page handout served at `/handout.html` and the words printed in the terminal: the
 * address, a QR code, the steps a student follows (the app's guided path, src/lib/core/guide/steps.ts) and what
 * to do at the one-time certificate warning.
 */
import QRCode from 'qrcode';
import { GUIDE_STEPS } from '../../src/lib/core/guide/steps.ts';
import type { PublishedExperiment } from './published.ts';

/** What the handout shows. */
export interface HandoutContent {
  /** App addresses, the first being the one the QR code holds. */
  urls: string[];
  /** Experiments the host published, linked from the handout. */
  published: PublishedExperiment[];
  /** The certificate fingerprint, for a student who wants to check it. */
  fingerprint: string;
}

/** The certificate warning, in plain words, for the terminal and the handout. */
export const CERTIFICATE_WARNING = [
  'The first time, the browser warns that the connection is "not private" or "not secure".',
  'That is expected: the certificate was made on the teacher\u2019s laptop, not bought from a company the browser',
  'knows. The connection is still encrypted. Choose "Advanced" then "Proceed" (Chrome, Edge),',
  '"Advanced" then "Accept the Risk and Continue" (Firefox), or "Show Details" then "visit this website" (Safari).',
  'The warning appears once per device, until the teacher makes a new certificate.',
];

/** Policy for the handout page: nothing but its own inline style and the inline SVG. */
export const HANDOUT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

/** The QR code of `text` as an SVG element (black on white, with its quiet zone). */
export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}

/** The QR code of `text` drawn with block characters for a terminal. */
export async function qrTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}

/** The handout as one self-contained HTML page (inline style and SVG; every value escaped). */
export async function handoutHtml(content: HandoutContent): Promise<string> {
  const main = content.urls[0];
  if (main === undefined) throw new Error('The handout needs at least one address.');
  const others = content.urls.slice(1);
  const published = content.published.map(
    (item) => `<li><a href="${escapeHtml(new URL(item.link, main).href)}">${escapeHtml(item.name)}</a></li>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>Workshop handout: Prompt vs Fine-tune Playground</title>
<style>
  body { font: 12pt/1.45 system-ui, sans-serif; max-width: 44rem; margin: 1.5rem auto; padding: 0 1rem; color: #111; }
  h1 { font-size: 1.5rem; margin: 0 0 0.5rem; }
  .address { font: 700 1.6rem/1.2 ui-monospace, monospace; word-break: break-all; }
  .top { display: flex; gap: 1.5rem; align-items: center; }
  .qr svg { width: 11rem; height: 11rem; }
  ol li { margin-bottom: 0.4rem; }
  .note { border: 1px solid #999; padding: 0.5rem 0.75rem; border-radius: 0.3rem; }
  small { color: #444; }
  @media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
</style>
</head>
<body>
<h1>Prompt vs Fine-tune Playground: today\u2019s workshop</h1>
<div class="top">
  <div class="qr" role="img" aria-label="QR code of ${escapeHtml(main)}">${await qrSvg(main)}</div>
  <div>
    <p>Open this address in Chrome, Edge, Firefox or Safari, on the same Wi-Fi as the teacher:</p>
    <p class="address" data-testid="handout-address">${escapeHtml(main)}</p>
    ${others.length > 0 ? `<p>If it does not open, try: ${others.map((url) => `<code>${escapeHtml(url)}</code>`).join(', ')}</p>` : ''}
  </div>
</div>
<h2>Steps</h2>
<ol>
  <li>Join the same network as the teacher\u2019s laptop, then scan the QR code or type the address.</li>
  <li><strong>At the certificate warning</strong> (once per device): ${escapeHtml(CERTIFICATE_WARNING.slice(1, 4).join(' '))}</li>
  <li>Follow the <strong>Guided tour</strong> in the app (the button at the top opens it again), about ten minutes:
    <ol data-testid="handout-guide-steps">
${GUIDE_STEPS.map((step) => `      <li><strong>${escapeHtml(step.where)}</strong>: ${escapeHtml(step.summary)}</li>`).join('\n')}
    </ol>
  </li>
</ol>
${published.length > 0 ? `<h2>Experiments prepared for you</h2>\n<ul data-testid="handout-experiments">${published.join('')}</ul>` : ''}
<p class="note">Your work is saved in your own browser, on your own device: nobody else sees it, and it is still
there when you come back to the same address.</p>
<p><small>Certificate fingerprint (SHA-1): <code>${escapeHtml(content.fingerprint)}</code></small></p>
</body>
</html>
`;
}

const HTML_ESCAPES = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&#39;'],
]);

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES.get(char) ?? char);
}
