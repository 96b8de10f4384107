import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { assertBuilt, PROJECT_ROOT } from './support/server-process';

/**
 * The vendors' SDKs and Stripe's are loaded only for what is configured (src/ai/providers.ts,
 * src/purchases/gateway.ts): the service in its embedded, offline default never loads them. Checked in
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

describe('SDK loading', () => {
  it('loads a vendor SDK or Stripe only once it is configured', () => {
    assertBuilt();
    const out = execFileSync(process.execPath, ['-e', PROBE, PROJECT_ROOT], { cwd: join(PROJECT_ROOT), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      service: { anthropic: false, openai: false, stripe: false },
      noKeys: { anthropic: false, openai: false, stripe: false },
      withKeys: { anthropic: true, openai: true, stripe: false },
      withStripe: { anthropic: true, openai: true, stripe: true },
    });
  });
});
