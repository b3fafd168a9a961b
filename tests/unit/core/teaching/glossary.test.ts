/**
 * @file The glossary table (src/lib/core/teaching/glossary.ts) and its use in the UI: every term has its texts,
 * ids are unique, every term the components name exists, and every term is met somewhere in the page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAD_SETTINGS, SPLIT_SETTINGS } from '../../../../src/lib/core/experiment/settings.ts';
import {
  GLOSSARY,
  glossaryTerm,
  isTermId,
  SETTING_TERMS,
  settingTerm,
} from '../../../../src/lib/core/teaching/glossary.ts';

const SRC = join(import.meta.dirname, '../../../../src');
const TABS = ['model', 'data', 'prompts', 'finetune', 'compare'];

/** Every .svelte file under src, with its text. */
function svelteFiles(folder = SRC): { path: string; text: string }[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return svelteFiles(path);
    return entry.name.endsWith('.svelte') ? [{ path, text: readFileSync(path, 'utf8') }] : [];
  });
}

/** The ids the components give `<Term id="…">`, with the file of each. */
const usedInMarkup = svelteFiles().flatMap(({ path, text }) =>
  [...text.matchAll(/<Term\s+id="([^"]*)"/g)].map((match) => ({ id: match[1] as string, path })),
);

describe('the glossary', () => {
  it.each(GLOSSARY.map((entry) => [entry.id, entry] as const))('%s has its texts', (_, entry) => {
    expect(entry.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(entry.term.trim()).not.toBe('');
    expect(entry.short.length).toBeGreaterThan(20);
    // Short means short: one line where the term is met; the long text says more than the short one.
    expect(entry.short.length).toBeLessThanOrEqual(160);
    expect(entry.long.length).toBeGreaterThan(entry.short.length);
    expect(entry.where.length).toBeGreaterThan(0);
    for (const tab of entry.where) expect(TABS).toContain(tab);
    expect(new Set(entry.where).size).toBe(entry.where.length);
  });

  it('has unique ids and unique terms', () => {
    const ids = GLOSSARY.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    const terms = GLOSSARY.map((entry) => entry.term.toLowerCase());
    expect(new Set(terms).size).toBe(terms.length);
  });

  it('covers every term the lab asks a student to know', () => {
    const required = [
      'pretrained-model',
      'parameter-adjustment',
      'instruction-design',
      'prompt-variation',
      'embedding',
      'frozen-layers',
      'head',
      'feature-layer',
      'pooling',
      'epoch',
      'learning-rate',
      'batch',
      'seed',
      'few-shot',
      'test-split',
      'accuracy',
      'macro-f1',
      'confidence-interval',
      'overfitting',
    ];
    for (const id of required) expect(isTermId(id), id).toBe(true);
  });

  it('finds a term by id, and names the known ids for an unknown one', () => {
    expect(glossaryTerm('epoch').term).toBe('Epoch');
    expect(() => glossaryTerm('epochs')).toThrow(
      /No glossary term "epochs": known terms are pretrained-model, /,
    );
    expect(isTermId('constructor')).toBe(false);
  });
});

describe('the glossary in the UI', () => {
  it('every term a component names exists', () => {
    expect(usedInMarkup.length).toBeGreaterThan(10);
    for (const { id, path } of usedInMarkup) expect(isTermId(id), `${id} in ${path}`).toBe(true);
  });

  it('every setting with a term is a declared setting, and its term exists', () => {
    const keys = new Set<string>([...Object.keys(HEAD_SETTINGS), ...Object.keys(SPLIT_SETTINGS)]);
    for (const [key, id] of Object.entries(SETTING_TERMS)) {
      expect(keys.has(key), key).toBe(true);
      expect(isTermId(id), id).toBe(true);
    }
    expect(settingTerm('learningRate')).toBe('learning-rate');
    expect(settingTerm('toString')).toBeUndefined();
  });

  it('every term is met somewhere in the page, in place or beside a setting', () => {
    const met = new Set([...usedInMarkup.map((use) => use.id), ...Object.values(SETTING_TERMS)]);
    const unmet = GLOSSARY.map((entry) => entry.id).filter((id) => !met.has(id));
    expect(unmet).toEqual([]);
  });

  it('links back only to tabs that explain the term in place', () => {
    const TAB_OF_FOLDER = new Map([
      ['models', 'model'],
      ['data', 'data'],
      ['prompts', 'prompts'],
      ['finetune', 'finetune'],
      ['compare', 'compare'],
    ]);
    const explained = new Set<string>();
    for (const { id, path } of usedInMarkup) {
      const folder = /components\/([^/]+)\//.exec(path)?.[1];
      const tab = folder === undefined ? undefined : TAB_OF_FOLDER.get(folder);
      if (tab !== undefined) explained.add(`${tab}:${id}`);
    }
    // Split settings are edited in the data tab, head settings in the fine-tune lab.
    for (const key of Object.keys(SPLIT_SETTINGS)) explained.add(`data:${settingTerm(key) ?? ''}`);
    for (const key of Object.keys(HEAD_SETTINGS)) explained.add(`finetune:${settingTerm(key) ?? ''}`);
    for (const entry of GLOSSARY) {
      for (const tab of entry.where)
        expect(explained.has(`${tab}:${entry.id}`), `${entry.id} in ${tab}`).toBe(true);
    }
  });

  it('the settings forms show each setting’s term (SettingField looks it up by key)', () => {
    const settingField = readFileSync(join(SRC, 'lib/components/shared/SettingField.svelte'), 'utf8');
    expect(settingField).toMatch(/settingTerm\(setting\.key\)/);
    expect(settingField).toMatch(/<Term id=\{term\} \/>/);
  });
});
