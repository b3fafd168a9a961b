/**
 * @file Model source `hub` (browser): a model on the Hugging Face hub, read from the browser cache first; files
 * missing there are downloaded (and cached, so the next load is offline) only when the source allows downloads,
 * otherwise nothing leaves the machine. Cache keys are the download URLs, exactly as transformers.js stores them.
 */
import { requiredModelFiles, type CachedHubFile, type HubFile } from '../../core/models/files.ts';
import type { Dtype } from '../../core/ports.ts';
import { ModelFileMissingError } from '../model-errors.ts';
import { fetchModelBytes, type ByteReport } from './common.ts';
import type { HubLocation, SourceKind, SourceOf } from './source-kind.ts';

type HubSource = SourceOf<'hub'>;

/** transformers.js' own `pathJoin`, so hub URLs match the keys it caches files under. */
function hubPathJoin(...parts: string[]): string {
  return parts
    .map((part, index) => {
      let trimmed = index > 0 ? part.replace(/^\//, '') : part;
      if (index !== parts.length - 1) trimmed = trimmed.replace(/\/$/, '');
      return trimmed;
    })
    .join('/');
}

/**
 * The URL transformers.js downloads a hub file from, which is also the key it (and this app) stores the file
 * under in the browser cache.
 */
export function hubFileUrl(hub: HubLocation, id: string, revision: string, file: string): string {
  const path = hub.remotePathTemplate
    .replaceAll('{model}', id)
    .replaceAll('{revision}', encodeURIComponent(revision));
  return hubPathJoin(hub.remoteHost, path, file);
}

/** The browser cache hub downloads go to, or undefined where there is none (Node, blocked storage). */
async function hubCache(hub: HubLocation): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined;
  return caches.open(hub.cacheKey).catch(() => undefined);
}

/** The hub files among `files` that are in the browser cache (so they load offline), with their stored size. */
export async function cachedHubFiles(hub: HubLocation, files: readonly HubFile[]): Promise<CachedHubFile[]> {
  const cache = await hubCache(hub);
  if (!cache) return [];
  const found: CachedHubFile[] = [];
  for (const file of files) {
    const response = await cache.match(hubFileUrl(hub, file.id, file.revision, file.path));
    if (!response) continue;
    const declared = Number(response.headers.get('content-length'));
    found.push({ ...file, bytes: declared > 0 ? declared : (await response.blob()).size });
  }
  return found;
}

/**
 * Every required file must be in the browser cache, or, when downloads are allowed, on the hub (asked with HEAD,
 * so a wrong id or a missing precision is named before anything is downloaded). With downloads off nothing leaves
 * the machine.
 */
async function checkHubFiles(source: HubSource, dtype: Dtype, hub: HubLocation): Promise<void> {
  const cache = await hubCache(hub);
  for (const file of requiredModelFiles(dtype)) {
    const url = hubFileUrl(hub, source.id, source.revision, file);
    if (cache && (await cache.match(url))) continue;
    if (source.allowDownload) {
      let response: Response;
      try {
        response = await fetch(url, { method: 'HEAD' });
      } catch (error) {
        throw new Error(
          `Could not reach the Hugging Face hub for ${url} (${String(error)}). Check the connection, or run ` +
            `\`npm run models -- ${source.id}\` on a machine that can and load the model from models/.`,
          { cause: error },
        );
      }
      if (response.ok) continue;
      throw new ModelFileMissingError(
        url,
        `Model file missing on the hub: ${url} (HTTP ${response.status}). Check the model id and revision, or ` +
          `choose a precision the model offers.`,
      );
    }
    throw new ModelFileMissingError(
      url,
      `${file} of ${source.id} (${dtype}) is not in this browser's cache, and model downloads are off, so it ` +
        'was not fetched. Allow model downloads from the Hugging Face hub, or run ' +
        `\`npm run models -- ${source.id}\` and load the model from models/.`,
    );
  }
}

/**
 * A hub file from the browser cache, or (when the source allows downloads) from the hub, stored in the cache under
 * the same key transformers.js uses, so the next load is offline.
 */
async function readHubFile(
  source: HubSource,
  file: string,
  hub: HubLocation,
  onBytes: ByteReport,
  onSize?: (bytes: number) => void,
): Promise<Uint8Array> {
  const url = hubFileUrl(hub, source.id, source.revision, file);
  const cache = await hubCache(hub);
  const cached = await cache?.match(url);
  if (cached) return fetchModelBytes(url, onBytes, onSize, cached);
  if (!source.allowDownload) {
    throw new ModelFileMissingError(
      url,
      `${file} of ${source.id} is not in this browser's cache, and model downloads are off. Allow downloads, or ` +
        `run \`npm run models -- ${source.id}\` and load the model from models/.`,
    );
  }
  const bytes = await fetchModelBytes(url, onBytes, onSize);
  // Model bytes never live in a SharedArrayBuffer (downloads are read into plain ones).
  const body = bytes as Uint8Array<ArrayBuffer>;
  await cache
    ?.put(
      url,
      new Response(body, {
        headers: { 'content-length': String(body.byteLength), 'content-type': 'application/octet-stream' },
      }),
    )
    // A full quota only costs the offline copy; this load goes on from memory.
    .catch(() => undefined);
  return bytes;
}

/** A model on the Hugging Face hub. */
export const hubSource: SourceKind<HubSource> = {
  describe: (source) => `${source.id} (Hugging Face hub)`,
  fileLocation: (source, file, hub) => hubFileUrl(hub, source.id, source.revision, file),
  modelId: (source) => source.id,
  check: checkHubFiles,
  read: readHubFile,
  configure: (source) => ({
    reference: source.id,
    revision: source.revision,
    // Cache first (transformers.js looks there before anything else); the hub only when downloads are allowed.
    useBrowserCache: typeof caches !== 'undefined',
    allowRemoteModels: source.allowDownload,
    allowLocalModels: !source.allowDownload,
  }),
};
