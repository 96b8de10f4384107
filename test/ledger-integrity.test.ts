import pino from 'pino';
import { BalanceFencedError } from '../src/balance/errors';
import { BalanceService } from '../src/balance/service';
import { loadConfig } from '../src/config';
import { verifyLedger } from '../src/balance/ledger';
import { uuidv7 } from '../src/db/ids';
import { withPooledConnection } from '../src/db/sql';
import { startTestApp, type TestApp } from './support/test-app';
import { within } from './support/wait';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A flush that cannot run is retried forever; a test gives up waiting well before its own timeout. */
const FLUSH_WAIT_MS = 10_000;

const committedWithin = <T>(work: Promise<T>): Promise<T> => within(work, FLUSH_WAIT_MS, 'the flush to commit');

/** Resolves in the next turn of the event loop, after this turn's callbacks and microtasks. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('uuidv7', () => {
  it('has the version 7 layout and carries the given milliseconds', () => {
    const ms = Date.UTC(2026, 10, 25, 18, 0, 0, 123);
    const id = uuidv7(ms);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts by time and does not repeat', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 100; i < ids.length; i += 100) expect(ids[i - 1]! < ids[i]!).toBe(true);
    for (const id of ids.slice(0, 500)) expect(id).toMatch(UUID_V7);
  });

  it('formats many ids in one millisecond (several batches) and moves to a new millisecond at once', () => {
    const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    const ms = 1_800_000_000_000;
    const busy = Array.from({ length: 1_000 }, () => uuidv7(ms));
    expect(new Set(busy).size).toBe(busy.length);
    for (const id of busy) {
      expect(id).toMatch(UUID_V7);
      expect(msOf(id)).toBe(ms);
    }
    // The batch formatted for `ms` still has ids left: a later millisecond must not hand them out.
    expect(msOf(uuidv7(ms + 1))).toBe(ms + 1);
    expect(msOf(uuidv7(ms + 60_000))).toBe(ms + 60_000);
    expect(uuidv7()).toMatch(UUID_V7);
  });
});

describe('the ledger without a foreign key to users', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('writes entries with time-ordered ids', async () => {
    const user = await t.signUp();
    await t.app.services.balance.grant(user.userId, 5, 'ordered');
    const rows = await t.app.services.orm.em
      .fork()
      .execute<Array<{ id: string }>>('select id from token_ledger where user_id = ? order by seq', [user.userId]);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.id).toMatch(UUID_V7);
    const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(msOf(rows[0]!.id)).toBeLessThanOrEqual(msOf(rows[1]!.id));
    expect(msOf(rows[1]!.id)).toBeLessThanOrEqual(Date.now());
  });

  it('keeps flushing after the pooled connection is replaced (prepared statements are made again)', async () => {
    const balance = t.app.services.balance;
    const user = await t.signUp();
    await balance.grant(user.userId, 1, 'prepares the flush statement');
    // End the pooled connection: the pool opens a new one, whose session (on the embedded database:
    // the same PGlite session) must not trip over the statement names prepared before.
    await withPooledConnection(t.app.services.orm, (connection) => connection.end());
    const after = await committedWithin(balance.grant(user.userId, 2, 'after the connection was replaced'));
    expect(after.snapshot.tokens).toBe(10_003);
    const [row] = await t.app.services.orm.em.fork().execute<Array<{ tokens: string }>>('select tokens from users where id = ?', [user.userId]);
    expect(Number(row!.tokens)).toBe(10_003);
  });

  it('keeps flushing when a second balance service has used the same pool (both prepare on one connection)', async () => {
    const orm = t.app.services.orm;
    const [first, second] = [await t.signUp(), await t.signUp()];
    await t.app.services.balance.grant(first.userId, 1, 'the app prepares its flush');
    const other = new BalanceService(orm, loadConfig(t.env).balance, pino({ level: 'silent' }));
    other.start();
    try {
      expect((await other.grant(second.userId, 4, 'a second service on the same pool')).snapshot.tokens).toBe(10_004);
    } finally {
      await other.stop();
    }
    const after = await committedWithin(t.app.services.balance.grant(first.userId, 2, 'the app flushes again'));
    expect(after.snapshot.tokens).toBe(10_003);
    expect((await verifyLedger(orm)).mismatches).toEqual([]);
  });

  it('after a quiet spell, commits the settles of one event-loop turn as one batch', async () => {
    const balance = t.app.services.balance;
    const users = await Promise.all(Array.from({ length: 5 }, () => t.signUp()));
    const holds = await Promise.all(users.map((u) => balance.reserve(u.userId, 100, { taskType: 'batching' })));
    await committedWithin(balance.grant(users[0]!.userId, 1, 'the journal is empty after this'));
    const batches: number[] = [];
    balance.addListener({ flushed: (entries) => batches.push(entries) });
    // Each settle in its own callback of the same turn, as replies read in one poll would be: the
    // first one wakes the flusher, which must wait for the rest of the turn before committing.
    const settled = holds.map(
      (hold) =>
        new Promise((resolve, reject) => {
          setImmediate(() => balance.settle(hold, { tokens: 10, promptTokens: 6, completionTokens: 4, costNanoUsd: 1 }).then(resolve, reject));
        }),
    );
    await committedWithin(Promise.all(settled));
    expect(batches).toEqual([5]);
  });

  it('with FLUSH_INTERVAL_MS, changes made during the wait join the batch that is waiting', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => t.signUp()));
    const config = loadConfig({ ...t.env, FLUSH_INTERVAL_MS: '500' }).balance;
    const other = new BalanceService(t.app.services.orm, config, pino({ level: 'silent' }));
    const batches: number[] = [];
    other.addListener({ flushed: (entries) => batches.push(entries) });
    other.start();
    try {
      for (const u of users) await other.snapshot(u.userId);
      // The first grant wakes the flusher, which then waits 500 ms; each later grant comes a turn of
      // the event loop after the one before (microseconds), so without the wait they would be
      // committed apart. The wait is the feature under test, not a guess at how long anything takes.
      const grants: Array<Promise<unknown>> = [];
      for (const u of users) {
        grants.push(other.grant(u.userId, 3, 'during the wait'));
        await nextTurn();
      }
      await committedWithin(Promise.all(grants));
    } finally {
      await other.stop();
    }
    expect(batches).toEqual([5]);
  });

  it('refuses a batch for a user whose row is gone, and ledger:verify reports the orphaned rows', async () => {
    const balance = t.app.services.balance;
    const gone = await t.signUp();
    const bystander = await t.signUp();
    await balance.snapshot(gone.userId);
    await balance.snapshot(bystander.userId);
    const em = t.app.services.orm.em.fork();
    await em.execute('delete from brands where owner_id = ?', [gone.userId]);
    await em.execute('delete from users where id = ?', [gone.userId]);

    // Same batch: the fence refuses the missing user's entry and commits the bystander's.
    const [mine, theirs] = await Promise.allSettled([balance.grant(gone.userId, 10, 'to nobody'), balance.grant(bystander.userId, 7, 'fine')]);
    expect(mine.status).toBe('rejected');
    expect((mine as PromiseRejectedResult).reason).toBeInstanceOf(BalanceFencedError);
    expect(theirs.status).toBe('fulfilled');
    const [{ n }] = (await em.execute<Array<{ n: string }>>(`select count(*) as n from token_ledger where user_id = ?`, [gone.userId])) as [{ n: string }];
    expect(Number(n)).toBe(1); // only the sign-up grant: nothing was written for the missing user

    // The sign-up grant stays in the ledger (no cascade); the books check names it.
    const verdict = await verifyLedger(t.app.services.orm);
    expect(verdict.mismatches).toEqual([{ userId: gone.userId, tokens: 0, ledgerSum: 10_000 }]);
  });
});
