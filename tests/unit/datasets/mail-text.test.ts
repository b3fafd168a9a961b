import { describe, expect, it } from 'vitest';
import {
  decodeEncodedWords,
  decodeHtmlEntities,
  extractMailText,
  htmlToText,
  isExplicit,
  isMostlyNonAscii,
  normalizeText,
  truncateAtWord,
  type MailText,
} from '../../../scripts/datasets/mail-text.ts';

/** Builds a raw message the way the corpus stores it: an mbox envelope line, headers, a blank line, the body. */
function message(headers: string[], body: string, newline = '\n'): string {
  return ['From someone@example.com  Tue Aug  6 11:51:02 2002', ...headers, '', body].join(newline);
}

function extracted(raw: string): MailText {
  const result = extractMailText(raw);
  if (!result.ok) throw new Error(`expected text, got skip reason ${result.reason}`);
  return result.value;
}

/** Latin-1 binary string of UTF-8 bytes, as the build reads files. */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

describe('extractMailText', () => {
  it('keeps the Subject and the body and drops every other header', () => {
    const raw = message(
      [
        'Return-Path: <someone@example.com>',
        'Received: from mail.example.com (mail.example.com [10.0.0.1])',
        '\tby mx.example.org; Tue, 6 Aug 2002 11:48:09 +0100',
        'Subject: Lunch on',
        '  Friday?',
        'Content-Type: text/plain; charset="us-ascii"',
      ],
      'Shall we meet at noon\nat the usual place?\n',
    );
    expect(extracted(raw)).toEqual({
      subject: 'Lunch on Friday?',
      body: 'Shall we meet at noon at the usual place?',
    });
  });

  it('handles CRLF line endings like LF ones', () => {
    const raw = message(['Subject: Hello'], 'First line\r\nsecond line', '\r\n');
    expect(extracted(raw)).toEqual({ subject: 'Hello', body: 'First line second line' });
  });

  it('decodes quoted-printable and removes mailing-list tags from the subject', () => {
    const raw = message(
      [
        'Subject: Re: [ILUG] Caf=E9 meeting',
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: quoted-printable',
      ],
      'The caf=E9 is open until ten, so we have plenty of ti=\nme to talk =3D good.',
    );
    expect(extracted(raw)).toEqual({
      subject: 'Re: Caf=E9 meeting',
      body: 'The café is open until ten, so we have plenty of time to talk = good.',
    });
  });

  it('decodes quoted-printable that is declared as 7bit', () => {
    const raw = message(
      ['Subject: Offer', 'Content-Type: text/html', 'Content-Transfer-Encoding: 7bit'],
      '<p class=3D"x">Would you li=\nke to earn money from ho=\nme with e=\nase?</p>',
    );
    expect(extracted(raw).body).toBe('Would you like to earn money from home with ease?');
  });

  it('prefers the plain-text alternative and drops boundaries, attachments and the MIME preamble', () => {
    const raw = message(
      ['Subject: Report', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="outer"'],
      [
        'This is a multi-part message in MIME format.',
        '--outer',
        'Content-Type: multipart/alternative; boundary=inner',
        '',
        '--inner',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('Numbers are attached — see you Monday.', 'utf8').toString('base64'),
        '--inner',
        'Content-Type: text/html',
        '',
        '<p>HTML version</p>',
        '--inner--',
        '--outer',
        'Content-Type: application/octet-stream; name="report.xls"',
        'Content-Disposition: attachment; filename="report.xls"',
        'Content-Transfer-Encoding: base64',
        '',
        'AAECAwQFBgcICQ==',
        '--outer--',
      ].join('\n'),
    );
    expect(extracted(raw)).toEqual({ subject: 'Report', body: 'Numbers are attached — see you Monday.' });
  });

  it('reduces HTML to text without scripts, styles, comments or entities', () => {
    const raw = message(
      ['Subject: Deal', 'Content-Type: text/html; charset=windows-1252'],
      [
        '<html><head><title>x</title><style>p { color: red }</style></head><body>',
        '<script>alert("no")</script><!-- tracking 1234 --><![if !supportLists]>',
        '<p>Save&nbsp;50&#37; &amp; more&#146;s <b>today</b>!</p><table><tr><td>A</td><td>B</td></tr></table>',
        '&lt;b&gt;escaped markup&lt;/b&gt;</body></html>',
      ].join('\n'),
    );
    const { body } = extracted(raw);
    expect(body).toBe('Save 50% & more’s today! A B escaped markup');
  });

  it('takes the body of a forwarded message/rfc822 without its headers', () => {
    const raw = message(
      ['Subject: Fwd: notes', 'Content-Type: message/rfc822'],
      [
        'Received: from elsewhere',
        'Subject: notes',
        'Content-Type: text/plain',
        '',
        'The notes from the meeting.',
      ].join('\n'),
    );
    expect(extracted(raw)).toEqual({ subject: 'Fwd: notes', body: 'The notes from the meeting.' });
  });

  it('drops transport header lines and PGP armour that appear inside a body', () => {
    const raw = message(
      ['Subject: Bounce'],
      [
        '-----BEGIN PGP SIGNED MESSAGE-----',
        'Hash: SHA1',
        '',
        'Here is what came back:',
        'Received: from relay.example.net',
        '    by mx.example.org',
        'Content-Type: text/plain',
        'and that is all.',
        '-----BEGIN PGP SIGNATURE-----',
        'iD8DBQE9',
        '-----END PGP SIGNATURE-----',
      ].join('\n'),
    );
    expect(extracted(raw).body).toBe('Here is what came back: and that is all.');
  });

  it('skips messages in charsets outside Latin text, naming the reason', () => {
    const body = message(['Subject: hi', 'Content-Type: text/plain; charset=gb2312'], 'abc');
    const subject = message(['Subject: =?big5?B?pKSk5A==?='], 'plain body text');
    expect(extractMailText(body)).toEqual({ ok: false, reason: 'unsupported-charset' });
    expect(extractMailText(subject)).toEqual({ ok: false, reason: 'unsupported-charset' });
  });

  it('reports a multipart without a usable boundary as malformed, and one without text as such', () => {
    const noBoundary = message(['Subject: x', 'Content-Type: multipart/mixed'], 'text');
    const imageOnly = message(
      ['Subject: x', 'Content-Type: multipart/mixed; boundary=b'],
      '--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n--b--',
    );
    expect(extractMailText(noBoundary)).toEqual({ ok: false, reason: 'malformed-multipart' });
    expect(extractMailText(imageOnly)).toEqual({ ok: false, reason: 'no-text-part' });
  });

  it('reads undeclared 8-bit text as UTF-8 when valid and as Windows-1252 otherwise', () => {
    const utf8 = message(['Subject: x'], utf8Bytes('naïve café'));
    const latin = message(['Subject: x'], Buffer.from([0x93, 0x68, 0x69, 0x94]).toString('latin1'));
    expect(extracted(utf8).body).toBe('naïve café');
    expect(extracted(latin).body).toBe('“hi”');
  });
});

describe('text helpers', () => {
  it('decodes RFC 2047 encoded words in Q and B form and joins adjacent ones', () => {
    expect(decodeEncodedWords('=?iso-8859-1?Q?Caf=E9_au_lait?= =?utf-8?B?w6l0w6k=?= now')).toBe(
      'Café au laitété now',
    );
    expect(decodeEncodedWords(utf8Bytes('plain ünïcode'))).toBe('plain ünïcode');
  });

  it('decodes numeric references in the Windows-1252 range and leaves unknown names alone', () => {
    expect(decodeHtmlEntities('&#147;quoted&#148; &#x263A; &unknown; AT&T')).toBe(
      '“quoted” ☺ &unknown; AT&T',
    );
  });

  it('never leaves a tag behind, even one cut off at the end', () => {
    expect(htmlToText('Click <a href="http://x">here</a> <img src=x')).toBe('Click here ');
  });

  it('normalises whitespace, invisible characters and separator rules', () => {
    expect(normalizeText('  a\u00a0b\u200b c\t\n====== d\u0007e ______ f\ufffd  ')).toBe('a b c d e f');
  });

  it('cuts at a word boundary when one is near the limit', () => {
    expect(truncateAtWord('one two three four', 15)).toBe('one two three');
    expect(truncateAtWord('one two three four', 12)).toBe('one two thre');
    expect(truncateAtWord('abcdefghijklmnop', 10)).toBe('abcdefghij');
    expect(truncateAtWord('short', 10)).toBe('short');
  });

  it('flags text whose letters are mostly outside ASCII, and explicit wording', () => {
    expect(isMostlyNonAscii('ÄúºÃ×îÐÂ²úÆ· price list')).toBe(true);
    expect(isMostlyNonAscii('A café in Zürich serves crème brûlée to many visitors every day')).toBe(false);
    expect(isExplicit('Free XXX passwords')).toBe(true);
    expect(isExplicit('Essex county council meeting')).toBe(false);
  });
});
