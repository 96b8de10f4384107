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
      // Each of these enters an AsyncLocalStorage, which on Node 20 turns on async hooks for the whole
      // process (every promise pays from then on); see src/db/transaction.ts.
      'no-restricted-properties': [
        'error',
        { property: 'transactional', message: 'use inTransaction() from src/db/transaction.ts (em.transactional turns on async hooks process-wide)' },
        { property: 'findAndCount', message: 'run find and count separately (em.findAndCount turns on async hooks process-wide)' },
        // Other objects have a flush of their own (the balance service's, a stream's): only EntityManagers.
        ...['em', 'tx'].flatMap((object) => [
          { object, property: 'flush', message: 'write with em.insert / nativeUpdate / execute (a unit-of-work flush turns on async hooks process-wide; see src/db/transaction.ts)' },
          { object, property: 'persistAndFlush', message: 'write with em.insert (a unit-of-work flush turns on async hooks process-wide; see src/db/transaction.ts)' },
        ]),
      ],
    },
  },
  { files: ['test/**', 'bench/**', 'scripts/**'], rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
);
