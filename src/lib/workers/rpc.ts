/**
 * @file A small typed request/reply layer over `postMessage`, used by both sides of each worker.
 *
 * Client: `RpcClient.call(type, payload)` posts `{ type, id, ...payload }` and returns a promise settled by the
 * final reply with that id; events with that id go to `onEvent`. Replies whose id is no longer pending
 * (settled, cancelled) are stale and dropped. A worker crash rejects everything pending.
 * Worker: `serveRpc(scope, handlers)` dispatches requests to handlers with an AbortSignal tied to `cancel`.
 *
 * A worker deep in a computation that only awaits microtasks (tfjs training, for one) never gets to its
 * message queue, so a `cancel` message would wait until the work is done. When the page is cross-origin
 * isolated, each request therefore also carries a shared one-int flag the client sets on cancel; the worker
 * checks it every time the handler emits an event (per epoch, per batch) and aborts the signal right there.
 */
import type { CancelMessage, Envelope, ErrorReply } from './protocol.ts';

/** One method of a worker: its request, its final reply and its event messages. */
export interface MethodSpec {
  request: Envelope<string>;
  result: Envelope<string>;
  event: Envelope<string>;
}

/** The full method table of one worker, e.g. `ModelWorkerMethods`. */
export type MethodTable<M> = { [K in keyof M]: MethodSpec };

/** Fields of a message the RPC layer fills in itself. */
type Payload<T> = Omit<T, 'type' | 'id'>;

/** The subset of `Worker` the client needs (lets tests pass a fake). */
export interface WorkerPort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

/** Rejection reason of a request cancelled by the caller. */
export class CancelledError extends Error {
  constructor(message = 'Cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Rejection reason when the worker itself failed (crash, unloadable script, undecodable message). */
export class WorkerCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashedError';
  }
}

/** Options of one call. */
export interface CallOptions<E> {
  onEvent?: (event: E) => void;
  /** Aborting it sends a `cancel` message and rejects the call with CancelledError at once. */
  signal?: AbortSignal;
  transfer?: Transferable[];
}

interface Pending {
  /** Shared cancel flag of the request (index 0: 1 = cancelled), when SharedArrayBuffer is available. */
  cancelFlag: Int32Array | undefined;
  resolve: (value: never) => void;
  reject: (reason: Error) => void;
  onEvent: ((event: never) => void) | undefined;
  cleanup: () => void;
}

/** The calling side: owns the pending-request map of one worker. */
export class RpcClient<M extends MethodTable<M>> {
  readonly #port: WorkerPort;
  readonly #eventTypes: ReadonlySet<string>;
  readonly #name: string;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #crashed: string | undefined;

  /**
   * @param port the worker
   * @param eventTypes reply `type`s that are events rather than final replies
   * @param name shown in crash messages, e.g. 'model worker'
   * @param crash.advice appended to the crash message, saying what the user can do
   * @param crash.onCrash told once when the worker fails, with the message every pending call was rejected with
   */
  constructor(
    port: WorkerPort,
    eventTypes: ReadonlySet<string>,
    name: string,
    crash: { advice?: string; onCrash?: (message: string) => void } = {},
  ) {
    this.#port = port;
    this.#eventTypes = eventTypes;
    this.#name = name;
    port.addEventListener('message', (event: MessageEvent) => this.#onMessage(event.data));
    const fail = (what: string): void => {
      if (this.#crashed !== undefined) return;
      const message = crash.advice ? `${what} ${crash.advice}` : what;
      this.#crashed = message;
      this.rejectAll(message);
      crash.onCrash?.(message);
    };
    port.addEventListener('error', (event: Event) => {
      // An ErrorEvent carries the worker's message; read it structurally (Node test ports have no ErrorEvent).
      const message = (event as Partial<ErrorEvent>).message;
      const detail = typeof message === 'string' && message !== '' ? `: ${message}` : '';
      fail(`The ${name} crashed${detail}.`);
    });
    port.addEventListener('messageerror', () => {
      fail(`The ${name} sent a message that could not be decoded.`);
    });
  }

  /** Number of requests awaiting their final reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends a request; resolves with its final reply, rejects with its error, CancelledError or WorkerCrashedError. */
  call<K extends keyof M & string>(
    type: K,
    payload: Payload<M[K]['request']>,
    options: CallOptions<M[K]['event']> = {},
  ): Promise<M[K]['result']> {
    if (this.#crashed !== undefined) return Promise.reject(new WorkerCrashedError(this.#crashed));
    const id = this.#nextId++;
    const { signal, onEvent, transfer } = options;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    return new Promise<M[K]['result']>((resolve, reject) => {
      const onAbort = (): void => this.cancel(id);
      signal?.addEventListener('abort', onAbort, { once: true });
      const cancelFlag = createCancelFlag();
      this.#pending.set(id, {
        cancelFlag,
        resolve: resolve as (value: never) => void,
        reject,
        onEvent: onEvent as ((event: never) => void) | undefined,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      try {
        this.#port.postMessage({ ...payload, type, id, cancelFlag }, transfer ?? []);
      } catch (error) {
        this.#settle(id)?.reject(
          new Error(`Could not send '${type}' to the ${this.#name}: ${String(error)}`),
        );
      }
    });
  }

  /** Cancels request `id`: rejects it now with CancelledError and tells the worker to stop working on it. */
  cancel(id: number): void {
    const pending = this.#settle(id);
    if (!pending) return;
    if (pending.cancelFlag) Atomics.store(pending.cancelFlag, 0, 1);
    pending.reject(new CancelledError());
    const message: CancelMessage = { type: 'cancel', id };
    this.#port.postMessage(message);
  }

  /** Rejects every pending request with WorkerCrashedError(message). */
  rejectAll(message: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new WorkerCrashedError(message));
  }

  /** Stops the worker; pending calls reject. */
  terminate(): void {
    this.rejectAll(`The ${this.#name} was stopped.`);
    this.#crashed ??= `The ${this.#name} was stopped.`;
    this.#port.terminate();
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    pending.cleanup();
    return pending;
  }

  #onMessage(data: unknown): void {
    if (!isReply(data)) return;
    const pending = this.#pending.get(data.id);
    // Stale: the request was cancelled or already settled.
    if (!pending) return;
    if (this.#eventTypes.has(data.type)) {
      pending.onEvent?.(data as never);
      return;
    }
    this.#settle(data.id);
    if (data.type === 'error') {
      const error = data as ErrorReply;
      pending.reject(error.cancelled ? new CancelledError(error.message) : new Error(error.message));
    } else {
      pending.resolve(data as never);
    }
  }
}

/** A shared flag for one request, or undefined where SharedArrayBuffer is unavailable (not cross-origin isolated). */
function createCancelFlag(): Int32Array | undefined {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated && typeof SharedArrayBuffer === 'function'
    ? new Int32Array(new SharedArrayBuffer(4))
    : undefined;
}

function isReply(data: unknown): data is { type: string; id: number } {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { type?: unknown }).type === 'string' &&
    typeof (data as { id?: unknown }).id === 'number'
  );
}

// ---------------------------------------------------------------- worker side

/** What a handler gets besides its request. */
export interface HandlerContext<E> {
  /** Aborted when the client cancels this request (noticed on the cancel message, or at the next `emit`). */
  signal: AbortSignal;
  /** Posts an event for this request; also checks the shared cancel flag first. */
  emit(event: Payload<E> & { type: E extends { type: infer T } ? T : never }): void;
}

/** A handler's answer: the final reply's payload, plus buffers to transfer. */
export interface HandlerResult<R> {
  reply: Payload<R> & { type: R extends { type: infer T } ? T : never };
  transfer?: Transferable[];
}

/** One handler per request type of the method table. */
export type Handlers<M extends MethodTable<M>> = {
  [K in keyof M]: (
    request: M[K]['request'],
    context: HandlerContext<M[K]['event']>,
  ) => Promise<HandlerResult<M[K]['result']>>;
};

/** The subset of a worker's global scope `serveRpc` needs. */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/**
 * Dispatches incoming requests to `handlers`, posts their replies, turns thrown errors into `error` replies and
 * `cancel` messages into aborted signals. Requests run concurrently; handlers serialise what must be serial.
 */
export function serveRpc<M extends MethodTable<M>>(scope: WorkerScope, handlers: Handlers<M>): void {
  const running = new Map<number, AbortController>();
  scope.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (!isReply(data)) return;
    if (data.type === 'cancel') {
      running.get(data.id)?.abort();
      return;
    }
    const { id, type } = data;
    const handler = (handlers as Record<string, Handlers<M>[keyof M] | undefined>)[type];
    if (!handler) {
      const reply: ErrorReply = {
        type: 'error',
        id,
        message: `Unknown request type '${type}'. Expected one of: ${Object.keys(handlers).join(', ')}, cancel.`,
        cancelled: false,
      };
      scope.postMessage(reply);
      return;
    }
    const controller = new AbortController();
    running.set(id, controller);
    const cancelFlag = (data as { cancelFlag?: unknown }).cancelFlag;
    const context = {
      signal: controller.signal,
      emit: (payload: object) => {
        if (cancelFlag instanceof Int32Array && Atomics.load(cancelFlag, 0) === 1) controller.abort();
        scope.postMessage({ ...payload, id });
      },
    };
    (handler as (r: unknown, c: unknown) => Promise<{ reply: object; transfer?: Transferable[] }>)(
      data,
      context,
    )
      .then(({ reply, transfer }) => scope.postMessage({ ...reply, id }, transfer ?? []))
      .catch((error: unknown) => {
        const reply: ErrorReply = {
          type: 'error',
          id,
          message: error instanceof Error ? error.message : String(error),
          cancelled: controller.signal.aborted,
        };
        scope.postMessage(reply);
      })
      .finally(() => running.delete(id));
  });
}

/** Throws CancelledError when `signal` is aborted; call between units of work. */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError();
}
