/**
 * @file Reads `/models/index.json` (served by scripts/vite/serve-models.ts): the model folders the app can load.
 */
import type { Dtype } from '../core/ports.ts';
import { DTYPES } from '../core/models/files.ts';

/** URL prefix the app serves model folders under (scripts/vite/serve-models.ts). */
export const MODELS_BASE_URL = '/models/';

/** One loadable model folder. */
export interface ModelEntry {
  /** Id under /models/, e.g. 'fixtures/tiny-bert' or 'Xenova/all-MiniLM-L6-v2'. */
  id: string;
  /** Generated test model: untrained, meaningful only on its designed inputs. */
  fixture: boolean;
  /** Dtypes whose ONNX file is present. */
  dtypes: Dtype[];
  /** Size in bytes of each present dtype's ONNX file. */
  onnxBytes: Partial<Record<Dtype, number>>;
}

/**
 * The model new experiments use and the first screen selects once it is built: Universal Sentence Encoder Lite,
 * which comes with `npm install` (`npm start` and `npm test` build it into models/).
 */
export const DEFAULT_MODEL_ID = 'universal-sentence-encoder-lite';

/** The untrained test model the app falls back to: it always exists after `npm run fixtures`. */
export const FIXTURE_MODEL_ID = 'fixtures/tiny-bert';

function isDtype(value: unknown): value is Dtype {
  return (DTYPES as readonly unknown[]).includes(value);
}

/** One entry of index.json, or undefined when it is not one; dtypes this app does not know are left out. */
function readModelEntry(value: unknown): ModelEntry | undefined {
  const entry = value as { id?: unknown; fixture?: unknown; dtypes?: unknown; onnxBytes?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) return undefined;
  if (typeof entry.id !== 'string' || typeof entry.fixture !== 'boolean' || !Array.isArray(entry.dtypes)) {
    return undefined;
  }
  const sizes = typeof entry.onnxBytes === 'object' && entry.onnxBytes !== null ? entry.onnxBytes : {};
  const onnxBytes: Partial<Record<Dtype, number>> = {};
  for (const [dtype, bytes] of Object.entries(sizes)) {
    if (isDtype(dtype) && typeof bytes === 'number') onnxBytes[dtype] = bytes;
  }
  return { id: entry.id, fixture: entry.fixture, dtypes: entry.dtypes.filter(isDtype), onnxBytes };
}

/** Fetches the list of served models; throws with a message saying what to do when it cannot. */
export async function fetchModelIndex(fetchImpl: typeof fetch = fetch): Promise<ModelEntry[]> {
  const url = `${MODELS_BASE_URL}index.json`;
  const response = await fetchImpl(url, { cache: 'no-store' });
  if (!response.ok) {
    throw new Error(
      `Could not list the models (${url} answered ${response.status}). Serve the app with \`npm run dev\` or ` +
        '`npm run preview`, which serve the models/ folder.',
    );
  }
  const body = (await response.json()) as { models?: unknown };
  const entries = Array.isArray(body.models) ? body.models.map(readModelEntry) : [];
  if (!Array.isArray(body.models) || entries.some((entry) => entry === undefined)) {
    throw new Error(`${url} is not a model list ({ "models": [{ "id", "fixture", "dtypes" }] }).`);
  }
  return entries as ModelEntry[];
}
