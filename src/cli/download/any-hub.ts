/**
 * @file Hub models the catalog does not list (`npm run models -- Xenova/bert-base-uncased`): validates the id
 * before any request, lists the repository through the hub API and picks the files a load needs for the dtypes
 * (config, tokenizer files and the ONNX file of each dtype, see core/models/files.ts). The result is a catalog
 * entry pinned to the listed commit, downloaded by the same downloader as catalog models (resume, sizes, SHA-256).
 */
import type { CatalogFile, HubCatalogModel } from '../../lib/core/models/catalog.ts';
import { ONNX_FILE_BY_DTYPE } from '../../lib/core/models/files.ts';
import type { Dtype } from '../../lib/core/ports.ts';
import type { RepoListing } from './hub-api.ts';

/** Files every model needs, whatever the dtype. */
export const ANY_HUB_SHARED_FILES: readonly string[] = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];
/** Files taken along when the repository has them. */
export const ANY_HUB_OPTIONAL_FILES: readonly string[] = ['special_tokens_map.json'];

/** Longest owner or name the hub accepts. */
const MAX_PART_LENGTH = 96;
const PART_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/;

/** An id that cannot be a hub repository: refused before any request. */
export class HubIdError extends Error {
  override readonly name = 'HubIdError';
}

/** A repository that lacks files a load needs. */
export class HubRepoContentError extends Error {
  override readonly name = 'HubRepoContentError';
}

/** Why `id` is not a valid hub model id (`owner/name`), or undefined when it is one. */
export function hubIdProblem(id: string): string | undefined {
  const parts = id.split('/');
  if (parts.length !== 2) return 'a hub id is "owner/name" with exactly one slash';
  for (const part of parts) {
    if (part.length === 0 || part.length > MAX_PART_LENGTH) {
      return `owner and name must each be 1 to ${MAX_PART_LENGTH} characters`;
    }
    if (!PART_PATTERN.test(part)) {
      return 'owner and name may hold only letters, digits, "-", "_" and ".", and must start and end with a letter or digit';
    }
    if (part.includes('..') || part.includes('--')) return 'owner and name may not contain ".." or "--"';
  }
  // models/fixtures/ is never served: the app serves the test fixtures under that prefix instead.
  if (parts[0]?.toLowerCase() === 'fixtures') return 'the owner "fixtures" is reserved for the test models';
  return undefined;
}

function catalogFile(listing: RepoListing, path: string): CatalogFile | undefined {
  const remote = listing.files.get(path);
  return remote === undefined ? undefined : { path, approxBytes: remote.size };
}

/**
 * A catalog entry for the repository `listing` describes, pinned to its commit, with the files needed for
 * `dtypes`. Throws {@link HubRepoContentError} naming what is missing and what the repository holds.
 */
export function hubModelFromListing(listing: RepoListing, dtypes: readonly Dtype[]): HubCatalogModel {
  const needed = [...ANY_HUB_SHARED_FILES, ...dtypes.map((dtype) => ONNX_FILE_BY_DTYPE[dtype])];
  const missing = needed.filter((path) => !listing.files.has(path));
  if (missing.length > 0) {
    const present = [...listing.files.keys()].sort();
    throw new HubRepoContentError(
      `${listing.id} (commit ${listing.commit}) lacks ${missing.join(', ')} needed for ${dtypes.join(' + ')}; ` +
        `it has: ${present.join(', ') || 'no files'}. Only transformers.js-ready repositories (ONNX under onnx/, ` +
        'tokenizer.json) load here; try another --dtype or a Xenova/ or onnx-community/ conversion.',
    );
  }
  const files = [...ANY_HUB_SHARED_FILES, ...ANY_HUB_OPTIONAL_FILES].flatMap(
    (path) => catalogFile(listing, path) ?? [],
  );
  const weights: Partial<Record<Dtype, CatalogFile[]>> = {};
  for (const dtype of dtypes)
    weights[dtype] = [catalogFile(listing, ONNX_FILE_BY_DTYPE[dtype]) as CatalogFile];
  return {
    id: listing.id,
    origin: 'hub',
    revision: listing.commit,
    name: listing.id,
    description: 'A hub model downloaded by id; not in the catalog.',
    // Only the downloader reads this entry; what the model is good for is not known from its files.
    family: 'encoder',
    tasks: ['feature-extraction'],
    uses: ['similarity', 'head'],
    license: 'see the model card on the hub',
    source: listing.id,
    files,
    dtypes: weights,
  };
}
