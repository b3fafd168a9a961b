/**
 * @file The head worker's 'trained' reply, shared by heads on frozen features (head-handlers.ts) and heads with
 * unfrozen layers (layer-handlers.ts).
 */
import type { TrainedHead } from '../core/ports.ts';
import type { TrainedReply } from './protocol.ts';
import { throwIfCancelled, type HandlerResult } from './rpc.ts';

/**
 * Replies with a just-trained head's weights, parameter count, training time and backend, then disposes the head
 * (the worker keeps nothing trained). A cancel that arrived while training ended rejects instead.
 * @param started When training started, on the clock `now`.
 */
export function trainedReply(
  head: Pick<TrainedHead, 'toJSON' | 'parameterCount' | 'dispose'>,
  signal: AbortSignal,
  timing: { started: number; now: () => number },
  backend: string,
): HandlerResult<TrainedReply> {
  try {
    throwIfCancelled(signal);
    return {
      reply: {
        type: 'trained',
        head: head.toJSON(),
        parameterCount: head.parameterCount,
        trainMs: timing.now() - timing.started,
        backend,
      },
    };
  } finally {
    head.dispose();
  }
}
