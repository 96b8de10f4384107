import { BalanceFencedError } from '../src/balance/errors';
import { verifyLedger } from '../src/balance/ledger';
import { NotOwnerError } from '../src/balance/ownership';
import { BalanceService } from '../src/balance/service';
import { Leases } from '../src/cluster/leases';
import type { BalanceConfig } from '../src/config';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Ownership between instances (src/cluster/leases.ts) and the fence it adds to the flusher, with two
 * balance services over one database in one process, each under its own instance's leases. Takeovers
 * are forced by expiring an instance's row, as the database sees a killed instance after LEASE_TTL_MS.
 * Runs on the embedded database too: the leases need nothing of a server (clustered mode as a whole
 * does; test/cluster.test.ts runs real processes).
 */
const TTL_MS = 60_000;
const USAGE = { tokens: 3, promptTokens: 2, completionTokens: 1, costNanoUsd: 0 };
/** Rounds of the takeover-under-load test, and settles started per round. */
const ROUNDS = 12;
const SETTLES_PER_ROUND = 25;

describe('balance leases and the epoch fence', () => {
  let t: TestApp;
  const services: BalanceService[] = [];
  const leases: Leases[] = [];
  /** Every commit, as (instance, user, epoch) of the actor that wrote it. */
  const commits: Array<{ instance: string; userId: string; epoch: number }> = [];

  const sql = <T>(query: string, params: unknown[] = []) => t.app.services.orm.em.fork().execute<T[]>(query, params);

  async function instance(id: string): Promise<{ balance: BalanceService; lease: Leases }> {
    const { orm, log } = t.app.services;
    const config: BalanceConfig = { ...t.app.services.config.balance, actorIdleMs: Number.MAX_SAFE_INTEGER };
    const lease = new Leases(orm, { instanceId: id, address: `http://${id}.invalid`, ttlMs: TTL_MS }, log);
    const balance = new BalanceService(orm, config, log, undefined, undefined, lease);
    balance.addListener({ committed: (entry) => commits.push({ instance: id, userId: entry.actor.userId, epoch: entry.actor.epoch }) });
    await lease.join();
    balance.start();
    services.push(balance);
    leases.push(lease);
    return { balance, lease };
  }

  /** What the database sees when an instance was killed LEASE_TTL_MS ago. */
  const expire = (id: string) => sql(`update cluster_instances set expires_at = now() - interval '1 second' where id = ?`, [id]);
  /** The instance renews again, as one paused past its time to live does on waking: it learns its leases are lost. */
  const revive = (lease: Leases) => lease.renew();

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const l of leases) await l.leave().catch(() => undefined);
    await t?.close();
  });

  it('loads a balance only under a lease; another live instance is told who owns it', async () => {
    const a = await instance('lease-a1');
    const b = await instance('lease-b1');
    const { userId } = await t.signUp();
    const hold = await a.balance.reserve(userId, 10, {});
    const err = await b.balance.reserve(userId, 10, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotOwnerError);
    expect((err as NotOwnerError).owner).toEqual({ instanceId: 'lease-a1', address: 'http://lease-a1.invalid' });
    await a.balance.settle(hold, USAGE);
    const [lease] = await sql<{ instance_id: string; epoch: string }>(`select instance_id, epoch from balance_leases where user_id = ?`, [userId]);
    const [user] = await sql<{ balance_epoch: string }>(`select balance_epoch from users where id = ?`, [userId]);
    expect(lease).toEqual({ instance_id: 'lease-a1', epoch: '1' });
    expect(user!.balance_epoch).toBe('1');
  });

  it('a takeover counts the epoch up and fences the deposed owner: its batch is rolled back, the new owner starts from the committed state', async () => {
    const a = await instance('lease-a2');
    const b = await instance('lease-b2');
    const { userId } = await t.signUp();
    const first = await a.balance.reserve(userId, 100, {});
    await a.balance.settle(first, USAGE);
    const held = await a.balance.reserve(userId, 100, {});
    await expire('lease-a2');
    // B takes the balance over from what was committed (one settle of 3 tokens).
    const snapshot = await b.balance.snapshot(userId);
    expect(snapshot.tokens).toBe(10_000 - 3);
    expect(snapshot.reserved).toBe(0);
    // A does not know yet: its settle reaches its flusher, which the fence stops.
    await expect(a.balance.settle(held, USAGE)).rejects.toBeInstanceOf(BalanceFencedError);
    const [user] = await sql<{ tokens: string; balance_epoch: string }>(`select tokens, balance_epoch from users where id = ?`, [userId]);
    expect(user).toEqual({ tokens: String(10_000 - 3), balance_epoch: '2' });
    // B charges on.
    const next = await b.balance.reserve(userId, 100, {});
    await b.balance.settle(next, USAGE);
    expect((await b.balance.snapshot(userId)).tokens).toBe(10_000 - 6);
  });

  it('a renewal that finds its row expired drops every actor: nothing more is decided on that memory', async () => {
    const a = await instance('lease-a3');
    const { userId } = await t.signUp();
    await a.balance.snapshot(userId);
    expect(a.balance.peek(userId)).toBeDefined();
    await expire('lease-a3');
    await a.lease.renew();
    expect(a.balance.peek(userId)).toBeUndefined();
    // The row is LIVE again: the next use takes the lease anew, under the next epoch.
    await a.balance.snapshot(userId);
    const [lease] = await sql<{ epoch: string }>(`select epoch from balance_leases where user_id = ?`, [userId]);
    expect(lease!.epoch).toBe('2');
  });

  it('under takeovers forced during load, no two instances commit for one user under one epoch, and the books balance', async () => {
    const a = await instance('lease-a4');
    const b = await instance('lease-b4');
    const { userId } = await t.signUp();
    const sides = [a, b];
    let acknowledged = 0;
    let fenced = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const owner = sides[round % 2]!;
      const other = sides[(round + 1) % 2]!;
      await revive(owner.lease);
      // The owner of this round takes the balance (its last owner's row is expired below).
      const holds = await Promise.all(Array.from({ length: SETTLES_PER_ROUND }, () => owner.balance.reserve(userId, 10, {})));
      const settles = holds.map((h) =>
        owner.balance.settle(h, USAGE).then(
          () => acknowledged++,
          (err: unknown) => {
            if (!(err instanceof BalanceFencedError)) throw err;
            fenced++;
          },
        ),
      );
      // Mid-load: this round's owner is declared dead and the other instance takes over at once.
      if (round % 3 !== 2) {
        await expire(owner.lease.instanceId);
        await revive(other.lease);
        await other.balance.snapshot(userId);
      }
      await Promise.all(settles.slice(0, Math.floor(SETTLES_PER_ROUND / 2)));
      await Promise.all(settles);
      await expire(owner.lease.instanceId);
    }
    const byEpoch = new Map<number, Set<string>>();
    for (const c of commits.filter((c) => c.userId === userId)) byEpoch.set(c.epoch, (byEpoch.get(c.epoch) ?? new Set()).add(c.instance));
    expect([...byEpoch.values()].filter((writers) => writers.size > 1)).toEqual([]);
    expect(byEpoch.size).toBeGreaterThan(ROUNDS / 2);
    // Every acknowledged settle is in the ledger, and nothing else.
    const [charged] = await sql<{ n: string; tokens: string }>(
      `select count(*) as n, coalesce(-sum(amount), 0) as tokens from token_ledger where user_id = ? and kind = 'CHARGE'`,
      [userId],
    );
    expect(Number(charged!.n)).toBe(acknowledged);
    expect(Number(charged!.tokens)).toBe(acknowledged * USAGE.tokens);
    expect(acknowledged + fenced).toBe(ROUNDS * SETTLES_PER_ROUND);
    const report = await verifyLedger(t.app.services.orm);
    expect([...report.mismatches, ...report.grantMismatches, ...report.entryMismatches]).toEqual([]);
  });

  it('starts under an id whose row a crashed process left once it expires, and refuses an id a live twin renews', async () => {
    const { orm, log } = t.app.services;
    // A crash left a row live for 300 ms more: the start waits it out.
    await sql(`insert into cluster_instances (id, address, expires_at) values ('lease-crashed', 'http://old.invalid', now() + interval '300 milliseconds')`);
    const restarted = new Leases(orm, { instanceId: 'lease-crashed', address: '', ttlMs: TTL_MS }, log);
    leases.push(restarted);
    await restarted.start('http://new.invalid');
    const [row] = await sql<{ address: string; state: string }>(`select address, state from cluster_instances where id = 'lease-crashed'`);
    expect(row).toEqual({ address: 'http://new.invalid', state: 'LIVE' });
    // A live twin renews its row (every third of its 900 ms) while the newcomer waits for it to expire.
    const twin = new Leases(orm, { instanceId: 'lease-twin', address: 'http://twin.invalid', ttlMs: 900 }, log);
    leases.push(twin);
    await twin.join();
    const second = new Leases(orm, { instanceId: 'lease-twin', address: '', ttlMs: 900 }, log);
    await expect(second.start('http://second.invalid')).rejects.toThrow(/INSTANCE_ID lease-twin is in use/);
    await twin.leave();
  });

  it('shutdown hands every lease over (GONE): another instance takes the balance at once', async () => {
    const a = await instance('lease-a5');
    const b = await instance('lease-b5');
    const { userId } = await t.signUp();
    await a.balance.snapshot(userId);
    await a.lease.leave();
    const [row] = await sql<{ state: string }>(`select state from cluster_instances where id = 'lease-a5'`);
    expect(row!.state).toBe('GONE');
    expect(await sql(`select 1 from balance_leases where instance_id = 'lease-a5'`)).toEqual([]);
    // B takes it at once, without waiting for any time to live.
    expect((await b.balance.snapshot(userId)).tokens).toBe(10_000);
  });
});
