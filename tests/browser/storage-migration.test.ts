/**
 * @file The experiments database upgrades itself: a version 1 database written by hand (one store, the runs
 * inside each experiment record) opens as the current version with everything kept and listed; a version 2
 * database (uploaded rows inside each document) opens with its rows moved to the rows store, once per content,
 * referenced by hash; a database from a newer app version, or one whose upgrade fails, is left untouched while
 * the app keeps working in memory.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Experiment, RunResult } from '../../src/lib/core/experiment/types.ts';
import { hashRowsSync, type Row } from '../../src/lib/storage/hash.ts';
import {
  SCHEMA_VERSION,
  type ExperimentDocument,
  type ExperimentDocumentV2,
  type ExperimentMeta,
  type ExperimentRecordV1,
  type RowsRecord,
  type RunsRecord,
} from '../../src/lib/storage/schema.ts';
import { dataValues, openTab, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import {
  DATABASE_NAME,
  dumpDatabase,
  listedExperiments,
  openExperimentList,
  storedValue,
  waitForLibrary,
} from './storage-driver.ts';

const OLDER_SAVE = Date.UTC(2025, 0, 10, 9, 30);
const NEWER_SAVE = Date.UTC(2025, 0, 20, 14, 0);

function experiment(name: string, builtin: string, labels: string[]): Experiment {
  return {
    version: 1,
    name,
    model: 'fixtures/tiny-bert',
    dataset: { builtin },
    split: { test: 0.3, seed: 7 },
    prompts: [
      { name: 'bare labels', strategy: 'similarity', template: '{label}' },
      {
        name: 'described',
        strategy: 'similarity',
        descriptions: Object.fromEntries(labels.map((label) => [label, `about ${label}`])),
      },
    ],
    heads: [
      { name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 20, learningRate: 0.01, seed: 1 },
    ],
  };
}

const promptRun: RunResult = {
  name: 'bare labels',
  kind: 'prompt',
  accuracy: 0.5,
  macroF1: 0.25,
  confusion: [
    [1, 1],
    [0, 0],
  ],
  predictions: [],
  cost: { adaptMs: 3, inferMs: 4, labeledExamples: 0, trainedParameters: 0 },
};

const V1_RECORDS: ExperimentRecordV1[] = [
  {
    id: 'v1-older',
    savedAt: OLDER_SAVE,
    experiment: experiment('Spam from version 1', 'spam-assassin', ['ham', 'spam']),
    runs: [],
  },
  {
    id: 'v1-newer',
    savedAt: NEWER_SAVE,
    experiment: experiment('Topics from version 1', 'topics', ['food', 'sports', 'weather']),
    runs: [promptRun],
  },
];

let session: BrowserSession;
let page: Page;

/**
 * Replaces the app's database by one written by hand, from a page of the same origin that does not run the app
 * (so nothing holds the database open).
 */
async function writeDatabaseByHand(version: number, records: unknown[]): Promise<void> {
  await withTimeout(
    page.goto(`${inject('baseUrl')}/models/fixtures/tiny-bert/config.json`),
    UI_TIMEOUT_MS,
    'open a page of the app origin without the app',
  );
  await withTimeout(
    page.evaluate(
      async ({ name, version, records }) => {
        await new Promise<void>((resolve, reject) => {
          const request = indexedDB.deleteDatabase(name);
          request.onsuccess = () => resolve();
          request.onerror = () => reject(request.error);
        });
        const database = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open(name, version);
          request.onupgradeneeded = () => {
            const store = request.result.createObjectStore('experiments', { keyPath: 'id' });
            for (const record of records) store.put(record);
          };
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        database.close();
      },
      { name: DATABASE_NAME, version, records },
    ),
    UI_TIMEOUT_MS,
    'write the database by hand',
  );
}

/** Replaces the app's database by a version 2 one holding `documents` (with metadata and empty runs). */
async function writeVersion2ByHand(documents: ExperimentDocumentV2[]): Promise<void> {
  await withTimeout(
    page.goto(`${inject('baseUrl')}/models/fixtures/tiny-bert/config.json`),
    UI_TIMEOUT_MS,
    'open a page of the app origin without the app',
  );
  const records = documents.map((document, index) => ({
    document,
    meta: {
      id: document.id,
      name: document.experiment.name,
      createdAt: OLDER_SAVE + index,
      updatedAt: OLDER_SAVE + index,
      datasetName: 'reviews.csv',
      runCount: 0,
    } satisfies ExperimentMeta,
    runs: { id: document.id, runs: [] } satisfies RunsRecord,
  }));
  await withTimeout(
    page.evaluate(
      async ({ name, records }) => {
        await new Promise<void>((resolve, reject) => {
          const request = indexedDB.deleteDatabase(name);
          request.onsuccess = () => resolve();
          request.onerror = () => reject(request.error);
        });
        const database = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open(name, 2);
          request.onupgradeneeded = () => {
            const db = request.result;
            db.createObjectStore('experiments', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt');
            const documents = db.createObjectStore('documents', { keyPath: 'id' });
            const runs = db.createObjectStore('runs', { keyPath: 'id' });
            db.createObjectStore('settings');
            const experiments = request.transaction?.objectStore('experiments');
            for (const record of records) {
              experiments?.put(record.meta);
              documents.put(record.document);
              runs.put(record.runs);
            }
          };
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        database.close();
      },
      { name: DATABASE_NAME, records },
    ),
    UI_TIMEOUT_MS,
    'write the version 2 database by hand',
  );
}

/** An uploaded dataset of `count` rows over three labels. */
function uploadedRows(count: number): Row[] {
  const labels = ['food', 'sports', 'weather'];
  return Array.from({ length: count }, (_, index) => ({
    text: `${labels[index % 3]} item number ${index}`,
    label: labels[index % 3] as string,
  }));
}

async function openApp(): Promise<void> {
  await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  await waitForLibrary(page);
}

describe('schema migrations', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
  });

  afterAll(async () => {
    await session?.close();
  });

  test('a version 1 database is upgraded to the current version with every experiment and run kept', async () => {
    await writeDatabaseByHand(1, V1_RECORDS);
    await openApp();

    await openExperimentList(page);
    const listed = await listedExperiments(page);
    expect(listed).toEqual([
      {
        id: 'v1-newer',
        name: 'Topics from version 1',
        dataset: 'Topics: food, sports, weather',
        runs: 1,
        updatedAt: NEWER_SAVE,
        current: true,
      },
      {
        id: 'v1-older',
        name: 'Spam from version 1',
        dataset: 'Spam or ham: SpamAssassin e-mails',
        runs: 0,
        updatedAt: OLDER_SAVE,
        current: false,
      },
    ]);
    // The most recent one is open, with its run.
    const prompts = await openTab(page, 'prompts');
    await expect(prompts.getByTestId('prompt-card').count()).resolves.toBe(2);
    await expect(dataValues(prompts.getByTestId('run-accuracy'))).resolves.toEqual([0.5]);
    const data = await openTab(page, 'data');
    await expect(data.getByTestId('split-seed').inputValue()).resolves.toBe('7');

    const dump = await dumpDatabase(page);
    expect(dump?.version).toBe(SCHEMA_VERSION);
    expect(Object.keys(dump?.stores ?? {}).sort()).toEqual([
      'documents',
      'experiments',
      'rows',
      'runs',
      'settings',
    ]);
    expect(storedValue(dump, 'experiments', 'v1-newer')).toEqual({
      id: 'v1-newer',
      name: 'Topics from version 1',
      createdAt: NEWER_SAVE,
      updatedAt: NEWER_SAVE,
      datasetName: 'Topics: food, sports, weather',
      runCount: 1,
    });
    expect(storedValue(dump, 'documents', 'v1-newer')).toEqual({
      id: 'v1-newer',
      experiment: V1_RECORDS[1]?.experiment,
    });
    expect(storedValue(dump, 'runs', 'v1-newer')).toEqual({ id: 'v1-newer', runs: [promptRun] });
    expect(storedValue(dump, 'runs', 'v1-older')).toEqual({ id: 'v1-older', runs: [] });
    const indexes = await page.evaluate(async (name) => {
      const database = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const names = [...database.transaction('experiments').objectStore('experiments').indexNames];
      database.close();
      return names;
    }, DATABASE_NAME);
    expect(indexes).toEqual(['updatedAt']);

    // The other experiment opens too.
    await page
      .locator('[data-testid="experiment-row"][data-id="v1-older"] [data-testid="experiment-open"]')
      .click();
    await page.getByTestId('current-experiment-name').and(page.getByText('Spam from version 1')).waitFor({
      timeout: UI_TIMEOUT_MS,
    });
  });

  test('a version 2 database moves uploaded rows into the rows store, once per content, and opens them', async () => {
    const rows = uploadedRows(90);
    const uploaded = (id: string, name: string, data: Row[]): ExperimentDocumentV2 => ({
      id,
      experiment: {
        ...experiment(name, 'topics', ['food', 'sports', 'weather']),
        dataset: { name: 'reviews.csv', rows: data, text: 'text', label: 'label' },
      },
    });
    const documents = [
      uploaded('v2-first', 'Reviews from version 2', rows),
      uploaded('v2-copy', 'Reviews copy from version 2', uploadedRows(90)),
      { id: 'v2-builtin', experiment: experiment('Spam from version 2', 'spam-assassin', ['ham', 'spam']) },
    ];
    await writeVersion2ByHand(documents);
    await openApp();

    const dump = await dumpDatabase(page);
    expect(dump?.version).toBe(SCHEMA_VERSION);
    const hash = hashRowsSync(rows);
    expect(dump?.stores.rows?.map((entry) => entry.value)).toEqual([{ hash, rows } satisfies RowsRecord]);
    for (const id of ['v2-first', 'v2-copy']) {
      expect(storedValue<ExperimentDocument>(dump, 'documents', id)?.experiment.dataset).toEqual({
        name: 'reviews.csv',
        rowsHash: hash,
        text: 'text',
        label: 'label',
      });
    }
    expect(storedValue<ExperimentDocument>(dump, 'documents', 'v2-builtin')).toEqual(documents[2]);

    // The most recent one (the built-in) is open; an uploaded one opens with its rows.
    await openExperimentList(page);
    await page
      .locator('[data-testid="experiment-row"][data-id="v2-first"] [data-testid="experiment-open"]')
      .click();
    await page.getByTestId('current-experiment-name').and(page.getByText('Reviews from version 2')).waitFor({
      timeout: UI_TIMEOUT_MS,
    });
    const data = await openTab(page, 'data');
    await expect(data.getByTestId('current-dataset-name').textContent()).resolves.toBe('reviews.csv');
    await expect(data.getByTestId('split-test-total').textContent()).resolves.toBe('27');
  });

  test('a version 1 record the upgrade cannot read leaves the database untouched and the app working', async () => {
    const broken = { id: 'broken', savedAt: OLDER_SAVE };
    await writeDatabaseByHand(1, [V1_RECORDS[0], broken]);
    await openApp();
    const notice = page.getByTestId('storage-error');
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(notice.getAttribute('data-kind')).resolves.toBe('failed');
    await expect(page.getByTestId('storage-error-message').textContent()).resolves.toMatch(
      /^Could not upgrade your saved experiments to this version of the app \(.+\)\. They were left as they were; export what is open and report the problem\.$/,
    );
    await expect(page.getByTestId('storage-export').isVisible()).resolves.toBe(true);
    // The default experiment is open in memory and usable.
    await expect(page.getByTestId('current-experiment-name').textContent()).resolves.toBe(
      'Topics: prompts vs a trained head',
    );
    const data = await openTab(page, 'data');
    await expect(data.getByTestId('split-test-total').textContent()).resolves.toBe('45');
    const dump = await dumpDatabase(page);
    expect(dump?.version).toBe(1);
    // Keys come back in order: "broken" before "v1-older".
    expect(dump?.stores.experiments?.map((entry) => entry.value)).toEqual([broken, V1_RECORDS[0]]);
  });

  test('a database written by a newer app version is refused, kept as it is, and the app works in memory', async () => {
    await writeDatabaseByHand(99, V1_RECORDS);
    await openApp();
    const notice = page.getByTestId('storage-error');
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(notice.getAttribute('data-kind')).resolves.toBe('newer-version');
    await expect(page.getByTestId('storage-error-message').textContent()).resolves.toBe(
      'Your saved experiments were written by a newer version of this app, which this version cannot read. ' +
        'Reload the page to get the newer version; nothing was changed.',
    );
    await expect(page.getByTestId('save-status').getAttribute('data-status')).resolves.toBe('error');
    const prompts = await openTab(page, 'prompts');
    await expect(prompts.getByTestId('prompt-card').count()).resolves.toBe(3);
    const dump = await dumpDatabase(page);
    expect(dump?.version).toBe(99);
    expect(dump?.stores.experiments).toHaveLength(2);
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
