import { hashPassword, verifyPassword } from '../src/accounts/auth';
import { ConfigError, PASSWORD_HASH_COST, loadConfig } from '../src/config';

describe('configuration', () => {
  it('names the variable when a value is bad, and refuses production without JWT_SECRET', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ RESERVATION_TTL_MS: '5' })).toThrow(/RESERVATION_TTL_MS/);
    expect(() => loadConfig({ PRICING_JSON: '{"gpt-4o": {"inputNanoUsdPerToken": 1.5}}' })).toThrow(/PRICING_JSON/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ FLOWS_RUNNING_MAX: '10', FLOWS_FAIR_SHARE_RESERVE: '10' })).toThrow(/FLOWS_FAIR_SHARE_RESERVE/);
    expect(() => loadConfig({ FLOWS_PER_USER_MAX: '0' })).toThrow(/FLOWS_PER_USER_MAX/);
    expect(() => loadConfig({ ADMIN_EMAILS: 'a@x.io, not-an-email' })).toThrow(/ADMIN_EMAILS: not an email address: "not-an-email"/);
  });

  it('runs alone without REDIS_URL; with it, clustered, on a PostgreSQL server only', () => {
    expect(loadConfig({}).cluster).toBeUndefined();
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/REDIS_URL: clustered mode needs DATABASE_URL/);
    const db = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x', REDIS_URL: 'redis://127.0.0.1:6379' };
    const a = loadConfig({ ...db, PORT: '4001' }).cluster!;
    const b = loadConfig({ ...db, PORT: '4001' }).cluster!;
    expect(a.instanceId).toMatch(/-4001-[0-9a-f]{6}$/);
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(a.internalUrl).toBeUndefined();
    expect(a.internalHost).toBe('127.0.0.1');
    expect(a.leaseTtlMs).toBe(5_000);
    const c = loadConfig({ ...db, INSTANCE_ID: 'api-1', INTERNAL_URL: 'http://api-1.internal:4000/', HOST: '0.0.0.0', LEASE_TTL_MS: '2000' }).cluster!;
    expect(c).toMatchObject({ instanceId: 'api-1', internalUrl: 'http://api-1.internal:4000', leaseTtlMs: 2_000 });
    expect(c.internalHost).not.toBe('0.0.0.0');
    expect(() => loadConfig({ ...db, INSTANCE_ID: 'a b' })).toThrow(/INSTANCE_ID/);
  });

  it('refuses ADMIN_EMAILS in production (whoever signed up first with it would become ADMIN)', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };
    expect(loadConfig(production).adminEmails.size).toBe(0);
    expect(() => loadConfig({ ...production, ADMIN_EMAILS: 'boss@example.test' })).toThrow(/ADMIN_EMAILS: refused when NODE_ENV=production/);
    expect(loadConfig({ ...production, ADMIN_EMAILS: ' , ' }).adminEmails.size).toBe(0);
  });

  it("hashes passwords at OWASP's argon2id cost; a lower one is refused outside NODE_ENV=test", async () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };
    expect(PASSWORD_HASH_COST).toEqual({ memoryKib: 19_456, iterations: 2 });
    const cost = loadConfig(production).passwordHashCost;
    expect(cost).toEqual(PASSWORD_HASH_COST);
    // The stored hash names its cost (PHC string): this is what production writes.
    const stored = await hashPassword('correct horse battery', cost);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(stored, 'correct horse battery')).toBe(true);
    for (const env of ['production', 'development']) {
      expect(() => loadConfig({ ...production, NODE_ENV: env, PASSWORD_HASH_MEMORY_KIB: '8' })).toThrow(/PASSWORD_HASH_MEMORY_KIB.*only when NODE_ENV=test/);
      expect(() => loadConfig({ ...production, NODE_ENV: env, PASSWORD_HASH_ITERATIONS: '1' })).toThrow(/only when NODE_ENV=test/);
    }
    expect(loadConfig({ ...production, PASSWORD_HASH_MEMORY_KIB: '65536', PASSWORD_HASH_ITERATIONS: '3' }).passwordHashCost).toEqual({ memoryKib: 65_536, iterations: 3 });
    const cheap = loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_MEMORY_KIB: '8', PASSWORD_HASH_ITERATIONS: '1' }).passwordHashCost;
    const cheapHash = await hashPassword('correct horse battery', cheap);
    expect(cheapHash).toMatch(/^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
    // Verifying reads the cost from the hash: a hash made at another cost still verifies, and only its password.
    expect(await verifyPassword(cheapHash, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(cheapHash, 'correct horse batterz')).toBe(false);
  });

  it('has working defaults and reads overrides', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ port: 4000, databaseUrl: undefined, dataDir: './data', signupGrantTokens: 10_000, openai: undefined });
    expect(defaults.balance.reservationTtlMs).toBe(600_000);
    expect(defaults.flows).toEqual({ perUserMax: 4, runningMax: 200, fairShareReserve: 20 });
    const custom = loadConfig({ ADMIN_EMAILS: ' A@x.io, b@Y.io ', OPENAI_API_KEY: 'sk', PRICING_JSON: '{"my-model": {"inputNanoUsdPerToken": 5, "outputNanoUsdPerToken": 9}}' });
    expect([...custom.adminEmails]).toEqual(['a@x.io', 'b@y.io']);
    expect(custom.openai).toEqual({ apiKey: 'sk', baseURL: undefined });
    expect(custom.pricing['my-model']).toEqual({ inputNanoUsdPerToken: 5, outputNanoUsdPerToken: 9 });
  });
});
