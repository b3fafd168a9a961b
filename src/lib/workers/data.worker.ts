/**
 * @file The data worker: reads uploaded dataset files off the main thread, so a 20 MB CSV never freezes the
 * page, and holds the last one's table for the columns the page asks for (data-handlers.ts).
 */
import { dataHandlers } from './data-handlers.ts';
import type { DataWorkerMethods } from './protocol.ts';
import { serveRpc } from './rpc.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

serveRpc<DataWorkerMethods>(scope, dataHandlers());
