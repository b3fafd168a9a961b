/**
 * @file The bench page's script: starts the bench worker and exposes `window.benchCall(method, args)`, which
 * scripts/bench/browser-goals.ts calls through Playwright. The measurements run in the worker, off the main thread,
 * as the app's encoder and head training do.
 */
import type { BenchReply, BenchRequest } from './bench.worker.ts';

const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module', name: 'bench' });
const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let nextId = 1;

worker.onmessage = (event: MessageEvent<BenchReply>) => {
  const reply = event.data;
  const waiting = pending.get(reply.id);
  if (!waiting) return;
  pending.delete(reply.id);
  if (reply.ok) waiting.resolve(reply.value);
  else waiting.reject(new Error(reply.error));
};
worker.onerror = (event) => {
  for (const waiting of pending.values()) waiting.reject(new Error(`bench worker failed: ${event.message}`));
  pending.clear();
};

function benchCall(method: BenchRequest['method'], args: unknown): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args } satisfies BenchRequest);
  });
}

(window as unknown as { benchCall: typeof benchCall }).benchCall = benchCall;
document.body.dataset.ready = 'true';
