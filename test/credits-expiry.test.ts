import fc from 'fast-check';
import type { Hold } from '../src/balance/actor';
import { verifyLedger } from '../src/balance/ledger';
import { BalanceService } from '../src/balance/service';
import type { BalanceConfig } from '../src/config';
import { AlertService, GRANT_EXPIRY_ALERT_AHEAD_MS } from '../src/monitoring/alerts';
import { usageOf } from './support/model-ops';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Expiry through the balance service and PostgreSQL, with a clock the test moves: in memory (the
 * sweep's queue), for balances not in memory (the paged query of grants due), across eviction and
 * reload; what memory holds must equal what the database holds, and ledger:verify's recomputation of
 * every grant must pass. The clock starts years ahead of the real one, so the app's own service
 * (real clock) never finds these grants due.
 */
const TTL_MS = 10_000;
const DAY_MS = 86_400_000;
let clock = Date.now() + 5 * 366 * DAY_MS;

let t: TestApp;
let service: BalanceService;

beforeAll(async () => {
  t = await startTestApp();
  const config: BalanceConfig = { ...t.app.services.config.balance, reservationTtlMs: TTL_MS, actorIdleMs: Number.MAX_SAFE_INTEGER };
  service = new BalanceService(t.app.services.orm, config, t.app.services.log, () => clock);
  service.start();
});
afterAll(async () => {
  await service?.stop();
  await t?.close();
});

const sql = <T>(query: string, params: unknown[] = []) => t.app.services.orm.em.fork().execute<T[]>(query, params);

/** Everything journaled so far for the user is committed once this entry is (commits are in order). */
const barrier = (userId: string) => service.adjust(userId, 0, 'barrier');

async function expectMemoryEqualsDatabase(userId: string): Promise<void> {
  await barrier(userId);
  const memory = (await service.grants(userId)).map((g) => ({ id: g.id, remaining: g.remaining, expired: g.expiredAt !== null })).sort((a, b) => a.id.localeCompare(b.id));
  const stored = await sql<{ id: string; remaining: string; expired_at: Date | null }>(
    'select id, remaining, expired_at from token_grants where user_id = ? and remaining > 0 order by id',
    [userId],
  );
  expect(stored.map((r) => ({ id: r.id, remaining: Number(r.remaining), expired: r.expired_at !== null }))).toEqual(memory);
  const [row] = await sql<{ tokens: string }>('select tokens from users where id = ?', [userId]);
  expect(Number(row!.tokens)).toBe((await service.snapshot(userId)).tokens);
}

type Op =
  | { t: 'reserve'; amount: number }
  | { t: 'settle'; pick: number; tokens: number }
  | { t: 'release'; pick: number }
  | { t: 'grant'; amount: number; expiresInMs: number | null }
  | { t: 'tick'; advanceMs: number }
  | { t: 'evict' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('reserve' as const), amount: fc.nat(3_000) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('settle' as const), pick: fc.nat(), tokens: fc.nat(3_000) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('grant' as const), amount: fc.integer({ min: 1, max: 2_000 }), expiresInMs: fc.option(fc.integer({ min: 1, max: 3 * TTL_MS })) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('tick' as const), advanceMs: fc.integer({ min: 0, max: 2 * TTL_MS }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('evict' as const) }) },
);

describe('grant expiry through the service and PostgreSQL, with a clock', () => {
  it('keeps memory and database equal and the books recomputable, in memory and across eviction', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const { userId } = await t.signUp();
        const issued: Hold[] = [];
        const pending: Array<Promise<unknown>> = [];
        const pick = (i: number) => issued[i % Math.max(1, issued.length)];
        for (const op of ops) {
          await service.snapshot(userId);
          switch (op.t) {
            case 'reserve':
              try {
                issued.push(await service.reserve(userId, op.amount, {}));
              } catch {
                seen.add('refused');
              }
              break;
            case 'settle': {
              const hold = pick(op.pick);
              if (hold) pending.push(service.settle(hold, usageOf(op.tokens)));
              break;
            }
            case 'release': {
              const hold = pick(op.pick);
              if (hold) service.release(hold);
              break;
            }
            case 'grant':
              pending.push(service.grantTokens(userId, { amount: op.amount, reason: 'model', source: 'PROMOTION', expiresAtMs: op.expiresInMs === null ? null : clock + op.expiresInMs }));
              break;
            case 'tick':
              clock += op.advanceMs;
              service['sweep']();
              break;
            case 'evict': {
              await Promise.all(pending.splice(0));
              await barrier(userId);
              await new Promise<void>((resolve) => setImmediate(resolve));
              service['evict'](Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY);
              if (service.peek(userId)) break;
              seen.add('evicted');
              // Time passes while it is not in memory: the paged query finds its grants due and loads it.
              const due = await sql<{ n: string }>(
                'select count(*) as n from token_grants where user_id = ? and remaining > 0 and expired_at is null and expires_at <= ?',
                [userId, new Date(clock + TTL_MS)],
              );
              clock += TTL_MS;
              await service.pollDueGrants();
              if (Number(due[0]!.n) > 0) {
                expect(service.peek(userId)).toBeDefined();
                seen.add('expired while not in memory');
              }
              break;
            }
          }
          const live = await service.grants(userId);
          // Nothing not yet expired is past its expiry after a sweep or poll; no expired tokens without holds.
          if (op.t === 'tick' || op.t === 'evict') expect(live.filter((g) => g.expiredAt === null && g.expiresAt !== null && g.expiresAt.getTime() <= clock)).toEqual([]);
          if ((await service.snapshot(userId)).reserved === 0) expect(live.filter((g) => g.expiredAt !== null)).toEqual([]);
          if (live.some((g) => g.expiredAt !== null)) seen.add('expired while held');
        }
        await Promise.all(pending.splice(0));
        for (const hold of issued) service.release(hold);
        await expectMemoryEqualsDatabase(userId);
      }),
      {
        numRuns: 25,
        examples: [
          [
            [
              { t: 'grant', amount: 500, expiresInMs: TTL_MS / 2 },
              { t: 'reserve', amount: 10_400 },
              { t: 'tick', advanceMs: TTL_MS / 2 },
              { t: 'release', pick: 0 },
              { t: 'grant', amount: 700, expiresInMs: TTL_MS / 2 },
              { t: 'evict' },
            ],
          ],
        ],
      },
    );
    const report = await verifyLedger(t.app.services.orm);
    expect([report.mismatches, report.grantMismatches, report.entryMismatches]).toEqual([[], [], []]);
    expect([...seen].sort()).toEqual(expect.arrayContaining(['evicted', 'expired while not in memory']));
  }, 300_000);

  it('raises GRANT_EXPIRING three days ahead, once per grant of at least 1,000 tokens', async () => {
    const alerts = new AlertService(t.app.services.orm, t.app.services.pubsub, t.app.services.config.monitoring, t.app.services.log, () => clock);
    const { userId } = await t.signUp();
    const grant = (amount: number, inMs: number) => service.grantTokens(userId, { amount, reason: 'promo', source: 'PROMOTION', expiresAtMs: clock + inMs });
    const soon = await grant(1_500, 2 * DAY_MS);
    await grant(999, 2 * DAY_MS);
    const later = await grant(2_000, 5 * DAY_MS);
    const biggest = await grant(5_000, GRANT_EXPIRY_ALERT_AHEAD_MS + 60_000);
    const ours = async () => (await alerts.active(userId)).filter((a) => a.type === 'GRANT_EXPIRING');
    await alerts.alertExpiringGrants();
    expect((await ours()).map((a) => a.details)).toEqual([expect.objectContaining({ grantId: soon.grant.id, remaining: 1_500 })]);
    await alerts.alertExpiringGrants();
    expect(await ours()).toHaveLength(1);
    clock += 2 * DAY_MS;
    await alerts.alertExpiringGrants();
    // The first alert is past the 24-hour retention by now; the grant is not alerted again all the same.
    const stored = await sql<{ grant_id: string; severity: string }>(
      `select details->>'grantId' as grant_id, severity from token_alerts where user_id = ? and type = 'GRANT_EXPIRING'`,
      [userId],
    );
    expect(stored.map((r) => r.grant_id).sort()).toEqual([soon.grant.id, later.grant.id, biggest.grant.id].sort());
    expect(stored.every((r) => r.severity === 'INFO')).toBe(true);
  });
});
