/**
 * @file What the head worker does with each request, given a tfjs head trainer: train a small classifier on frozen
 * feature vectors (epochs streamed as events, cancel checked between batches) and classify with a trained or
 * imported head. head.worker.ts serves these with the WASM backend; Node tests serve them with the cpu backend.
 */
import type { TfjsHeadTrainer } from '../ml/tfjs-head.ts';
import type { HeadWorkerMethods } from './protocol.ts';
import { layerHandlers, type LayerBackend } from './layer-handlers.ts';
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
  return {
    ...layerHandlers(layers, now),
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
      return trainedReply(head, signal, { started, now }, trainer.backend);
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
