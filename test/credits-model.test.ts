import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { BalanceActor, type Hold, type JournalEntry } from '../src/balance/actor';
import { DEFAULT_GRANT_PRIORITY, refundPieces, type Grant, type GrantSource } from '../src/balance/grants';
import { settleOpArb, usageFor, usageOf, type SettleOp } from './support/model-ops';
import { check } from './support/check';

/**
 * The balance actor with grants, against a reference model a reader can check by eye, with a clock.
 * Both are driven by the same random operations (reserve, settle, release, grant with or without
 * expiry and priority, adjust, the clock moving on, which expires holds and grants, and refunds);
 * after every step they must agree on the balance, the holds and every grant, and the invariants
 * must hold: tokens == sum of remaining, 0 <= reserved <= tokens, available >= 0, every entry's amount
 * == what it created - what it burned, every grant's remaining == amount - its burns.
 */

const TTL_MS = 10_000;
const HOLDS_MAX = 4;
const EPOCH_MS = 1_700_000_000_000;
const SOURCES: GrantSource[] = ['ADMIN', 'PROMOTION', 'PURCHASE', 'ALLOWANCE'];

type Op =
  | { t: 'reserve'; amount: number }
  | SettleOp
  | { t: 'release'; pick: number }
  | { t: 'grant'; amount: number; source: number; priority: number | null; expiresInMs: number | null }
  | { t: 'adjust'; delta: number }
  /** Moves the clock on: holds past their TTL are released, grants past their expiry expire. */
  | { t: 'tick'; advanceMs: number }
  /** Gives back part of one of the charges so far (as the service computes the pieces). */
  | { t: 'refund'; pick: number; amount: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('reserve' as const), amount: fc.nat(400) }) },
  { weight: 5, arbitrary: settleOpArb },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('grant' as const),
      amount: fc.nat(500),
      source: fc.nat(SOURCES.length - 1),
      priority: fc.option(fc.nat(120)),
      expiresInMs: fc.option(fc.integer({ min: 1, max: 4 * TTL_MS })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('adjust' as const), delta: fc.integer({ min: -500, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('refund' as const), pick: fc.nat(), amount: fc.nat(1_000) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('tick' as const),
      advanceMs: fc.oneof(fc.integer({ min: 0, max: TTL_MS - 1 }), fc.integer({ min: TTL_MS, max: 3 * TTL_MS })),
    }),
  },
);

interface ModelGrant {
  id: string;
  amount: number;
  remaining: number;
  priority: number;
  expiresAtMs: number | null;
  createdAtMs: number;
  expired: boolean;
}

/** Grants made in the same millisecond with the same priority and expiry burn in id order (any fixed order would do). */
const byId = (a: ModelGrant, b: ModelGrant) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The rules, written out plainly. */
class Model {
  readonly holds = new Map<string, { amount: number; expiresAtMs: number }>();
  readonly grants: ModelGrant[] = [];

  get tokens(): number {
    return this.grants.reduce((s, g) => s + g.remaining, 0);
  }
  get reserved(): number {
    let sum = 0;
    for (const h of this.holds.values()) sum += h.amount;
    return sum;
  }
  get available(): number {
    return this.tokens - this.reserved;
  }

  /** Expired grants still held first, then priority, earliest expiry (none last), oldest. */
  order(): ModelGrant[] {
    const inf = Number.POSITIVE_INFINITY;
    return this.grants
      .filter((g) => g.remaining > 0)
      .sort((a, b) => Number(b.expired) - Number(a.expired) || a.priority - b.priority || (a.expiresAtMs ?? inf) - (b.expiresAtMs ?? inf) || a.createdAtMs - b.createdAtMs || byId(a, b));
  }

  add(id: string, amount: number, priority: number, expiresAtMs: number | null, createdAtMs: number): void {
    this.grants.push({ id, amount, remaining: amount, priority, expiresAtMs, createdAtMs, expired: false });
  }

  /** Takes `amount` from the grants in order; returns what it took from each. */
  burn(amount: number): Array<{ grantId: string; amount: number }> {
    const burns: Array<{ grantId: string; amount: number }> = [];
    let left = amount;
    for (const g of this.order()) {
      if (left === 0) break;
      const take = Math.min(g.remaining, left);
      g.remaining -= take;
      left -= take;
      burns.push({ grantId: g.id, amount: take });
    }
    expect(left).toBe(0);
    return burns;
  }

  settle(holdId: string, usage: number): { charged: number; overage: number; burns: Array<{ grantId: string; amount: number }> } {
    this.holds.delete(holdId);
    const charged = Math.min(usage, this.available);
    return { charged, overage: usage - charged, burns: this.burn(charged) };
  }

  /** Expiry at `now`: each grant due takes what no hold covers; the rest waits for the holds. */
  expire(now: number): Array<{ grantId: string; took: number }> {
    const due = this.grants.filter((g) => !g.expired && g.remaining > 0 && g.expiresAtMs !== null && g.expiresAtMs <= now);
    due.sort((a, b) => a.expiresAtMs! - b.expiresAtMs! || a.priority - b.priority || a.createdAtMs - b.createdAtMs || byId(a, b));
    return due.map((g) => {
      const took = Math.min(g.remaining, this.available);
      g.remaining -= took;
      g.expired = true;
      return { grantId: g.id, took };
    });
  }

  /** What holds no longer cover of expired grants expires as soon as it is available. */
  expirePending(): Array<{ grantId: string; took: number }> {
    const out: Array<{ grantId: string; took: number }> = [];
    for (const g of this.order()) {
      if (!g.expired) break;
      const took = Math.min(g.remaining, this.available);
      if (took === 0) break;
      g.remaining -= took;
      out.push({ grantId: g.id, took });
    }
    return out;
  }
}

/** Every entry's amount is what it created minus what it burned; returns the burns per grant. */
function checkEntries(journal: readonly JournalEntry[], created: Map<string, number>): Map<string, number> {
  const burned = new Map<string, number>();
  for (const e of journal) {
    let made = 0;
    for (const w of e.grants ?? []) {
      if (w.grant.ledgerEntryId === e.id) {
        made += w.grant.amount;
        created.set(w.grant.id, w.grant.amount);
      }
    }
    let took = 0;
    for (const b of e.burns ?? []) {
      took += b.amount;
      burned.set(b.grantId, (burned.get(b.grantId) ?? 0) + b.amount);
    }
    expect(e.amount + 0).toBe(made - took);
  }
  return burned;
}

/** A sequence that reaches expiry while held, expiry after the hold, priority order and the TTL. */
const EVERY_BRANCH: Op[] = [
  { t: 'grant', amount: 300, source: 1, priority: null, expiresInMs: TTL_MS / 2 },
  { t: 'grant', amount: 200, source: 2, priority: null, expiresInMs: null },
  { t: 'reserve', amount: 450 },
  { t: 'tick', advanceMs: TTL_MS / 2 },
  { t: 'settle', pick: 0, usage: 'below', by: 100 },
  { t: 'grant', amount: 100, source: 3, priority: 5, expiresInMs: TTL_MS },
  { t: 'reserve', amount: 50 },
  { t: 'tick', advanceMs: TTL_MS },
  { t: 'adjust', delta: -30 },
  { t: 'settle', pick: 1, usage: 'above', by: 20 },
  { t: 'refund', pick: 0, amount: 999 },
  { t: 'refund', pick: 1, amount: 3 },
];

/** A grant that expires while holds cover all of it: nothing is taken then, all of it once the hold ends. */
const EXPIRES_ALL_HELD: Op[] = [
  { t: 'grant', amount: 100, source: 1, priority: null, expiresInMs: TTL_MS / 2 },
  { t: 'reserve', amount: 100 },
  { t: 'tick', advanceMs: TTL_MS / 2 },
  { t: 'release', pick: 0 },
];

describe('BalanceActor with grants and a clock, against the reference model', () => {
  it('agrees on balance, holds and every grant after every step, and the books add up', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.nat(1_000), fc.array(opArb, { maxLength: 60 }), (start, ops) => {
        let now = EPOCH_MS;
        const actor = new BalanceActor(randomUUID(), start, 0, 'free', { reservationTtlMs: TTL_MS, holdsPerUserMax: HOLDS_MAX });
        const model = new Model();
        // The starting balance is one grant (the actor's stand-in for a loaded balance).
        const [first] = actor.grantsView();
        if (first) model.add(first.id, start, DEFAULT_GRANT_PRIORITY.SIGNUP, null, first.createdAt.getTime());
        const created = new Map<string, number>(first ? [[first.id, start]] : []);
        const issued: Hold[] = [];
        const journal: JournalEntry[] = [];
        const pick = (i: number): Hold | undefined => issued[i % Math.max(1, issued.length)];
        const charges: Array<{ id: string; taken: number; refunded: number; burns: ReadonlyArray<{ grantId: string; amount: number }> }> = [];
        /** Every grant the actor has made or loaded, by id (the service reads used-up ones from their rows). */
        const grantObjects = new Map<string, Grant>();
        const remember = (entries: readonly JournalEntry[]) => {
          for (const e of entries) for (const w of e.grants ?? []) grantObjects.set(w.grant.id, w.grant);
        };
        if (first) grantObjects.set(first.id, actor.grantById(first.id)!);
        /** What the service does after any change that may free tokens. */
        const afterChange = () => {
          const expected = model.expirePending();
          const entries = actor.expirePending();
          check(entries.map((e) => ({ grantId: e.metadata.grantId, took: -e.amount }))).toEqual(expected);
          if (entries.length > 0) seen.add('expired after the hold');
          journal.push(...entries);
        };

        for (const op of ops) {
          switch (op.t) {
            case 'reserve': {
              const fits = op.amount <= model.available && model.holds.size < HOLDS_MAX;
              const outcome = actor.reserve(op.amount, {}, now);
              check(outcome.ok).toBe(fits);
              if (outcome.ok) {
                model.holds.set(outcome.hold.id, { amount: op.amount, expiresAtMs: now + TTL_MS });
                issued.push(outcome.hold);
              }
              break;
            }
            case 'settle': {
              const hold = pick(op.pick);
              const holdId = hold?.id ?? randomUUID();
              const usage = usageFor(op, hold?.amount ?? 0);
              const expected = model.settle(holdId, usage);
              const outcome = actor.settle(holdId, usageOf(usage), {}, {});
              check({ charged: outcome.charged, overage: outcome.overage }).toEqual({ charged: expected.charged, overage: expected.overage });
              check(outcome.entry.burns ?? []).toEqual(expected.burns);
              if (expected.burns.length > 1) seen.add('burned several grants');
              remember([outcome.entry]);
              if (outcome.charged > 0) charges.push({ id: outcome.entry.id, taken: outcome.charged, refunded: 0, burns: outcome.entry.burns ?? [] });
              journal.push(outcome.entry);
              afterChange();
              break;
            }
            case 'release': {
              const hold = pick(op.pick);
              if (hold) {
                model.holds.delete(hold.id);
                actor.release(hold.id);
              }
              afterChange();
              break;
            }
            case 'grant': {
              const source = SOURCES[op.source]!;
              const expiresAtMs = op.expiresInMs === null ? null : now + op.expiresInMs;
              const entry = actor.grant(op.amount, { reason: 'test' }, undefined, { source, priority: op.priority ?? undefined, expiresAtMs, reason: 'test' }, now);
              const grant = entry.grants?.[0]?.grant;
              remember([entry]);
              if (op.amount === 0) check(grant).toBeUndefined();
              else {
                check(grant).toMatchObject({ source, amount: op.amount, priority: op.priority ?? DEFAULT_GRANT_PRIORITY[source], expiresAtMs });
                model.add(grant!.id, op.amount, grant!.priority, expiresAtMs, now);
              }
              journal.push(entry);
              afterChange();
              break;
            }
            case 'adjust': {
              const applied = op.delta < 0 ? -Math.min(-op.delta, model.available) : op.delta;
              const entry = actor.adjust(op.delta, 'test');
              check(entry.amount + 0).toBe(applied + 0);
              if (applied < 0) check(entry.burns ?? []).toEqual(model.burn(-applied));
              if (applied > 0) model.add(entry.grants![0]!.grant.id, applied, DEFAULT_GRANT_PRIORITY.ADMIN, null, entry.grants![0]!.grant.createdAtMs);
              remember([entry]);
              journal.push(entry);
              break;
            }
            case 'refund': {
              const charge = charges[op.pick % Math.max(1, charges.length)];
              if (!charge || charge.taken === charge.refunded) break;
              const amount = 1 + (op.amount % (charge.taken - charge.refunded));
              // The service's pieces (refundPieces, as refundCharge computes them) on copies of the grants.
              const { pieces, left } = refundPieces(
                charge.burns.map((b) => ({ grant: { ...grantObjects.get(b.grantId)! }, burned: b.amount })),
                charge.refunded,
                amount,
              );
              check(left).toBe(0);
              // The model: back into each grant, unless it has expired; that part becomes a REFUND grant.
              let toRefundGrant = 0;
              for (const piece of pieces) {
                const g = model.grants.find((m) => m.id === piece.grant.id)!;
                if (g.expired || (g.expiresAtMs !== null && g.expiresAtMs <= now)) toRefundGrant += piece.amount;
                else g.remaining += piece.amount;
              }
              const entry = actor.refund(charge.id, pieces, 0, 'test', {}, now);
              charge.refunded += amount;
              check(entry).toMatchObject({ kind: 'REFUND', amount, metadata: { refersTo: charge.id } });
              const made = entry.grants?.find((w) => w.grant.source === 'REFUND' && w.grant.ledgerEntryId === entry.id)?.grant;
              check(made?.amount ?? 0).toBe(toRefundGrant);
              if (made) {
                model.add(made.id, toRefundGrant, DEFAULT_GRANT_PRIORITY.REFUND, null, now);
                seen.add('refund of an expired grant');
              }
              if (toRefundGrant < amount) seen.add('refund into its grant');
              remember([entry]);
              journal.push(entry);
              afterChange();
              break;
            }
            case 'tick': {
              now += op.advanceMs;
              for (const [id, h] of [...model.holds]) if (h.expiresAtMs <= now) model.holds.delete(id);
              actor.expireHolds(now);
              const expected = model.expire(now);
              const entries = actor.expireGrants(now);
              check(entries.map((e) => ({ grantId: e.metadata.grantId, took: -e.amount }))).toEqual(expected);
              if (expected.some((x) => x.took === 0)) seen.add('expired while all held');
              else if (expected.length > 0) seen.add('expired');
              if (expected.some((x) => {
                const g = model.grants.find((m) => m.id === x.grantId)!;
                return g.remaining > 0;
              })) seen.add('expiry left tokens on hold');
              remember(entries);
              journal.push(...entries);
              afterChange();
              break;
            }
          }

          // The actor and the model agree on everything.
          check(actor.snapshot()).toMatchObject({ tokens: model.tokens, reserved: model.reserved, available: model.available });
          const live = actor.grantsView().map((g) => ({ id: g.id, remaining: g.remaining, expired: g.expiredAt !== null }));
          check(live).toEqual(model.order().map((g) => ({ id: g.id, remaining: g.remaining, expired: g.expired })));
          // The invariants.
          check(actor.reserved).toBeGreaterThanOrEqual(0);
          check(actor.reserved).toBeLessThanOrEqual(actor.tokens);
          check(actor.available).toBeGreaterThanOrEqual(0);
          check(actor.tokens).toBe(live.reduce((s, g) => s + g.remaining, 0));
          // Nothing held means no expired tokens are left.
          if (actor.reserved === 0) check(live.filter((g) => g.expired)).toEqual([]);
          // The books: the journal adds up to the balance, every grant to amount - its burns.
          check(start + journal.reduce((s, e) => s + e.amount, 0)).toBe(actor.tokens);
          const burned = checkEntries(journal, created);
          for (const g of model.grants) check(g.amount - (burned.get(g.id) ?? 0)).toBe(g.remaining);
          // The next expiry shown is the earliest live one.
          const next = model.grants.filter((g) => !g.expired && g.remaining > 0 && g.expiresAtMs !== null).map((g) => g.expiresAtMs!);
          check(actor.snapshot().expiringSoon?.expiresAt.getTime()).toBe(next.length > 0 ? Math.min(...next) : undefined);
        }
      }),
      { numRuns: 1_000, examples: [[0, EVERY_BRANCH], [0, EXPIRES_ALL_HELD]] },
    );
    expect([...seen].sort()).toEqual([
      'burned several grants',
      'expired',
      'expired after the hold',
      'expired while all held',
      'expiry left tokens on hold',
      'refund into its grant',
      'refund of an expired grant',
    ]);
  });
});
