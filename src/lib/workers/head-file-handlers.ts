/**
 * @file What the head worker does with head files, so a large one (a head with an unfrozen layer of the Universal
 * Sentence Encoder Lite is a 14 MB JSON file of base64 weights) never blocks the page: it reads and validates an
 * imported file with the core's rules (core/heads/head-file.ts) and keeps its weights under a handle, runs that
 * head on the features or token states the page sends (built once, kept until `release-head`), and writes the head
 * file of a trained head, whose weights arrive packed (packed-head.ts).
 */
import {
  buildHeadFile,
  headFileInfo,
  parseHeadFileText,
  serializeHeadFile,
  unfrozenWeightsOf,
  type HeadFile,
} from '../core/heads/head-file.ts';
import type { TrainedHead } from '../core/ports.ts';
import { liveTensorCount, type TfjsHeadTrainer } from '../ml/tfjs-head.ts';
import { unfrozenHeadFromJSON, type UnfrozenHead } from '../ml/unfreeze/train.ts';
import type { LayerModelHolder } from './layer-handlers.ts';
import { unpackHead } from './packed-head.ts';
import type { HeadFileMethods } from './protocol.ts';
import type { Handlers } from './rpc.ts';

/** An imported head file and the runnable heads built from it so far. */
interface ImportedHead {
  file: HeadFile;
  /** The head on frozen features, once a prediction asked for it. */
  head?: TrainedHead;
  /** The head with its unfrozen layers, built on the held model file `key`. */
  layers?: { key: string; head: UnfrozenHead };
}

/**
 * The head-file handlers over `trainer` (heads on frozen features) and `holder` (the model file unfrozen layers are
 * built from); `now` times reading, writing and prediction.
 */
export function headFileHandlers(
  trainer: TfjsHeadTrainer,
  holder: LayerModelHolder,
  now: () => number = () => performance.now(),
): Handlers<HeadFileMethods> {
  const imported = new Map<number, ImportedHead>();
  let lastHandle = 0;

  const importedAt = (handle: number): ImportedHead => {
    const entry = imported.get(handle);
    if (!entry) {
      throw new Error(
        'The head worker no longer holds this imported head (it was released or the worker restarted): ' +
          'import the head file again.',
      );
    }
    return entry;
  };

  const release = (entry: ImportedHead): void => {
    entry.head?.dispose();
    entry.layers?.head.dispose();
    delete entry.head;
    delete entry.layers;
  };

  return {
    async 'import-head'(request) {
      const started = now();
      const file = parseHeadFileText(await request.file.text());
      const handle = ++lastHandle;
      imported.set(handle, { file });
      return { reply: { type: 'head-imported', handle, info: headFileInfo(file), ms: now() - started } };
    },
    async 'export-head'(request) {
      const started = now();
      const { head, ...rest } = request.input;
      const text = serializeHeadFile(buildHeadFile({ ...rest, head: unpackHead(head) }));
      const bytes = new TextEncoder().encode(text);
      return {
        reply: { type: 'head-exported', bytes, ms: now() - started },
        transfer: [bytes.buffer],
      };
    },
    async 'predict-imported'(request) {
      const entry = importedAt(request.handle);
      if (entry.file.features.unfreeze > 0) {
        throw new Error(`The head "${entry.file.name}" reads token states through its unfrozen layers.`);
      }
      entry.head ??= await trainer.fromJSON(entry.file.head);
      const started = now();
      const probabilities = await entry.head.predict(request.features);
      return { reply: { type: 'predicted', probabilities, ms: now() - started } };
    },
    async 'predict-imported-layers'(request) {
      const entry = importedAt(request.handle);
      const first = request.texts[0];
      if (first === undefined) return { reply: { type: 'predicted', probabilities: [], ms: 0 } };
      if (entry.layers?.key !== request.key) {
        // Built on another model file (or not yet): rebuilt on the held one, the old tensors released first.
        entry.layers?.head.dispose();
        delete entry.layers;
        const unfrozen = unfrozenWeightsOf(entry.file);
        if (!unfrozen) throw new Error(`The head "${entry.file.name}" holds no unfrozen layers.`);
        const layers = await holder.layersFor(request.key, request.request);
        const head = unfrozenHeadFromJSON(layers, { ...entry.file.head, unfrozen }, first.width);
        entry.layers = { key: request.key, head };
      }
      const started = now();
      const probabilities = await entry.layers.head.predict(request.texts);
      return { reply: { type: 'predicted', probabilities, ms: now() - started } };
    },
    async 'release-head'(request) {
      const entry = imported.get(request.handle);
      if (entry) {
        imported.delete(request.handle);
        release(entry);
      }
      return { reply: { type: 'head-released' } };
    },
    async 'head-memory'() {
      return {
        reply: { type: 'head-memory-report', numTensors: liveTensorCount(), imported: imported.size },
      };
    },
  };
}
