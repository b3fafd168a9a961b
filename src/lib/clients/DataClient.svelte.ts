/**
 * @file The main-thread face of the data worker: reads an uploaded dataset file off the main thread and keeps
 * the outcome as rune state (`status`, `error`, `file`). Components never post messages themselves.
 */
import type { DatasetRef } from '../core/experiment/types.ts';
import type { ColumnMapping, PostedCheck } from '../core/dataset/build.ts';
import type { DatasetFileView } from '../core/dataset/read.ts';
import { DATA_EVENT_TYPES, type DataWorkerMethods } from '../workers/protocol.ts';
import { CancelledError, RpcClient, type WorkerPort } from '../workers/rpc.ts';
import { messageOf, type WorkerFactory } from './ModelClient.svelte.ts';

export type DataStatus = 'idle' | 'reading' | 'ready' | 'error';

function createDataWorker(): WorkerPort {
  return new Worker(new URL('../workers/data.worker.ts', import.meta.url), {
    type: 'module',
    name: 'data-worker',
  });
}

/** Owns the data worker. One read at a time: reading another file cancels the previous read. */
export class DataClient {
  status = $state<DataStatus>('idle');
  /** Why the last file could not be read, and what to do; undefined unless status is 'error'. */
  error = $state<string | undefined>(undefined);
  /** Name of the file being read or last read. */
  fileName = $state<string | undefined>(undefined);
  /**
   * The page's view of the last file read successfully (the worker holds its table). Raw: columns of up to 50,000
   * cells must not become deep reactive state.
   */
  file = $state.raw<DatasetFileView | undefined>(undefined);

  readonly #createWorker: WorkerFactory;
  #rpc: RpcClient<DataWorkerMethods> | undefined;
  #controller: AbortController | undefined;
  #columnsController: AbortController | undefined;

  constructor(createWorker: WorkerFactory = createDataWorker) {
    this.#createWorker = createWorker;
  }

  /**
   * Reads and parses a dataset file in the worker. Resolves with the page's view of the file and the check of its
   * guessed columns, or with undefined when it could not be used (the reason is in `error`) or a newer read
   * replaced this one.
   */
  async read(file: Blob, name: string): Promise<{ file: DatasetFileView; check: PostedCheck } | undefined> {
    this.#controller?.abort();
    this.#columnsController?.abort();
    const controller = new AbortController();
    this.#controller = controller;
    this.status = 'reading';
    this.error = undefined;
    this.fileName = name;
    this.file = undefined;
    try {
      const reply = await this.#worker().call('read-file', { file, name }, { signal: controller.signal });
      if (this.#controller !== controller) return undefined;
      this.file = reply.file;
      this.status = 'ready';
      return { file: reply.file, check: reply.check };
    } catch (error) {
      if (this.#controller === controller && !(error instanceof CancelledError)) {
        this.status = 'error';
        this.error = messageOf(error);
      }
      return undefined;
    } finally {
      if (this.#controller === controller) this.#controller = undefined;
    }
  }

  /**
   * The check of `mapping` on the file last read (`name`), by the worker that holds it, with the cells of the
   * `send` columns. Resolves with undefined when a newer request or read replaced this one.
   * @throws Error when the worker no longer holds the file (it crashed, or another file was read) or lacks a
   *   column; the message says what to do.
   */
  async checkColumns(
    name: string,
    mapping: ColumnMapping,
    send: readonly string[],
  ): Promise<{ cells: ReadonlyMap<string, readonly string[]>; check: PostedCheck } | undefined> {
    this.#columnsController?.abort();
    const controller = new AbortController();
    this.#columnsController = controller;
    try {
      const reply = await this.#worker().call(
        'check-columns',
        { name, mapping: { text: mapping.text, label: mapping.label }, send: [...send] },
        { signal: controller.signal },
      );
      return this.#columnsController === controller ? { cells: reply.cells, check: reply.check } : undefined;
    } catch (error) {
      if (error instanceof CancelledError || this.#columnsController !== controller) return undefined;
      throw error;
    } finally {
      if (this.#columnsController === controller) this.#columnsController = undefined;
    }
  }

  /** Forgets the last file or error (a read in progress is cancelled), and lets the worker drop its table. */
  clear(): void {
    this.#controller?.abort();
    this.#controller = undefined;
    this.#columnsController?.abort();
    this.#columnsController = undefined;
    if (this.file !== undefined) this.#rpc?.call('forget-file', {}).catch(() => undefined);
    this.status = 'idle';
    this.error = undefined;
    this.fileName = undefined;
    this.file = undefined;
  }

  /** Stops the worker for good (page teardown). */
  destroy(): void {
    this.#controller?.abort();
    this.#rpc?.terminate();
    this.#rpc = undefined;
  }

  /** The live worker; a crashed one is replaced on the next read. */
  #worker(): RpcClient<DataWorkerMethods> {
    if (!this.#rpc) {
      const rpc: RpcClient<DataWorkerMethods> = new RpcClient<DataWorkerMethods>(
        this.#createWorker(),
        DATA_EVENT_TYPES,
        'data worker',
        {
          advice: 'Choose the file again to retry; reload the page if it keeps failing.',
          onCrash: () => {
            rpc.terminate();
            if (this.#rpc === rpc) this.#rpc = undefined;
          },
        },
      );
      this.#rpc = rpc;
    }
    return this.#rpc;
  }
}

/**
 * An array Svelte's `$state` leaves alone: it proxies only plain objects and arrays, and proxying every row of
 * a 50,000-row upload costs hundreds of milliseconds and megabytes of signals on each change. It is still an
 * Array to everything else: JSON, structured clone (IndexedDB, postMessage) and `$state.snapshot` copy it as one.
 */
class RawRows<T> extends Array<T> {}

/**
 * Marks the rows of an inline dataset reference as raw (see RawRows), in place, and returns the reference.
 * Call it before putting a reference into `$state`; other references are returned unchanged.
 */
export function keepRowsRaw<T extends DatasetRef>(ref: T): T {
  if ('rows' in ref && Array.isArray(ref.rows) && !(ref.rows instanceof RawRows)) {
    Object.setPrototypeOf(ref.rows, RawRows.prototype);
  }
  return ref;
}
