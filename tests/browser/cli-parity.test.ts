/**
 * @file The browser and the CLI give the same numbers for the same experiment file: run the default experiment
 * in the app (ORT WASM, tfjs WASM, in workers), download its experiment file and results, run that file through
 * the CLI's `runExperiment` here in Node (onnxruntime-node, tfjs cpu) and compare run by run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createNodeDependencies } from '../../src/cli/node-dependencies.ts';
import { runExperiment } from '../../src/lib/core/experiment/run.ts';
import { parseExperimentText } from '../../src/lib/core/experiment/schema.ts';
import type { ExperimentResults } from '../../src/lib/core/experiment/types.ts';
import {
  downloadText,
  openTab,
  RUN_TIMEOUT_MS,
  startModelLoad,
  UI_TIMEOUT_MS,
  waitForHeadStatus,
  waitForModelStatus,
} from './app-driver.ts';
import { openBrowser, withTimeout, type BrowserSession } from './browser.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Cosine similarities and probabilities may differ in the last float digits between ORT WASM and ORT CPU, and
 * between tfjs WASM and tfjs CPU; predictions and metrics must not.
 */
const SCORE_TOLERANCE = 1e-3;

let session: BrowserSession;
let page: Page;
let workDir: string;

describe('browser and CLI parity', () => {
  beforeAll(async () => {
    session = await openBrowser();
    page = session.page;
    workDir = await mkdtemp(path.join(tmpdir(), 'pvf-parity-'));
    await withTimeout(page.goto(inject('baseUrl')), UI_TIMEOUT_MS, 'open the app');
  });

  afterAll(async () => {
    await session?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('the default experiment gives the same predictions and metrics in the browser and the CLI', async () => {
    const modelPanel = await openTab(page, 'model');
    await startModelLoad(modelPanel);
    expect(await waitForModelStatus(page, ['ready', 'error'])).toBe('ready');

    const prompts = await openTab(page, 'prompts');
    const promptCount = await prompts.getByTestId('prompt-card').count();
    await prompts.getByTestId('prompts-run-all').click();
    await prompts
      .getByTestId('run-accuracy')
      .nth(promptCount - 1)
      .waitFor({ timeout: RUN_TIMEOUT_MS });

    const finetune = await openTab(page, 'finetune');
    await finetune.getByTestId('head-train').click();
    await waitForHeadStatus(page, 'done');

    const compare = await openTab(page, 'compare');
    const experimentText = await downloadText(page, compare.getByTestId('export-experiment'));
    const browser = JSON.parse(
      await downloadText(page, compare.getByTestId('export-results')),
    ) as ExperimentResults;

    const experimentFile = path.join(workDir, 'experiment.json');
    await writeFile(experimentFile, experimentText);
    const dependencies = createNodeDependencies({
      experimentFile,
      projectRoot: root,
      dtype: 'fp32',
      onProgress: () => {},
    });
    let cli: ExperimentResults;
    try {
      cli = await runExperiment(parseExperimentText(experimentText), dependencies);
    } finally {
      await dependencies.dispose();
    }

    expect(browser.labels).toEqual(cli.labels);
    expect(browser.split).toEqual(cli.split);
    expect(browser.runs.map((r) => [r.kind, r.name])).toEqual(cli.runs.map((r) => [r.kind, r.name]));
    expect(browser.runs).toHaveLength(promptCount + 1);
    browser.runs.forEach((run, i) => {
      const other = cli.runs[i];
      if (!other) throw new Error(`The CLI has no run ${i} (${run.name}).`);
      expect(run.accuracy, run.name).toBe(other.accuracy);
      expect(run.macroF1, run.name).toBe(other.macroF1);
      expect(run.confusion, run.name).toEqual(other.confusion);
      expect(run.cost.labeledExamples, run.name).toBe(other.cost.labeledExamples);
      expect(run.cost.trainedParameters, run.name).toBe(other.cost.trainedParameters);
      expect(run.predictions.map((p) => [p.id, p.label])).toEqual(
        other.predictions.map((p) => [p.id, p.label]),
      );
      run.predictions.forEach((prediction, k) => {
        for (const label of browser.labels) {
          const expected = other.predictions[k]?.scores[label] ?? Number.NaN;
          expect(Math.abs((prediction.scores[label] ?? Number.NaN) - expected)).toBeLessThan(SCORE_TOLERANCE);
        }
      });
    });
    expect(session.externalRequests).toEqual([]);
    expect(session.consoleErrors).toEqual([]);
  });
});
