/**
 * @file What the head worker does for heads with unfrozen layers (`unfreeze` N > 0): hold one model's ONNX weights
 * file (decoded once, handed over by the model worker through the main thread), train a head together with that
 * model's top N layers on cached token states of the layer below them (epochs streamed as events, cancel checked
 * between batches), and classify with such a head. Like the frozen-feature head, nothing trained is kept: every
 * reply carries the weights (packed as Float32Arrays, transferred), and `predict-layers` takes them back.
 */
import type { GraphProto } from '../ml/onnx-graph/model-proto.ts';
import { decodeGraph } from '../ml/onnx-graph/model-proto.ts';
import { selectLayerBackend } from '../ml/unfreeze/layer-trainer.ts';
import { buildTopLayersOfGraph, type TopLayers } from '../ml/unfreeze/top-layers.ts';
import { trainUnfrozen, unfrozenHeadFromJSON } from '../ml/unfreeze/train.ts';
import type { LayerTrainingRequest } from '../core/ports.ts';
import { packedBuffers } from './packed-head.ts';
import { trainedReply } from './trained-reply.ts';
import type { HeadWorkerMethods } from './protocol.ts';
import type { Handlers } from './rpc.ts';

/** The tfjs backend the layers train on, and where its WASM binaries are served (browser). */
export interface LayerBackend {
  backend: 'cpu' | 'wasm';
  wasmPaths?: string | Record<string, string>;
}

/** The requests of the head worker that concern unfrozen layers. */
export type LayerMethods = Pick<HeadWorkerMethods, 'hold-layer-model' | 'train-layers' | 'predict-layers'>;

/** The one model weights file the head worker holds, and the top layers built from it. */
export interface LayerModelHolder {
  /** Keeps `bytes` (decoded) under `key`, replacing the file held before; the same key again is a no-op. */
  hold(key: string, bytes: Uint8Array): void;
  /**
   * Freshly built top layers of the held model for `request` (the caller disposes them).
   * @throws Error when the held file is not `key`'s, saying to run again.
   */
  layersFor(key: string, request: LayerTrainingRequest): Promise<TopLayers>;
}

/** A holder of one model file at a time, building layers on `backend`. */
export function createLayerModelHolder(backend: LayerBackend): LayerModelHolder {
  let held: { key: string; graph: GraphProto } | undefined;
  return {
    hold(key, bytes) {
      if (held?.key === key) return;
      // The old graph goes first, so two models' weights are never held at once.
      held = undefined;
      held = { key, graph: decodeGraph(bytes) };
    },
    async layersFor(key, request) {
      if (held?.key !== key) {
        throw new Error(
          `The head worker does not hold the weights of ${request.model} (it holds ` +
            `${held === undefined ? 'none' : 'another model’s'}); run again.`,
        );
      }
      await selectLayerBackend(backend.backend, backend.wasmPaths);
      return buildTopLayersOfGraph(held.graph, {
        featureLayer: request.featureLayer,
        unfreeze: request.unfreeze,
        pooling: request.pooling,
        modelId: request.model,
      });
    },
  };
}

/**
 * The layer handlers over `backend`; `now` times training and prediction. Holds one model file at a time, in
 * `holder` (shared with the imported heads' handlers).
 */
export function layerHandlers(
  backend: LayerBackend,
  now: () => number = () => performance.now(),
  holder: LayerModelHolder = createLayerModelHolder(backend),
): Handlers<LayerMethods> {
  return {
    async 'hold-layer-model'(request) {
      holder.hold(request.key, request.bytes);
      return { reply: { type: 'layer-model-held' } };
    },
    async 'train-layers'(request, { signal, emit }) {
      const started = now();
      const layers = await holder.layersFor(request.key, request.request);
      const head = await trainUnfrozen(
        layers,
        request.texts,
        request.labelIndices,
        request.numClasses,
        request.options,
        (report) => emit({ type: 'epoch', report }),
        signal,
      );
      // Packed as Float32Arrays (copies of its tensors, buffers transferred): no number is boxed or cloned one by one.
      return trainedReply(head, signal, { started, now }, backend.backend, (trained) => {
        const packed = trained.toPacked();
        return { weights: packed, transfer: packedBuffers(packed) };
      });
    },
    async 'predict-layers'(request) {
      const first = request.texts[0];
      if (first === undefined) return { reply: { type: 'predicted', probabilities: [], ms: 0 } };
      const layers = await holder.layersFor(request.key, request.request);
      const head = unfrozenHeadFromJSON(layers, request.head, first.width);
      try {
        const started = now();
        const probabilities = await head.predict(request.texts);
        return { reply: { type: 'predicted', probabilities, ms: now() - started } };
      } finally {
        head.dispose();
      }
    },
  };
}
