/**
 * @file Model source `files` (browser): a model folder the user picked on disk. Its files are read in place,
 * never uploaded; transformers.js reaches them through `env.fetch` under a path that exists nowhere else.
 */
import { requiredModelFiles } from '../../core/models/files.ts';
import type { Dtype } from '../../core/ports.ts';
import { ModelFileMissingError } from '../model-errors.ts';
import { missingFileHint, otherOnnxFiles } from './common.ts';
import type { SourceKind, SourceOf } from './source-kind.ts';

type PickedSource = SourceOf<'files'>;

/** Where transformers.js looks for a picked folder's files; only the source's own `fetch` answers it. */
const PICKED_FILES_PATH = '/picked-model-folder/';
/** The model id a picked folder goes by inside transformers.js. */
const PICKED_REFERENCE = 'picked/model';

/** The picked file at `path` (inside the model folder), if any. */
function pickedFile(source: PickedSource, path: string): Blob | undefined {
  return source.files.find((file) => file.path === path)?.data;
}

/** Every required file must be among the picked files. */
function checkPickedFiles(source: PickedSource, dtype: Dtype): void {
  const paths = new Set(source.files.map((file) => file.path));
  for (const file of requiredModelFiles(dtype)) {
    if (paths.has(file)) continue;
    const onnxFolder = [...paths].filter((path) => path.startsWith('onnx/'));
    throw new ModelFileMissingError(
      `${source.name}/${file}`,
      `Model file missing: ${source.name}/${file} is not in the picked folder.` +
        `${otherOnnxFiles(file, onnxFolder, 'Its onnx/ folder holds')} ` +
        missingFileHint(`the folder "${source.name}"`, dtype),
    );
  }
}

/**
 * Answers transformers.js' requests for the picked folder's files, and every other path with a 404, so an
 * optional file it looks for is "absent" without any request.
 */
function servePickedFile(source: PickedSource, url: string): Promise<Response> {
  const prefix = `${PICKED_FILES_PATH}${PICKED_REFERENCE}/`;
  const data = url.startsWith(prefix) ? pickedFile(source, url.slice(prefix.length)) : undefined;
  return Promise.resolve(
    data
      ? new Response(data, { headers: { 'content-length': String(data.size) } })
      : new Response(null, { status: 404, statusText: 'Not in the picked folder' }),
  );
}

/** A folder picked with `<input webkitdirectory>`. */
export const pickedSource: SourceKind<PickedSource> = {
  describe: (source) => `the picked folder "${source.name}"`,
  fileLocation: (source, file) => `${source.name}/${file}`,
  modelId: (source) => source.name,
  async check(source, dtype) {
    checkPickedFiles(source, dtype);
  },
  async read(source, file, _hub, _onBytes, onSize) {
    const data = pickedFile(source, file);
    if (!data) throw new ModelFileMissingError(`${source.name}/${file}`, `Model file missing: ${file}.`);
    onSize?.(data.size);
    return new Uint8Array(await data.arrayBuffer());
  },
  configure: (source) => ({
    reference: PICKED_REFERENCE,
    allowRemoteModels: false,
    allowLocalModels: true,
    useBrowserCache: false,
    localModelPath: PICKED_FILES_PATH,
    fetch: (url) => servePickedFile(source, url),
  }),
};
