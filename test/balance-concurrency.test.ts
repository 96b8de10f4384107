import { Writable } from 'node:stream';
import pino from 'pino';
import type { Hold } from '../src/balance/actor';
import { InsufficientTokensError } from '../src/balance/errors';
import { verifyLedger } from '../src/balance/ledger';
import { BALANCE_TOKENS_MAX } from '../src/balance/service';
import { IdempotentRuns } from '../src/idempotency';
import { startTestApp, type TestApp } from './support/test-app';
import { deferred, within } from './support/wait';

/**
 * Many callers at once on one balance: the in-memory actor must hand out exactly what the balance
 * holds, the group commit must persist every charge, and an idempotency key must run its work once,
 * also across a restart.
 */

const HOLD_TOKENS = 37;
const HOLDS_THAT_FIT = 100;
const RESERVATIONS = 1_000;
/** Backstop for a grant that neither commits nor fails a flush (a hang); either happens in milliseconds. */
const BYSTANDER_WAIT_MS = 30_000;

const sql = <T>(t: TestApp, query: string, params: unknown[] = []) => t.app.services.orm.em.fork().execute<T[]>(query, params);

async function ledgerOf(t: TestApp, userId: string) {
  const rows = await sql<{ kind: string; amount: string; balance_after: string; hold_id: string | null; idempotency_key: string | null }>(
    t,
    'select kind, amount, balance_after, hold_id, idempotency_key from token_ledger where user_id = ? order by seq',
    [userId],
  );
  return rows.map((r) => ({ ...r, amount: Number(r.amount), balanceAfter: Number(r.balance_after) }));
}

async function tokensInDb(t: TestApp, userId: string): Promise<number> {
  const [row] = await sql<{ tokens: string }>(t, 'select tokens from users where id = ?', [userId]);
  return Number(row!.tokens);
}

describe('1,000 simultaneous reservations on a balance that fits 100', () => {
  const START = HOLD_TOKENS * HOLDS_THAT_FIT;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SIGNUP_GRANT_TOKENS: String(START) });
  });
  afterAll(() => t?.close());

  it('grants exactly 100, refuses 900 with the right numbers, then settles all 100 at once', async () => {
    const balance = t.app.services.balance;
    const { userId } = await t.signUp();
    let commits = 0;
    balance.addListener({ flushed: () => commits++ });

    // The balance is cold: every call joins the one load, then all run against the same actor.
    expect(balance.peek(userId)).toBeUndefined();
    const outcomes = await Promise.allSettled(Array.from({ length: RESERVATIONS }, () => balance.reserve(userId, HOLD_TOKENS, { taskType: 'test' })));
    const holds = outcomes.filter((o): o is PromiseFulfilledResult<Hold> => o.status === 'fulfilled').map((o) => o.value);
    const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as unknown);
    expect(holds).toHaveLength(HOLDS_THAT_FIT);
    expect(new Set(holds.map((h) => h.id)).size).toBe(HOLDS_THAT_FIT);
    expect(refusals).toHaveLength(RESERVATIONS - HOLDS_THAT_FIT);
    for (const err of refusals) {
      expect(err).toBeInstanceOf(InsufficientTokensError);
      expect({ available: (err as InsufficientTokensError).available, required: (err as InsufficientTokensError).required }).toEqual({
        available: 0,
        required: HOLD_TOKENS,
      });
    }
    expect(await balance.snapshot(userId)).toEqual({ tokens: START, reserved: START, available: 0, plan: 'free' });

    const usage = holds.map(() => Math.floor(Math.random() * (HOLD_TOKENS + 1)));
    const charged = usage.reduce((a, b) => a + b, 0);
    const settled = await Promise.all(
      holds.map((hold, i) => balance.settle(hold, { tokens: usage[i]!, promptTokens: usage[i]!, completionTokens: 0, costNanoUsd: 0 })),
    );
    settled.forEach((s, i) => {
      expect({ charged: s.charged, overage: s.overage }).toEqual({ charged: usage[i], overage: 0 });
      expect(s.snapshot.tokens).toBeGreaterThanOrEqual(0);
    });
    expect(await balance.snapshot(userId)).toEqual({ tokens: START - charged, reserved: 0, available: START - charged, plan: 'free' });
    expect(await tokensInDb(t, userId)).toBe(START - charged);

    const ledger = await ledgerOf(t, userId);
    const charges = ledger.filter((r) => r.kind === 'CHARGE');
    expect(charges).toHaveLength(HOLDS_THAT_FIT);
    expect(new Set(charges.map((c) => c.hold_id))).toEqual(new Set(holds.map((h) => h.id)));
    expect(ledger.reduce((sum, r) => sum + r.amount, 0)).toBe(START - charged);
    let running = 0;
    for (const row of ledger) {
      running += row.amount;
      expect(row.balanceAfter).toBe(running);
      expect(row.balanceAfter).toBeGreaterThanOrEqual(0);
    }
    // Group commit: 100 charges issued together do not take 100 transactions.
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThan(HOLDS_THAT_FIT / 2);
    expect(await verifyLedger(t.app.services.orm)).toMatchObject({ users: expect.any(Number), mismatches: [], grantMismatches: [], entryMismatches: [] });
  });
});

describe('idempotency keys', () => {
  const CALLERS = 20;
  const GRANT = 500;

  it('runs the work of 20 concurrent calls with one key once, and not again after a restart', async () => {
    let t = await startTestApp();
    try {
      const { userId } = await t.signUp();
      const key = `grant-once-${userId}`;
      const lookup = (app: TestApp) => async () => {
        const [row] = await sql<{ id: string }>(app, 'select id from token_ledger where user_id = ? and idempotency_key = ?', [userId, key]);
        return row ? { entryId: row.id } : undefined;
      };
      let runs = 0;
      const work = (app: TestApp) => async () => {
        runs++;
        const { entryId } = await app.app.services.balance.grant(userId, GRANT, 'idempotent grant', key);
        return { entryId };
      };

      // One per process, as the generation layer has one.
      const runsBefore = new IdempotentRuns();
      const results = await Promise.all(Array.from({ length: CALLERS }, () => runsBefore.once(userId, key, 'same request', lookup(t), work(t))));
      expect(runs).toBe(1);
      expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
      const rows = (await ledgerOf(t, userId)).filter((r) => r.idempotency_key === key);
      expect(rows).toEqual([expect.objectContaining({ kind: 'GRANT', amount: GRANT, balanceAfter: 10_000 + GRANT })]);
      expect(await tokensInDb(t, userId)).toBe(10_000 + GRANT);

      // Once committed, a later call in the same process finds the entry instead of granting again.
      expect(await runsBefore.once(userId, key, 'same request', lookup(t), work(t))).toEqual(results[0]);
      expect(runs).toBe(1);

      await t.close({ drop: false });
      t = await startTestApp({}, t.db);
      const runsAfter = new IdempotentRuns();
      const again = await Promise.all(Array.from({ length: CALLERS }, () => runsAfter.once(userId, key, 'same request', lookup(t), work(t))));
      expect(runs).toBe(1);
      expect(again).toEqual(Array.from({ length: CALLERS }, () => results[0]));
      expect((await ledgerOf(t, userId)).filter((r) => r.idempotency_key === key)).toHaveLength(1);
      expect((await t.app.services.balance.snapshot(userId)).tokens).toBe(10_000 + GRANT);
      expect((await verifyLedger(t.app.services.orm)).mismatches).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('refuses a grant whose key is already in the ledger without holding up anyone else', async () => {
    // A ledger stalled on the duplicate fails its commit and retries it forever: the log says so at once.
    const flushFailed = deferred<string>();
    const sink = new Writable({
      write(chunk, _enc, done) {
        if ((JSON.parse(String(chunk)) as { msg?: string }).msg === 'ledger flush failed; retrying') flushFailed.resolve('stalled behind the duplicate');
        done();
      },
    });
    const t = await startTestApp({}, undefined, { log: pino({ level: 'error' }, sink) });
    const balance = t.app.services.balance;
    const key = 'used-once';
    try {
      const a = await t.signUp();
      const b = await t.signUp();
      await balance.grant(a.userId, 100, 'first', key);

      // Called directly, past once(): the ledger's unique key must stop it without stopping the ledger.
      const duplicate = balance.grant(a.userId, 100, 'again', key).then(
        (r) => ({ ok: true as const, entryId: r.entryId }),
        (err: Error) => ({ ok: false as const, error: err.name }),
      );
      const bystander = balance.grant(b.userId, 5, 'bystander').then(() => 'committed');
      expect(await within(Promise.race([bystander, flushFailed.promise]), BYSTANDER_WAIT_MS, 'the bystander grant, or a failed flush')).toBe('committed');
      expect(await duplicate).toMatchObject({ ok: false });

      const rows = (await ledgerOf(t, a.userId)).filter((r) => r.idempotency_key === key);
      expect(rows).toEqual([expect.objectContaining({ amount: 100 })]);
      expect((await balance.snapshot(a.userId)).tokens).toBe(10_100);
      expect(await tokensInDb(t, a.userId)).toBe(10_100);
      expect((await verifyLedger(t.app.services.orm)).mismatches).toEqual([]);
    } finally {
      // If the ledger is stalled on the duplicate, rename the stored key so the retry can commit and
      // the app can close (the test has failed by then).
      if (balance.stats().journalDepth > 0) {
        await sql(t, `update token_ledger set idempotency_key = idempotency_key || ':renamed' where idempotency_key = ? and metadata->>'reason' = 'first'`, [key]);
      }
      await t.close();
    }
  });
});

describe('balance ceiling', () => {
  it('keeps every balance within BALANCE_TOKENS_MAX, for grants and positive adjustments alike', async () => {
    const t = await startTestApp();
    try {
      const balance = t.app.services.balance;
      const { userId } = await t.signUp();
      const room = BALANCE_TOKENS_MAX - 10_000;
      await expect(balance.grant(userId, room + 1, 'too much')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(balance.adjust(userId, room + 1, 'too much')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      expect((await balance.snapshot(userId)).tokens).toBe(10_000);
      await balance.adjust(userId, room, 'up to the ceiling');
      expect((await balance.snapshot(userId)).tokens).toBe(BALANCE_TOKENS_MAX);
    } finally {
      await t.close();
    }
  });
});
