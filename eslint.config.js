// Lint: typescript-eslint's recommended rules, plus the house rules from ../shared/STYLE.md.
const tseslint = require('typescript-eslint');

// The layering of ARCHITECTURE.md ("Layers"): what each folder or top-level module of src/ may
// import; everything else in src/ is refused, so an import that points back up fails `npm run lint`.
// Matched on the import's text: `./x`, `../x`, `../../x/…` naming another folder or module.
const FOLDERS = ['graphql', 'generation', 'flows', 'purchases', 'monitoring', 'metering', 'accounts', 'cluster', 'balance', 'ai', 'limits', 'realtime', 'db'];
const MODULES = ['main', 'app', 'services', 'idempotency', 'config', 'input', 'paging', 'errors', 'logger', 'plans'];
const SHARED = ['config', 'errors', 'logger'];
const LAYERS = {
  // Wiring: may import anything.
  main: [...FOLDERS, ...MODULES],
  app: [...FOLDERS, ...MODULES],
  // The services' types, handed to the resolvers.
  services: ['generation', 'flows', 'purchases', 'monitoring', 'metering', 'accounts', 'balance', 'ai', 'limits', 'realtime', 'db', ...SHARED],
  graphql: ['services', 'generation', 'flows', 'purchases', 'monitoring', 'metering', 'accounts', 'balance', 'ai', 'limits', 'realtime', 'db', 'input', 'paging', ...SHARED],
  generation: ['idempotency', 'metering', 'accounts', 'balance', 'ai', 'realtime', 'db', 'input', 'paging', ...SHARED],
  // Flows store generations with their charges through generation/attachment.ts only (NARROWER).
  flows: ['generation', 'metering', 'accounts', 'balance', 'ai', 'realtime', 'db', 'input', 'paging', ...SHARED],
  // Token purchases: the grant and revoke go through the balance service; Stripe through its SDK.
  purchases: ['idempotency', 'balance', 'db', 'input', 'paging', ...SHARED],
  monitoring: ['balance', 'ai', 'realtime', 'db', 'paging', ...SHARED],
  metering: ['balance', 'ai', 'db', ...SHARED],
  accounts: ['limits', 'db', 'input', ...SHARED],
  // Several instances: leases over the balance service, and the forwarding to a balance's owner.
  cluster: ['balance', 'plans', 'db', ...SHARED],
  // The actor enforces the plan's rate limits with the limits module's counters (issue 15).
  balance: ['limits', 'plans', 'db', 'paging', ...SHARED],
  ai: ['db', 'input', ...SHARED],
  idempotency: [...SHARED],
  // The plan table: zod only.
  plans: [],
  limits: [...SHARED],
  realtime: [...SHARED],
  db: [...SHARED],
  input: ['config', 'errors'],
  paging: ['config', 'errors'],
  // The plan table's shape and month arithmetic (zod only): read by config and the balance.
  plans: [],
  errors: [],
  logger: [],
  // Parsed once, read by everyone; it imports only defaults and types that live with their owners (NARROWER).
  config: ['accounts', 'ai', 'plans'],
};
/** Where a layer may import only some modules of a folder it may import. */
const NARROWER = {
  flows: [{ regex: '^(\\.\\.?/)+generation/(?!attachment$)', message: 'flows store generations through generation/attachment.ts only' }],
  config: [
    { regex: '^\\./accounts/(?!(email|throttle)$)', message: 'config imports only accounts/email and accounts/throttle' },
    { regex: '^\\./ai/(?!router$)', message: 'config imports only ai/router (the default routes)' },
  ],
};
const unit = (name) => `^(\\.\\.?/)+${name}${MODULES.includes(name) ? '$' : '(/|$)'}`;

function layerRule(name) {
  const refused = [...FOLDERS, ...MODULES].filter((other) => other !== name && !LAYERS[name].includes(other));
  const patterns = refused.map((other) => ({
    regex: unit(other),
    message: `${name} must not import ${other}: imports point down the layering in ARCHITECTURE.md`,
  }));
  return {
    files: FOLDERS.includes(name) ? [`src/${name}/**/*.ts`] : [`src/${name}.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, ...(NARROWER[name] ?? [])] }] },
  };
}

// Each of these enters an AsyncLocalStorage, which on Node 20 turns on async hooks for the whole
// process (every promise pays from then on); see src/db/transaction.ts.
const ASYNC_HOOK_PROPERTIES = [
  { property: 'transactional', message: 'use inTransaction() from src/db/transaction.ts (em.transactional turns on async hooks process-wide)' },
  { property: 'findAndCount', message: 'run find and count separately (em.findAndCount turns on async hooks process-wide)' },
  // Other objects have a flush of their own (the balance service's, a stream's): only EntityManagers.
  ...['em', 'tx'].flatMap((object) => [
    { object, property: 'flush', message: 'write with em.insert / nativeUpdate / execute (a unit-of-work flush turns on async hooks process-wide; see src/db/transaction.ts)' },
    { object, property: 'persistAndFlush', message: 'write with em.insert (a unit-of-work flush turns on async hooks process-wide; see src/db/transaction.ts)' },
  ]),
];
/** The driver below the ORM is reached in src/db/sql.ts alone, so replacing it (MikroORM 7: Kysely) changes one file. */
const DRIVER_PROPERTIES = [{ property: 'getKnex', message: 'reach the driver through src/db/sql.ts (executeBound, executePrepared, withPooledConnection)' }];

module.exports = tseslint.config(
  { ignores: ['.tmp/**', 'dist/**', 'node_modules/**', 'src/graphql/generated/**', 'data/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-restricted-properties': ['error', ...ASYNC_HOOK_PROPERTIES, ...DRIVER_PROPERTIES],
    },
  },
  ...Object.keys(LAYERS).map(layerRule),
  { files: ['src/db/sql.ts'], rules: { 'no-restricted-properties': ['error', ...ASYNC_HOOK_PROPERTIES] } },
  { files: ['test/**', 'bench/**', 'scripts/**'], rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
);
