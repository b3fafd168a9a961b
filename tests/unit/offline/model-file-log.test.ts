/**
 * @file The served-model-file announcements (src/offline/model-file-log.ts): the message the service worker accepts,
 * and the channel from the model worker to the page.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  CACHE_MODEL_FILES,
  MODEL_FILE_CHANNEL,
  announceServedModelFile,
  isCacheModelFilesMessage,
  listenForServedModelFiles,
} from '../../../src/offline/model-file-log.ts';

describe('isCacheModelFilesMessage', () => {
  test.each([
    ['a list of URLs', { type: CACHE_MODEL_FILES, urls: ['http://a/models/x/config.json'] }, true],
    ['an empty list', { type: CACHE_MODEL_FILES, urls: [] }, true],
    ['another type', { type: 'SKIP_WAITING', urls: [] }, false],
    ['no urls', { type: CACHE_MODEL_FILES }, false],
    ['urls not an array', { type: CACHE_MODEL_FILES, urls: 'http://a/models/x' }, false],
    ['a non-string url', { type: CACHE_MODEL_FILES, urls: ['http://a/models/x', 3] }, false],
    ['null', null, false],
    ['a string', CACHE_MODEL_FILES, false],
  ])('%s', (_name, data, expected) => {
    expect(isCacheModelFilesMessage(data)).toBe(expected);
  });
});

describe('served model file announcements', () => {
  afterEach(() => vi.unstubAllGlobals());

  test('reach a listener as absolute URLs, resolved against the announcing context', async () => {
    vi.stubGlobal('location', new URL('http://127.0.0.1:5173/assets/model.worker.js'));
    const heard: string[] = [];
    const arrived = new Promise<void>((resolve) => {
      const stop = listenForServedModelFiles((url) => {
        heard.push(url);
        stop();
        resolve();
      });
    });
    announceServedModelFile('/models/fixtures/tiny-bert/config.json');
    await arrived;
    expect(heard).toEqual(['http://127.0.0.1:5173/models/fixtures/tiny-bert/config.json']);
  });

  test('a listener ignores messages on the channel that are not URLs', async () => {
    vi.stubGlobal('location', new URL('http://127.0.0.1:5173/'));
    const heard: string[] = [];
    const done = new Promise<void>((resolve) => {
      const stop = listenForServedModelFiles((url) => {
        heard.push(url);
        stop();
        resolve();
      });
    });
    const stray = new BroadcastChannel(MODEL_FILE_CHANNEL);
    stray.postMessage({ url: '/models/evil' });
    stray.close();
    announceServedModelFile('/models/a.json');
    await done;
    expect(heard).toEqual(['http://127.0.0.1:5173/models/a.json']);
  });

  test('announcing without a location (Node, the CLI) does nothing and does not throw', () => {
    vi.stubGlobal('location', undefined);
    expect(() => announceServedModelFile('/models/a.json')).not.toThrow();
  });
});
