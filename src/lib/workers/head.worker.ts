/**
 * @file The head worker: trains a small classifier on frozen feature vectors with tfjs (WASM backend) and
 * classifies with a trained or imported head; heads with unfrozen layers train here too (layer-handlers.ts).
 * Training never blocks the page; `cancel` stops it between batches.
 */
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { createHeadTrainer } from '../ml/tfjs-head.ts';
import type { HeadWorkerMethods } from './protocol.ts';
import { headHandlers } from './head-handlers.ts';
import { serveRpc } from './rpc.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** The tfjs WASM binaries, served by the app (tfjs would otherwise look for them next to this script). */
const wasmPaths = {
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
};
const trainer = createHeadTrainer({ backend: 'wasm', wasmPaths });

// Unfrozen layers train on the same WASM backend as the heads.
serveRpc<HeadWorkerMethods>(scope, headHandlers(trainer, undefined, { backend: 'wasm', wasmPaths }));
