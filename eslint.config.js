import eslint from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

import { forbiddenImports, MODULE_GRAPH } from './module-graph.config.js';

const RELATIVE_INTO_LIBS = { group: ['../../libs/*', '../../../libs/*'], message: 'Use the @app/* path aliases.' };

/** The @app/* imports libs/<module> may not use, refused with a message naming the rule. */
function moduleGraphPatterns(module, allowed) {
  const forbidden = forbiddenImports(module);
  if (forbidden.length === 0) return [];
  const may = allowed.length ? allowed.map((other) => `@app/${other}`).join(', ') : 'no other library';
  return [
    {
      group: forbidden.map((other) => `@app/${other}`),
      message: `Module graph (module-graph.config.js): libs/${module} may import only ${may}.`,
    },
  ];
}

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'libs/database/src/generated/**', '.data/**', 'bench/results/**'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Imports in blocks: side effects, node: built-ins, packages, our @app/* libraries, relative files.
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': ['error', { groups: [['^\\u0000'], ['^node:'], ['^@?(?!app/)\\w'], ['^@app/'], ['^\\.']] }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-imports': ['error', { patterns: [RELATIVE_INTO_LIBS] }],
    },
  },
  // The module graph: a library importing a library it may not use fails lint (module-graph.config.js).
  ...Object.entries(MODULE_GRAPH).map(([module, allowed]) => ({
    files: [`libs/${module}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [RELATIVE_INTO_LIBS, ...moduleGraphPatterns(module, allowed)] }] },
  })),
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        WebAssembly: 'readonly',
        globalThis: 'readonly',
        performance: 'readonly',
      },
    },
  },
);
