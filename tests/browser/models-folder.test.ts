/**
 * @file Loading a model folder picked on disk (`<input type="file" webkitdirectory>`): the browser reads the files,
 * nothing is requested from any server, and a folder that is not a usable model is named with what is missing.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, runAllPrompts, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { FIXTURES_DIR, ROOT, settledStatus } from './models-helpers.ts';

let session: BrowserSession;
let page: Page;
let scratch: string;
/** Requests the page and its workers made after the app had started. */
const requests: string[] = [];

async function pick(folder: string): Promise<void> {
  await page.getByTestId('model-folder-input').setInputFiles(folder);
}

/** A copy of the tiny-bert fixture under `name`, changed by `edit`. */
async function brokenCopy(name: string, edit: (folder: string) => Promise<void>): Promise<string> {
  const folder = path.join(scratch, name);
  await cp(path.join(FIXTURES_DIR, 'tiny-bert'), folder, { recursive: true });
  await edit(folder);
  return folder;
}

describe('a model folder from this computer', () => {
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'pvf-picked-models-'));
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await openTab(page, 'model');
    await page.getByTestId('model-capabilities').waitFor({ timeout: UI_TIMEOUT_MS });
    page.on('request', (request: Request) => requests.push(`${request.method()} ${request.url()}`));
  });

  afterAll(async () => {
    await session?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('loads from the picked files without asking any server for them', async () => {
    await pick(path.join(FIXTURES_DIR, 'tiny-nli'));
    expect(await settledStatus(page)).toBe('ready');
    await expect(page.getByTestId('model-status').textContent()).resolves.toContain('Ready: tiny-nli');
    await expect(page.getByTestId('model-source').textContent()).resolves.toBe('a folder on this computer');
    await expect(page.getByTestId('model-layers').textContent()).resolves.toBe('4');
    const files = await page.getByTestId('model-file-progress').allTextContents();
    expect(files.some((line) => line.includes('onnx/model.onnx') && line.includes('done'))).toBe(true);
    // Only the app's own scripts and WASM may be fetched; no model file goes over HTTP.
    expect(requests.filter((line) => line.includes('/models/') || line.includes('picked'))).toEqual([]);
  });

  test('the picked model runs the prompt lab', async () => {
    const { panel: prompts, cards } = await runAllPrompts(page);
    await expect(prompts.getByTestId('prompt-error').count()).resolves.toBe(0);
    await expect(prompts.getByTestId('run-accuracy').count()).resolves.toBe(cards);
    await openTab(page, 'model');
  });

  test('a folder that is not a model folder is refused before loading, saying what it needs', async () => {
    await pick(path.join(ROOT, 'tests/fixtures/datasets'));
    const error = page.getByTestId('model-folder-error');
    await error.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(error.textContent()).resolves.toContain('has no config.json');
    await expect(page.getByTestId('model-status').getAttribute('data-status')).resolves.toBe('ready');
  });

  test('a folder of several models asks for one of them', async () => {
    await pick(FIXTURES_DIR);
    await expect(page.getByTestId('model-folder-error').textContent()).resolves.toContain(
      'holds several models (tiny-bert, tiny-gpt2-induction, tiny-gpt2, tiny-nli-biased, tiny-nli-reordered, tiny-nli)',
    );
  });

  test('a missing tokenizer is named, and the model loaded before stays', async () => {
    await pick(await brokenCopy('no-tokenizer', (folder) => rm(path.join(folder, 'tokenizer.json'))));
    expect(await settledStatus(page)).toBe('error');
    const message = (await page.getByTestId('model-error').textContent()) ?? '';
    expect(message).toContain('Model file missing: no-tokenizer/tokenizer.json is not in the picked folder');
    expect(message).toContain('Still using the previous model, tiny-nli');
  });

  test("another model's tokenizer is caught, naming the file", async () => {
    const folder = await brokenCopy('mixed-tokenizer', async (target) => {
      for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
        await cp(path.join(FIXTURES_DIR, 'tiny-gpt2', file), path.join(target, file));
      }
    });
    await pick(folder);
    expect(await settledStatus(page)).toBe('error');
    await expect(page.getByTestId('model-error').textContent()).resolves.toContain(
      'mixed-tokenizer/tokenizer.json does not match the model',
    );
  });

  test('made no request beyond 127.0.0.1 and logged no console errors', () => {
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
