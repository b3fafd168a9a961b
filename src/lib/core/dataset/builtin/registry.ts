/**
 * @file The built-in datasets: labeled data shipped inside the app and the CLI, so an experiment works offline
 * with nothing to upload. Each entry carries its provenance and license, shown wherever the data is used.
 */
import { DatasetError, quoteList } from '../../errors.ts';
import type { Table } from '../parse.ts';
import { spamAssassinDataset } from './spam-assassin/index.ts';
import { TOPICS_ROWS } from './topics.ts';

export interface BuiltinDataset {
  /** Stable id used in experiment files: `"dataset": { "builtin": "<id>" }`. */
  id: string;
  title: string;
  description: string;
  /** Where the texts come from. */
  source: string;
  license: string;
  /** How the rows were made from the source, in a few sentences a user can check. */
  provenance: { summary: string };
  /** Default column names, used when the experiment does not name them. */
  textColumn: string;
  labelColumn: string;
  /** The data as a table, exactly as if it had been read from a file. */
  table(): Table;
}

function tableOf(rows: readonly Record<string, string>[], columns: string[]): Table {
  return { columns, rows: rows.map((row) => ({ ...row })), warnings: [] };
}

/** Every built-in dataset, in the order the app lists them. */
export const BUILTIN_DATASETS: readonly BuiltinDataset[] = [
  {
    id: 'topics',
    title: 'Topics: food, sports, weather',
    description:
      '150 short English sentences (50 per topic) in the style of headlines and chat messages. ' +
      'Easy enough that a good prompt already does well: a quick first experiment.',
    source: 'Written for this project',
    license: 'CC0 1.0',
    provenance: {
      summary:
        'Written by hand for this app (src/lib/core/dataset/builtin/topics.ts): 50 sentences per topic, ' +
        'none copied from another source. Dedicated to the public domain (CC0 1.0).',
    },
    textColumn: 'text',
    labelColumn: 'label',
    table: () => tableOf(TOPICS_ROWS, ['text', 'label']),
  },
  spamAssassinDataset,
];

/** The ids accepted by `getBuiltinDataset`. */
export function builtinDatasetIds(): string[] {
  return BUILTIN_DATASETS.map((dataset) => dataset.id);
}

/**
 * Looks up a built-in dataset by id.
 * @throws DatasetError listing the available ids when there is none with this id.
 */
export function getBuiltinDataset(id: string): BuiltinDataset {
  const dataset = BUILTIN_DATASETS.find((candidate) => candidate.id === id);
  if (dataset === undefined) {
    throw new DatasetError(
      'unknown-builtin',
      `There is no built-in dataset "${id}": use one of ${quoteList(builtinDatasetIds())}.`,
    );
  }
  return dataset;
}
