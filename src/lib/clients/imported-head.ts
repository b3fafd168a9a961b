/**
 * @file The core's {@link HeadFileWeights} over a head file imported into the head worker: the page sends features
 * (or token states) only, never the weights, and the worker runs the head it built once. With the core's
 * `predictWithHeadWeights`, the browser labels texts with a head file by the same rules as the terminal.
 */
import type { HeadFileWeights } from '../core/heads/head-file.ts';
import type { HeadClient, ImportedHeadFile } from './HeadClient.svelte.ts';
import type { ModelClient } from './ModelClient.svelte.ts';
import { RemoteLayerTrainer } from './remote-layers.ts';

/**
 * The weights of `imported`, held by the head worker behind `head`; unfrozen layers are built there from the model
 * loaded in `model`. Disposing what they return keeps the head in the worker: `head.releaseHead` frees it.
 */
export function importedHeadWeights(
  model: ModelClient,
  head: HeadClient,
  imported: ImportedHeadFile,
): HeadFileWeights {
  return {
    head: async () => ({
      predict: (features) => head.predictImported(imported, features),
      dispose: () => undefined,
    }),
    layers: async (request) => new RemoteLayerTrainer(model, head).importedHead(request, imported),
  };
}
