import { randomBytes } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { BalanceOwnership, OwnerRef, UserRow } from '../balance/ownership';

/** Renewals per time to live: a lease survives two missed renewals. */
export const LEASE_RENEWALS_PER_TTL = 3;
/**
 * This instance stops trusting its leases this long before the database would let another instance
 * take them: the renewal's time is taken when it is sent, before the database's clock reads it, so
 * the local deadline is already early; the margin covers clocks that run at slightly different rates.
 */
export const LEASE_SAFETY_MARGIN_MS = 250;
/** Leases given up per statement (idle actors evicted, the hand-over at shutdown). */
export const LEASE_RELEASE_BATCH_MAX = 1_000;
/** Releases waiting for their statement; past it, the oldest are left to the next owner's takeover. */
export const LEASE_RELEASES_QUEUED_MAX = 100_000;

/** At start-up, checks of a live row left under this INSTANCE_ID, and the pause past its expiry before each. */
export const START_WAITS_MAX = 3;
export const START_WAIT_MARGIN_MS = 50;
/** How long a GONE instance's row is kept (for a look at what ran) before the leader deletes it. */
export const GONE_INSTANCES_KEPT_MS = 24 * 3600 * 1000;

export interface LeaseSettings {
  instanceId: string;
  /** The internal URL the other instances forward this instance's balances' operations to (set by join). */
  address: string;
  ttlMs: number;
}

/**
 * Ownership of balances between instances, recorded in PostgreSQL (migration 80): one row per instance
 * in cluster_instances, renewed every third of the lease's time to live by the database's clock, and
 * one lease per user in balance_leases naming the instance and an epoch. A lease is valid while its
 * instance's row is LIVE or DRAINING and not expired; a lease of an instance that is not may be taken
 * by any other, which counts the epoch up and writes it to users.balance_epoch in the same statement.
 * The flusher names that epoch in every batch (the fence), so a deposed owner can never commit again.
 */
export class Leases implements BalanceOwnership {
  private renewedAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;
  private lost = false;
  private leader = false;
  private readonly lostListeners: Array<() => void> = [];
  private releases: Array<{ userId: string; epoch: number }> = [];
  private releasing = false;

  constructor(
    private readonly orm: MikroORM,
    readonly settings: LeaseSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get instanceId(): string {
    return this.settings.instanceId;
  }

  /** Whether this instance is the one that runs the platform's duties (the oldest live instance). */
  get isLeader(): boolean {
    return this.leader && this.valid();
  }

  /**
   * At start-up: joins, once no other process holds a live row under this INSTANCE_ID. A restart right
   * after a crash (kill -9) with a fixed id waits for the dead process's row to expire (at most
   * LEASE_TTL_MS); a row renewed while this one waits belongs to a live twin, and the start is refused:
   * two processes under one id would take each other's balances back and forth.
   */
  async start(address: string): Promise<void> {
    let seen: number | null = null;
    for (let waits = 0; ; waits++) {
      const rows = await this.orm.em.fork().execute<Array<{ expires_ms: string; remaining_ms: string }>>(
        `select (extract(epoch from expires_at) * 1000)::int8 as expires_ms,
                greatest(0, (extract(epoch from expires_at - clock_timestamp()) * 1000)::int8) as remaining_ms
           from cluster_instances where id = ? and state <> 'GONE' and expires_at > clock_timestamp()`,
        [this.settings.instanceId],
      );
      const row = rows[0];
      if (!row) break;
      const expiresMs = Number(row.expires_ms);
      if (seen !== null && expiresMs !== seen) {
        throw new Error(`INSTANCE_ID ${this.settings.instanceId} is in use: another live instance renews it; give every instance an id of its own`);
      }
      if (waits >= START_WAITS_MAX) throw new Error(`INSTANCE_ID ${this.settings.instanceId}: its previous row did not expire`);
      seen = expiresMs;
      this.log.warn({ instanceId: this.settings.instanceId, remainingMs: Number(row.remaining_ms) }, 'a previous process under this INSTANCE_ID left a live row: waiting for it to expire');
      await new Promise((resolve) => setTimeout(resolve, Math.min(Number(row.remaining_ms), this.settings.ttlMs) + START_WAIT_MARGIN_MS));
    }
    await this.join(address);
  }

  /** Records this instance LIVE at `address` (again, after a restart under the same id) and starts renewing. */
  async join(address?: string): Promise<void> {
    if (address !== undefined) this.settings.address = address;
    const sent = this.now();
    await this.orm.em.fork().execute(
      `insert into cluster_instances (id, address, state, started_at, expires_at)
       values (?, ?, 'LIVE', clock_timestamp(), clock_timestamp() + ? * interval '1 millisecond')
       on conflict (id) do update set address = excluded.address, state = 'LIVE', started_at = excluded.started_at, expires_at = excluded.expires_at`,
      [this.settings.instanceId, this.settings.address, this.settings.ttlMs],
    );
    this.renewedAtMs = sent;
    this.lost = false;
    await this.renew();
    if (!this.timer) {
      this.timer = setInterval(() => void this.renew(), Math.floor(this.settings.ttlMs / LEASE_RENEWALS_PER_TTL));
      this.timer.unref();
    }
  }

  platformDuty(): boolean {
    return this.isLeader;
  }

  valid(): boolean {
    return !this.lost && this.now() < this.renewedAtMs + this.settings.ttlMs - LEASE_SAFETY_MARGIN_MS;
  }

  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /**
   * Extends this instance's row and learns whether it is the leader. The leases are lost only when the
   * database says so: the row had expired before this renewal (another instance may have taken the
   * balances meanwhile) or was declared GONE; then every actor is dropped and the row made LIVE again,
   * and later loads take leases anew. A renewal that comes late by this process's clock but finds the
   * row unexpired lost nothing: the actors, left alone while in doubt (valid() false), go on.
   */
  async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    const sent = this.now();
    try {
      const rows = await this.orm.em.fork().execute<Array<{ state: string; unexpired: boolean; leader: string | null }>>(
        `with before as (select expires_at > clock_timestamp() as unexpired from cluster_instances where id = ?),
              me as (update cluster_instances set expires_at = clock_timestamp() + ? * interval '1 millisecond'
                      where id = ? and state <> 'GONE' returning state)
         select me.state, (select unexpired from before) as unexpired,
                (select id from cluster_instances
                  where state = 'LIVE' and expires_at > clock_timestamp() order by started_at, id limit 1) as leader
           from me`,
        [this.settings.instanceId, this.settings.ttlMs, this.settings.instanceId],
      );
      const row = rows[0];
      if (!row) {
        this.loseLeases('this instance was declared gone while it could not renew');
        await this.join();
        return;
      }
      if (!row.unexpired && !this.lost) this.loseLeases('the row had expired before this renewal');
      this.renewedAtMs = sent;
      this.lost = false;
      this.leader = row.state === 'LIVE' && row.leader === this.settings.instanceId;
    } catch (err) {
      this.log.warn({ err }, 'lease renewal failed');
    } finally {
      this.renewing = false;
    }
  }

  private loseLeases(reason: string): void {
    this.log.error({ instanceId: this.settings.instanceId, reason }, 'balance leases lost');
    this.lost = true;
    this.leader = false;
    for (const listener of this.lostListeners) listener();
  }

  async acquire(em: EntityManager, userIds: readonly string[]): Promise<{ rows: UserRow[]; elsewhere: Map<string, OwnerRef | null> }> {
    const elsewhere = new Map<string, OwnerRef | null>();
    if (!this.valid()) {
      // Nothing may be loaded under leases this instance cannot vouch for; the renewal will tell.
      for (const userId of userIds) elsewhere.set(userId, null);
      return { rows: [], elsewhere };
    }
    const ids = JSON.stringify(userIds);
    const rows = await em.execute<UserRow[]>(
      `with wanted as (
         select id, balance_epoch from users where id in (select value::uuid from json_array_elements_text(?::json))),
       taken as (
         insert into balance_leases as l (user_id, instance_id, epoch)
         select id, ?, balance_epoch + 1 from wanted
         on conflict (user_id) do update
            set instance_id = excluded.instance_id, epoch = greatest(l.epoch + 1, excluded.epoch), acquired_at = now()
          where l.instance_id = excluded.instance_id
             or not exists (select 1 from cluster_instances i
                             where i.id = l.instance_id and i.state <> 'GONE' and i.expires_at > clock_timestamp())
         returning user_id, epoch)
       update users u set balance_epoch = taken.epoch from taken where u.id = taken.user_id
       returning u.id, u.tokens, u.balance_version, u.balance_epoch, u.plan, u.pending_plan, u.pending_plan_from`,
      [ids, this.settings.instanceId],
    );
    if (rows.length < userIds.length) {
      const got = new Set(rows.map((r) => r.id));
      // Users that exist but were not taken: owned by a live instance (named), or their lease changed hands
      // between the two statements (released at a shutdown: null, asked again); users that do not exist are
      // in neither list.
      const owners = await em.execute<Array<{ user_id: string; instance_id: string | null; address: string | null }>>(
        `select u.id as user_id, l.instance_id, i.address
           from users u left join balance_leases l on l.user_id = u.id left join cluster_instances i on i.id = l.instance_id
          where u.id in (select value::uuid from json_array_elements_text(?::json))`,
        [JSON.stringify(userIds.filter((u) => !got.has(u)))],
      );
      for (const o of owners) elsewhere.set(o.user_id, o.instance_id && o.address ? { instanceId: o.instance_id, address: o.address } : null);
    }
    return { rows, elsewhere };
  }

  /** Where a user's balance lives now: its lease's instance, or null when none holds it. */
  async locate(userId: string): Promise<OwnerRef | null> {
    const rows = await this.orm.em.fork().execute<Array<{ instance_id: string; address: string }>>(
      `select l.instance_id, i.address from balance_leases l join cluster_instances i on i.id = l.instance_id
        where l.user_id = ? and i.state <> 'GONE' and i.expires_at > clock_timestamp()`,
      [userId],
    );
    const row = rows[0];
    return row ? { instanceId: row.instance_id, address: row.address } : null;
  }

  release(leases: ReadonlyArray<{ userId: string; epoch: number }>): void {
    const room = LEASE_RELEASES_QUEUED_MAX - this.releases.length;
    if (room <= 0) return;
    this.releases.push(...leases.slice(0, room));
    if (!this.releasing) void this.releaseQueued();
  }

  private async releaseQueued(): Promise<void> {
    this.releasing = true;
    try {
      while (this.releases.length > 0) {
        const batch = this.releases.splice(0, LEASE_RELEASE_BATCH_MAX);
        await this.orm.em.fork().execute(
          `delete from balance_leases l using json_to_recordset(?::json) as r(user_id uuid, epoch bigint)
            where l.user_id = r.user_id and l.epoch = r.epoch and l.instance_id = ?`,
          [JSON.stringify(batch.map((b) => ({ user_id: b.userId, epoch: b.epoch }))), this.settings.instanceId],
        );
      }
    } catch (err) {
      this.log.warn({ err }, 'giving up idle leases failed; the next owner takes them over when this instance is gone');
      this.releases = [];
    } finally {
      this.releasing = false;
    }
  }

  /** Shutdown, first step: still the owner, but no longer the leader and never chosen again. */
  async drain(): Promise<void> {
    this.leader = false;
    await this.orm.em.fork().execute(`update cluster_instances set state = 'DRAINING' where id = ? and state = 'LIVE'`, [this.settings.instanceId]);
  }

  /**
   * Shutdown, last step (after the balance service committed everything): every lease is given up and
   * the row marked GONE, so other instances take the balances at once instead of after the time to live.
   */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.lost = true;
    await this.orm.em.fork().execute(
      `with gone as (update cluster_instances set state = 'GONE', expires_at = clock_timestamp() where id = ? returning id)
       delete from balance_leases where instance_id in (select id from gone)`,
      [this.settings.instanceId],
    );
  }

  /**
   * The leader's duty: instances whose row expired are declared GONE (their leases may be taken from
   * then on anyway; GONE makes it final, so an instance that wakes up knows), and their RUNNING flow runs
   * are failed by `failRuns` first. Returns the instances declared gone.
   */
  async buryDead(failRuns: (instanceIds: string[]) => Promise<number>): Promise<string[]> {
    // Rows of instances long gone (a restart with a generated id leaves one) are forgotten.
    await this.orm.em.fork().execute(
      `delete from cluster_instances i where state = 'GONE' and expires_at < clock_timestamp() - ? * interval '1 millisecond'
          and not exists (select 1 from balance_leases l where l.instance_id = i.id)`,
      [GONE_INSTANCES_KEPT_MS],
    );
    const dead = await this.orm.em.fork().execute<Array<{ id: string }>>(
      `select id from cluster_instances where state <> 'GONE' and expires_at < clock_timestamp() - ? * interval '1 millisecond' limit 100`,
      [this.settings.ttlMs],
    );
    if (dead.length === 0) return [];
    const ids = dead.map((d) => d.id);
    const runs = await failRuns(ids);
    await this.orm.em.fork().execute(
      `update cluster_instances set state = 'GONE' where id in (select value from json_array_elements_text(?::json)) and expires_at < clock_timestamp()`,
      [JSON.stringify(ids)],
    );
    this.log.warn({ instances: ids, flowRunsFailed: runs }, 'instances past their lease declared gone');
    return ids;
  }
}

/**
 * A secret every instance shares, created by the first that asks (cluster_secrets): the JWT signing key
 * when JWT_SECRET is unset, and the internal endpoint's key. 32 random bytes, base64url.
 */
export async function sharedSecret(orm: MikroORM, name: string): Promise<string> {
  const em = orm.em.fork();
  await em.execute(`insert into cluster_secrets (name, secret) values (?, ?) on conflict (name) do nothing`, [name, randomBytes(32).toString('base64url')]);
  const rows = await em.execute<Array<{ secret: string }>>(`select secret from cluster_secrets where name = ?`, [name]);
  return rows[0]!.secret;
}
