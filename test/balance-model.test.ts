import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { BalanceActor, type Hold, type JournalEntry } from '../src/balance/actor';
import { InsufficientTokensError, TooManyHoldsError } from '../src/balance/errors';
import { verifyLedger } from '../src/balance/ledger';
import { BalanceService } from '../src/balance/service';
import type { BalanceConfig } from '../src/config';
import { settleOpArb, usageFor, usageOf, type SettleOp } from './support/model-ops';
import { startTestApp, type TestApp } from './support/test-app';
import { check } from './support/check';

/**
 * The balance actor against a reference model a reader can check by eye. Both are driven by the same
 * random operations; after every step they must agree on the balance, the holds and the journal.
 */

const TTL_MS = 10_000;
const HOLDS_MAX = 4;
const EPOCH_MS = 1_700_000_000_000;

type Op =
  | { t: 'reserve'; amount: number }
  /** Settles one of the holds issued so far (open, settled, released or expired). */
  | SettleOp
  | { t: 'settleUnknown'; tokens: number }
  | { t: 'release'; pick: number }
  | { t: 'releaseUnknown' }
  | { t: 'grant'; amount: number }
  | { t: 'adjust'; delta: number }
  /** Takes back purchased tokens (a refund): at most what is available, the rest a deficit. */
  | { t: 'revoke'; amount: number }
  /** Moves the clock on; a step past TTL_MS expires every hold older than that. */
  | { t: 'expire'; advanceMs: number }
  /** Only in the database property: commits everything, evicts the actor, reloads it from the database. */
  | { t: 'evict' };

const opArb = (withEvict: boolean): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant('reserve' as const), amount: fc.nat(400) }) },
    { weight: 5, arbitrary: settleOpArb },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('settleUnknown' as const), tokens: fc.nat(300) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('releaseUnknown' as const) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('grant' as const), amount: fc.nat(500) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('adjust' as const), delta: fc.integer({ min: -800, max: 500 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('revoke' as const), amount: fc.nat(800) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('expire' as const),
        advanceMs: fc.oneof(fc.integer({ min: 0, max: TTL_MS - 1 }), fc.integer({ min: TTL_MS, max: 3 * TTL_MS })),
      }),
    },
    { weight: withEvict ? 1 : 0, arbitrary: fc.record({ t: fc.constant('evict' as const) }) },
  );

/** What the balance should be: a number and a map, with the rules written out plainly. */
class Model {
  readonly holds = new Map<string, { amount: number; expiresAtMs: number }>();
  constructor(public tokens: number) {}

  get reserved(): number {
    let sum = 0;
    for (const h of this.holds.values()) sum += h.amount;
    return sum;
  }

  get available(): number {
    return this.tokens - this.reserved;
  }

  /** The refusal the actor must give, or null when the hold must be granted. */
  refusal(amount: number): { code: 'INSUFFICIENT_TOKENS'; available: number; required: number } | { code: 'TOO_MANY_HOLDS' } | null {
    if (amount > this.available) return { code: 'INSUFFICIENT_TOKENS', available: this.available, required: amount };
    if (this.holds.size >= HOLDS_MAX) return { code: 'TOO_MANY_HOLDS' };
    return null;
  }

  /** Usage is charged from the hold plus whatever no other hold claims; the rest is overage. */
  settle(holdId: string, usage: number): { held: number; charged: number; overage: number } {
    const held = this.holds.get(holdId)?.amount ?? 0;
    this.holds.delete(holdId);
    const charged = Math.min(usage, this.available);
    this.tokens -= charged;
    return { held, charged, overage: usage - charged };
  }

  release(holdId: string): number {
    const held = this.holds.get(holdId)?.amount ?? 0;
    this.holds.delete(holdId);
    return held;
  }

  /** A negative adjustment takes at most what is available. */
  adjust(delta: number): number {
    const applied = delta < 0 ? -Math.min(-delta, this.available) : delta;
    this.tokens += applied;
    return applied;
  }

  /** A revoke takes at most what is available: held and spent tokens stay; the rest is the deficit. */
  revoke(amount: number): { taken: number; deficit: number } {
    const taken = Math.min(amount, this.available);
    this.tokens -= taken;
    return { taken, deficit: amount - taken };
  }

  expire(nowMs: number): string[] {
    const expired = [...this.holds].filter(([, h]) => h.expiresAtMs <= nowMs).map(([id]) => id);
    for (const id of expired) this.holds.delete(id);
    return expired;
  }
}

/**
 * A sequence that reaches every branch at least once (fast-check runs it first): a full set of holds,
 * both refusals, over-reported usage, expiry, eviction and reload, a clamped negative adjustment, a
 * settle and a release of holds that are already gone.
 */
const EVERY_BRANCH: Op[] = [
  { t: 'reserve', amount: 300 },
  { t: 'reserve', amount: 300 },
  { t: 'reserve', amount: 300 },
  { t: 'reserve', amount: 0 },
  { t: 'reserve', amount: 50 },
  { t: 'reserve', amount: 400 },
  { t: 'settle', pick: 0, usage: 'above', by: 500 },
  { t: 'settle', pick: 1, usage: 'below', by: 7 },
  { t: 'expire', advanceMs: TTL_MS },
  { t: 'evict' },
  { t: 'grant', amount: 100 },
  { t: 'adjust', delta: -800 },
  { t: 'settleUnknown', tokens: 50 },
  { t: 'release', pick: 2 },
  { t: 'settle', pick: 2, usage: 'equal', by: 0 },
  { t: 'grant', amount: 10 },
  { t: 'reserve', amount: 5 },
  { t: 'evict' },
  { t: 'release', pick: 4 },
  { t: 'adjust', delta: 30 },
  { t: 'reserve', amount: 20 },
  { t: 'revoke', amount: 800 },
];

/** -0 and 0 are the same number of tokens. */
const n = (x: number) => x + 0;

describe('BalanceActor against the reference model', () => {
  it('agrees on tokens, holds and journal after every step of random operations', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.nat(2_000), fc.array(opArb(false), { maxLength: 80 }), (start, ops) => {
        let now = EPOCH_MS;
        const actor = new BalanceActor(randomUUID(), start, 0, 'free', { reservationTtlMs: TTL_MS, holdsPerUserMax: HOLDS_MAX });
        const model = new Model(start);
        const issued: Hold[] = [];
        const journal: JournalEntry[] = [];
        const pick = (i: number): Hold | undefined => issued[i % Math.max(1, issued.length)];

        for (const op of ops) {
          switch (op.t) {
            case 'reserve': {
              const expected = model.refusal(op.amount);
              const outcome = actor.reserve(op.amount, { taskType: 'test' }, now);
              if (expected === null) {
                check(outcome.ok).toBe(true);
                if (!outcome.ok) break;
                check(outcome.hold).toMatchObject({ userId: actor.userId, amount: op.amount, expiresAtMs: now + TTL_MS });
                model.holds.set(outcome.hold.id, { amount: op.amount, expiresAtMs: now + TTL_MS });
                issued.push(outcome.hold);
              } else if (expected.code === 'INSUFFICIENT_TOKENS') {
                check(outcome).toEqual({ ok: false, ...expected });
              } else {
                check(outcome).toEqual({ ok: false, code: 'TOO_MANY_HOLDS', holdsMax: HOLDS_MAX });
              }
              seen.add(expected?.code ?? 'reserved');
              break;
            }
            case 'settle':
            case 'settleUnknown': {
              const hold = op.t === 'settle' ? pick(op.pick) : undefined;
              const holdId = hold?.id ?? randomUUID();
              const usage = op.t === 'settle' ? usageFor(op, hold?.amount ?? 0) : op.tokens;
              const expected = model.settle(holdId, usage);
              const outcome = actor.settle(holdId, usageOf(usage), hold?.meta ?? {}, {});
              check({ charged: outcome.charged, overage: outcome.overage }).toEqual({ charged: expected.charged, overage: expected.overage });
              check(outcome.entry).toMatchObject({ kind: 'CHARGE', balanceAfter: model.tokens, holdId });
              check(n(outcome.entry.amount)).toBe(n(-expected.charged));
              check(outcome.entry.metadata).toEqual(expected.overage > 0 ? { held: expected.held, overage: expected.overage } : { held: expected.held });
              journal.push(outcome.entry);
              if (expected.overage > 0) seen.add('overage');
              if (expected.held === 0) seen.add('settle without a hold');
              break;
            }
            case 'release':
            case 'releaseUnknown': {
              const holdId = (op.t === 'release' ? pick(op.pick)?.id : undefined) ?? randomUUID();
              check(actor.release(holdId)).toBe(model.release(holdId));
              break;
            }
            case 'grant': {
              const entry = actor.grant(op.amount, { reason: 'test' }, undefined);
              model.tokens += op.amount;
              check(entry).toMatchObject({ kind: 'GRANT', amount: op.amount, balanceAfter: model.tokens });
              journal.push(entry);
              break;
            }
            case 'adjust': {
              const applied = model.adjust(op.delta);
              const entry = actor.adjust(op.delta, 'test');
              check(entry).toMatchObject({ kind: 'ADJUST', balanceAfter: model.tokens, metadata: { reason: 'test', requested: op.delta } });
              check(n(entry.amount)).toBe(n(applied));
              journal.push(entry);
              break;
            }
            case 'revoke': {
              const expected = model.revoke(op.amount);
              const outcome = actor.revoke(op.amount, { reason: 'test' }, undefined, (taken, deficit) => ({ test: { taken, deficit } }));
              check({ taken: outcome.taken, deficit: outcome.deficit }).toEqual(expected);
              check(outcome.entry).toMatchObject({ kind: 'REVOKE', balanceAfter: model.tokens, metadata: { requested: op.amount, deficit: expected.deficit }, attachments: { test: expected } });
              check(n(outcome.entry.amount)).toBe(n(-expected.taken));
              journal.push(outcome.entry);
              break;
            }
            case 'expire': {
              now += op.advanceMs;
              const expected = model.expire(now);
              check(actor.expireHolds(now).map((h) => h.id).sort()).toEqual(expected.sort());
              if (expected.length > 0) seen.add('expired');
              break;
            }
            case 'evict':
              break;
          }

          check(actor.snapshot()).toEqual({ tokens: model.tokens, reserved: model.reserved, available: model.available, plan: 'free' });
          const open = actor.openHolds().map((h) => [h.id, { amount: h.amount, expiresAtMs: h.expiresAtMs }]);
          check(new Map(open as Array<[string, { amount: number; expiresAtMs: number }]>)).toEqual(model.holds);
          check(actor.holdsTotal()).toBe(actor.reserved);
          check(actor.tokens).toBeGreaterThanOrEqual(0);
          check(actor.reserved).toBeLessThanOrEqual(actor.tokens);
          check(start + journal.reduce((sum, e) => sum + e.amount, 0)).toBe(actor.tokens);
          check(actor.unflushed).toBe(journal.length);
          check(journal.every((e) => e.actor === actor && e.balanceAfter >= 0)).toBe(true);
        }
      }),
      { numRuns: 1_000, examples: [[1_000, EVERY_BRANCH]] },
    );
    expect([...seen].sort()).toEqual(['INSUFFICIENT_TOKENS', 'TOO_MANY_HOLDS', 'expired', 'overage', 'reserved', 'settle without a hold']);
  });

  it('asserts on amounts that are not non-negative safe integers (programmer errors, not refusals)', () => {
    const actor = new BalanceActor(randomUUID(), 100, 0, 'free', { reservationTtlMs: TTL_MS, holdsPerUserMax: HOLDS_MAX });
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      expect(() => actor.reserve(bad, {}, EPOCH_MS)).toThrow(/non-negative safe integer/);
      expect(() => actor.grant(bad, {}, undefined)).toThrow(/non-negative safe integer/);
      expect(() => actor.settle(randomUUID(), usageOf(bad), {}, {})).toThrow(/non-negative safe integer/);
      expect(() => actor.revoke(bad, {}, undefined, () => ({}))).toThrow(/non-negative safe integer/);
    }
    expect(() => actor.adjust(0.5, 'x')).toThrow(/safe integer/);
    expect(() => new BalanceActor(randomUUID(), -1, 0, 'free', { reservationTtlMs: TTL_MS, holdsPerUserMax: HOLDS_MAX })).toThrow();
    expect(actor.snapshot()).toEqual({ tokens: 100, reserved: 0, available: 100, plan: 'free' });
    expect(actor.unflushed).toBe(0);
  });
});

describe('BalanceService against the reference model, with a real database', () => {
  const SIGNUP_TOKENS = 1_000;
  let t: TestApp;
  let service: BalanceService;
  let clock = EPOCH_MS;

  beforeAll(async () => {
    t = await startTestApp({ SIGNUP_GRANT_TOKENS: String(SIGNUP_TOKENS) });
    // A service of its own over the app's database, so its clock can be moved to expire holds.
    // Idle eviction never happens by timer here (the 'evict' op does it at a known point), so every
    // operation reaches the actor in the order it was issued and the model can follow.
    const config: BalanceConfig = {
      ...t.app.services.config.balance,
      reservationTtlMs: TTL_MS,
      holdsPerUserMax: HOLDS_MAX,
      actorIdleMs: Number.MAX_SAFE_INTEGER,
    };
    service = new BalanceService(t.app.services.orm, config, t.app.services.log, () => clock);
    service.start();
  });
  afterAll(async () => {
    await service?.stop();
    await t?.close();
  });

  const sql = <T>(query: string, params: unknown[] = []) => t.app.services.orm.em.fork().execute<T[]>(query, params);

  it('keeps users.tokens == sum(ledger) == in-memory tokens == model under random operations', async () => {
    let runs = 0;
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(true), { minLength: 1, maxLength: 30 }), async (ops) => {
        runs++;
        const { userId } = await t.signUp();
        const model = new Model(SIGNUP_TOKENS);
        const issued: Hold[] = [];
        const inFlight: Array<Promise<unknown>> = [];
        let durableOps = 0;
        const pick = (i: number): Hold | undefined => issued[i % Math.max(1, issued.length)];
        const settled = async () => {
          const results = await Promise.allSettled(inFlight.splice(0));
          const failures = results.filter((r) => r.status === 'rejected');
          expect(failures).toEqual([]);
        };

        for (const op of ops) {
          // The actor is in memory before each op, so the op's synchronous step happens before the
          // snapshot below (both continue after the same cached lookup, in issue order).
          await service.snapshot(userId);
          switch (op.t) {
            case 'reserve': {
              const expected = model.refusal(op.amount);
              const outcome = await service.reserve(userId, op.amount, {}).then(
                (hold) => ({ ok: true as const, hold }),
                (err: unknown) => ({ ok: false as const, err }),
              );
              if (expected === null) {
                if (!outcome.ok) throw outcome.err;
                model.holds.set(outcome.hold.id, { amount: op.amount, expiresAtMs: clock + TTL_MS });
                issued.push(outcome.hold);
              } else if (expected.code === 'INSUFFICIENT_TOKENS') {
                expect(outcome.ok ? outcome.hold : outcome.err).toBeInstanceOf(InsufficientTokensError);
                const err = (outcome as { err: InsufficientTokensError }).err;
                expect({ available: err.available, required: err.required }).toEqual({ available: expected.available, required: expected.required });
              } else {
                expect(outcome.ok ? outcome.hold : outcome.err).toBeInstanceOf(TooManyHoldsError);
              }
              seen.add(expected?.code ?? 'reserved');
              break;
            }
            case 'settle':
            case 'settleUnknown': {
              const known = op.t === 'settle' ? pick(op.pick) : undefined;
              const hold: Hold = known ?? { id: randomUUID(), userId, amount: 0, expiresAtMs: clock, meta: {} };
              const usage = op.t === 'settle' ? usageFor(op, hold.amount) : op.tokens;
              const expected = model.settle(hold.id, usage);
              if (expected.overage > 0) seen.add('overage');
              inFlight.push(
                service.settle(hold, usageOf(usage)).then((r) => {
                  expect({ charged: r.charged, overage: r.overage }).toEqual({ charged: expected.charged, overage: expected.overage });
                }),
              );
              durableOps++;
              break;
            }
            case 'release':
            case 'releaseUnknown': {
              const hold = (op.t === 'release' ? pick(op.pick) : undefined) ?? { id: randomUUID(), userId, amount: 0, expiresAtMs: clock, meta: {} };
              model.release(hold.id);
              service.release(hold);
              break;
            }
            case 'grant':
              model.tokens += op.amount;
              inFlight.push(service.grant(userId, op.amount, 'model test'));
              durableOps++;
              break;
            case 'adjust':
              model.adjust(op.delta);
              inFlight.push(service.adjust(userId, op.delta, 'model test'));
              durableOps++;
              break;
            case 'revoke': {
              const expected = model.revoke(op.amount);
              inFlight.push(
                service.revoke(userId, op.amount, 'model test', undefined, {}, { attachments: {} }).then((r) => {
                  expect({ taken: r.taken, deficit: r.deficit }).toEqual(expected);
                }),
              );
              durableOps++;
              break;
            }
            case 'expire': {
              clock += op.advanceMs;
              if (model.expire(clock).length > 0) seen.add('expired');
              // The sweep the service's timer runs, called now so the expiry happens at a known step.
              service['sweep']();
              break;
            }
            case 'evict': {
              await settled();
              await new Promise<void>((resolve) => setImmediate(resolve));
              service['evict'](Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY);
              // Only an actor with no open holds may leave memory; the next op reloads it from the database.
              expect(service.peek(userId) === undefined).toBe(model.holds.size === 0);
              seen.add(model.holds.size === 0 ? 'evicted' : 'kept with holds');
              break;
            }
          }
          const snapshot = await service.snapshot(userId);
          expect(snapshot).toEqual({ tokens: model.tokens, reserved: model.reserved, available: model.available, plan: 'free' });
          const open = service.peek(userId)!.openHolds().map((h) => h.id);
          expect(open.sort()).toEqual([...model.holds.keys()].sort());
        }

        await settled();
        const [row] = await sql<{ tokens: string }>('select tokens from users where id = ?', [userId]);
        const ledger = await sql<{ amount: string; balance_after: string }>(
          'select amount, balance_after from token_ledger where user_id = ? order by seq',
          [userId],
        );
        const ledgerSum = ledger.reduce((sum, r) => sum + Number(r.amount), 0);
        expect(Number(row!.tokens)).toBe(model.tokens);
        expect(ledgerSum).toBe(model.tokens);
        expect((await service.snapshot(userId)).tokens).toBe(model.tokens);
        // The signup grant plus one row per settle, grant and adjust, committed in issue order.
        expect(ledger).toHaveLength(1 + durableOps);
        let running = 0;
        for (const r of ledger) {
          running += Number(r.amount);
          expect(Number(r.balance_after)).toBe(running);
        }
      }),
      { numRuns: 25, examples: [[EVERY_BRANCH]] },
    );
    expect(runs).toBeGreaterThanOrEqual(25);
    expect([...seen].sort()).toEqual(['INSUFFICIENT_TOKENS', 'TOO_MANY_HOLDS', 'evicted', 'expired', 'kept with holds', 'overage', 'reserved']);
    expect((await verifyLedger(t.app.services.orm)).mismatches).toEqual([]);
  }, 180_000);
});
