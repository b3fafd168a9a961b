/**
 * @file Uploaded rows are stored apart from the experiment, once, against real IndexedDB in headless Chromium:
 * an imported experiment carrying rows is saved as a small document referencing the rows by their SHA-256 hash
 * plus one rows record (the JSON bytes the hash is taken of); edits rewrite the document only; export writes one self-contained file with the rows
 * inline again; a duplicate shares the rows; deleting the last experiment using them deletes them.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseExperimentText } from '../../src/lib/core/experiment/schema.ts';
import type { Experiment } from '../../src/lib/core/experiment/types.ts';
import { hashRowsSync, type Row } from '../../src/lib/storage/hash.ts';
import type { ExperimentDocument, RowsRecord, StoredRowsRecord } from '../../src/lib/storage/schema.ts';
import { downloadText, openTab, setInput, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import {
  dumpDatabase,
  experimentRow,
  importExperimentFile,
  listedExperiments,
  openExperimentList,
  storedValue,
  waitForLibrary,
  waitForSaved,
  type DatabaseDump,
} from './storage-driver.ts';

const LABELS = ['food', 'sports', 'weather'];
const ROWS: Row[] = Array.from({ length: 600 }, (_, index) => ({
  id: String(index + 1),
  text: `${LABELS[index % 3]} news item ${index}`,
  label: LABELS[index % 3] as string,
}));
const HASH = hashRowsSync(ROWS);

const UPLOADED: Experiment = {
  version: 1,
  name: 'Uploaded reviews',
  model: 'fixtures/tiny-bert',
  dataset: { name: 'reviews.csv', rows: ROWS, text: 'text', label: 'label' },
  split: { test: 0.3, seed: 3 },
  prompts: [{ name: 'bare labels', strategy: 'similarity', template: '{label}' }],
  heads: [{ name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 20, learningRate: 0.01, seed: 1 }],
};

let session: BrowserSession;
let page: Page;
let uploadedId = '';

/** The rows records of a dump, each read back from the JSON bytes it must be stored as. */
function rowsRecords(dump: DatabaseDump | undefined): RowsRecord[] {
  return (dump?.stores.rows ?? []).map((entry) => {
    const stored = entry.value as StoredRowsRecord;
    if (!('json' in stored) || !(stored.json instanceof Uint8Array)) {
      throw new Error(`rows ${stored.hash} are not stored as JSON bytes`);
    }
    return { hash: stored.hash, rows: JSON.parse(new TextDecoder().decode(stored.json)) as Row[] };
  });
}

describe('uploaded rows in storage', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await waitForLibrary(page);
  });

  afterAll(async () => {
    await session?.close();
  });

  test('an imported experiment is saved as a document referencing its rows, stored once by hash', async () => {
    await importExperimentFile(page, {
      name: 'reviews.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(UPLOADED)),
    });
    await page
      .getByTestId('current-experiment-name')
      .and(page.getByText('Uploaded reviews'))
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await waitForSaved(page);
    await openExperimentList(page);
    uploadedId = (await listedExperiments(page)).find((entry) => entry.current)?.id ?? '';

    const dump = await dumpDatabase(page);
    expect(rowsRecords(dump)).toEqual([{ hash: HASH, rows: ROWS }]);
    const { rows: _rows, ...dataset } = UPLOADED.dataset as { rows: Row[] };
    expect(storedValue<ExperimentDocument>(dump, 'documents', uploadedId)?.experiment).toEqual({
      ...UPLOADED,
      dataset: { ...dataset, rowsHash: HASH },
    });
    const data = await openTab(page, 'data');
    await expect(data.getByTestId('current-dataset-name').textContent()).resolves.toBe('reviews.csv');
    await expect(data.getByTestId('split-test-total').textContent()).resolves.toBe('180');
  });

  test('an edit rewrites the small document only; export puts the rows back inline', async () => {
    const finetune = await openTab(page, 'finetune');
    await setInput(finetune.getByTestId('head-epochs'), '7');
    await waitForSaved(page);
    const dump = await dumpDatabase(page);
    expect(storedValue<ExperimentDocument>(dump, 'documents', uploadedId)?.experiment.heads[0]?.epochs).toBe(
      7,
    );
    expect(rowsRecords(dump)).toEqual([{ hash: HASH, rows: ROWS }]);

    const exported = parseExperimentText(await downloadText(page, page.getByTestId('experiment-export')));
    expect(exported).toEqual({ ...UPLOADED, heads: [{ ...UPLOADED.heads[0], epochs: 7 }] });
  });

  test('a duplicate shares the rows, which are deleted with the last experiment using them', async () => {
    await openExperimentList(page);
    await experimentRow(page, 'Uploaded reviews').getByTestId('experiment-duplicate').click();
    await page
      .locator('[data-testid="experiment-row"][aria-current="true"][data-name="Uploaded reviews (copy)"]')
      .waitFor({ timeout: UI_TIMEOUT_MS });
    expect(rowsRecords(await dumpDatabase(page))).toHaveLength(1);

    for (const name of ['Uploaded reviews', 'Uploaded reviews (copy)']) {
      const row = experimentRow(page, name);
      await row.getByTestId('experiment-delete').click();
      await row.getByTestId('experiment-delete-confirm').click();
      await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
      const left = rowsRecords(await dumpDatabase(page));
      expect(left, `after deleting "${name}"`).toHaveLength(name.endsWith('(copy)') ? 0 : 1);
    }
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
