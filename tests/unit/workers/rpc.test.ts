/**
 * @file The worker RPC layer (src/lib/workers/rpc.ts) over a real MessageChannel: replies and events reach the
 * right call, errors and cancels reject, stale replies are dropped, a crashed worker rejects everything pending.
 * Runs in Node (MessagePort behaves like a worker's port: structured clone, transfer, SharedArrayBuffer).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import {
  CancelledError,
  RpcClient,
  serveRpc,
  WorkerCrashedError,
  type Handlers,
  type WorkerPort,
  type WorkerScope,
} from '../../../src/lib/workers/rpc.ts';

interface EchoRequest {
  type: 'echo';
  id: number;
  text: string;
}
interface EchoReply {
  type: 'echoed';
  id: number;
  text: string;
}
interface CountRequest {
  type: 'count';
  id: number;
  to: number;
}
interface CountEvent {
  type: 'tick';
  id: number;
  value: number;
}
interface CountReply {
  type: 'counted';
  id: number;
  total: number;
}
interface TestMethods {
  echo: { request: EchoRequest; result: EchoReply; event: never };
  count: { request: CountRequest; result: CountReply; event: CountEvent };
}

const EVENT_TYPES = new Set(['tick']);

/** What the "worker" side saw, for assertions. */
interface WorkerLog {
  aborted: number[];
  ticksSent: number;
}

const openPorts: MessagePort[] = [];

function asWorkerPort(port: MessagePort): WorkerPort & { port: MessagePort } {
  return {
    port,
    postMessage: (message, transfer) => port.postMessage(message, transfer as never),
    addEventListener: (type: string, listener: (event: never) => void) =>
      port.addEventListener(type as 'message', listener as never),
    terminate: () => port.close(),
  };
}

/** A client and a served handler table connected by a MessageChannel. */
function connect(handlers: Partial<Handlers<TestMethods>> = {}, onTick?: (value: number) => void) {
  const { port1, port2 } = new MessageChannel();
  openPorts.push(port1, port2);
  const log: WorkerLog = { aborted: [], ticksSent: 0 };
  const defaults: Handlers<TestMethods> = {
    async echo(request) {
      if (request.text === 'fail') throw new Error('echo failed: the text was "fail"');
      return { reply: { type: 'echoed', text: request.text.toUpperCase() } };
    },
    async count(request, { signal, emit }) {
      signal.addEventListener('abort', () => log.aborted.push(request.id));
      for (let value = 1; value <= request.to; value++) {
        // Only microtasks between ticks: the message queue (and so a `cancel` message) is never reached.
        await Promise.resolve();
        if (signal.aborted) throw new Error('stopped');
        emit({ type: 'tick', value });
        log.ticksSent++;
        onTick?.(value);
      }
      return { reply: { type: 'counted', total: request.to } };
    },
  };
  const scope: WorkerScope = {
    postMessage: (message, transfer) => port2.postMessage(message, transfer as never),
    addEventListener: (type, listener) => port2.addEventListener(type, listener as never),
  };
  serveRpc<TestMethods>(scope, { ...defaults, ...handlers });
  port2.start();
  const crashes: string[] = [];
  const workerPort = asWorkerPort(port1);
  const client = new RpcClient<TestMethods>(workerPort, EVENT_TYPES, 'test worker', {
    advice: 'Try again.',
    onCrash: (message) => crashes.push(message),
  });
  port1.start();
  return { client, log, crashes, workerPort, workerSide: port2 };
}

afterEach(() => {
  for (const port of openPorts.splice(0)) port.close();
  delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
});

describe('worker RPC', () => {
  test('a call resolves with its own reply and receives its own events', async () => {
    const { client } = connect();
    const ticks: number[] = [];
    const [echo, count] = await Promise.all([
      client.call('echo', { text: 'hi' }),
      client.call('count', { to: 3 }, { onEvent: (event) => ticks.push(event.value) }),
    ]);
    expect(echo.text).toBe('HI');
    expect(count.total).toBe(3);
    expect(ticks).toEqual([1, 2, 3]);
    expect(client.pendingCount).toBe(0);
  });

  test('a failing handler rejects the call with its message; unknown types list the allowed ones', async () => {
    const { client } = connect();
    await expect(client.call('echo', { text: 'fail' })).rejects.toThrow('echo failed: the text was "fail"');
    const untyped = client as unknown as RpcClient<{ nope: TestMethods['echo'] }>;
    await expect(untyped.call('nope', { text: '' })).rejects.toThrow(
      /Unknown request type 'nope'.*echo, count/,
    );
  });

  test('cancel rejects at once, aborts the handler, and its late replies are dropped', async () => {
    const { client } = connect();
    const controller = new AbortController();
    const ticks: number[] = [];
    const call = client.call(
      'count',
      { to: 1000 },
      { signal: controller.signal, onEvent: (e) => ticks.push(e.value) },
    );
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    expect(client.pendingCount).toBe(0);
    // The worker still finishes its microtask loop (it never saw the message), but nothing reaches the caller.
    await client.call('echo', { text: 'after' });
    expect(ticks).toEqual([]);
  });

  test('with a shared cancel flag, the worker stops at its next event even without reading messages', async () => {
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = true;
    const controller = new AbortController();
    // Client and "worker" share this thread, and the worker's loop never yields to the message queue, so the
    // user's cancel is simulated from inside the loop: at tick 10, as if it came from another thread.
    const { client, log } = connect({}, (value) => {
      if (value === 10) controller.abort();
    });
    const call = client.call('count', { to: 100_000 }, { signal: controller.signal });
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    await client.call('echo', { text: 'wait for the worker' });
    expect(log.aborted).toHaveLength(1);
    // Tick 11 is emitted (and sees the flag); the loop then stops at its abort check.
    expect(log.ticksSent).toBe(11);
  });

  test('a worker error rejects every pending call once, with advice, and later calls fail fast', async () => {
    const { client, crashes, workerPort } = connect({
      // Never answers: only the crash can settle it.
      echo: () => new Promise(() => {}),
    });
    const first = client.call('echo', { text: 'a' });
    const second = client.call('echo', { text: 'b' });
    const crash = new Event('error');
    Object.defineProperty(crash, 'message', { value: 'boom' });
    workerPort.port.dispatchEvent(crash);
    workerPort.port.dispatchEvent(new Event('messageerror'));
    await expect(first).rejects.toBeInstanceOf(WorkerCrashedError);
    await expect(second).rejects.toThrow('The test worker crashed: boom. Try again.');
    expect(crashes).toEqual(['The test worker crashed: boom. Try again.']);
    await expect(client.call('echo', { text: 'c' })).rejects.toBeInstanceOf(WorkerCrashedError);
  });

  test('a reply for an id nobody waits for is ignored', async () => {
    const { client, workerSide } = connect();
    workerSide.postMessage({ type: 'echoed', id: 9999, text: 'stray' });
    workerSide.postMessage({ type: 'tick', id: 9998, value: 1 });
    workerSide.postMessage('not even an object');
    await expect(client.call('echo', { text: 'ok' })).resolves.toMatchObject({ text: 'OK' });
  });
});
