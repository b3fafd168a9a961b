/**
 * @file What the head worker does with each request, given a tfjs head trainer: train a small classifier on frozen
 * feature vectors (epochs streamed as events, cancel checked between batches) and classify with a trained or
 * imported head; head files are read and written here too (head-file-handlers.ts). head.worker.ts serves these with the WASM backend; Node tests serve them with the cpu backend.
 */
import type { TfjsHeadTrainer } from '../ml/tfjs-head.ts';
import type { HeadWorkerMethods } from './protocol.ts';
import { headFileHandlers } from './head-file-handlers.ts';
import { createLayerModelHolder, layerHandlers, type LayerBackend } from './layer-handlers.ts';
import type { Handlers } from './rpc.ts';
import { trainedReply } from './trained-reply.ts';

/**
 * The head worker's handler table over `trainer`; `now` times training and prediction. Heads with unfrozen layers
 * train on `layers` (layer-handlers.ts), by default the trainer's backend.
 */
export function headHandlers(
  trainer: TfjsHeadTrainer,
  now: () => number = () => performance.now(),
  layers: LayerBackend = { backend: trainer.backend },
): Handlers<HeadWorkerMethods> {
  // One model file held for both the heads trained here and imported head files.
  const holder = createLayerModelHolder(layers);
  return {
    ...layerHandlers(layers, now, holder),
    ...headFileHandlers(trainer, holder, now),
    async train(request, { signal, emit }) {
      const started = now();
      const head = await trainer.train(
        request.features,
        request.labelIndices,
        request.numClasses,
        request.options,
        (report) => emit({ type: 'epoch', report }),
        signal,
      );
      return trainedReply(head, signal, { started, now }, trainer.backend, (trained) => ({
        weights: trained.toJSON(),
      }));
    },
    async predict(request) {
      const head = await trainer.fromJSON(request.head);
      try {
        const started = now();
        const probabilities = await head.predict(request.features);
        return { reply: { type: 'predicted', probabilities, ms: now() - started } };
      } finally {
        head.dispose();
      }
    },
  };
}
