/**
 * @file The dataset being looked at before it is used: a built-in one or an uploaded file, its column mapping,
 * a preview, the validation report and the token check. "Use" puts it into the experiment (an upload as inline
 * rows, so the exported experiment stays one file) after a confirmation when runs would be cleared.
 */
import { DataClient } from '../../clients/DataClient.svelte.ts';
import { analyzeDataset, type ColumnMapping, type DatasetAnalysis } from '../../core/dataset/build.ts';
import type { BuiltinDataset } from '../../core/dataset/builtin/registry.ts';
import type { Table } from '../../core/dataset/parse.ts';
import type { DatasetFile } from '../../core/dataset/read.ts';
import { inlineDatasetRef } from '../../core/dataset/ref.ts';
import type { DatasetRef } from '../../core/experiment/types.ts';
import type { ExperimentState } from '../../state/ExperimentState.svelte.ts';
import { TokenCheck } from './TokenCheck.svelte.ts';

/** Rows shown in the preview. */
export const PREVIEW_ROWS = 5;
/** Characters of a cell shown in the preview; the whole text is in the cell's title. */
export const PREVIEW_CELL_CHARS = 160;

/** Where the draft comes from. */
export type DraftSource =
  { kind: 'builtin'; dataset: BuiltinDataset; table: Table } | { kind: 'upload'; file: DatasetFile };

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

  readonly #lab: ExperimentState;

  readonly table: Table | undefined = $derived.by(() => {
    const source = this.source;
    if (source === undefined) return undefined;
    return source.kind === 'builtin' ? source.table : source.file.table;
  });

  readonly name: string = $derived.by(() => {
    const source = this.source;
    if (source === undefined) return '';
    return source.kind === 'builtin' ? source.dataset.title : source.file.name;
  });

  readonly analysis: DatasetAnalysis | undefined = $derived.by(() => {
    const table = this.table;
    if (table === undefined) return undefined;
    return analyzeDataset(table, { text: this.mapping.text, label: this.mapping.label }, this.name);
  });

  /** The first rows, every cell cut to {@link PREVIEW_CELL_CHARS}. */
  readonly preview: Record<string, string>[] = $derived.by(() =>
    (this.table?.rows ?? []).slice(0, PREVIEW_ROWS).map((row) => {
      const cells: Record<string, string> = {};
      for (const [column, cell] of Object.entries(row)) cells[column] = shorten(cell, PREVIEW_CELL_CHARS);
      return cells;
    }),
  );

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
    this.confirming = false;
    this.source = { kind: 'builtin', dataset, table: dataset.table() };
    this.mapping = { text: dataset.textColumn, label: dataset.labelColumn };
  }

  /** Reads an uploaded file in the data worker; on success it becomes the draft with guessed columns. */
  async upload(file: File): Promise<void> {
    this.source = undefined;
    this.dropError = undefined;
    this.confirming = false;
    const read = await this.data.read(file, file.name);
    if (read === undefined) return;
    this.source = { kind: 'upload', file: read };
    this.mapping = { ...read.guess };
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

  setMapping(role: keyof ColumnMapping, column: string): void {
    this.mapping = { ...this.mapping, [role]: column };
    this.confirming = false;
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
    this.data.clear();
  }

  destroy(): void {
    this.data.destroy();
  }

  #apply(): void {
    const ref = this.#ref();
    if (ref === undefined) return;
    this.#lab.setDataset(ref);
    this.close();
  }

  #ref(): DatasetRef | undefined {
    const source = this.source;
    const mapping = { text: this.mapping.text, label: this.mapping.label };
    if (source === undefined) return undefined;
    if (source.kind === 'builtin') return { builtin: source.dataset.id, ...mapping };
    return inlineDatasetRef(source.file.name, source.file.table, mapping);
  }
}

/** `text` cut to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
