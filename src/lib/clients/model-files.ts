/**
 * @file A model folder picked on disk (`<input type="file" webkitdirectory>`), turned into a load source. The
 * files stay in the browser: the worker reads them, nothing is uploaded.
 */
import type { Dtype } from '../core/ports.ts';
import { DTYPES, ONNX_FILE_BY_DTYPE } from '../core/models/files.ts';
import type { LocalFilesModelSource } from '../workers/protocol.ts';

/** A picked file and its path relative to the picked folder's parent, e.g. 'all-MiniLM-L6-v2/onnx/model.onnx'. */
export interface PickedFile {
  relativePath: string;
  data: Blob;
}

/** The files of a directory input, with their `webkitRelativePath`. */
export function pickedFilesOf(list: Iterable<File>): PickedFile[] {
  return [...list].map((file) => ({ relativePath: file.webkitRelativePath || file.name, data: file }));
}

/**
 * The model folder among the picked files: the shallowest folder holding a config.json (so picking a parent
 * such as `models/Xenova` works too). Returns the source and the dtypes whose ONNX file is there, or a message
 * saying what is missing.
 */
export function localModelSource(
  files: readonly PickedFile[],
): { ok: true; source: LocalFilesModelSource; availableDtypes: Dtype[] } | { ok: false; error: string } {
  if (files.length === 0) return { ok: false, error: 'The picked folder is empty. Pick a model folder.' };
  const configs = files
    .map((file) => file.relativePath.replace(/\\/g, '/'))
    .filter((path) => path === 'config.json' || path.endsWith('/config.json'))
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  const config = configs[0];
  const depth = (path: string) => path.split('/').length;
  const siblings = configs.filter((path) => config !== undefined && depth(path) === depth(config));
  if (siblings.length > 1) {
    const names = siblings.map((path) => path.split('/').at(-2) ?? path);
    return {
      ok: false,
      error: `The picked folder holds several models (${names.join(', ')}): pick one model's folder.`,
    };
  }
  if (config === undefined) {
    return {
      ok: false,
      error:
        'The picked folder has no config.json. Pick a model folder in Hugging Face layout (config.json, ' +
        'tokenizer.json, tokenizer_config.json and onnx/model.onnx), e.g. one `npm run models` wrote under models/.',
    };
  }
  const root = config.slice(0, -'config.json'.length);
  const inside = files
    .filter((file) => file.relativePath.replace(/\\/g, '/').startsWith(root))
    .map((file) => ({ path: file.relativePath.replace(/\\/g, '/').slice(root.length), data: file.data }));
  const name = root.replace(/\/$/, '').split('/').pop() || 'picked folder';
  const paths = new Set(inside.map((file) => file.path));
  const availableDtypes = DTYPES.filter((dtype) => paths.has(ONNX_FILE_BY_DTYPE[dtype]));
  if (availableDtypes.length === 0) {
    return {
      ok: false,
      error:
        `The folder ${name} has no ONNX weights: expected ${DTYPES.map((d) => ONNX_FILE_BY_DTYPE[d]).join(', ')} ` +
        '(any one of them). Pick a folder with an ONNX export of the model.',
    };
  }
  return { ok: true, source: { kind: 'files', name, files: inside }, availableDtypes };
}
