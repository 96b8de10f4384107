// Lint: typescript-eslint's recommended rules, plus the house rules from ../shared/STYLE.md.
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['.tmp/**', 'dist/**', 'node_modules/**', 'src/graphql/generated/**', 'data/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  { files: ['test/**', 'bench/**', 'scripts/**'], rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
);
