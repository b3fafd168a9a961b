/**
 * @file `npm run workshop` as a student's browser meets it: the production build served by the workshop server
 * over HTTPS under a host name that is not localhost (Chromium `--host-resolver-rules`, the self-signed certificate
 * accepted with `--ignore-certificate-errors` as a student clicks through the warning). The page must be a secure,
 * cross-origin-isolated context, open a published experiment from its link, and, served over plain http on a
 * network name, say what is limited instead of failing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { startWorkshop, type WorkshopServer } from '../../scripts/workshop/server.ts';
import {
  dataValues,
  openTab,
  runAllPrompts,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { experimentRow, waitForLibrary } from './storage-driver.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The made-up names the browser resolves to this machine, as a classroom laptop's address would be. */
const HTTPS_HOST = 'workshop.test';
const HTTP_HOST = 'plain-http.test';
const PUBLISHED_NAME = 'Classroom: greetings or weather';

let scratch = '';
let workshop: WorkshopServer;
let session: BrowserSession;
/** The same build over plain http, as `npm run preview -- --host` would serve it to the room. */
let plainHttp: PreviewServer;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'pvf-workshop-browser-'));
  const rows = Array.from({ length: 20 }, (_, i) =>
    i % 2 === 0
      ? { text: `hello there number ${i}`, label: 'greeting' }
      : { text: `rain today ${i}`, label: 'weather' },
  );
  const experiment = {
    version: 1,
    name: PUBLISHED_NAME,
    model: 'fixtures/tiny-bert',
    dataset: { name: 'classroom.csv', rows, text: 'text', label: 'label' },
    split: { test: 0.3, seed: 7 },
    prompts: [{ name: 'bare labels', strategy: 'similarity', template: '{label}' }],
    heads: [],
  };
  await writeFile(path.join(scratch, 'classroom.json'), JSON.stringify(experiment));
  // Resolves once the server is listening (vite preview's own listening event).
  workshop = await startWorkshop({
    root,
    outDir: inject('outDir'),
    experimentsDir: scratch,
    certDir: path.join(scratch, 'cert'),
    host: '127.0.0.1',
    port: 0,
    addresses: ['127.0.0.1'],
    hostNames: [HTTPS_HOST],
  });
  plainHttp = await preview({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir: inject('outDir') },
    // Vite refuses unknown host names over http (DNS rebinding); a LAN name is what this test plays.
    preview: { host: '127.0.0.1', port: 0, open: false, allowedHosts: [HTTP_HOST] },
  });
  session = await openBrowser({
    extraArgs: [
      `--host-resolver-rules=MAP ${HTTPS_HOST} 127.0.0.1, MAP ${HTTP_HOST} 127.0.0.1`,
      '--ignore-certificate-errors',
    ],
  });
  // The browser guard aborts every host but localhost; these two names are this machine.
  await session.context.route(
    (url) => url.hostname === HTTPS_HOST || url.hostname === HTTP_HOST,
    (route) => route.continue(),
  );
});

afterAll(async () => {
  await session?.close();
  await workshop?.close();
  await plainHttp?.close();
  await rm(scratch, { recursive: true, force: true });
});

test('over HTTPS on a network name the app is secure, isolated, and opens a published experiment', async () => {
  const { page } = session;
  await page.goto(`https://${HTTPS_HOST}:${workshop.port}/?experiment=classroom`);
  await waitForLibrary(page);
  const context = await withTimeout(
    page.evaluate(() => ({
      secure: window.isSecureContext,
      isolated: window.crossOriginIsolated,
      protocol: window.location.protocol,
    })),
    UI_TIMEOUT_MS,
    'reading the page context',
  );
  expect(context).toEqual({ secure: true, isolated: true, protocol: 'https:' });
  await page.getByTestId('experiments-toggle').click();
  await experimentRow(page, PUBLISHED_NAME)
    .and(page.locator('[aria-current="true"]'))
    .waitFor({ timeout: UI_TIMEOUT_MS * 3 });
  await page.waitForURL((url) => !url.searchParams.has('experiment'), { timeout: UI_TIMEOUT_MS });
  expect(await page.getByTestId('secure-context-notice').count()).toBe(0);
  expect(await page.getByTestId('import-failure').count()).toBe(0);
  expect(session.externalRequests).toEqual([]);
});

test('a link to an experiment that is not published says so and imports nothing', async () => {
  const { page } = session;
  await page.goto(`https://${HTTPS_HOST}:${workshop.port}/?experiment=missing`);
  await waitForLibrary(page);
  const failure = page.getByTestId('import-error');
  await failure.waitFor({ timeout: UI_TIMEOUT_MS });
  expect(await failure.textContent()).toContain('The server has no experiment named "missing"');
});

test('over plain http on a network name the app says what is limited', async () => {
  const { page } = session;
  const { port } = plainHttp.httpServer.address() as AddressInfo;
  await page.goto(`http://${HTTP_HOST}:${port}/`);
  await waitForLibrary(page).catch((error: unknown) => {
    throw new Error(`The app did not start over plain http: ${session.consoleErrors.join('\n')}`, {
      cause: error,
    });
  });
  const notice = page.getByTestId('secure-context-notice');
  await notice.waitFor({ timeout: UI_TIMEOUT_MS });
  const text = (await notice.textContent()) ?? '';
  expect(text).toContain('single-threaded WASM');
  expect(text).toContain('No offline use');
  expect(text).toContain('No WebGPU');
  expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
  // What is limited must still work: no Cache Storage and no WebCrypto there, yet the model loads
  // (single-threaded) and the prompts run.
  expect(await page.evaluate(() => typeof caches)).toBe('undefined');
  const panel = await openTab(page, 'model');
  await startModelLoad(panel);
  const status = await waitForModelStatus(page, ['ready', 'error']);
  expect(status, status === 'ready' ? '' : ((await panel.textContent()) ?? '')).toBe('ready');
  const { panel: prompts, cards } = await runAllPrompts(page);
  const accuracies = await dataValues(prompts.getByTestId('run-accuracy'));
  expect(accuracies).toHaveLength(cards);
  for (const accuracy of accuracies) expect(accuracy).toBeGreaterThan(0.5);
  expect(session.externalRequests).toEqual([]);
});
