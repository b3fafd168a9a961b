import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

/** One adapter per outside runtime: only this module talks to transformers.js. */
const ONLY_THE_ADAPTER = {
  name: '@huggingface/transformers',
  message: 'Only src/lib/ml/transformers-adapter.ts imports transformers.js.',
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
    files: ['src/**/*.ts', 'src/**/*.svelte', 'scripts/**/*.ts'],
    ignores: ['src/lib/ml/transformers-adapter.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ONLY_THE_ADAPTER] }],
    },
  },
  {
    // Components reach the workers through the clients, never directly.
    files: ['src/lib/components/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [ONLY_THE_ADAPTER],
          patterns: [
            { group: ['**/workers/*'], message: 'Import from src/lib/clients or src/lib/core instead.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
);
