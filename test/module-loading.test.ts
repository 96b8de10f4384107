import { execFileSync } from 'node:child_process';
import { assertBuilt, PROJECT_ROOT } from './support/server-process';
import { createTestDatabase, TEST_JWT_SECRET } from './support/test-app';

/**
 * The vendors' SDKs and Stripe's are loaded only for what is configured (src/ai/providers.ts,
 * src/purchases/gateway.ts), MikroORM's Migrator only when a migration is pending (src/db/orm.ts): the
 * service in its embedded, offline default never loads them once its database is migrated. Checked in
 * a fresh Node process on the compiled service, whose require cache is Node's own (jest's registry
 * is not).
 */
/** What the probes look for in the require cache, by a name each reports. */
const WATCHED = {
  anthropic: '@anthropic-ai/sdk/client.js',
  openai: 'openai/client.js',
  stripe: 'stripe/',
  migrator: '@mikro-orm/migrations/Migrator.js',
  umzug: 'umzug/',
};

/** Both probes' start: `dist(file)` requires a compiled module; `loaded()` names the watched ones loaded. */
const PRELUDE = `
const dist = (file) => require(require('node:path').join(process.argv[1], 'dist/src', file));
const watched = ${JSON.stringify(WATCHED)};
const loaded = () => {
  const files = Object.keys(require.cache);
  return Object.keys(watched).filter((name) => files.some((f) => f.includes('/node_modules/' + watched[name])));
};
`;

/** Requires the service, then makes providers without and with keys, then Stripe's gateway. */
const STEPS_PROBE = `${PRELUDE}
const steps = {};
dist('app.js');
steps.service = loaded();
const log = require('pino')({ level: 'silent' });
const { createProviders } = dist('ai/providers.js');
createProviders({ timeoutMs: 1000, maxRetries: 0, log });
steps.noKeys = loaded();
createProviders({ openai: { apiKey: 'k' }, anthropic: { apiKey: 'k' }, timeoutMs: 1000, maxRetries: 0, log });
steps.withKeys = loaded();
dist('purchases/gateway.js').createStripeGateway({ secretKey: 'sk_test_k', webhookSecret: 'whsec_k', apiBase: new URL('https://api.stripe.com') });
steps.withStripe = loaded();
process.stdout.write(JSON.stringify(steps));
`;

/** Starts the service on the test database in the environment, offline and without Stripe, and stops it. */
const STARTED_PROBE = `${PRELUDE}
const { bootstrap } = dist('app.js');
const { loadConfig } = dist('config.js');
bootstrap(loadConfig(process.env)).then(async (app) => {
  const started = loaded();
  await app.close();
  process.stdout.write(JSON.stringify(started));
});
`;

describe('module loading', () => {
  it('starts the offline service on a migrated database without any of them', async () => {
    assertBuilt();
    const db = await createTestDatabase();
    try {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...db.env, NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET };
      const out = execFileSync(process.execPath, ['-e', STARTED_PROBE, PROJECT_ROOT], { env, encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('loads a vendor SDK or Stripe only once it is configured, and the Migrator not with the service', () => {
    assertBuilt();
    const out = execFileSync(process.execPath, ['-e', STEPS_PROBE, PROJECT_ROOT], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      service: [],
      noKeys: [],
      withKeys: ['anthropic', 'openai'],
      withStripe: ['anthropic', 'openai', 'stripe'],
    });
  });
});
