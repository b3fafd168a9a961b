import { builtinModules } from 'node:module';
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

/** One adapter per outside runtime: only this module talks to transformers.js. */
const ONLY_THE_ADAPTER = {
  name: '@huggingface/transformers',
  message: 'Only src/lib/ml/transformers-adapter.ts imports transformers.js.',
};

/** Import patterns of the app's folders, matched against relative import paths. */
const FOLDER = {
  components: '**/components/**',
  state: '**/state/**',
  clients: '**/clients/**',
  storage: '**/storage/**',
  workers: '**/workers/**',
  ml: '**/ml/**',
};

const SVELTE = ['svelte', 'svelte/*', '*.svelte', '*.svelte.ts'];
const ML_RUNTIMES = ['@tensorflow/*', 'onnxruntime-*'];

const CORE_WHY =
  'core is pure TypeScript shared by the CLI and the browser: no Svelte, DOM, Node, workers, storage or ML ' +
  'runtimes (take what it needs through the ports in src/lib/core/ports.ts).';
const ML_WHY =
  'ml wraps the ML runtimes for the workers and the CLI: it knows nothing of the UI, storage or workers.';
const COMPONENTS_WHY = 'Components reach models and workers through src/lib/clients and src/lib/state.';
const WORKERS_WHY =
  'Workers run off the main thread: they serve the clients and never import the UI or its state.';
const CLI_WHY = 'The CLI runs in Node on the core and ml: it must not depend on the browser side.';

/** One module per outside library: the core reads CSV in one place. */
const ONLY_THE_CSV_READER = {
  name: 'papaparse',
  message: 'Only src/lib/core/dataset/parse.ts reads CSV with papaparse; use its parseTable.',
};

/**
 * `no-restricted-imports` for one layer. Flat config replaces (does not merge) a rule's options, so every layer
 * repeats the transformers.js adapter rule unless `adapter` is false.
 * @param {string} message why the layer forbids these imports.
 * @param {{ names?: string[], patterns?: string[], adapter?: boolean, also?: { name: string, message: string }[] }} forbidden
 *   `also`: more forbidden modules, each with its own message.
 */
function layer(message, { names = [], patterns = [], adapter = true, also = [] }) {
  return [
    'error',
    {
      paths: [...(adapter ? [ONLY_THE_ADAPTER] : []), ...also, ...names.map((name) => ({ name, message }))],
      patterns: patterns.length === 0 ? [] : [{ group: patterns, message }],
    },
  ];
}

const CORE = {
  names: ['@huggingface/transformers', 'idb', ...builtinModules],
  patterns: [
    ...SVELTE,
    ...ML_RUNTIMES,
    'node:*',
    FOLDER.workers,
    FOLDER.clients,
    FOLDER.state,
    FOLDER.components,
    FOLDER.storage,
    FOLDER.ml,
  ],
  adapter: false,
  also: [ONLY_THE_CSV_READER],
};

const ML = {
  patterns: [...SVELTE, FOLDER.components, FOLDER.state, FOLDER.clients, FOLDER.storage, FOLDER.workers],
};

export default ts.config(
  { ignores: ['node_modules/', 'dist/', 'models/', 'tests/fixtures/models/', 'bench-results/'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      'svelte/no-at-html-tags': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // Type-aware rules: a promise nobody awaits loses its rejection.
    files: ['**/*.ts', '**/*.svelte'],
    ignores: ['src/lib/core/env/**'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.svelte'],
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.svelte', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ONLY_THE_ADAPTER] }] },
  },
  // Layers, enforced here rather than by care.
  { files: ['src/lib/core/**'], rules: { 'no-restricted-imports': layer(CORE_WHY, CORE) } },
  {
    // The one module of the core that reads CSV with papaparse (pure JavaScript, runs in browsers and Node).
    files: ['src/lib/core/dataset/parse.ts'],
    rules: {
      'no-restricted-imports': layer(CORE_WHY, { ...CORE, also: [] }),
    },
  },
  { files: ['src/lib/ml/**'], rules: { 'no-restricted-imports': layer(ML_WHY, ML) } },
  {
    files: ['src/lib/ml/transformers-adapter.ts'],
    rules: { 'no-restricted-imports': layer(ML_WHY, { ...ML, adapter: false }) },
  },
  {
    files: ['src/lib/components/**'],
    rules: {
      'no-restricted-imports': layer(COMPONENTS_WHY, {
        names: ['@huggingface/transformers'],
        patterns: [FOLDER.workers, ...ML_RUNTIMES],
        adapter: false,
      }),
    },
  },
  {
    files: ['src/lib/workers/**'],
    rules: { 'no-restricted-imports': layer(WORKERS_WHY, { patterns: [FOLDER.components, FOLDER.state] }) },
  },
  {
    files: ['src/cli/**'],
    rules: {
      'no-restricted-imports': layer(CLI_WHY, {
        patterns: [...SVELTE, FOLDER.components, FOLDER.state, FOLDER.clients, FOLDER.workers],
      }),
    },
  },
  {
    // Checked by tsconfig.core.json only (the main tsconfig has the full DOM types instead).
    files: ['src/lib/core/env/**'],
    ...ts.configs.disableTypeChecked,
  },
);
