/**
 * @file Steps through the saved-experiments UI, and a direct look into the app's IndexedDB database, shared by
 * the storage and bad-experiment browser tests. Reading the database itself (not only the UI) is how the
 * tests prove what was really saved.
 */
import type { Locator, Page } from 'playwright-core';
import { UI_TIMEOUT_MS } from './app-driver.ts';
import { withTimeout } from './browser.ts';

/** The app's database (src/lib/storage/store.ts). */
export const DATABASE_NAME = 'prompt-vs-finetune';
/** Longest a debounced save may take to land on a busy 2-core machine. */
export const SAVE_TIMEOUT_MS = 60_000;

/** Waits until the app has opened storage and restored (or created) the open experiment. */
export async function waitForLibrary(page: Page): Promise<void> {
  await page
    .locator('[data-testid="experiments-bar"][data-ready="true"]')
    .waitFor({ timeout: UI_TIMEOUT_MS * 3 });
}

/** Waits until the open experiment shows as saved (after every pending change was written). */
export async function waitForSaved(page: Page): Promise<void> {
  await page
    .getByTestId('save-status')
    .and(page.locator('[data-status="saved"]'))
    .waitFor({ timeout: SAVE_TIMEOUT_MS });
}

/** Opens the "My experiments" panel if closed and returns it. */
export async function openExperimentList(page: Page): Promise<Locator> {
  const toggle = page.getByTestId('experiments-toggle');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  const panel = page.getByTestId('experiments-panel');
  await panel.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  return panel;
}

/** One row of the experiments list as the user sees it. */
export interface ListedExperiment {
  id: string;
  name: string;
  dataset: string;
  runs: number;
  updatedAt: number;
  current: boolean;
}

/** The experiments list, top to bottom. */
export async function listedExperiments(page: Page): Promise<ListedExperiment[]> {
  return page.getByTestId('experiment-row').evaluateAll((rows) =>
    rows.map((row) => ({
      id: row.getAttribute('data-id') ?? '',
      name: row.getAttribute('data-name') ?? '',
      dataset: row.querySelector('[data-testid="experiment-dataset"]')?.textContent?.trim() ?? '',
      runs: Number(row.querySelector('[data-testid="experiment-runs"]')?.getAttribute('data-value')),
      updatedAt: Number(row.querySelector('[data-testid="experiment-updated"]')?.getAttribute('data-value')),
      current: row.getAttribute('aria-current') === 'true',
    })),
  );
}

/** The list row of the experiment named `name`. */
export function experimentRow(page: Page, name: string): Locator {
  return page.locator(`[data-testid="experiment-row"][data-name="${name.replace(/"/g, '\\"')}"]`);
}

/** Chooses a file in the (hidden) import input, as the file picker would. */
export async function importExperimentFile(
  page: Page,
  file: string | { name: string; mimeType: string; buffer: Buffer },
): Promise<void> {
  await page.getByTestId('experiment-import-input').setInputFiles(file, { timeout: UI_TIMEOUT_MS });
}

/** Everything in the app's database, store by store (values as structured-cloned JSON). */
export interface DatabaseDump {
  version: number;
  stores: Record<string, { key: unknown; value: unknown }[]>;
}

/** Reads every store of a database in the page's origin without changing it; undefined when it does not exist. */
export async function dumpDatabase(page: Page, name = DATABASE_NAME): Promise<DatabaseDump | undefined> {
  return withTimeout(
    page.evaluate(async (databaseName) => {
      const known = await indexedDB.databases();
      if (!known.some((info) => info.name === databaseName)) return undefined;
      const database = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(databaseName);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const stores: Record<string, { key: unknown; value: unknown }[]> = {};
      const names = [...database.objectStoreNames];
      if (names.length > 0) {
        const transaction = database.transaction(names, 'readonly');
        for (const store of names) {
          stores[store] = await new Promise((resolve, reject) => {
            const entries: { key: unknown; value: unknown }[] = [];
            const request = transaction.objectStore(store).openCursor();
            request.onsuccess = () => {
              const cursor = request.result;
              if (!cursor) return resolve(entries);
              entries.push({ key: cursor.key, value: cursor.value });
              cursor.continue();
            };
            request.onerror = () => reject(request.error);
          });
        }
      }
      const version = database.version;
      database.close();
      return { version, stores };
    }, name),
    UI_TIMEOUT_MS,
    `read the ${name} database`,
  );
}

/** The stored value of key `id` in `store` of a dump. */
export function storedValue<T>(dump: DatabaseDump | undefined, store: string, id: string): T | undefined {
  return dump?.stores[store]?.find((entry) => entry.key === id)?.value as T | undefined;
}
