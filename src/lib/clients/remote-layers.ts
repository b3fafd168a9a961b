/**
 * @file The core's {@link LayerTrainer} port over the two workers: a head with unfrozen layers trains in the head
 * worker, on token states the model worker computed, with the top layers rebuilt there from the loaded model's
 * ONNX weights file (read by the model worker and handed over once per model, transferred, not copied).
 */
import type {
  EpochReport,
  HeadTrainingOptions,
  LayerTrainer,
  LayerTrainingRequest,
  SerializedHead,
  TextTokenStates,
  TokenStatesHead,
} from '../core/ports.ts';
import { packHead, unpackHeadInSlices } from '../workers/packed-head.ts';
import type { PackedHead } from '../workers/protocol.ts';
import type { HeadClient, ImportedHeadFile, LayerModelSource } from './HeadClient.svelte.ts';
import type { ModelClient } from './ModelClient.svelte.ts';

/**
 * The packed form of heads handed out by {@link RemoteLayerTrainer.train} (or packed once for `classify`), so
 * predicting with a head sends Float32Arrays, not millions of numbers cloned one by one. Weak: a head no longer
 * held anywhere takes its packed copy with it.
 */
const packedHeads = new WeakMap<SerializedHead, PackedHead>();

function packedOf(head: SerializedHead): PackedHead {
  let packed = packedHeads.get(head);
  if (packed === undefined) {
    // Not transferred anywhere: these buffers stay usable for every later prediction.
    packed = packHead(head).head;
    packedHeads.set(head, packed);
  }
  return packed;
}

/** Trains heads with unfrozen layers of the model loaded in `model`, in the head worker behind `head`. */
export class RemoteLayerTrainer implements LayerTrainer {
  readonly #model: ModelClient;
  readonly #head: HeadClient;

  constructor(model: ModelClient, head: HeadClient) {
    this.#model = model;
    this.#head = head;
  }

  /** @throws Error when the experiment's model is not the loaded one; the head worker's errors. */
  async train(
    request: LayerTrainingRequest,
    texts: TextTokenStates[],
    labelIndices: number[],
    numClasses: number,
    options: HeadTrainingOptions,
    onEpoch?: (report: EpochReport) => void,
    signal?: AbortSignal,
  ): Promise<TokenStatesHead> {
    const source = this.#source(request.model);
    const reply = await this.#head.trainLayers(
      { model: source, request, texts, labelIndices, numClasses, options },
      signal,
      onEpoch,
    );
    const packed = reply.head;
    // The core's plain arrays (results, head files, the try-it box), made in slices so no long task blocks the page.
    const plain = await unpackHeadInSlices(packed);
    packedHeads.set(plain, packed);
    return {
      parameterCount: reply.parameterCount,
      predict: (rows) => this.#head.predictLayers(source, request, packed, rows),
      toJSON: () => plain,
      // The worker keeps nothing between requests: the weights live in `packed` and `plain`, here.
      dispose: () => undefined,
    };
  }

  /**
   * An imported head file's head with unfrozen layers of the loaded model, run in the head worker, which holds its
   * weights (HeadClient.importHeadFile) and builds the layers once: each `predict` sends the texts' token states
   * only. The worker keeps the head until it is released.
   * @throws Error when the head's model is not the loaded one.
   */
  importedHead(
    request: LayerTrainingRequest,
    imported: ImportedHeadFile,
  ): Pick<TokenStatesHead, 'predict' | 'dispose'> {
    const source = this.#source(request.model);
    return {
      predict: (rows) => this.#head.predictImportedLayers(imported, source, request, rows),
      dispose: () => undefined,
    };
  }

  /**
   * Class probabilities of new texts under a head trained with unfrozen layers: their token states of the layer
   * below the unfrozen ones (at most `maxTokens` per text), through the layers and the head in the head worker.
   * @throws Error when the head's model is not the loaded one.
   */
  async classify(
    request: LayerTrainingRequest,
    head: SerializedHead,
    texts: string[],
    maxTokens: number,
    signal?: AbortSignal,
  ): Promise<number[][]> {
    const source = this.#source(request.model);
    const layer = request.featureLayer - request.unfreeze;
    const states = await this.#model.embedTokens(texts, { layer, maxTokens }, signal);
    signal?.throwIfAborted();
    return this.#head.predictLayers(source, request, packedOf(head), states);
  }

  /** The loaded model's weights file, keyed by id, dtype and file hash, so another export is never mixed in. */
  #source(model: string): LayerModelSource {
    const info = this.#model.ready ? this.#model.info : undefined;
    if (info?.modelId !== model) {
      const loaded = info === undefined ? 'none is' : `"${info.modelId}" is`;
      throw new Error(
        `Unfrozen layers of "${model}" need that model loaded (${loaded}); load it and run again.`,
      );
    }
    const key = JSON.stringify([info.modelId, info.dtype, info.weightsHash ?? '']);
    return {
      key,
      bytes: async () => {
        const file = await this.#model.layerModelBytes();
        if (file.modelId !== info.modelId || file.dtype !== info.dtype) {
          throw new Error(
            `The model changed to "${file.modelId}" (${file.dtype}) during the run; run again.`,
          );
        }
        return file.bytes;
      },
    };
  }
}
