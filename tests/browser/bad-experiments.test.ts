/**
 * @file The catalogue of bad experiment files: each one is imported through the real file input of the app and
 * must show exactly the message a user would read (naming the offending field's path when there is one),
 * import nothing, leave the saved experiments and the open one untouched, and never crash the page.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import {
  dumpDatabase,
  importExperimentFile,
  listedExperiments,
  openExperimentList,
  waitForLibrary,
  waitForSaved,
  type DatabaseDump,
  type ListedExperiment,
} from './storage-driver.ts';

const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../fixtures/bad-inputs/experiments',
);
const ALLOWED_TOP_LEVEL =
  '"version", "name", "model", "dataset", "split", "prompts", "heads", "learningCurve"';

interface BadFile {
  /** A file in tests/fixtures/bad-inputs/experiments/, or one written at test time. */
  file: string;
  /** The offending field's path as shown to the user ('' for the whole file). */
  path: string;
  message: string;
}

const HUGE_FILE = 'huge.json';
/** Above the 50 MB import limit. */
const HUGE_BYTES = 51_000_000;
/** More prompt variations than an experiment holds. */
const MANY_PROMPTS_FILE = 'many-prompts.json';
/** Files written at test time, into a temporary folder. */
const WRITTEN = new Set([HUGE_FILE, MANY_PROMPTS_FILE]);

const CASES: BadFile[] = [
  {
    file: 'invalid-json.json',
    path: '',
    message:
      'the experiment file is not valid JSON (Expected double-quoted property name in JSON at position 233 ' +
      '(line 8 column 1)): fix the syntax.',
  },
  {
    file: 'wrong-version.json',
    path: 'version',
    message: 'version: version 2 is not supported: this app reads version 1.',
  },
  {
    file: 'unknown-field.json',
    path: 'promts',
    message: `promts: unknown field: did you mean "prompts"? Allowed fields here: ${ALLOWED_TOP_LEVEL}.`,
  },
  {
    file: 'results-file.json',
    path: 'labels',
    message: `labels: unknown field. Allowed fields here: ${ALLOWED_TOP_LEVEL}.`,
  },
  {
    file: 'bad-split.json',
    path: 'split.test',
    message:
      'split.test: is the fraction of each class held out for testing: it must be between 0 and 1 (exclusive), ' +
      'e.g. 0.3; got 1.5.',
  },
  {
    file: 'duplicate-names.json',
    path: 'heads[0].name',
    message:
      'heads[0].name: "bare" is already the name of prompts[0]: every prompt and head needs its own name.',
  },
  {
    file: 'nli-hypothesis.json',
    path: 'prompts[0].hypothesis',
    message:
      'prompts[0].hypothesis: must contain {label} where each label goes, e.g. "This text is about {label}.".',
  },
  {
    file: 'unknown-strategy.json',
    path: 'prompts[0].strategy',
    message:
      'prompts[0].strategy: unknown strategy the string "zero-shot": allowed values: "similarity", "nli", ' +
      '"instruction".',
  },
  {
    file: 'missing-template.json',
    path: 'prompts[0]',
    message:
      'prompts[0]: needs "template" (e.g. "This text is about {label}.") or "descriptions" (a text or list per label).',
  },
  {
    file: 'bad-descriptions-label.json',
    path: 'prompts[0].descriptions.sport',
    message:
      'prompts[0].descriptions.sport: "sport" is not a label of the dataset: describe exactly these labels: ' +
      '"food", "sports", "weather".',
  },
  {
    file: 'head-epochs-out-of-range.json',
    path: 'heads[0].epochs',
    message: 'heads[0].epochs: must be from 1 to 1000; got 5000.',
  },
  {
    file: 'bad-pooling.json',
    path: 'heads[0].pooling',
    message:
      'heads[0].pooling: the string "max" is not a pooling: allowed values: "mean", "cls", "last", "sentence".',
  },
  {
    file: 'missing-dataset.json',
    path: 'dataset',
    message: 'dataset: is missing: add "dataset": { "builtin": "topics" }.',
  },
  {
    file: 'unknown-builtin.json',
    path: 'dataset.builtin',
    message: 'dataset.builtin: there is no built-in dataset "tweets": use one of "topics", "spam-assassin".',
  },
  {
    file: 'nothing-to-run.json',
    path: '',
    message: 'The experiment has nothing to run: add at least one entry to "prompts" or "heads".',
  },
  {
    file: 'empty.json',
    path: '',
    message:
      'The file is empty. Choose an experiment file exported from this app (Export) or written as described in ' +
      'the README.',
  },
  {
    file: 'non-object.json',
    path: '',
    message:
      'the experiment must be an object like { "version": 1, "name": "…", "model": "…", "dataset": {…}, ' +
      '"split": {…} }, not an array.',
  },
  {
    file: MANY_PROMPTS_FILE,
    path: 'prompts',
    message:
      'prompts: lists 2,000 prompt variations; an experiment holds at most 100: keep the ones to compare and put ' +
      'the others in another experiment.',
  },
  {
    file: HUGE_FILE,
    path: '',
    message:
      'The file is 51 MB; an experiment file can be at most 50 MB. Choose the experiment file itself, not a ' +
      'dataset or results file.',
  },
];

let session: BrowserSession;
let page: Page;
let workDir: string;
let listBefore: ListedExperiment[];
let databaseBefore: DatabaseDump | undefined;
let openNameBefore: string | null;

describe('bad experiment files', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-bad-experiments-'));
    // A file just over the limit: valid JSON start, padding to the size, so only the size check can refuse it.
    await writeFile(
      path.join(workDir, HUGE_FILE),
      `{"version":1,"name":"${'x'.repeat(HUGE_BYTES - 30)}"}`.padEnd(HUGE_BYTES, ' '),
    );
    await writeFile(
      path.join(workDir, MANY_PROMPTS_FILE),
      JSON.stringify({
        version: 1,
        name: 'Every wording at once',
        model: 'fixtures/tiny-bert',
        dataset: { builtin: 'topics' },
        split: { test: 0.3, seed: 1 },
        prompts: Array.from({ length: 2000 }, (_, i) => ({
          name: `wording ${i + 1}`,
          strategy: 'similarity',
          template: `Wording ${i + 1}: {label}`,
        })),
      }),
    );
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
    // Two saved experiments, so "nothing changed" is about a real list.
    await page.getByTestId('experiment-new').click();
    await page.getByTestId('current-experiment-name').and(page.getByText('New experiment')).waitFor({
      timeout: UI_TIMEOUT_MS,
    });
    await waitForSaved(page);
    await openExperimentList(page);
    listBefore = await listedExperiments(page);
    expect(listBefore).toHaveLength(2);
    databaseBefore = await dumpDatabase(page);
    openNameBefore = await page.getByTestId('current-experiment-name').textContent();
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('the catalogue holds at least 10 distinct bad files', () => {
    expect(new Set(CASES.map((c) => c.file)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(10);
  });

  test.each(CASES)(
    '$file: shows the exact message, imports nothing',
    async ({ file, path: fieldPath, message }) => {
      const location = WRITTEN.has(file) ? path.join(workDir, file) : path.join(FIXTURES, file);
      await importExperimentFile(page, location);
      const failure = page.getByTestId('import-failure');
      await failure.waitFor({ timeout: UI_TIMEOUT_MS });
      await expect(failure.getByRole('alert').locator('strong').textContent()).resolves.toBe(
        `Nothing was imported from “${file}”`,
      );
      await expect(failure.getByRole('alert').locator('p').textContent()).resolves.toBe(message);
      await expect(failure.getAttribute('data-path')).resolves.toBe(fieldPath);

      // Nothing was touched: the list, the database and the open experiment are exactly as before.
      await expect(listedExperiments(page)).resolves.toEqual(listBefore);
      await expect(dumpDatabase(page)).resolves.toEqual(databaseBefore);
      await expect(page.getByTestId('current-experiment-name').textContent()).resolves.toBe(openNameBefore);

      await failure.getByRole('button', { name: 'Dismiss' }).click();
      await failure.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    },
  );

  test('the page never crashed or logged an error, and made no request beyond 127.0.0.1', async () => {
    await expect(page.getByTestId('tab-model').isVisible()).resolves.toBe(true);
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
