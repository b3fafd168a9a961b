/**
 * @file Model source `folder` (Node): an absolute folder in hub layout, read in place with node:fs. The CLI,
 * the benchmark and the unit tests load this way (fixtures included, from tests/fixtures/models/).
 */
import { requiredModelFiles } from '../../core/models/files.ts';
import type { Dtype } from '../../core/ports.ts';
import { ModelFileMissingError } from '../model-errors.ts';
import { joinUrl, missingFileHint, otherOnnxFiles } from './common.ts';
import type { SourceKind, SourceOf } from './source-kind.ts';

type NodeFs = typeof import('node:fs/promises');

/** node:fs/promises without a static import, so the browser bundle never references it. */
function nodeFs(): NodeFs {
  const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises') as NodeFs | undefined;
  if (!fs) throw new Error('Loading a model from a folder needs Node.js 20.16 or newer.');
  return fs;
}

/** Stats each required file so a missing one is named before transformers.js gives a vaguer error. */
async function checkFolderFiles(folder: string, dtype: Dtype): Promise<void> {
  const fs = nodeFs();
  const folderStat = await fs.stat(folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) {
    throw new ModelFileMissingError(
      folder,
      `Model folder not found: ${folder}. ${missingFileHint(folder, dtype)}`,
    );
  }
  for (const file of requiredModelFiles(dtype)) {
    const path = joinUrl(folder, file);
    const stat = await fs.stat(path).catch(() => undefined);
    if (!stat?.isFile()) {
      const present = await fs.readdir(joinUrl(folder, 'onnx')).catch(() => [] as string[]);
      throw new ModelFileMissingError(
        path,
        `Model file missing: ${path}.${otherOnnxFiles(file, present)} ${missingFileHint(folder, dtype)}`,
      );
    }
  }
}

/** An absolute folder in Node. */
export const folderSource: SourceKind<SourceOf<'folder'>> = {
  describe: (source) => source.path,
  fileLocation: (source, file) => joinUrl(source.path, file),
  modelId: (source) => source.path,
  async check(source, dtype) {
    if (!source.path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(source.path)) {
      throw new Error(`Model folder must be an absolute path, got "${source.path}".`);
    }
    await checkFolderFiles(source.path, dtype);
  },
  async read(source, file, _hub, _onBytes, onSize) {
    const path = joinUrl(source.path, file);
    if (onSize) onSize((await nodeFs().stat(path)).size);
    const contents = await nodeFs().readFile(path);
    return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
  },
  configure: (source) => ({
    reference: source.path.replace(/\/+$/, ''),
    allowRemoteModels: false,
    allowLocalModels: true,
    useBrowserCache: false,
  }),
};
