// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/.turbo/**',
      // Build tools write these next to their configs for a moment while they load them (tsup's
      // `tsup.config.bundled_*.mjs`, Vite's `vitest.config.ts.timestamp-*.mjs`); a lint that runs
      // beside a build would otherwise list one and fail to open it once it is gone.
      '**/*.bundled_*.{js,mjs,cjs}',
      '**/*.timestamp-*.{js,mjs,cjs}',
      // README blocks written out for type-checking by test/readme-snippets.test.ts.
      'test/.snippets/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Strings are split into code points on purpose (lengths and look-alike folding).
      '@typescript-eslint/no-misused-spread': 'off',
      // With noUncheckedIndexedAccess, `!` after a bounds check is the honest spelling.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Claims, headers and environments are records: `env['NODE_ENV']` reads as data, not code.
      '@typescript-eslint/dot-notation': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/test/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Claims, headers and environments are records: `env['NODE_ENV']` reads as data, not code.
      '@typescript-eslint/dot-notation': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
)
