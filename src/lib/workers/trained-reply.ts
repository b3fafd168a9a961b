/**
 * @file The head worker's 'trained' reply, shared by heads on frozen features (head-handlers.ts) and heads with
 * unfrozen layers (layer-handlers.ts).
 */
import type { TrainedHead } from '../core/ports.ts';
import type { TrainedReply } from './protocol.ts';
import { throwIfCancelled, type HandlerResult } from './rpc.ts';

/** A trained head's weights in the form its reply carries, and the buffers to transfer with them. */
export interface ReplyWeights<W> {
  weights: W;
  transfer?: Transferable[];
}

/**
 * Replies with a just-trained head's weights (in the form `weightsOf` gives), parameter count, training time and
 * backend, then disposes the head (the worker keeps nothing trained). A cancel that arrived while training ended
 * rejects instead.
 * @param started When training started, on the clock `now`.
 */
export function trainedReply<H extends Pick<TrainedHead, 'parameterCount' | 'dispose'>, W>(
  head: H,
  signal: AbortSignal,
  timing: { started: number; now: () => number },
  backend: string,
  weightsOf: (head: H) => ReplyWeights<W>,
): HandlerResult<Omit<TrainedReply, 'head'> & { head: W }> {
  try {
    throwIfCancelled(signal);
    const { weights, transfer } = weightsOf(head);
    return {
      reply: {
        type: 'trained',
        head: weights,
        parameterCount: head.parameterCount,
        trainMs: timing.now() - timing.started,
        backend,
      },
      ...(transfer === undefined ? {} : { transfer }),
    };
  } finally {
    head.dispose();
  }
}
