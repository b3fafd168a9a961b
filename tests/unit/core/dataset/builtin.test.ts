import { describe, expect, it } from 'vitest';
import { buildDataset } from '../../../../src/lib/core/dataset/build.ts';
import {
  BUILTIN_DATASETS,
  builtinDatasetIds,
  getBuiltinDataset,
} from '../../../../src/lib/core/dataset/builtin/registry.ts';
import { DatasetError } from '../../../../src/lib/core/errors.ts';

describe('built-in datasets', () => {
  it('each one builds without errors and states its source and license', () => {
    expect(BUILTIN_DATASETS.length).toBeGreaterThan(0);
    for (const builtin of BUILTIN_DATASETS) {
      const { dataset, report } = buildDataset(
        builtin.table(),
        { text: builtin.textColumn, label: builtin.labelColumn },
        builtin.title,
      );
      expect(report.dropped, builtin.id).toEqual([]);
      expect(dataset.labels.length, builtin.id).toBeGreaterThan(1);
      expect(builtin.source.length).toBeGreaterThan(0);
      expect(builtin.license.length).toBeGreaterThan(0);
    }
  });

  it('"topics" has 50 unique short sentences for each of food, sports and weather', () => {
    const topics = getBuiltinDataset('topics');
    expect(topics.license).toBe('CC0 1.0');
    expect(topics.source).toBe('Written for this project');
    const { dataset, report } = buildDataset(topics.table(), { text: 'text', label: 'label' }, topics.title);
    expect(dataset.labels).toEqual(['food', 'sports', 'weather']);
    expect(report.classCounts).toEqual({ food: 50, sports: 50, weather: 50 });
    expect(report.examples).toBe(150);
    for (const example of dataset.examples) {
      expect(example.text.split(/\s+/).length, example.text).toBeLessThanOrEqual(20);
      expect(example.text, example.text).toMatch(/^[A-Z"'0-9]/);
    }
  });

  it('hands out a fresh table each time, so callers cannot corrupt the built-in data', () => {
    const first = getBuiltinDataset('topics').table();
    (first.rows[0] as Record<string, string>).text = 'changed';
    expect(getBuiltinDataset('topics').table().rows[0]?.text).not.toBe('changed');
  });

  it('lists the available ids for an unknown id', () => {
    expect(builtinDatasetIds()).toContain('topics');
    expect(() => getBuiltinDataset('nope')).toThrow(DatasetError);
    expect(() => getBuiltinDataset('nope')).toThrow(/no built-in dataset "nope": use one of "topics"/);
  });
});
