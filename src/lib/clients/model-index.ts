/**
 * @file Reads `/models/index.json` (served by scripts/vite/serve-models.ts): the model folders the app can load.
 */
/** URL prefix the app serves model folders under (scripts/vite/serve-models.ts). */
export const MODELS_BASE_URL = '/models/';

/** One loadable model folder. */
export interface ModelEntry {
  /** Id under /models/, e.g. 'fixtures/tiny-bert' or 'Xenova/all-MiniLM-L6-v2'. */
  id: string;
  /** Generated test model: untrained, meaningful only on its designed inputs. */
  fixture: boolean;
  /** Dtypes whose ONNX file is present. */
  dtypes: string[];
}

/** The fixture model the app offers first: it always exists after `npm run fixtures`. */
export const DEFAULT_MODEL_ID = 'fixtures/tiny-bert';

function isModelEntry(value: unknown): value is ModelEntry {
  const entry = value as Partial<ModelEntry> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.id === 'string' &&
    typeof entry.fixture === 'boolean' &&
    Array.isArray(entry.dtypes) &&
    entry.dtypes.every((d) => typeof d === 'string')
  );
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
  if (!Array.isArray(body.models) || !body.models.every(isModelEntry)) {
    throw new Error(`${url} is not a model list ({ "models": [{ "id", "fixture", "dtypes" }] }).`);
  }
  return body.models;
}
