import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDatasetFiles, OUTPUT_DIR } from '../../../scripts/datasets/build-spam-assassin.ts';
import {
  buildSpamAssassinRows,
  composeText,
  DEFAULT_OPTIONS,
  GROUP_LABELS,
  locateCorpus,
  maxTextChars,
  readCorpus,
  type BuildOptions,
  type CorpusGroup,
  type RawMessage,
} from '../../../scripts/datasets/spam-assassin.ts';
import {
  SPAM_ASSASSIN_ROWS,
  spamAssassinDataset,
} from '../../../src/lib/core/dataset/builtin/spam-assassin/index.ts';

const rows = SPAM_ASSASSIN_ROWS;

describe('shipped spam-assassin dataset', () => {
  it('is balanced: 300 spam and 300 ham, no other label, matching its provenance', () => {
    const count = (label: string) => rows.filter((row) => row.label === label).length;
    expect(count('spam')).toBe(300);
    expect(count('ham')).toBe(300);
    expect(rows).toHaveLength(600);
    expect(spamAssassinDataset.provenance.counts).toEqual({ spam: 300, ham: 300 });
  });

  it('contains no mail headers, MIME boundaries or encoded-transfer leftovers', () => {
    for (const { text } of rows) {
      expect(text).not.toMatch(/^(From|Received|Return-Path|Content-Type):/m);
      expect(text).not.toMatch(
        /\b(Received: from|Return-Path:|Content-Type:|Content-Transfer-Encoding:|MIME-Version:)/,
      );
      expect(text).not.toMatch(/------=_|NextPart_|boundary=/i);
      expect(text).not.toMatch(/=3D|=20\b|=\?[^?]+\?[QB]\?/i);
    }
  });

  it('contains no HTML tags, comments or character references', () => {
    for (const { text } of rows) {
      expect(text).not.toMatch(/<\/?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?\/?>/);
      expect(text).not.toMatch(/<!/);
      expect(text).not.toMatch(/&(nbsp|amp|lt|gt|quot|#\d+|#x[0-9a-f]+);/i);
    }
  });

  it('has no duplicate texts', () => {
    expect(new Set(rows.map((row) => row.text)).size).toBe(rows.length);
  });

  it('has non-empty, trimmed, single-spaced, printable texts within the length bound', () => {
    const bound = maxTextChars(DEFAULT_OPTIONS);
    for (const { text } of rows) {
      expect(text.length).toBeGreaterThanOrEqual(DEFAULT_OPTIONS.minBodyChars);
      expect(text.length).toBeLessThanOrEqual(bound);
      expect(text).toBe(text.trim());
      expect(text).not.toMatch(/\s{2}|[\n\r\t]/);
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/[\u0000-\u001F\u007F-\u009F\uFFFD\u200B]/);
    }
  });

  it('stays under the 400 KB size budget', () => {
    expect(statSync(join(OUTPUT_DIR, 'rows.json')).size).toBeLessThan(400 * 1024);
  });

  it('exposes the registry metadata and a table that callers cannot use to mutate the rows', () => {
    expect(spamAssassinDataset).toMatchObject({
      id: 'spam-assassin',
      textColumn: 'text',
      labelColumn: 'label',
    });
    expect(spamAssassinDataset.license).toMatch(/PDDL-1\.0/);
    expect(spamAssassinDataset.license).toMatch(/CC0-1\.0/);
    const table = spamAssassinDataset.table();
    expect(table.columns).toEqual(['text', 'label']);
    expect(table.rows).toHaveLength(600);
    const first = table.rows[0];
    if (!first) throw new Error('table has no rows');
    first.text = 'changed';
    expect(spamAssassinDataset.table().rows[0]?.text).not.toBe('changed');
  });

  it('is exactly what the build script produces from the corpus today (committed files are fresh)', async () => {
    const { files } = await buildDatasetFiles();
    expect(readFileSync(join(OUTPUT_DIR, 'rows.json'), 'utf8')).toBe(files.rowsJson);
    expect(readFileSync(join(OUTPUT_DIR, 'index.ts'), 'utf8')).toBe(files.indexTs);
  });
});

describe('buildSpamAssassinRows', () => {
  const groups = Object.keys(GROUP_LABELS) as CorpusGroup[];
  // The first 80 files of each group keep the test fast while still exercising real mail.
  const sample: RawMessage[] = groups.flatMap((group) =>
    readCorpus(locateCorpus().dataDir, [group]).slice(0, 80),
  );
  const quotas = Object.fromEntries(groups.map((group) => [group, 20])) as Record<CorpusGroup, number>;
  const options: BuildOptions = { ...DEFAULT_OPTIONS, quotas };

  it('is deterministic and independent of the order messages arrive in', () => {
    const first = buildSpamAssassinRows(sample, options);
    const again = buildSpamAssassinRows(sample, options);
    const reversed = buildSpamAssassinRows([...sample].reverse(), options);
    expect(first.rows).toHaveLength(100);
    expect(again.rows).toEqual(first.rows);
    expect(reversed.rows).toEqual(first.rows);
    expect(again.stats).toEqual(first.stats);
  });

  it('fills each group quota with that group’s label', () => {
    const { rows: built, stats } = buildSpamAssassinRows(sample, options);
    expect(built.filter((row) => row.label === 'spam')).toHaveLength(40);
    expect(built.filter((row) => row.label === 'ham')).toHaveLength(60);
    for (const group of groups)
      expect(stats[group]).toMatchObject({ selected: 20, label: GROUP_LABELS[group] });
  });

  it('picks a different subset for a different seed', () => {
    const one = buildSpamAssassinRows(sample, options).rows.map((row) => row.text);
    const other = buildSpamAssassinRows(sample, { ...options, seed: options.seed + 1 }).rows.map(
      (row) => row.text,
    );
    expect(new Set(other)).not.toEqual(new Set(one));
  });

  it('names the group and the numbers when a quota cannot be filled', () => {
    const tooMany = { ...options, quotas: { ...quotas, 'hard-ham-1': 500 } };
    expect(() => buildSpamAssassinRows(sample, tooMany)).toThrow(
      /"hard-ham-1".*of the 500 asked for.*quotas\.hard-ham-1/,
    );
  });

  it('skips exact and near duplicates and messages with too little body, and says so', () => {
    const mail = (file: string, subject: string, body: string): RawMessage => ({
      group: 'spam-1',
      file,
      raw: `Subject: ${subject}\n\n${body}`,
    });
    const body =
      'Earn money from home with our proven system, no experience needed, start today and see results';
    const messages = [
      mail('a', 'Offer', body),
      mail('b', 'Offer', body),
      mail('c', 'Another offer 123', `Dear friend, ${body} http://example.com/xyz`),
      mail('d', 'Tiny', 'too short'),
    ];
    const onlySpam1 = { 'easy-ham-1': 0, 'easy-ham-2': 0, 'hard-ham-1': 0, 'spam-1': 1, 'spam-2': 0 };
    const kept = buildSpamAssassinRows(messages, { ...options, quotas: onlySpam1 });
    expect(kept.rows).toHaveLength(1);
    expect(kept.rows[0]?.text).toMatch(/Earn money from home/);
    expect(() =>
      buildSpamAssassinRows(messages, { ...options, quotas: { ...onlySpam1, 'spam-1': 2 } }),
    ).toThrow(/gave only 1 usable .* skipped: (?=.*\bduplicate 1)(?=.*near-duplicate 1)(?=.*too-short 1)/);
  });
});

describe('composeText', () => {
  it('joins subject and body with ". " unless the subject already ends a sentence', () => {
    expect(composeText('Hello', 'body')).toBe('Hello. body');
    expect(composeText('Hello!', 'body')).toBe('Hello! body');
    expect(composeText('', 'body')).toBe('body');
  });
});
