/**
 * @file Model source `served` (browser): a folder the app's own server serves under a base URL, e.g.
 * `/models/` + `Xenova/all-MiniLM-L6-v2`, or a generated fixture under `/models/fixtures/`.
 */
import { requiredModelFiles } from '../../core/models/files.ts';
import type { Dtype } from '../../core/ports.ts';
import { announceServedModelFile } from '../../../offline/model-file-log.ts';
import { ModelFileMissingError } from '../model-errors.ts';
import { fetchModelBytes, joinUrl, missingFileHint, notAFile } from './common.ts';
import type { SourceKind, SourceOf } from './source-kind.ts';

/** The model ids transformers.js resolves under `env.localModelPath` (its REPO_ID_REGEX). */
const HUB_ID = /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/;

/**
 * Asks the server for each required file. A dev server answers a missing file with index.html, which onnxruntime
 * would report as "protobuf parsing failed", so an HTML answer counts as missing.
 */
async function checkServedFiles(baseUrl: string, id: string, dtype: Dtype): Promise<void> {
  const folderUrl = joinUrl(baseUrl, id);
  for (const file of requiredModelFiles(dtype)) {
    const url = joinUrl(folderUrl, file);
    let response: Response;
    try {
      response = await fetch(url, { method: 'HEAD', cache: 'no-store' });
    } catch (error) {
      throw new Error(`Could not request model file ${url}: ${String(error)}`, { cause: error });
    }
    const problem = notAFile(response);
    if (problem !== undefined) {
      throw new ModelFileMissingError(
        url,
        `Model file missing: ${url} (${problem}). ${missingFileHint(`models/${id}/`, dtype)}`,
      );
    }
  }
}

/**
 * transformers.js's own requests (config, tokenizer): fetched as it would, and each file answered whole is announced,
 * like the files {@link servedSource} reads itself.
 */
async function fetchAndAnnounce(url: string): Promise<Response> {
  const response = await fetch(url);
  if (notAFile(response) === undefined) announceServedModelFile(url);
  return response;
}

/** A model folder served by the app. */
export const servedSource: SourceKind<SourceOf<'served'>> = {
  describe: (source) => joinUrl(source.baseUrl, source.id),
  fileLocation: (source, file) => joinUrl(joinUrl(source.baseUrl, source.id), file),
  modelId: (source) => source.id,
  check: (source, dtype) => checkServedFiles(source.baseUrl, source.id, dtype),
  async read(source, file, _hub, onBytes, onSize) {
    const url = joinUrl(joinUrl(source.baseUrl, source.id), file);
    const bytes = await fetchModelBytes(url, onBytes, onSize);
    // A file read before the service worker controlled the page was not cached: the page hands it over later.
    announceServedModelFile(url);
    return bytes;
  },
  configure(source) {
    const id = source.id.replace(/^\/+|\/+$/g, '');
    return {
      // transformers.js prefixes `localModelPath` only to hub-style ids ("owner/name"); deeper ids go as full paths.
      reference: HUB_ID.test(id) ? id : joinUrl(source.baseUrl, id),
      allowRemoteModels: false,
      allowLocalModels: true,
      useBrowserCache: false,
      localModelPath: source.baseUrl,
      fetch: fetchAndAnnounce,
    };
  },
};
