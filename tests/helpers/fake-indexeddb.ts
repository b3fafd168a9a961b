/**
 * @file IndexedDB in Node for one test file: fake-indexeddb's globals, installed when the file calls
 * {@link useFakeIndexedDB} and taken away again after its tests. (`import 'fake-indexeddb/auto'` would install
 * them for the whole process, and test files sharing a process would then see another file's databases, or an
 * IndexedDB where a test needs none.)
 */
import {
  IDBCursor,
  IDBCursorWithValue,
  IDBDatabase,
  IDBFactory,
  IDBIndex,
  IDBKeyRange,
  IDBObjectStore,
  IDBOpenDBRequest,
  IDBRecord,
  IDBRequest,
  IDBTransaction,
  IDBVersionChangeEvent,
} from 'fake-indexeddb';
import { afterAll } from 'vitest';

/**
 * Installs an empty IndexedDB (a fresh factory, so no database of another file) and the `IDB*` classes on
 * `globalThis` now, and restores what was there before once the calling file's tests are done. Call it at the
 * top level of a test file.
 */
export function useFakeIndexedDB(): void {
  const installed = new Map<string, unknown>([
    ['indexedDB', new IDBFactory()],
    ['IDBCursor', IDBCursor],
    ['IDBCursorWithValue', IDBCursorWithValue],
    ['IDBDatabase', IDBDatabase],
    ['IDBFactory', IDBFactory],
    ['IDBIndex', IDBIndex],
    ['IDBKeyRange', IDBKeyRange],
    ['IDBObjectStore', IDBObjectStore],
    ['IDBOpenDBRequest', IDBOpenDBRequest],
    ['IDBRecord', IDBRecord],
    ['IDBRequest', IDBRequest],
    ['IDBTransaction', IDBTransaction],
    ['IDBVersionChangeEvent', IDBVersionChangeEvent],
  ]);
  const before = new Map<string, PropertyDescriptor | undefined>();
  for (const [name, value] of installed) {
    before.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, { value, enumerable: false, configurable: true, writable: true });
  }
  afterAll(() => {
    for (const [name, descriptor] of before) {
      if (descriptor === undefined) Reflect.deleteProperty(globalThis, name);
      else Object.defineProperty(globalThis, name, descriptor);
    }
  });
}
