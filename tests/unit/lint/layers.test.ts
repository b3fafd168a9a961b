import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The layer rules of eslint.config.js, checked against one import at a time in a file of each folder. Only
 * `no-restricted-imports` runs, and without type information, so the files need not exist.
 */
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({
    overrideConfig: {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { projectService: false, project: false, program: null } },
    },
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  });
});

/** The messages `no-restricted-imports` gives for `import … from specifier` in `file`. */
async function restrictions(file: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import '${specifier}';\nexport {};\n`, { filePath: file });
  if (result === undefined) throw new Error(`ESLint returned no result for ${file}`);
  const other = result.messages.filter((message) => message.ruleId !== 'no-restricted-imports');
  if (other.length > 0) throw new Error(`Unexpected lint output for ${file}: ${other[0]?.message}`);
  return result.messages.map((message) => message.message);
}

const CORE = 'src/lib/core/dataset/probe.ts';
const ML = 'src/lib/ml/probe.ts';
const COMPONENT = 'src/lib/components/data/probe.ts';
const WORKER = 'src/lib/workers/probe.ts';
const CLI = 'src/cli/probe.ts';
const STATE = 'src/lib/state/probe.ts';

/** [file, import, a fragment of the reason given, or undefined when the import is allowed]. */
const CASES: [string, string, string | undefined][] = [
  [CORE, '../errors.ts', undefined],
  [CORE, './limits.ts', undefined],
  [CORE, 'svelte', 'core is pure TypeScript'],
  [CORE, 'svelte/store', 'core is pure TypeScript'],
  [CORE, '../../components/data/DataPanel.svelte', 'core is pure TypeScript'],
  [CORE, '../../state/ExperimentState.svelte.ts', 'core is pure TypeScript'],
  [CORE, '../../workers/rpc.ts', 'core is pure TypeScript'],
  [CORE, '../../clients/model-index.ts', 'core is pure TypeScript'],
  [CORE, '../../storage/store.ts', 'core is pure TypeScript'],
  [CORE, '../../ml/tfjs-head.ts', 'core is pure TypeScript'],
  [CORE, '@huggingface/transformers', 'core is pure TypeScript'],
  [CORE, '@tensorflow/tfjs', 'core is pure TypeScript'],
  [CORE, 'onnxruntime-web', 'core is pure TypeScript'],
  [CORE, 'idb', 'core is pure TypeScript'],
  [CORE, 'papaparse', 'Only src/lib/core/dataset/parse.ts reads CSV'],
  [CORE, 'node:fs/promises', 'core is pure TypeScript'],
  [CORE, 'path', 'core is pure TypeScript'],
  ['src/lib/core/dataset/parse.ts', 'papaparse', undefined],
  ['src/lib/core/dataset/parse.ts', 'node:fs', 'core is pure TypeScript'],
  [ML, '../core/ports.ts', undefined],
  [ML, '@tensorflow/tfjs', undefined],
  [ML, 'svelte', 'ml wraps the ML runtimes'],
  [ML, '../components/shared/ProgressBar.svelte', 'ml wraps the ML runtimes'],
  [ML, '../state/context.ts', 'ml wraps the ML runtimes'],
  [ML, '../clients/model-index.ts', 'ml wraps the ML runtimes'],
  [ML, '../storage/store.ts', 'ml wraps the ML runtimes'],
  [ML, '../workers/rpc.ts', 'ml wraps the ML runtimes'],
  [ML, '@huggingface/transformers', 'Only src/lib/ml/transformers-adapter.ts'],
  ['src/lib/ml/transformers-adapter.ts', '@huggingface/transformers', undefined],
  ['src/lib/ml/transformers-adapter.ts', '../workers/rpc.ts', 'ml wraps the ML runtimes'],
  [COMPONENT, '../../clients/DataClient.svelte.ts', undefined],
  [COMPONENT, '../../core/dataset/parse.ts', undefined],
  [COMPONENT, 'svelte', undefined],
  [COMPONENT, '../../workers/protocol.ts', 'Components reach models and workers'],
  [COMPONENT, '@huggingface/transformers', 'Components reach models and workers'],
  [COMPONENT, '@tensorflow/tfjs', 'Components reach models and workers'],
  [COMPONENT, 'onnxruntime-web', 'Components reach models and workers'],
  [WORKER, '../ml/transformers-adapter.ts', undefined],
  [WORKER, '../components/shared/format.ts', 'Workers run off the main thread'],
  [WORKER, '../state/context.ts', 'Workers run off the main thread'],
  [WORKER, '@huggingface/transformers', 'Only src/lib/ml/transformers-adapter.ts'],
  [CLI, '../lib/core/ports.ts', undefined],
  [CLI, '../lib/ml/tfjs-head.ts', undefined],
  [CLI, 'node:fs', undefined],
  [CLI, 'svelte', 'The CLI runs in Node'],
  [CLI, '../lib/components/shared/format.ts', 'The CLI runs in Node'],
  [CLI, '../lib/state/context.ts', 'The CLI runs in Node'],
  [CLI, '../lib/clients/model-index.ts', 'The CLI runs in Node'],
  [CLI, '../lib/workers/rpc.ts', 'The CLI runs in Node'],
  [STATE, '../workers/rpc.ts', undefined],
  [STATE, '@huggingface/transformers', 'Only src/lib/ml/transformers-adapter.ts'],
  ['scripts/bench/probe.ts', '@huggingface/transformers', 'Only src/lib/ml/transformers-adapter.ts'],
  [STATE, 'papaparse', undefined],
];

describe('eslint layer rules', () => {
  it.each(CASES)('%s: import %s', async (file, specifier, reason) => {
    const messages = await restrictions(file, specifier);
    if (reason === undefined) {
      expect(messages).toEqual([]);
    } else {
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain(reason);
    }
  });
});
