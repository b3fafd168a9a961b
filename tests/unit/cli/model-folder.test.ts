import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError, resolveModelFolder } from '../../../src/cli/model-folder.ts';

let root: string;
let experimentDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'model-folder-'));
  experimentDir = join(root, 'experiments');
  await mkdir(join(root, 'models/Xenova/all-MiniLM-L6-v2'), { recursive: true });
  await mkdir(join(root, 'tests/fixtures/models/tiny-bert'), { recursive: true });
  await mkdir(join(experimentDir, 'local-model'), { recursive: true });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveModelFolder', () => {
  it('reads hub ids from models/ and fixtures/ ids from tests/fixtures/models/', () => {
    expect(resolveModelFolder('Xenova/all-MiniLM-L6-v2', experimentDir, root)).toBe(
      join(root, 'models/Xenova/all-MiniLM-L6-v2'),
    );
    expect(resolveModelFolder('fixtures/tiny-bert', experimentDir, root)).toBe(
      join(root, 'tests/fixtures/models/tiny-bert'),
    );
  });

  it('treats ./, ../, absolute paths and existing folders next to the experiment as folder paths', () => {
    expect(resolveModelFolder('./local-model', experimentDir, root)).toBe(join(experimentDir, 'local-model'));
    expect(resolveModelFolder('local-model', experimentDir, root)).toBe(join(experimentDir, 'local-model'));
    expect(resolveModelFolder('../models/Xenova/all-MiniLM-L6-v2', experimentDir, root)).toBe(
      join(root, 'models/Xenova/all-MiniLM-L6-v2'),
    );
    expect(resolveModelFolder(join(root, 'tests/fixtures/models/tiny-bert'), experimentDir, root)).toBe(
      join(root, 'tests/fixtures/models/tiny-bert'),
    );
  });

  it('names every place it looked and how to get a missing model', () => {
    const missingId = () => resolveModelFolder('Xenova/not-here', experimentDir, root);
    expect(missingId).toThrow(ModelNotFoundError);
    expect(missingId).toThrow(join(experimentDir, 'Xenova/not-here'));
    expect(missingId).toThrow(`Download the model into ${join(root, 'models/Xenova/not-here')}/`);

    expect(() => resolveModelFolder('fixtures/absent', experimentDir, root)).toThrow(
      new RegExp(`${join(root, 'tests/fixtures/models/absent')}.*npm run fixtures`),
    );
    expect(() => resolveModelFolder('./nowhere', experimentDir, root)).toThrow(
      `Looked in: ${join(experimentDir, 'nowhere')}.`,
    );
    expect(() => resolveModelFolder('~/surely-no-such-model-folder', experimentDir, root)).toThrow(
      join(homedir(), 'surely-no-such-model-folder'),
    );
  });
});
