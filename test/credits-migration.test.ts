import { MikroORM } from '@mikro-orm/postgresql';
import { verifyLedger } from '../src/balance/ledger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded';
import { MIGRATION_NAMES } from '../migrations/names';
import { migratorOf, ormConfig, pendingMigrations } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { gql } from './support/graphql-client';
import { createTestDatabase, startTestApp } from './support/test-app';

/** The last migration before grants: the schema the previous version ran on. */
const BEFORE_GRANTS = 'Migration20261130000031_low_balance_state';

/**
 * A database filled by the previous version (no grants), migrated: every user with tokens gets one
 * grant equal to their balance (ADMIN when an admin granted to them, else SIGNUP), the books balance,
 * and the service then burns those grants like any other.
 */
describe('migration 50 (grants) on a database of the previous version', () => {
  it('gives each user one grant equal to their balance, and the books balance before and after use', async () => {
    const db = await createTestDatabase({ empty: true });
    const log = createLogger('silent');
    let embedded: EmbeddedPostgres | undefined;
    let orm: MikroORM | undefined;
    const ids = { signup: '', admin: '', spent: '' };
    try {
      embedded = db.env.DATABASE_URL ? undefined : await startEmbeddedPostgres(db.env.DATA_DIR!, log);
      orm = await MikroORM.init(ormConfig({ url: db.env.DATABASE_URL ?? embedded!.url, singleConnection: !!embedded, log }));
      // Before the first migration, half-way and at the end, the check at start (pendingMigrations,
      // one query) and MikroORM's Migrator see the same migrations pending.
      expect(await pendingMigrations(orm)).toEqual([...MIGRATION_NAMES]);
      const migrator = migratorOf(orm);
      const migratorPending = async () => (await migrator.getPendingMigrations()).map((m) => m.name);
      expect(await migratorPending()).toEqual([...MIGRATION_NAMES]);
      await migrator.up({ to: BEFORE_GRANTS });
      expect(await pendingMigrations(orm)).toEqual(MIGRATION_NAMES.slice(MIGRATION_NAMES.indexOf(BEFORE_GRANTS) + 1));
      expect(await pendingMigrations(orm)).toEqual(await migratorPending());
      const conn = orm.em.fork().getConnection();
      const user = async (email: string, ledger: Array<{ kind: string; amount: number; metadata: Record<string, unknown> }>) => {
        const tokens = ledger.reduce((s, e) => s + e.amount, 0);
        const [row] = await conn.execute(`insert into users (id, email, password_hash, tokens) values (gen_random_uuid(), ?, 'x', ?) returning id`, [email, tokens]);
        let balance = 0;
        for (const e of ledger) {
          balance += e.amount;
          await conn.execute(`insert into token_ledger (id, user_id, kind, amount, balance_after, metadata) values (gen_random_uuid(), ?, ?, ?, ?, ?)`, [
            row!.id,
            e.kind,
            e.amount,
            balance,
            JSON.stringify(e.metadata),
          ]);
        }
        return row!.id as string;
      };
      ids.signup = await user('signup@example.test', [
        { kind: 'GRANT', amount: 10_000, metadata: { reason: 'signup' } },
        { kind: 'CHARGE', amount: -1_234, metadata: { held: 2_000 } },
      ]);
      ids.admin = await user('granted@example.test', [
        { kind: 'GRANT', amount: 10_000, metadata: { reason: 'signup' } },
        { kind: 'GRANT', amount: 2_500, metadata: { reason: 'promo', grantedBy: ids.signup } },
        { kind: 'CHARGE', amount: -500, metadata: { held: 500 } },
      ]);
      ids.spent = await user('spent@example.test', [
        { kind: 'GRANT', amount: 10_000, metadata: { reason: 'signup' } },
        { kind: 'CHARGE', amount: -10_000, metadata: { held: 10_000 } },
      ]);
      await migrator.up();
      expect([await pendingMigrations(orm), await migratorPending()]).toEqual([[], []]);
      const grants = await conn.execute(`select user_id, source, amount, remaining, priority, expires_at, expired_at from token_grants order by amount`);
      expect(grants).toEqual([
        { user_id: ids.signup, source: 'SIGNUP', amount: '8766', remaining: '8766', priority: 50, expires_at: null, expired_at: null },
        { user_id: ids.admin, source: 'ADMIN', amount: '12000', remaining: '12000', priority: 50, expires_at: null, expired_at: null },
      ]);
      const report = await verifyLedger(orm);
      expect([report.users, report.grants, report.mismatches, report.grantMismatches, report.entryMismatches]).toEqual([3, 2, [], [], []]);
    } finally {
      await orm?.close();
      await embedded?.close();
    }

    // The service starts on it (its start-up check includes the grants) and burns the migrated grant.
    const t = await startTestApp({ ADMIN_EMAILS: 'migration-root@example.com' }, db);
    try {
      const balance = t.app.services.balance;
      const hold = await balance.reserve(ids.signup, 766, {});
      await balance.settle(hold, { tokens: 766, promptTokens: 766, completionTokens: 0, costNanoUsd: 0 });
      expect((await balance.grants(ids.signup)).map((g) => [g.source, g.remaining])).toEqual([['SIGNUP', 8_000]]);
      const admin = await t.signUp('migration-root@example.com');
      const granted = await gql(
        t.url,
        'mutation($u: ID!) { grantTokens(input: { userId: $u, amount: 100, reason: "after", source: PROMOTION }) { balance { tokens } } }',
        { u: ids.spent },
        admin.token,
      );
      expect(granted.data!.grantTokens.balance.tokens).toBe(100);
      const report = await verifyLedger(t.app.services.orm);
      expect([report.mismatches, report.grantMismatches, report.entryMismatches]).toEqual([[], [], []]);
    } finally {
      await t.close();
    }
    // A fresh PGlite migrated from nothing, then a server start: over 60 s on a saturated machine.
  }, 300_000);
});
