/**
 * @file The dataset being looked at before it is used: a built-in one or an uploaded file, its column mapping,
 * a preview, the validation report and the token check. "Use" puts it into the experiment (an upload as inline
 * rows, so the exported experiment stays one file) after a confirmation when runs would be cleared.
 */
import { DataClient } from '../../clients/DataClient.svelte.ts';
import { messageOf } from '../../clients/ModelClient.svelte.ts';
import {
  analysisOfPosted,
  analyzeColumns,
  tableColumns,
  type PostedCheck,
  type ColumnMapping,
  type DatasetAnalysis,
  type TableColumns,
} from '../../core/dataset/build.ts';
import type { BuiltinDataset } from '../../core/dataset/builtin/registry.ts';
import type { Table } from '../../core/dataset/parse.ts';
import { PREVIEW_ROWS, type DatasetFileView } from '../../core/dataset/read.ts';
import { checkedInlineDataset, inlineDatasetRef } from '../../core/dataset/ref.ts';
import type { ExperimentState } from '../../state/ExperimentState.svelte.ts';
import { TokenCheck } from './TokenCheck.svelte.ts';

/** Characters of a cell shown in the preview; the whole text is in the cell's title. */
export const PREVIEW_CELL_CHARS = 160;

/** Where the draft comes from. */
export type DraftSource =
  | { kind: 'builtin'; dataset: BuiltinDataset; table: Table }
  /**
   * An upload: the data worker holds its table and checks it; the page holds its view with the mapped columns'
   * cells, and the worker's last check with the mapping it was made for.
   */
  | { kind: 'upload'; file: DatasetFileView; check: { mapping: ColumnMapping; posted: PostedCheck } };

/** The draft of the data panel; create it during component setup (its token check owns an effect). */
export class DatasetDraft {
  readonly data: DataClient;
  readonly tokens: TokenCheck;

  source = $state.raw<DraftSource | undefined>(undefined);
  mapping = $state<ColumnMapping>({ text: '', label: '' });
  /** True while "Use this dataset" waits for the user to confirm clearing runs. */
  confirming = $state(false);
  /** A problem with what was dropped (not with a file's content), e.g. several files at once. */
  dropError = $state<string | undefined>(undefined);
  /** Why newly mapped columns could not be checked by the data worker. */
  columnsError = $state<string | undefined>(undefined);

  readonly #lab: ExperimentState;

  /** The draft's columns as the checks read them: an upload's view, or every column of a built-in table. */
  readonly table: TableColumns | undefined = $derived.by(() => {
    const source = this.source;
    if (source === undefined) return undefined;
    return source.kind === 'builtin' ? tableColumns(source.table, source.table.columns) : source.file;
  });

  readonly name: string = $derived.by(() => {
    const source = this.source;
    if (source === undefined) return '';
    return source.kind === 'builtin' ? source.dataset.title : source.file.name;
  });

  /** The check of the mapped columns, from the data worker for an upload; undefined while it is on its way. */
  readonly analysis: DatasetAnalysis | undefined = $derived.by(() => {
    const source = this.source;
    const table = this.table;
    const mapping = { text: this.mapping.text, label: this.mapping.label };
    if (source === undefined || table === undefined) return undefined;
    if (source.kind === 'builtin') return analyzeColumns(table, mapping, this.name);
    const { check } = source;
    if (check.mapping.text !== mapping.text || check.mapping.label !== mapping.label) return undefined;
    if (missingCells(table, mapping).length > 0) return undefined;
    return analysisOfPosted(check.posted, table, mapping, this.name);
  });

  /** The mapped columns the data worker is checking (none when their check is here or failed to come). */
  readonly columnsPending: string[] = $derived.by(() => {
    if (this.source === undefined || this.analysis !== undefined || this.columnsError !== undefined)
      return [];
    const { text, label } = this.mapping;
    return text === label ? [text] : [text, label];
  });

  /** The first rows, every cell cut to {@link PREVIEW_CELL_CHARS}. */
  readonly preview: Record<string, string>[] = $derived.by(() => {
    const source = this.source;
    if (source === undefined) return [];
    const rows = source.kind === 'builtin' ? source.table.rows.slice(0, PREVIEW_ROWS) : source.file.preview;
    return rows.map((row) => {
      const cells: Record<string, string> = {};
      for (const [column, cell] of Object.entries(row)) cells[column] = shorten(cell, PREVIEW_CELL_CHARS);
      return cells;
    });
  });

  /** True when the draft can become the experiment's dataset. */
  readonly usable: boolean = $derived(this.analysis?.dataset !== undefined);

  /** True when the draft is what the experiment already uses (same source and columns). */
  readonly inUse: boolean = $derived.by(() => {
    const source = this.source;
    const ref = this.#lab.experiment.dataset;
    if (source?.kind !== 'builtin' || !('builtin' in ref)) return false;
    return (
      ref.builtin === source.dataset.id &&
      (ref.text ?? source.dataset.textColumn) === this.mapping.text &&
      (ref.label ?? source.dataset.labelColumn) === this.mapping.label
    );
  });

  constructor(lab: ExperimentState, data: DataClient = new DataClient()) {
    this.#lab = lab;
    this.data = data;
    this.tokens = new TokenCheck(lab.model, () => this.analysis?.dataset?.examples.map((e) => e.text));
  }

  /** Shows a built-in dataset, with its default columns. */
  showBuiltin(dataset: BuiltinDataset): void {
    this.data.clear();
    this.dropError = undefined;
    this.columnsError = undefined;
    this.confirming = false;
    this.source = { kind: 'builtin', dataset, table: dataset.table() };
    this.mapping = { text: dataset.textColumn, label: dataset.labelColumn };
  }

  /** Reads an uploaded file in the data worker; on success it becomes the draft with guessed columns. */
  async upload(file: File): Promise<void> {
    this.source = undefined;
    this.dropError = undefined;
    this.columnsError = undefined;
    this.confirming = false;
    const read = await this.data.read(file, file.name);
    if (read === undefined) return;
    const guess = { text: read.file.guess.text, label: read.file.guess.label };
    this.source = { kind: 'upload', file: read.file, check: { mapping: guess, posted: read.check } };
    this.mapping = guess;
  }

  /** Handles the files of a drop or a file picker: exactly one is read. */
  async uploadFiles(files: readonly File[]): Promise<void> {
    const [file] = files;
    if (files.length > 1) {
      this.source = undefined;
      this.data.clear();
      this.dropError = `${files.length} files were dropped: drop one dataset file at a time.`;
      return;
    }
    if (file === undefined) {
      this.source = undefined;
      this.data.clear();
      this.dropError = 'Nothing to read was dropped: drop a CSV, TSV, JSONL or JSON file.';
      return;
    }
    await this.upload(file);
  }

  /** Maps `column` to `role`; for an upload, the data worker checks the new mapping. */
  setMapping(role: keyof ColumnMapping, column: string): void {
    this.mapping = { ...this.mapping, [role]: column };
    this.confirming = false;
    this.columnsError = undefined;
    void this.#checkMapping();
  }

  /**
   * Makes the draft the experiment's dataset. When runs exist, the first call only asks for confirmation
   * (`confirming`); `confirm()` then replaces the dataset and clears them.
   */
  use(): void {
    if (!this.usable) return;
    if (this.#lab.runs.length > 0) {
      this.confirming = true;
      return;
    }
    this.#apply();
  }

  confirm(): void {
    if (this.confirming && this.usable) this.#apply();
  }

  cancelConfirm(): void {
    this.confirming = false;
  }

  /** Closes the draft (the experiment keeps its dataset). */
  close(): void {
    this.source = undefined;
    this.confirming = false;
    this.dropError = undefined;
    this.columnsError = undefined;
    this.data.clear();
  }

  destroy(): void {
    this.data.destroy();
  }

  /**
   * Has the data worker check an upload's current mapping and send the mapped columns' cells the view lacks; the
   * view then keeps the mapped columns' cells only, so the page never holds more than two columns of a file.
   */
  async #checkMapping(): Promise<void> {
    const source = this.source;
    if (source?.kind !== 'upload') return;
    const mapping = { text: this.mapping.text, label: this.mapping.label };
    let reply: Awaited<ReturnType<DataClient['checkColumns']>>;
    try {
      reply = await this.data.checkColumns(source.file.name, mapping, missingCells(source.file, mapping));
    } catch (error) {
      if (this.source === source) this.columnsError = messageOf(error);
      return;
    }
    if (reply === undefined || this.source !== source) return;
    // Plain and never mutated after this: the view is raw state, replaced whole when columns change.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const kept = new Map<string, readonly string[]>();
    for (const column of [mapping.text, mapping.label]) {
      const found = reply.cells.get(column) ?? source.file.cells.get(column);
      if (found !== undefined) kept.set(column, found);
    }
    this.source = {
      kind: 'upload',
      file: { ...source.file, cells: kept },
      check: { mapping, posted: reply.check },
    };
  }

  #apply(): void {
    const source = this.source;
    const analysis = this.analysis;
    if (source === undefined || analysis === undefined) return;
    const mapping = { text: this.mapping.text, label: this.mapping.label };
    if (source.kind === 'builtin') {
      this.#lab.setDataset({ builtin: source.dataset.id, ...mapping });
    } else {
      // The check just made gives the experiment its dataset: 50,000 rows are not checked a second time.
      const checked = checkedInlineDataset(source.file.name, source.file, mapping, analysis);
      if (checked) this.#lab.setDataset(checked.ref, checked.built);
      else this.#lab.setDataset(inlineDatasetRef(source.file.name, source.file, mapping));
    }
    this.close();
  }
}

/** The mapped columns that are the file's but whose cells are not at hand. */
function missingCells(table: TableColumns, mapping: ColumnMapping): string[] {
  const columns = mapping.text === mapping.label ? [mapping.text] : [mapping.text, mapping.label];
  return columns.filter((column) => table.columns.includes(column) && !table.cells.has(column));
}

/** `text` cut to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
