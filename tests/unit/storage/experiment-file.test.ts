import { describe, expect, test } from 'vitest';
import { parseExperimentText, serializeExperiment } from '../../../src/lib/core/experiment/schema.ts';
import type { Experiment } from '../../../src/lib/core/experiment/types.ts';
import {
  experimentFileName,
  exportExperiment,
  ImportError,
  MAX_EXPERIMENT_FILE_BYTES,
  readExperimentFile,
  resultsFileName,
} from '../../../src/lib/storage/experiment-file.ts';

const valid: Experiment = {
  version: 1,
  name: 'Topics: prompts vs a head',
  model: 'fixtures/tiny-bert',
  dataset: { builtin: 'topics' },
  split: { test: 0.3, seed: 42 },
  prompts: [{ name: 'bare', strategy: 'similarity', template: '{label}' }],
  heads: [{ name: 'linear', layer: -1, pooling: 'mean', hidden: 0, epochs: 10, learningRate: 0.01, seed: 1 }],
};

function file(name: string, content: string | Uint8Array) {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  return { name, size: bytes.length, arrayBuffer: async () => bytes.slice().buffer };
}

async function importError(promise: Promise<unknown>): Promise<ImportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImportError);
  return error as ImportError;
}

describe('readExperimentFile', () => {
  test('reads a valid file, with or without a byte-order mark', async () => {
    await expect(readExperimentFile(file('a.json', JSON.stringify(valid)))).resolves.toEqual(valid);
    await expect(readExperimentFile(file('a.json', `\ufeff${JSON.stringify(valid)}`))).resolves.toEqual(
      valid,
    );
  });

  test('refuses a file over the limit before reading it', async () => {
    const huge = {
      name: 'big.json',
      size: MAX_EXPERIMENT_FILE_BYTES + 1,
      arrayBuffer: () => Promise.reject(new Error('read')),
    };
    const error = await importError(readExperimentFile(huge));
    expect(error.message).toBe(
      'The file is 50,000,001 bytes; an experiment file can be at most 50 MB. Choose the experiment file itself, not a ' +
        'dataset or results file.',
    );
    expect(error.fileName).toBe('big.json');
  });

  test.each([
    ['a PNG image', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]],
    ['a GIF image', [0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0]],
    ['a JPEG image', [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]],
    ['a RIFF file, perhaps a WebP image', [0x52, 0x49, 0x46, 0x46, 0x24, 0, 0, 0, 0x57, 0x45, 0x42, 0x50]],
    ['an Excel 97-2003 workbook (.xls)', [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0]],
    ['a PDF document', [0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a]],
    [
      'a zip archive, such as an Excel (.xlsx) or OpenDocument (.ods) workbook',
      [0x50, 0x4b, 3, 4, 0x14, 0, 6, 0],
    ],
    ['a gzip-compressed file', [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]],
    ['binary data (the control character U+0000 at line 2, column 3)', [0x7b, 0x0a, 0x20, 0x20, 0, 0x7d]],
  ])('a binary file renamed .json is named as such: %s', async (what, bytes) => {
    const error = await importError(readExperimentFile(file('photo.json', new Uint8Array(bytes))));
    expect(error.message).toBe(
      `"photo.json" is not an experiment file: it is ${what}, not JSON text. Choose an experiment file ` +
        'exported from this app (Export) or written as described in the README.',
    );
    expect(error.path).toBe('');
  });

  test('an empty file, or one with only a byte-order mark and spaces, says so', async () => {
    for (const text of ['', '\ufeff  \n']) {
      const error = await importError(readExperimentFile(file('empty.json', text)));
      expect(error.message).toMatch(/^The file is empty\./);
      expect(error.path).toBe('');
    }
  });

  test('an invalid field is reported with its path', async () => {
    const text = JSON.stringify({ ...valid, heads: [{ ...valid.heads[0], epochs: 0 }] });
    const error = await importError(readExperimentFile(file('bad.json', text)));
    expect(error.path).toBe('heads[0].epochs');
    expect(error.message).toBe('heads[0].epochs: must be from 1 to 1000; got 0.');
  });

  test('descriptions are checked against the labels of a built-in dataset', async () => {
    const text = JSON.stringify({
      ...valid,
      prompts: [{ name: 'd', strategy: 'similarity', descriptions: { food: 'meals', sports: 'games' } }],
    });
    const error = await importError(readExperimentFile(file('d.json', text)));
    expect(error.path).toBe('prompts[0].descriptions.weather');
  });

  test('a dataset named by path is not read at import (the browser has no file system)', async () => {
    const text = JSON.stringify({ ...valid, dataset: { path: 'spam.csv', text: 'text', label: 'label' } });
    await expect(readExperimentFile(file('p.json', text))).resolves.toMatchObject({
      dataset: { path: 'spam.csv' },
    });
  });
});

describe('readExperimentFile: instruction prompts', () => {
  const instruction = (verbalizers: Record<string, string>): Experiment => ({
    ...valid,
    prompts: [
      {
        name: 'ask',
        strategy: 'instruction',
        instruction: 'Topic?',
        verbalizers,
        model: 'fixtures/tiny-gpt2',
      },
    ],
  });

  test('imports one whose verbalizers name exactly the dataset labels', async () => {
    const experiment = instruction({ food: ' food', sports: ' sports', weather: ' weather' });
    await expect(readExperimentFile(file('a.json', JSON.stringify(experiment)))).resolves.toEqual(experiment);
  });

  test('refuses a label without a verbalizer, naming the field', async () => {
    const error = await importError(
      readExperimentFile(file('a.json', JSON.stringify(instruction({ food: ' food', sports: ' sports' })))),
    );
    expect(error.path).toBe('prompts[0].verbalizers');
    expect(error.message).toMatch(/label "weather" has no verbalizer/);
  });
});

describe('exportExperiment', () => {
  test('writes exactly the experiment file the CLI reads, named after the experiment', () => {
    const exported = exportExperiment(valid);
    expect(exported).toEqual({ fileName: 'topics-prompts-vs-a-head.json', text: serializeExperiment(valid) });
    expect(parseExperimentText(exported.text)).toEqual(valid);
  });

  test('an unfinished experiment is still exported, with what to fix', () => {
    const unfinished = {
      ...valid,
      prompts: [{ name: 'bare', strategy: 'similarity' as const, template: 'no label' }],
    };
    const exported = exportExperiment(unfinished);
    expect(JSON.parse(exported.text)).toEqual(unfinished);
    expect(exported.problem).toBe(
      'prompts[0].template: must contain {label} where each label goes, e.g. "This text is about {label}.".',
    );
  });

  test('file names', () => {
    expect(experimentFileName('  Spam: prompts vs a head! ')).toBe('spam-prompts-vs-a-head.json');
    expect(experimentFileName('???')).toBe('experiment.json');
    expect(resultsFileName('Topics')).toBe('topics.results.json');
  });
});
