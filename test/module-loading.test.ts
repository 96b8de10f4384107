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
const PROBE = `
const dist = (file) => require(require('node:path').join(process.argv[1], 'dist/src', file));
const loaded = () => {
  const files = Object.keys(require.cache);
  return {
    anthropic: files.some((f) => f.includes('/node_modules/@anthropic-ai/sdk/client.js')),
    openai: files.some((f) => f.includes('/node_modules/openai/client.js')),
    stripe: files.some((f) => f.includes('/node_modules/stripe/')),
    migrator: files.some((f) => f.includes('/node_modules/@mikro-orm/migrations/Migrator.js')),
  };
};
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
const STARTED_PROBE = `
const dist = (file) => require(require('node:path').join(process.argv[1], 'dist/src', file));
const { bootstrap } = dist('app.js');
const { loadConfig } = dist('config.js');
bootstrap(loadConfig(process.env)).then(async (app) => {
  const files = Object.keys(require.cache);
  const loaded = ['@anthropic-ai/sdk/client.js', 'openai/client.js', 'stripe/', '@mikro-orm/migrations/Migrator.js', 'umzug/'].filter((m) =>
    files.some((f) => f.includes('/node_modules/' + m)),
  );
  await app.close();
  process.stdout.write(JSON.stringify(loaded));
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
    const out = execFileSync(process.execPath, ['-e', PROBE, PROJECT_ROOT], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      service: { anthropic: false, openai: false, stripe: false, migrator: false },
      noKeys: { anthropic: false, openai: false, stripe: false, migrator: false },
      withKeys: { anthropic: true, openai: true, stripe: false, migrator: false },
      withStripe: { anthropic: true, openai: true, stripe: true, migrator: false },
    });
  });
});
