/**
 * @file The app's side of a classroom served with `npm run workshop`: opening an experiment the host published
 * (`/?experiment=<name>` → `/workshop/<name>.json`, imported through the usual validation), and saying what is
 * limited when the page is not in a secure, cross-origin-isolated context.
 */
import type { ImportFailure } from './ExperimentLibrary.svelte.ts';
import type { PickedFile } from '../storage/experiment-file.ts';

/** URL prefix the workshop server serves published experiments under. */
export const PUBLISHED_URL_PREFIX = '/workshop/';

/** The query parameter naming a published experiment to open. */
export const PUBLISHED_QUERY = 'experiment';

/** A published experiment's name: letters, digits, `-` and `_` (so it can never name a path). */
export const PUBLISHED_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** What opening a published experiment needs of the experiment library. */
export interface PublishedImporter {
  importFile(file: PickedFile): Promise<void>;
  importFailure: ImportFailure | undefined;
}

/**
 * Opens the published experiment named in `url`'s `?experiment=`, if any: fetches it from the same server and
 * imports it as a picked file would be (validated; added as a new experiment; on failure `importFailure` says why).
 * Returns the address to show afterwards, without the parameter, so a reload does not import it a second time;
 * undefined when the address names no experiment.
 */
export async function openPublishedExperiment(
  url: URL,
  library: PublishedImporter,
  fetchFile: (input: string) => Promise<Response> = (input) => fetch(input),
): Promise<URL | undefined> {
  const name = url.searchParams.get(PUBLISHED_QUERY);
  if (name === null) return undefined;
  const after = new URL(url.href);
  after.searchParams.delete(PUBLISHED_QUERY);
  const fileName = `${name}.json`;
  const fail = (message: string): URL => {
    library.importFailure = { fileName, message, path: '' };
    return after;
  };
  if (!PUBLISHED_NAME.test(name)) {
    return fail(
      `"${name}" is not the name of a published experiment: names are letters, digits, "-" and "_". ` +
        'Check the link the teacher gave.',
    );
  }
  let response: Response;
  try {
    response = await fetchFile(`${PUBLISHED_URL_PREFIX}${name}.json`);
  } catch (error) {
    return fail(
      `The experiment could not be fetched from the teacher's server (${error instanceof Error ? error.message : String(error)}). ` +
        'Check that you are on the same network and that the server is still running, then reload.',
    );
  }
  if (!response.ok) {
    const detail = (await response.text().catch(() => '')).trim();
    return fail(
      response.status === 404
        ? `The server has no experiment named "${name}". Check the link, or ask the teacher to publish it.`
        : `The server refused the experiment (HTTP ${response.status}${detail ? `: ${detail}` : ''}).`,
    );
  }
  const bytes = await response.arrayBuffer();
  await library.importFile({
    name: fileName,
    size: bytes.byteLength,
    arrayBuffer: () => Promise.resolve(bytes),
  });
  return after;
}

/**
 * What this page cannot do in its context, in plain words: empty in a secure, cross-origin-isolated page. A page
 * served over plain HTTP on a network address is not a secure context, so browsers withhold threads, service
 * workers and WebGPU; a secure page without the isolation headers still runs single-threaded.
 */
export function contextLimits(context: { secure: boolean; isolated: boolean }): string[] {
  const limits: string[] = [];
  if (!context.isolated || !context.secure) {
    limits.push('Models run on a single thread (single-threaded WASM), so loading and scoring are slower.');
  }
  if (!context.secure) {
    limits.push('No offline use: the app cannot install itself for use without the server.');
    limits.push('No WebGPU: the graphics card is not used, even where the browser supports it.');
  }
  return limits;
}
