import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { layersConfig } from './eslint.layers.js';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.tsbuild/**',
      '**/.turbo/**',
      '.lab/**',
      'packages/cli/terraform/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // Passing on a caught error (typed unknown) is how a rejection is forwarded, not a smell.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
    },
  },
  {
    // Test doubles implement async ports without awaiting, and tests read parsed JSON and
    // pass methods to `expect`; the type-aware rules about those would only add noise there.
    files: ['packages/*/test/**/*.ts', 'packages/sdk/src/testing/**/*.ts', 'examples/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  layersConfig,
  {
    // Plain JavaScript and the build tools' own configuration files are not part of any package's
    // TypeScript project.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs', '**/tsup.config.ts', '**/vitest.config.ts', '*.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
);
