// ESLint flat config: typescript-eslint type-checked rules, plus the stage-direction import rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// `stage('util', 'model sources …')`: nothing under src/util may import from the listed stages.
const stage = (target, from) => ({
  target: `./src/${target}`,
  from: from.split(' ').map((f) => `./src/${f}`),
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'examples/**',
      'bin/**',
      'eslint.config.js',
      'web/dist/**',
      // Plain-JS programs run by tests (e.g. an OTel-instrumented service), outside the TS project.
      'test/fixtures/**/*.mjs',
      // Lab programs (Node servers/clients run inside network namespaces), outside the TS project.
      'lab/**/*.mjs',
      // Dev-only worker bootstraps (register tsx in worker threads), outside the TS project.
      'src/**/*.dev.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
      // Dependencies point one way: util ← model ← sources/decoders ← store ← analyzers ← outputs ← cli/server.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            stage('util', 'model sources decoders ingest store analyzers outputs server cli'),
            stage('model', 'sources decoders ingest store analyzers outputs server cli'),
            stage('decoders', 'sources ingest store analyzers outputs server cli'),
            stage('sources', 'decoders ingest store analyzers outputs server cli'),
            stage('store', 'sources decoders ingest analyzers outputs server cli'),
            stage('analyzers', 'sources ingest outputs server cli'),
            stage('outputs', 'sources ingest store server cli'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**', 'src/server/**', 'scripts/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
);
