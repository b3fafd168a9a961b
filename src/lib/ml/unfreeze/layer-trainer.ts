/**
 * @file The {@link LayerTrainer} port on TensorFlow.js: builds the unfrozen layers from the model's ONNX file and
 * trains them with the head (train.ts), or rebuilds a saved head with its layers to predict (`fromJSON`). Each
 * model's graph is decoded once per trainer.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerTrainer, LayerTrainingRequest, SerializedHead } from '../../core/ports.ts';
import { decodeGraph, type GraphProto } from '../onnx-graph/model-proto.ts';
import { buildTopLayersOfGraph } from './top-layers.ts';
import { trainUnfrozen, unfrozenHeadFromJSON, type UnfrozenHead } from './train.ts';

/** Where the trainer gets a model's ONNX bytes, and which tfjs backend it trains on. */
export interface LayerTrainerOptions {
  /** The ONNX file the encoder of `model` runs (fp32 or fp16). */
  modelBytes(model: string): Promise<Uint8Array>;
  /** tfjs backend to select before training, e.g. 'cpu' in Node; omitted keeps the current one. */
  backend?: 'cpu' | 'wasm';
}

/**
 * Switches tfjs to `backend` unless it already runs. WASM (XNNPACK, SIMD) runs the layers' matrix products far
 * faster than the plain-JS cpu backend; it is imported lazily, single-threaded as tfjs-head.ts uses it.
 * @param wasmPaths Where the tfjs WASM binaries are served (the browser worker), as tfjs-head.ts takes them.
 */
export async function selectLayerBackend(
  backend: 'cpu' | 'wasm',
  wasmPaths?: string | Record<string, string>,
): Promise<void> {
  if (tf.getBackend() === backend) return;
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths as Parameters<typeof wasm.setWasmPaths>[0]);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`Could not start the tfjs "${backend}" backend.`);
  await tf.ready();
}

/** A {@link LayerTrainer} that can also rebuild a saved head with its layers. */
export interface TfjsLayerTrainer extends LayerTrainer {
  /**
   * The head of `serialized` (which must hold `unfrozen` weights) on the top layers of `request.model`, rebuilt
   * from its ONNX file with the saved weights; the caller disposes it.
   * @throws TypeError naming a saved weight that does not fit the model's layers.
   */
  fromJSON(request: LayerTrainingRequest, serialized: SerializedHead): Promise<UnfrozenHead>;
}

/** Creates a layer trainer; decoded graphs are kept for the trainer's lifetime. */
export function createLayerTrainer(options: LayerTrainerOptions): TfjsLayerTrainer {
  const graphs = new Map<string, Promise<GraphProto>>();
  const graphOf = (model: string): Promise<GraphProto> => {
    let graph = graphs.get(model);
    if (!graph) {
      graph = options.modelBytes(model).then(decodeGraph);
      graphs.set(model, graph);
      graph.catch(() => graphs.delete(model));
    }
    return graph;
  };
  const layersOf = async (request: LayerTrainingRequest) => {
    if (options.backend) await selectLayerBackend(options.backend);
    return buildTopLayersOfGraph(await graphOf(request.model), {
      featureLayer: request.featureLayer,
      unfreeze: request.unfreeze,
      pooling: request.pooling,
      modelId: request.model,
    });
  };
  return {
    async train(request, texts, labelIndices, numClasses, trainingOptions, onEpoch, signal) {
      const layers = await layersOf(request);
      return trainUnfrozen(layers, texts, labelIndices, numClasses, trainingOptions, onEpoch, signal);
    },
    async fromJSON(request, serialized) {
      return unfrozenHeadFromJSON(await layersOf(request), serialized);
    },
  };
}
