/**
 * @file What the data worker does: reads an uploaded dataset file off the main thread (size checked before a byte
 * is read; decoding, parsing and the column guess by the core, core/dataset/read.ts) and keeps its table. The page
 * gets a view of it (every column's name, the first rows, and the cells of the guessed text and label columns) and
 * the check of those columns against the dataset rules, which the worker runs so the page does not; when the user
 * maps other columns, the worker checks them and sends the cells the page lacks (`check-columns`). A file that
 * cannot be used comes back as an `error` reply whose message says why and what to do.
 */
import { postedCheck, tableColumns } from '../core/dataset/build.ts';
import { checkFileSize } from '../core/dataset/limits.ts';
import { formatFromFileName } from '../core/dataset/parse.ts';
import { readDatasetFile, viewOfFile, type DatasetFile } from '../core/dataset/read.ts';
import type { DataWorkerMethods } from './protocol.ts';
import { throwIfCancelled, type Handlers } from './rpc.ts';

/** The data worker's handlers; `now` times each read. */
export function dataHandlers(now: () => number = () => performance.now()): Handlers<DataWorkerMethods> {
  /** The last file read, until another is read or the page forgets it. */
  let held: DatasetFile | undefined;

  return {
    async 'read-file'(request, { signal }) {
      const started = now();
      held = undefined;
      // Both checks need no content: an unsupported or oversized file is refused before it is read.
      formatFromFileName(request.name);
      checkFileSize(request.file.size, request.name);
      const bytes = new Uint8Array(await request.file.arrayBuffer());
      throwIfCancelled(signal);
      const file = readDatasetFile(bytes, request.name);
      held = file;
      const view = viewOfFile(file);
      const check = postedCheck(view, file.guess, file.name);
      return { reply: { type: 'file-read', file: view, check, ms: now() - started } };
    },

    async 'check-columns'(request) {
      const file = held;
      if (file === undefined || file.name !== request.name) {
        throw new Error(`"${request.name}" is no longer open in the data worker: choose the file again.`);
      }
      const unknown = request.send.filter((column) => !file.table.columns.includes(column));
      if (unknown.length > 0) {
        throw new Error(`"${request.name}" has no column ${unknown.map((name) => `"${name}"`).join(', ')}.`);
      }
      const { mapping } = request;
      // One pass per column: the cells sent are taken from those the check reads (they are mapped columns).
      const read = tableColumns(file.table, [mapping.text, mapping.label, ...request.send]);
      const cells = new Map(request.send.map((column) => [column, read.cells.get(column) ?? []]));
      return { reply: { type: 'columns-checked', cells, check: postedCheck(read, mapping, file.name) } };
    },

    async 'forget-file'() {
      held = undefined;
      return { reply: { type: 'file-forgotten' } };
    },
  };
}
