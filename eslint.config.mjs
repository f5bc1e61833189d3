// Type-aware linting: floating promises and non-exhaustive switches are errors.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * The folders of apps/sandbox/src in layers, lowest first. A folder's code imports only
 * folders of lower layers (never a sibling), so no two folders can import each other in
 * a circle; the composition root (app.module.ts, main.ts) sits above them all. A new
 * folder gets its layer here; an import that breaks the order fails lint.
 */
const LAYERS = [
  ['errors', 'service-info'],
  ['http', 'config'],
  ['auth'],
  ['quota', 'processor', 'files', 'runtimes'],
  ['execution'],
  ['cluster', 'metrics'],
  ['adjustment', 'debug', 'callbacks', 'batch', 'mcp'],
  ['health', 'info', 'playground'],
  ['bootstrap'],
];

/** How far up a file of apps/sandbox/src may sit below its folder (`dto/` is one). */
const RELATIVE_DEPTHS = ['../', '../../', '../../../'];

/** One lint block per folder: it may not import its own layer's siblings or anything above. */
function layerRules() {
  return LAYERS.flatMap((layer, level) =>
    layer.map((folder) => {
      const forbidden = LAYERS.slice(level)
        .flat()
        .filter((other) => other !== folder);
      return {
        files: [`apps/sandbox/src/${folder}/**/*.ts`],
        ignores: ['**/*.spec.ts'],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: forbidden.map((other) => ({
                group: RELATIVE_DEPTHS.flatMap((up) => [`${up}${other}`, `${up}${other}/**`]),
                message: `${folder}/ is below ${other}/ in the layers of eslint.config.mjs: it may not import it.`,
              })),
            },
          ],
        },
      };
    }),
  );
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...layerRules(),
  {
    // Libraries stand below the app and its end-to-end tests: their helpers live in the
    // library that owns the concept (src/testing/) or in libs/testing.
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/test/**', '**/apps/**'],
              message: 'A library imports neither the app nor test/: move the helper into libs.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
);
