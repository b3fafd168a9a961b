/**
 * @file The catalogue of bad dataset files. Each one is uploaded through the real file input and must produce
 * exactly the message written here, where the user sees it: `upload-error` when the file cannot be read at all,
 * `draft-error` when it reads but is not usable labeled data (then "Use this dataset" stays disabled). After
 * each, the dataset in use is unchanged and still split, nothing is logged as an error and nothing leaves
 * 127.0.0.1. Files that must be bytes (other encodings, binary data, sizes at the limits) are generated here.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, RUN_TIMEOUT_MS, startModelLoad, UI_TIMEOUT_MS, waitForModelStatus } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

const TOPICS_TITLE = 'Topics: food, sports, weather';
const RESAVE =
  'Re-save it as UTF-8: in Excel choose "CSV UTF-8 (Comma delimited)"; in LibreOffice tick ' +
  '"Edit filter settings" and pick "Unicode (UTF-8)"; in a text editor save with the encoding "UTF-8".';
const SAVE_AS_CSV =
  'open it in your spreadsheet program and save it as "CSV UTF-8" (or TSV), then choose that file.';

interface BadDataset {
  /** What is wrong, as the test title. */
  what: string;
  /** File name as uploaded; the extension selects the format. */
  name: string;
  content: string | Buffer;
  /** Where the message appears: the file could not be read, or it is not usable labeled data. */
  shownIn: 'upload-error' | 'draft-error';
  /** The exact message the user sees. */
  message: string;
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** `count` rows per label, texts unique. */
function csvRows(labels: Record<string, number>): string {
  return Object.entries(labels)
    .flatMap(([label, count]) =>
      Array.from({ length: count }, (_, i) => `${label} text number ${i},${label}`),
    )
    .join('\n');
}

/** Deterministic pseudo-random bytes (a linear congruential generator), with NULs as binary files have. */
function garbage(length: number): Buffer {
  let state = 20240607;
  return Buffer.from(
    Array.from({ length }, () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 24;
    }),
  );
}

function utf16leWithoutBom(text: string): Buffer {
  return Buffer.from(text, 'utf16le');
}

const FIFTY_ONE_CLASSES = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`class${i}`, 2]));

const CATALOGUE: BadDataset[] = [
  {
    what: 'an empty file',
    name: 'empty.csv',
    content: '',
    shownIn: 'upload-error',
    message: 'The file is empty: choose a file with a header row and data rows.',
  },
  {
    what: 'a file of blank lines',
    name: 'blank.tsv',
    content: ' \r\n\r\n\t\r\n',
    shownIn: 'upload-error',
    message: 'The file is empty: choose a file with a header row and data rows.',
  },
  {
    what: 'a header-only file (with BOM and CRLF)',
    name: 'header-only.csv',
    content: '\ufefftext,label\r\n',
    shownIn: 'upload-error',
    message:
      'The file has a header row (columns: "text", "label") but no data rows: add at least one row below it.',
  },
  {
    what: 'an empty JSON array',
    name: 'empty.json',
    content: '[]',
    shownIn: 'upload-error',
    message: 'The file holds no records: add at least one object with a text and a label.',
  },
  {
    what: 'one class',
    name: 'one-class.csv',
    content: `text,label\n${csvRows({ spam: 6 })}\n`,
    shownIn: 'draft-error',
    message:
      'Every row has the label "spam": a classifier needs at least two classes. Check that "label" is the label column.',
  },
  {
    what: 'a class with a single example',
    name: 'singleton.csv',
    content: `text,label\n${csvRows({ food: 4, sports: 4, weather: 1 })}\n`,
    shownIn: 'draft-error',
    message:
      'Class "weather" has a single example and cannot be split into train and test: add examples or remove those rows.',
  },
  {
    what: 'more classes than the app supports',
    name: 'many-classes.csv',
    content: `text,label\n${csvRows(FIFTY_ONE_CLASSES)}\n`,
    shownIn: 'draft-error',
    message:
      'The label column "label" has 51 distinct values; at most 50 classes are supported: check that it is the ' +
      'label column, or merge rare classes.',
  },
  {
    what: 'a file larger than the app reads',
    name: 'huge.csv',
    content: Buffer.alloc(21_000_000, 'a'),
    shownIn: 'upload-error',
    message:
      '"huge.csv" is 21 MB; the app reads files up to 20 MB: keep a sample of the rows (at most 50,000) and ' +
      'choose that file.',
  },
  {
    what: 'more rows than the app reads',
    name: 'many-rows.csv',
    content: `text,label\n${Array.from({ length: 50_001 }, (_, i) => `t${i},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`,
    shownIn: 'upload-error',
    message:
      'The file has more than 50,000 data rows; the app reads at most 50,000: keep a sample of the rows and ' +
      'choose that file.',
  },
  {
    what: 'a header of 20,000 repeated column names',
    name: 'wide.csv',
    content: `${Array(20_000).fill('a').join(',')}\n${Array(20_000).fill('x').join(',')}\n`,
    shownIn: 'upload-error',
    message:
      'The file has 20,000 columns in its header row; the app reads at most 1,000: save the text and label ' +
      'columns (and any others you need) as a new file and choose that.',
  },
  {
    what: 'records that each bring a field of their own',
    name: 'own-fields.jsonl',
    content: Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({ text: `t${i}`, label: 'a', [`id${i}`]: i }),
    ).join('\n'),
    shownIn: 'upload-error',
    message:
      'The file has 20,002 distinct fields across its records; the app reads at most 1,000: save the text and ' +
      'label columns (and any others you need) as a new file and choose that.',
  },
  {
    what: 'a Windows-1252 (not UTF-8) file',
    name: 'latin1.csv',
    content: Buffer.concat([utf8('text,label\nnice,a\nthe caf'), Buffer.from([0xe9]), utf8(' is open,b\n')]),
    shownIn: 'upload-error',
    message:
      '"latin1.csv" is not UTF-8 text: byte 26 (0xE9, on line 3) is not valid UTF-8; the file was probably saved ' +
      `in a legacy encoding such as Windows-1252 or Latin-1. ${RESAVE}`,
  },
  {
    what: 'UTF-16 text without a byte-order mark',
    name: 'utf16.csv',
    content: utf16leWithoutBom('text,label\nhello,a\nbye,b\n'),
    shownIn: 'upload-error',
    message: `"utf16.csv" looks like UTF-16 text without a byte-order mark, which cannot be read reliably. ${RESAVE}`,
  },
  {
    what: 'binary garbage',
    name: 'garbage.csv',
    content: Buffer.concat([utf8('text,label\n'), Buffer.from([0x00]), garbage(2000)]),
    shownIn: 'upload-error',
    message:
      '"garbage.csv" is not a text file: it contains binary data (a NUL byte at byte 12). Choose a CSV, TSV, ' +
      'JSONL or JSON text file.',
  },
  {
    what: 'an Excel workbook saved as .csv',
    name: 'workbook.csv',
    content: Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), garbage(200)]),
    shownIn: 'upload-error',
    message: `"workbook.csv" is a zip archive, such as an Excel (.xlsx) or OpenDocument (.ods) workbook, not a text file: ${SAVE_AS_CSV}`,
  },
  {
    what: 'an unsupported extension',
    name: 'sheet.xlsx',
    content: 'text,label\na,b\n',
    shownIn: 'upload-error',
    message:
      'Cannot tell the format of "sheet.xlsx" from its extension: use one of .csv, .tsv, .tab, .jsonl, .ndjson, .json.',
  },
  {
    what: 'a quoted field that is never closed',
    name: 'unclosed.csv',
    content: 'text,label\nok,a\n"broken, b\nmore,c\n',
    shownIn: 'upload-error',
    message:
      'Row 2 has a quoted field that is never closed: check that every opening " has a closing " (a literal ' +
      'quote inside a field is written "").',
  },
  {
    what: 'malformed JSON',
    name: 'broken.json',
    content: '[\n  {"text": "a", "label": "x"},\n  {"text": "b" "label": "y"}\n]\n',
    shownIn: 'upload-error',
    message:
      'The file is not valid JSON at line 3, column 16 (look for a missing comma, quote or bracket there). Fix ' +
      'the syntax, or save the data as JSONL (one object per line).',
  },
  {
    what: 'JSON that ends too early',
    name: 'truncated.json',
    content: '[{"text": "a", "label": "x"}, {"text": "b"',
    shownIn: 'upload-error',
    message:
      'The file is not valid JSON: it ends before the JSON is complete (a missing ], } or closing quote?). Fix ' +
      'the syntax, or save the data as JSONL (one object per line).',
  },
  {
    what: 'JSON that is an object, not an array',
    name: 'wrapped.json',
    content: '{"version": 2, "data": [{"text": "a", "label": "x"}]}',
    shownIn: 'upload-error',
    message:
      'The JSON file holds an object: it must hold an array of objects, e.g. [{"text": "…", "label": "…"}]. ' +
      'The rows seem to be in its field "data": save that array alone as the file.',
  },
  {
    what: 'a JSON array of strings',
    name: 'strings.json',
    content: '["spam", "ham"]',
    shownIn: 'upload-error',
    message: 'Item 0 of the JSON array is a string: every item must be an object with one field per column.',
  },
  {
    what: 'a malformed JSONL line',
    name: 'broken.jsonl',
    content: '{"text": "a", "label": "x"}\r\n{"text": "b", "label": "y"}\r\n{"text": "c", label: "z"}\r\n',
    shownIn: 'upload-error',
    message:
      'Line 3 is not valid JSON (at column 15): JSONL needs one complete JSON object per line, e.g. ' +
      '{"text": "…", "label": "…"}.',
  },
  {
    what: 'a JSONL line that is not an object',
    name: 'array-line.jsonl',
    content: '{"text": "a", "label": "x"}\n["b", "y"]\n',
    shownIn: 'upload-error',
    message:
      'Line 2 is an array, not an object: JSONL needs one object per line, e.g. {"text": "…", "label": "…"}.',
  },
  {
    what: 'a single column (no label)',
    name: 'texts-only.csv',
    content: 'text\nfirst text\nsecond text\n',
    shownIn: 'draft-error',
    message:
      'The file has only one column ("text"): labeled data needs a text column and a label column, e.g. a header ' +
      'row "text,label". Add the labels as a second column.',
  },
  {
    what: 'labels that are all empty',
    name: 'no-labels.csv',
    content: 'text,label\none,\ntwo,\nthree, \n',
    shownIn: 'draft-error',
    message:
      'No row has both a text (column "text") and a label (column "label"): check the column choice and that ' +
      'the cells are filled.',
  },
  {
    what: 'two classes with a single example each',
    name: 'two-singletons.jsonl',
    content: ['a', 'a', 'a', 'b', 'c']
      .map((label, i) => JSON.stringify({ text: `text ${i}`, label }))
      .join('\n'),
    shownIn: 'draft-error',
    message:
      'Classes "b", "c" have a single example and cannot be split into train and test: add examples or remove ' +
      'those rows.',
  },
];

let session: BrowserSession;
let page: Page;
let panel: Locator;

/** Checks that the dataset in use is still the built-in one, split as before. */
async function expectPreviousDatasetIntact(): Promise<void> {
  await expect(panel.getByTestId('current-dataset-name').textContent()).resolves.toBe(TOPICS_TITLE);
  await expect(panel.getByTestId('split-test-total').textContent()).resolves.toBe('45');
  await expect(panel.getByTestId('split-train-total').textContent()).resolves.toBe('105');
  await expect(panel.getByTestId('dataset-error').count()).resolves.toBe(0);
}

describe('bad dataset files', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    panel = await openTab(page, 'data');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('the catalogue has at least 20 files', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(20);
  });

  test.each(CATALOGUE)('$what ($name): says so and keeps the dataset in use', async (bad) => {
    const errorsBefore = session.consoleErrors.length;
    const content = typeof bad.content === 'string' ? utf8(bad.content) : bad.content;
    await panel
      .getByTestId('dataset-file-input')
      .setInputFiles({ name: bad.name, mimeType: 'application/octet-stream', buffer: content });
    if (bad.shownIn === 'upload-error') {
      const error = panel.getByTestId('upload-error');
      await error.waitFor({ timeout: UI_TIMEOUT_MS });
      await expect(error.locator('p').textContent()).resolves.toBe(bad.message);
      await expect(panel.getByTestId('dataset-draft').count()).resolves.toBe(0);
    } else {
      const draft = panel.getByTestId('dataset-draft');
      await draft.waitFor({ timeout: UI_TIMEOUT_MS });
      await expect(draft.getByTestId('draft-name').textContent()).resolves.toBe(bad.name);
      await expect(draft.getByTestId('draft-error').allTextContents()).resolves.toEqual([bad.message]);
      await expect(draft.getByTestId('use-dataset').isDisabled()).resolves.toBe(true);
      await expect(panel.getByTestId('upload-error').count()).resolves.toBe(0);
    }
    await expectPreviousDatasetIntact();
    expect(session.consoleErrors.slice(errorsBefore)).toEqual([]);
  });

  test('labels named like Object.prototype members are counted as ordinary classes', async () => {
    const errorsBefore = session.consoleErrors.length;
    const labels = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
    const content = `text,label\n${csvRows(Object.fromEntries(labels.map((label, k) => [label, k + 2])))}\n`;
    await panel
      .getByTestId('dataset-file-input')
      .setInputFiles({ name: 'prototype-labels.csv', mimeType: 'text/csv', buffer: utf8(content) });
    const draft = panel.getByTestId('dataset-draft');
    await draft.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(draft.getByTestId('draft-name').textContent()).resolves.toBe('prototype-labels.csv');
    await expect(
      draft
        .getByTestId('report-class')
        .evaluateAll((els) => els.map((e) => [e.getAttribute('data-label'), e.getAttribute('data-count')])),
    ).resolves.toEqual(labels.map((label, k) => [label, String(k + 2)]));
    await expect(draft.getByTestId('draft-error').count()).resolves.toBe(0);
    await expect(draft.getByTestId('use-dataset').isDisabled()).resolves.toBe(false);
    await expectPreviousDatasetIntact();
    expect(session.consoleErrors.slice(errorsBefore)).toEqual([]);
  });

  test('a label column with a value per row lists 50 classes and counts the rest', async () => {
    const errorsBefore = session.consoleErrors.length;
    const rows = Array.from({ length: 3000 }, (_, i) => `message number ${i},id-${i}`);
    await panel.getByTestId('dataset-file-input').setInputFiles({
      name: 'ids.csv',
      mimeType: 'text/csv',
      buffer: utf8(`text,id\n${rows.join('\n')}\n`),
    });
    const draft = panel.getByTestId('dataset-draft');
    await draft.getByTestId('report-classes-more').waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(draft.getByTestId('draft-error').allTextContents()).resolves.toEqual([
      'The label column "id" has 3,000 distinct values; at most 50 classes are supported: check that it is the ' +
        'label column, or merge rare classes.',
    ]);
    await expect(draft.getByTestId('report-class').count()).resolves.toBe(50);
    await expect(draft.getByTestId('report-class').first().getAttribute('data-label')).resolves.toBe('id-0');
    await expect(draft.getByTestId('report-classes').locator('caption').textContent()).resolves.toBe(
      'Examples per class (50 of 3,000 classes listed, largest first)',
    );
    await expect(draft.getByTestId('report-classes-more').textContent()).resolves.toBe(
      '2,950 more classes, one example each, not listed.',
    );
    await expect(draft.getByTestId('use-dataset').isDisabled()).resolves.toBe(true);
    await expectPreviousDatasetIntact();
    expect(session.consoleErrors.slice(errorsBefore)).toEqual([]);
  });

  test('dropping two files at once asks for one', async () => {
    await withTimeout(
      page.evaluate(() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['text,label\na,b\n'], 'one.csv', { type: 'text/csv' }));
        transfer.items.add(new File(['text,label\nc,d\n'], 'two.csv', { type: 'text/csv' }));
        const zone = document.querySelector('[data-testid="dataset-dropzone"]');
        zone?.dispatchEvent(
          new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }),
        );
      }),
      UI_TIMEOUT_MS,
      'drop two files',
    );
    await expect(panel.getByTestId('upload-error').locator('p').textContent()).resolves.toBe(
      '2 files were dropped: drop one dataset file at a time.',
    );
    await expectPreviousDatasetIntact();
  });

  test('after all of them the dataset in use still runs a prompt', async () => {
    const model = await openTab(page, 'model');
    await startModelLoad(model);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');
    const prompts = await openTab(page, 'prompts');
    const card = prompts.locator('[data-testid="prompt-card"][data-name="bare labels"]');
    await card.getByTestId('prompt-run').click();
    await card.getByTestId('run-accuracy').waitFor({ timeout: RUN_TIMEOUT_MS });
    const compare = await openTab(page, 'compare');
    await expect(compare.getByTestId('example-row').count()).resolves.toBe(45);
    panel = await openTab(page, 'data');
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
