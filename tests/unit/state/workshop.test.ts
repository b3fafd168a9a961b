/**
 * @file The app's side of the workshop (src/lib/state/workshop.ts): a `?experiment=<name>` link fetches only
 * `/workshop/<name>.json` and hands the bytes to the import; bad names, missing files and network failures become
 * an import failure in plain words; and what the page says is limited in each kind of context.
 */
import { describe, expect, test } from 'vitest';
import type { ImportFailure } from '../../../src/lib/state/ExperimentLibrary.svelte.ts';
import { contextLimits, openPublishedExperiment } from '../../../src/lib/state/workshop.ts';
import type { PickedFile } from '../../../src/lib/storage/experiment-file.ts';

function fakeLibrary() {
  const imported: { name: string; text: string }[] = [];
  return {
    imported,
    importFailure: undefined as ImportFailure | undefined,
    async importFile(file: PickedFile): Promise<void> {
      imported.push({ name: file.name, text: new TextDecoder().decode(await file.arrayBuffer()) });
    },
  };
}

describe('openPublishedExperiment', () => {
  test('an address without the parameter does nothing', async () => {
    const library = fakeLibrary();
    const fetched: string[] = [];
    const after = await openPublishedExperiment(new URL('https://10.0.0.7:8443/'), library, (input) => {
      fetched.push(input);
      return Promise.resolve(new Response('{}'));
    });
    expect({ after, fetched, imported: library.imported }).toEqual({
      after: undefined,
      fetched: [],
      imported: [],
    });
  });

  test('fetches the published file, imports its bytes and drops the parameter from the address', async () => {
    const library = fakeLibrary();
    const fetched: string[] = [];
    const after = await openPublishedExperiment(
      new URL('https://10.0.0.7:8443/?experiment=spam-intro&x=1#top'),
      library,
      (input) => {
        fetched.push(input);
        return Promise.resolve(new Response('{"version":1}'));
      },
    );
    expect(fetched).toEqual(['/workshop/spam-intro.json']);
    expect(library.imported).toEqual([{ name: 'spam-intro.json', text: '{"version":1}' }]);
    expect(after?.href).toBe('https://10.0.0.7:8443/?x=1#top');
    expect(library.importFailure).toBeUndefined();
  });

  test.each([
    {
      name: 'a path',
      query: '..%2Fpackage',
      fetch: undefined,
      message: /is not the name of a published experiment/,
    },
    {
      name: 'an empty name',
      query: '',
      fetch: undefined,
      message: /is not the name of a published experiment/,
    },
    { name: 'a dotted name', query: 'a.b', fetch: undefined, message: /letters, digits/ },
    {
      name: 'a missing file',
      query: 'gone',
      fetch: 404,
      message: /The server has no experiment named "gone"/,
    },
    { name: 'a refusal', query: 'big', fetch: 413, message: /HTTP 413: too big/ },
    { name: 'no network', query: 'x', fetch: 'offline', message: /could not be fetched.*same network/ },
  ])('$name becomes an import failure, nothing imported', async ({ query, fetch, message }) => {
    const library = fakeLibrary();
    const fetched: string[] = [];
    const after = await openPublishedExperiment(
      new URL(`https://10.0.0.7:8443/?experiment=${query}`),
      library,
      (input) => {
        fetched.push(input);
        if (typeof fetch !== 'number') return Promise.reject(new TypeError('Failed to fetch'));
        return Promise.resolve(new Response('too big', { status: fetch }));
      },
    );
    if (fetch === undefined) expect(fetched).toEqual([]);
    expect(library.imported).toEqual([]);
    expect(library.importFailure?.message).toMatch(message);
    expect(after?.searchParams.has('experiment')).toBe(false);
  });
});

describe('contextLimits', () => {
  test.each([
    { context: { secure: true, isolated: true }, want: [] },
    { context: { secure: true, isolated: false }, want: ['single-threaded WASM'] },
    {
      context: { secure: false, isolated: false },
      want: ['single-threaded WASM', 'No offline use', 'No WebGPU'],
    },
  ])('secure $context.secure, isolated $context.isolated', ({ context, want }) => {
    const limits = contextLimits(context);
    expect(limits).toHaveLength(want.length);
    want.forEach((words, index) => expect(limits[index]).toContain(words));
  });
});
