/**
 * @file Best device, honestly reported. With `--enable-unsafe-webgpu` headless Chromium offers its software
 * adapter (SwiftShader): the fixture runs on WebGPU when asked, its embeddings match WASM's, and 'auto' prefers WASM
 * over a software adapter, saying so. Without the flag there is no adapter: a WebGPU request runs on WASM and says
 * why. The embedding comparison talks to the app's own model worker through its protocol.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { openTab, RUN_TIMEOUT_MS, UI_TIMEOUT_MS } from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';
import { chooseDeviceAndDtype, loadOutcome, modelWorker, notices } from './models-helpers.ts';
import { installWorkerCall, type WorkerCallGlobal } from './worker-call.ts';

/** Embeddings of the same texts on WebGPU and WASM may differ by float rounding, no more. */
const WEBGPU_TOLERANCE = 1e-3;
/** Short texts: SwiftShader runs kernels on the CPU, about 100× slower than WASM. */
const TEXTS = ['the team won the match', 'rain and snow tomorrow', 'a recipe for soup', 'win money now'];
const LAYERS = [0, 2, -1];
/** SwiftShader compiles every WebGPU kernel on first use. */
const WEBGPU_TIMEOUT_MS = 180_000;
/** The real model (28 MB, 512 wide) on SwiftShader: two short texts, loads and kernels on a busy machine. */
const REAL_MODEL_WEBGPU_TIMEOUT_MS = 300_000;
/** The real model's sentence embeddings are unit vectors (entries ≈ 0.05): float rounding stays below this. */
const REAL_MODEL_TOLERANCE = 1e-4;
/**
 * Three texts per class of the built-in topics dataset's labels: its test split (fraction 0.3) holds one text per
 * class, so a prompt run on SwiftShader embeds three short texts instead of the whole built-in test split.
 */
const SMALL_DATASET = [
  'text,label',
  'fresh bread and soup for lunch,food',
  'the chef bakes a chocolate cake,food',
  'rice and noodles for dinner tonight,food',
  'the team wins the final match,sports',
  'tennis champion wins again,sports',
  'football match ends in a draw,sports',
  'sunny forecast for the weekend,weather',
  'snow and frost in the morning,weather',
  'strong wind and storm warning,weather',
].join('\n');

/** Replaces the dataset in use with {@link SMALL_DATASET} through the data panel's file input. */
async function useSmallDataset(page: Page): Promise<void> {
  const panel = await openTab(page, 'data');
  await panel
    .getByTestId('dataset-file-input')
    .setInputFiles({ name: 'small.csv', mimeType: 'text/csv', buffer: Buffer.from(SMALL_DATASET, 'utf8') });
  const draft = panel.getByTestId('dataset-draft');
  await draft.waitFor({ timeout: UI_TIMEOUT_MS });
  await draft.getByTestId('use-dataset').click({ timeout: UI_TIMEOUT_MS });
  await panel
    .getByTestId('current-dataset-name')
    .filter({ hasText: 'small.csv' })
    .waitFor({ timeout: UI_TIMEOUT_MS });
  await expect(panel.getByTestId('split-test-count').allTextContents()).resolves.toEqual(['1', '1', '1']);
}

/** Runs the prompt variation `name` alone and returns its card once the card shows a score. */
async function runOnePrompt(page: Page, name: string, timeout: number): Promise<Locator> {
  const prompts = await openTab(page, 'prompts');
  const card = prompts.locator(`[data-testid="prompt-card"][data-name="${name}"]`);
  await card.getByTestId('prompt-run').click({ timeout: UI_TIMEOUT_MS });
  await card.getByTestId('run-accuracy').waitFor({ timeout });
  await expect(prompts.getByTestId('prompt-error').count()).resolves.toBe(0);
  return card;
}

async function loadFixture(page: Page, device: string, dtype: string): Promise<string> {
  await page.getByTestId('model-select').selectOption('fixtures/tiny-bert');
  await chooseDeviceAndDtype(page, device, dtype);
  await page.getByTestId('model-load').click();
  return loadOutcome(page, WEBGPU_TIMEOUT_MS);
}

/**
 * Starts two more copies of the app's model worker, loads the fixture on WebGPU in one and WASM in the other,
 * and returns both sets of pooled vectors (per layer, mean and cls pooling) plus what each reported running on.
 * All settings come from one `embed-outputs` request (one forward pass per batch, as the app's runs do): pooling
 * is plain JavaScript after the session, so what differs by device is the session's hidden states, and every
 * layer of those is compared. `reloaded` is set when the worker had to fall back to WASM mid-request.
 */
async function embedOnBothDevices(
  page: Page,
  workerUrl: string,
  model = 'fixtures/tiny-bert',
  settings: { layer: number; pooling: string }[] = LAYERS.flatMap((layer) =>
    ['mean', 'cls'].map((pooling) => ({ layer, pooling })),
  ),
  texts: readonly string[] = TEXTS,
) {
  await installWorkerCall(page);
  return page.evaluate(
    async ({ url, texts, settings, model }) => {
      const start = (name: string) => (globalThis as unknown as WorkerCallGlobal).startTestWorker(url, name);
      const source = { kind: 'served', baseUrl: '/models/', id: model };
      const results: Record<string, { device: string; reloaded?: string; vectors: number[][][] }> = {};
      for (const device of ['webgpu', 'wasm']) {
        const { worker, call } = start(`embeddings-${device}`);
        const loaded = (await call({ type: 'load', source, device, dtype: 'fp32' })) as {
          info: { device: string };
        };
        const reply = (await call({ type: 'embed-outputs', texts, outputs: settings })) as {
          vectors: Float32Array[][];
          reloaded?: { device: string };
        };
        const vectors = reply.vectors.map((set) => set.map((v) => Array.from(v)));
        results[device] = { device: loaded.info.device, reloaded: reply.reloaded?.device, vectors };
        worker.terminate();
      }
      return results;
    },
    { url: workerUrl, texts, settings, model },
  );
}

/** Largest difference between the WebGPU and WASM vectors, and the largest WASM value (to show they are not 0). */
function compareDevices(results: Awaited<ReturnType<typeof embedOnBothDevices>>) {
  const gpu = results.webgpu?.vectors ?? [];
  const cpu = results.wasm?.vectors ?? [];
  let maxDiff = 0;
  let maxAbs = 0;
  gpu.forEach((set, s) =>
    set.forEach((vector, t) =>
      vector.forEach((value, d) => {
        const other = cpu[s]?.[t]?.[d] ?? Number.NaN;
        maxDiff = Math.max(maxDiff, Math.abs(value - other));
        maxAbs = Math.max(maxAbs, Math.abs(other));
      }),
    ),
  );
  return { sets: gpu.length, maxDiff, maxAbs };
}

describe('with a WebGPU adapter (SwiftShader, --enable-unsafe-webgpu)', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await openBrowser({ extraArgs: ['--enable-unsafe-webgpu'] });
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await openTab(page, 'model');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('the app sees the adapter and names it', async () => {
    const capabilities = page.getByTestId('model-capabilities');
    await capabilities.waitFor({ timeout: UI_TIMEOUT_MS });
    await expect(capabilities.textContent()).resolves.toMatch(
      /WebGPU adapter google swiftshader \(software\)/,
    );
  });

  test('asked for WebGPU, the fixture runs on WebGPU in fp32, with the software adapter named', async () => {
    expect(await loadFixture(page, 'webgpu', 'auto')).toBe('ready');
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('webgpu');
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('fp32');
    await expect(page.getByTestId('model-adapter').textContent()).resolves.toContain('swiftshader');
    // With an adapter the worker starts the runtime build that serves WebGPU too.
    await expect(page.getByTestId('model-runtime').textContent()).resolves.toContain('WebGPU and WASM build');
    expect(await notices(page)).toContainEqual(expect.stringContaining('software WebGPU adapter'));

    // A prompt scored on WebGPU, on a dataset small enough for SwiftShader: the run goes through the loaded model
    // (it would not start without one), and the model is still on WebGPU afterwards (no silent fallback).
    await useSmallDataset(page);
    await runOnePrompt(page, 'bare labels', RUN_TIMEOUT_MS + WEBGPU_TIMEOUT_MS);
    await openTab(page, 'model');
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('webgpu');
  });

  test('q8 is never run on WebGPU: full precision is used instead, and the notice says why', async () => {
    expect(await loadFixture(page, 'webgpu', 'q8')).toBe('ready');
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('webgpu');
    await expect(page.getByTestId('model-dtype').textContent()).resolves.toBe('fp32');
    expect(await notices(page)).toContainEqual(
      expect.stringContaining('Quantized (q8) weights have given silently wrong results on WebGPU'),
    );
  });

  test("'auto' prefers WASM to a software adapter and says so", async () => {
    expect(await loadFixture(page, 'auto', 'auto')).toBe('ready');
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('wasm');
    expect(await notices(page)).toContainEqual(
      expect.stringMatching(
        /only WebGPU adapter here is a software one \(google swiftshader\).*running on WASM/,
      ),
    );
  });

  test(`embeddings on WebGPU match WASM within ${WEBGPU_TOLERANCE} for every layer and pooling`, async () => {
    const worker = await modelWorker(page);
    const results = await withTimeout(
      embedOnBothDevices(page, worker.url()),
      WEBGPU_TIMEOUT_MS,
      'embed on WebGPU and WASM',
    );
    expect(results.webgpu?.device).toBe('webgpu');
    expect(results.webgpu?.reloaded).toBeUndefined();
    expect(results.wasm?.device).toBe('wasm');
    const { sets, maxDiff, maxAbs } = compareDevices(results);
    expect(sets).toBe(LAYERS.length * 2);
    console.info(
      `WebGPU vs WASM: max |difference| ${maxDiff.toExponential(2)} (values up to ${maxAbs.toFixed(2)})`,
    );
    expect(maxAbs).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThan(WEBGPU_TOLERANCE);
  });

  test(
    `the real model on WebGPU matches WASM: sentence embeddings within ${REAL_MODEL_TOLERANCE}, layer 0 within ${WEBGPU_TOLERANCE}`,
    async () => {
      const worker = await modelWorker(page);
      const results = await withTimeout(
        embedOnBothDevices(
          page,
          worker.url(),
          'universal-sentence-encoder-lite',
          [
            { layer: -1, pooling: 'sentence' },
            { layer: 0, pooling: 'mean' },
          ],
          TEXTS.slice(0, 2),
        ),
        REAL_MODEL_WEBGPU_TIMEOUT_MS,
        'embed with the real model on WebGPU and WASM',
      );
      expect(results.webgpu?.device).toBe('webgpu');
      expect(results.webgpu?.reloaded).toBeUndefined();
      expect(results.wasm?.device).toBe('wasm');
      expect(compareDevices(results).sets).toBe(2);
      // One comparison per setting: the sentence embedding (unit vectors) and layer 0 (values up to ~5).
      const [sentence, layer0] = [0, 1].map((set) =>
        compareDevices({
          webgpu: { device: 'webgpu', vectors: [results.webgpu?.vectors[set] ?? []] },
          wasm: { device: 'wasm', vectors: [results.wasm?.vectors[set] ?? []] },
        }),
      );
      console.info(
        `Real model, WebGPU vs WASM: sentence embedding max |difference| ${sentence?.maxDiff.toExponential(2)}, ` +
          `layer 0 ${layer0?.maxDiff.toExponential(2)} (values up to ${layer0?.maxAbs.toFixed(2)})`,
      );
      expect(sentence?.maxAbs).toBeGreaterThan(0.01);
      expect(sentence?.maxDiff).toBeLessThan(REAL_MODEL_TOLERANCE);
      expect(layer0?.maxDiff).toBeLessThan(WEBGPU_TOLERANCE);
    },
    REAL_MODEL_WEBGPU_TIMEOUT_MS + 30_000,
  );

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});

describe('without a WebGPU adapter (plain headless Chromium)', () => {
  let session: BrowserSession;
  let page: Page;

  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
    await openTab(page, 'model');
  });

  afterAll(async () => {
    await session?.close();
  });

  test('a WebGPU request falls back to WASM and says why', async () => {
    expect(await loadFixture(page, 'webgpu', 'auto')).toBe('ready');
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('wasm');
    await expect(page.getByTestId('model-info').textContent()).resolves.toContain('(asked: webgpu)');
    // No adapter when the worker started: it runs the CPU-only build, and the notice says when that was checked.
    await expect(page.getByTestId('model-runtime').textContent()).resolves.toContain('CPU-only build');
    expect(await notices(page)).toContainEqual(
      expect.stringMatching(
        /^WebGPU was requested, but the browser found no WebGPU adapter.*checked when the page started, reload it to check again.*Running on WASM instead\./,
      ),
    );
    await expect(page.getByTestId('model-capabilities').textContent()).resolves.toContain('no WebGPU');
  });

  test("'auto' runs on WASM and says WebGPU is not available", async () => {
    expect(await loadFixture(page, 'auto', 'auto')).toBe('ready');
    await expect(page.getByTestId('model-device').textContent()).resolves.toBe('wasm');
    expect(await notices(page)).toContainEqual(expect.stringMatching(/^WebGPU is not available: /));
    // Cross-origin isolated: WASM gets more than one thread on a multi-core machine.
    const threads = Number(await page.getByTestId('model-threads').textContent());
    expect(threads).toBeGreaterThanOrEqual(1);
  });

  test('logged no console errors and made no request beyond 127.0.0.1', () => {
    expect(session.consoleErrors).toEqual([]);
    expect(session.externalRequests).toEqual([]);
  });
});
