/**
 * @file Talking to a fresh copy of one of the app's workers from inside the page, as its client would but without
 * the app: tests start the worker from its built URL and send it requests by hand (its memory after loads or
 * imports, its numbers on each device). `installWorkerCall(page)` defines `startTestWorker(url, name)` in the page;
 * a `page.evaluate` then reaches it through {@link WorkerCallGlobal}:
 *
 * ```ts
 * await installWorkerCall(page);
 * await page.evaluate(async (url) => {
 *   const { worker, call } = (globalThis as unknown as WorkerCallGlobal).startTestWorker(url, 'probe');
 *   ...
 * }, workerUrl);
 * ```
 */
import type { Page } from 'playwright-core';

/** A worker started by a test, and a request-reply call over its protocol. */
export interface TestWorker {
  worker: Worker;
  /**
   * Posts `message` with a fresh `id` and settles with the worker's reply to that id: resolves with it, or rejects
   * with its message when the reply is `{ type: 'error' }`. Progress events (`…-progress`) are skipped.
   */
  call(message: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** What {@link installWorkerCall} adds to the page's global scope. */
export interface WorkerCallGlobal {
  startTestWorker(url: string, name: string): TestWorker;
}

/** Defines `startTestWorker` in the page (again after a navigation; defining it twice is harmless). */
export async function installWorkerCall(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as WorkerCallGlobal).startTestWorker = (url, name) => {
      const worker = new Worker(url, { type: 'module', name });
      let nextId = 0;
      const call = (message: Record<string, unknown>) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const id = ++nextId;
          const listener = (event: MessageEvent) => {
            const data = event.data as { id: number; type: string; message?: string };
            if (data.id !== id || data.type.endsWith('-progress')) return;
            worker.removeEventListener('message', listener);
            if (data.type === 'error') reject(new Error(data.message));
            else resolve(data);
          };
          worker.addEventListener('message', listener);
          worker.postMessage({ ...message, id });
        });
      return { worker, call };
    };
  });
}
