import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { LIMITS, type BalanceConfig } from '../config';
import { planOf } from '../plans';
import { BalanceActor, type BalanceSnapshot, type ActorLimits, type Hold, type HoldMeta, type JournalEntry, type ReserveOutcome, type SettleUsage } from './actor';
import {
  BalanceUnavailableError,
  InsufficientTokensError,
  QuotaExceededError,
  RateLimitedError,
  TooManyHoldsError,
  UnknownUserError,
} from './errors';
import { monthStartMs, type BrandQuotaView, type LoadedBrand } from './quotas';
import type { RateLimits, RateLimitView } from './rates';
import { Flusher, type AttachmentWriter, type FlushObserver } from './flusher';
import { tokensFromDb } from './invariants';
import { badInput } from '../errors';
import { Journal, type Segment } from './journal';

/**
 * Largest balance: token amounts travel as GraphQL Int (32-bit signed), so no balance may exceed it.
 */
export const BALANCE_TOKENS_MAX = 2_147_483_647;
/** Cold balances loaded by one query. */
const LOAD_BATCH_MAX = 1_000;
/** Balances being loaded at once; past it new work is refused as unavailable. */
const LOADS_IN_FLIGHT_MAX = 10_000;
/** How often holds are checked for expiry and idle actors for eviction. */
const SWEEP_INTERVAL_MS = 1_000;
/** Plans whose actor limits are kept (users.plan values are few). */
const PLANS_CACHED_MAX = 1_000;
/** Actors examined per eviction pass, so a pass never stalls the event loop. */
const EVICTION_SCAN_MAX = 10_000;

export interface Committed {
  /** Ledger entry id. */
  entryId: string;
  /** The ledger entry as committed, so callers need not read it back. */
  entry: JournalEntry;
  snapshot: BalanceSnapshot;
}

export interface SettleResult extends Committed {
  charged: number;
  overage: number;
}

/** A brand's quota reached 80% (WARNING), or refused a reservation (EXCEEDED). */
export interface QuotaEvent {
  kind: 'WARNING' | 'EXCEEDED';
  userId: string;
  brandId: string;
  /** The first day of the month (UTC), YYYY-MM-DD: each kind is signalled once per brand and month. */
  month: string;
  monthlyTokens: number;
  used: number;
  /** EXCEEDED: what the refused reservation needed. */
  required?: number;
}

/** Events for subscriptions, metrics and alerts. */
export interface BalanceListener {
  /** Coalesced: at most once per user per tick, always with the latest state. */
  changed?(userId: string, snapshot: BalanceSnapshot): void;
  /** After an entry is durable. */
  committed?(entry: JournalEntry, snapshot: BalanceSnapshot): void;
  holdExpired?(hold: Hold): void;
  flushed?(entries: number, commitMs: number): void;
  /** At most once per brand, month and kind in an actor's life (the alert service makes it once in all). */
  quota?(event: QuotaEvent): void;
}

/**
 * The balances of every user this process owns: one in-memory actor each, loaded lazily, evicted
 * when idle, persisted by one group-commit flusher. Reserve and release are pure memory; settle,
 * grant and adjust resolve only after the batch holding their ledger entry has committed.
 */
export class BalanceService {
  private readonly actors = new Map<string, BalanceActor>();
  private readonly loading = new Map<string, Promise<BalanceActor>>();
  private loadQueue: Array<{ userId: string; resolve: (a: BalanceActor) => void; reject: (e: unknown) => void }> = [];
  private readonly withHolds = new Set<BalanceActor>();
  private readonly dirty = new Set<BalanceActor>();
  private readonly listeners: BalanceListener[] = [];
  private readonly limitsByPlan = new Map<string, ActorLimits>();
  private readonly journal: Journal;
  private readonly flusher: Flusher;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private overflowEvictionScheduled = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: BalanceConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.journal = new Journal(config.flushBatchMax);
    const observer: FlushObserver = {
      committed: (entries, ms) => this.listeners.forEach((l) => l.flushed?.(entries, ms)),
      fenced: (actors) => actors.forEach((a) => this.drop(a)),
    };
    this.flusher = new Flusher(orm, this.journal, { flushIntervalMs: config.flushIntervalMs }, log, observer);
  }

  addListener(listener: BalanceListener): void {
    this.listeners.push(listener);
  }

  addAttachmentWriter(writer: AttachmentWriter): void {
    this.flusher.addWriter(writer);
  }

  start(): void {
    this.flusher.start();
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(SWEEP_INTERVAL_MS, this.config.reservationTtlMs));
    this.sweepTimer.unref();
  }

  /** Refuses new work, commits everything journaled, stops the flusher. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.flusher.stop();
  }

  /** Holds tokens for work about to start. Waits only when the balance is not in memory yet. */
  async reserve(userId: string, amount: number, meta: HoldMeta): Promise<Hold> {
    this.refuseWhenSaturated();
    const actor = this.cached(userId) ?? (await this.actorFor(userId));
    const outcome = actor.reserve(amount, meta, this.now());
    if (!outcome.ok) throw this.refused(actor, outcome);
    this.withHolds.add(actor);
    this.markDirty(actor);
    return outcome.hold;
  }

  /** Charges the usage of a hold's work; resolves once the charge is durable. */
  async settle(hold: Hold, usage: SettleUsage, attachments: Record<string, unknown> = {}): Promise<SettleResult> {
    const actor = this.cached(hold.userId) ?? (await this.actorFor(hold.userId));
    const outcome = actor.settle(hold.id, usage, hold.meta, attachments, this.now());
    this.afterHoldChange(actor);
    // The segment's promise is awaited here rather than in a helper: one async frame fewer per
    // settle, the hottest path (see persist()).
    const segment = this.journal.append(outcome.entry);
    await segment.committed;
    this.committed(segment, outcome.entry);
    if (hold.meta.brandId !== undefined && actor.quotas.reachedWarning(hold.meta.brandId, this.now())) this.quotaEvent(actor, hold.meta.brandId, 'WARNING');
    return { entryId: outcome.entry.id, entry: outcome.entry, snapshot: actor.snapshot(), charged: outcome.charged, overage: outcome.overage };
  }

  /** Returns a hold's tokens (failure, cancel). Memory only; releasing twice is harmless. */
  release(hold: Hold): void {
    const actor = this.actors.get(hold.userId);
    if (!actor || actor.fenced) return;
    actor.release(hold.id, this.now());
    this.afterHoldChange(actor);
  }

  /**
   * Sets (or with null removes) a brand's monthly quota. The row is written first (brand_quotas, its
   * version counted up by the database), then the owner's actor adopts it in one synchronous step;
   * an actor that meets an older version than it has (two changes crossing) keeps the newer one, and
   * an actor loaded meanwhile read the row itself. Returns the quota as the actor now sees it.
   */
  async setBrandQuota(ownerId: string, brandId: string, monthlyTokens: number | null): Promise<BrandQuotaView | null> {
    if (this.closed) throw new BalanceUnavailableError('the service is shutting down');
    const [row] = await this.orm.em.fork().execute<Array<{ version: string }>>(
      `insert into brand_quotas (brand_id, user_id, monthly_tokens, version) values (?, ?, ?, 1)
       on conflict (brand_id) do update set monthly_tokens = excluded.monthly_tokens, version = brand_quotas.version + 1, updated_at = now()
       returning version`,
      [brandId, ownerId, monthlyTokens],
    );
    const actor = await this.actorFor(ownerId);
    actor.quotas.apply(brandId, monthlyTokens, tokensFromDb(row!.version, 'brand_quotas.version'));
    return actor.quotas.view(brandId, this.now());
  }

  /** A brand's quota as its owner's actor sees it; null when it has none. */
  async brandQuota(ownerId: string, brandId: string): Promise<BrandQuotaView | null> {
    return (await this.actorFor(ownerId)).quotas.view(brandId, this.now());
  }

  /**
   * Refuses (QUOTA_EXCEEDED) work of `required` tokens the brand's quota cannot cover now: a flow
   * checks its whole estimate up front, like the balance. Not a reservation.
   */
  async refuseOverQuota(ownerId: string, brandId: string, required: number): Promise<void> {
    const actor = await this.actorFor(ownerId);
    const refusal = actor.quotas.refusal(brandId, required, this.now());
    if (refusal) throw this.refused(actor, { ok: false, ...refusal });
  }

  /** Where the user stands on their per-minute limits and concurrent generations (me.rateLimits). */
  async rateLimits(userId: string): Promise<RateLimitView[]> {
    const actor = await this.actorFor(userId);
    const rates = actor.rates?.view(this.now()) ?? [];
    const holdsMax = this.config.holdsPerUserMax;
    return [...rates, { name: 'CONCURRENT_GENERATIONS', limit: holdsMax, remaining: Math.max(0, holdsMax - actor.holdCount), resetsAt: null }];
  }

  /** The error for a refused reservation; a quota refusal is also signalled (once per brand and month) for its alert. */
  private refused(actor: BalanceActor, outcome: Extract<ReserveOutcome, { ok: false }>): Error {
    switch (outcome.code) {
      case 'INSUFFICIENT_TOKENS':
        return new InsufficientTokensError(outcome.available, outcome.required);
      case 'TOO_MANY_HOLDS':
        return new TooManyHoldsError(`at most ${outcome.holdsMax} generations may run at once`);
      case 'QUOTA_EXCEEDED':
        if (actor.quotas.firstRefusal(outcome.brandId)) this.quotaEvent(actor, outcome.brandId, 'EXCEEDED', outcome.required);
        return new QuotaExceededError(outcome.brandId, outcome.remaining, outcome.required, new Date(outcome.resetsAtMs));
      case 'RATE_LIMITED': {
        const wait = outcome.retryAfterMs === null ? 'one request above the whole limit never fits' : `retry in ${outcome.retryAfterMs} ms`;
        return new RateLimitedError(outcome.limit, outcome.retryAfterMs, `rate limit ${outcome.limit} reached: ${wait}`);
      }
    }
  }

  private quotaEvent(actor: BalanceActor, brandId: string, kind: QuotaEvent['kind'], required?: number): void {
    const view = actor.quotas.view(brandId, this.now());
    if (!view || this.listeners.length === 0) return;
    const month = new Date(actor.quotas.currentMonthMs).toISOString().slice(0, 10);
    const event: QuotaEvent = { kind, userId: actor.userId, brandId, month, monthlyTokens: view.monthlyTokens, used: view.used, ...(required === undefined ? {} : { required }) };
    for (const l of this.listeners) l.quota?.(event);
  }

  async grant(
    userId: string,
    amount: number,
    reason: string,
    idempotencyKey?: string,
    details: Record<string, unknown> = {},
    attachments: Record<string, unknown> = {},
  ): Promise<Committed> {
    this.refuseWhenSaturated();
    const actor = await this.actorFor(userId);
    if (actor.tokens + amount > BALANCE_TOKENS_MAX) {
      throw badInput(`a balance may hold at most ${BALANCE_TOKENS_MAX} tokens`, 'amount');
    }
    const entry = actor.grant(amount, { ...details, reason }, idempotencyKey, attachments);
    this.markDirty(actor);
    await this.persist(entry);
    return { entryId: entry.id, entry, snapshot: actor.snapshot() };
  }

  /**
   * Takes back up to `amount` tokens (see BalanceActor.revoke: never below what holds cover or zero);
   * resolves once committed, with what was taken and the deficit that could not be.
   */
  async revoke(
    userId: string,
    amount: number,
    reason: string,
    idempotencyKey: string | undefined,
    details: Record<string, unknown>,
    attach: (taken: number, deficit: number) => Record<string, unknown>,
  ): Promise<Committed & { taken: number; deficit: number }> {
    this.refuseWhenSaturated();
    const actor = await this.actorFor(userId);
    const { entry, taken, deficit } = actor.revoke(amount, { ...details, reason }, idempotencyKey, attach);
    this.markDirty(actor);
    await this.persist(entry);
    return { entryId: entry.id, entry, snapshot: actor.snapshot(), taken, deficit };
  }

  async adjust(userId: string, delta: number, reason: string): Promise<Committed> {
    this.refuseWhenSaturated();
    const actor = await this.actorFor(userId);
    if (actor.tokens + delta > BALANCE_TOKENS_MAX) {
      throw badInput(`a balance may hold at most ${BALANCE_TOKENS_MAX} tokens`, 'delta');
    }
    const entry = actor.adjust(delta, reason);
    this.markDirty(actor);
    await this.persist(entry);
    return { entryId: entry.id, entry, snapshot: actor.snapshot() };
  }

  async snapshot(userId: string): Promise<BalanceSnapshot> {
    return (await this.actorFor(userId)).snapshot();
  }

  stats(): { liveActors: number; openHolds: number; journalDepth: number; healthy: boolean } {
    let openHolds = 0;
    for (const actor of this.withHolds) openHolds += actor.holdCount;
    return { liveActors: this.actors.size, openHolds, journalDepth: this.journal.size, healthy: this.flusher.healthy };
  }

  /** The in-memory actor, for tests that check invariants directly. */
  peek(userId: string): BalanceActor | undefined {
    return this.actors.get(userId);
  }

  private refuseWhenSaturated(): void {
    if (this.closed) throw new BalanceUnavailableError('the service is shutting down');
    if (this.journal.size >= this.config.journalDepthMax) {
      throw new BalanceUnavailableError('the ledger is not keeping up (database unavailable?); retry shortly');
    }
  }

  /** Journals an entry and resolves once its batch is committed (throws if it was fenced off). */
  private async persist(entry: JournalEntry): Promise<void> {
    const segment: Segment = this.journal.append(entry);
    await segment.committed;
    this.committed(segment, entry);
  }

  private committed(segment: Segment, entry: JournalEntry): void {
    segment.throwIfFailed(entry);
    if (this.listeners.length === 0) return;
    const snapshot = entry.actor.snapshot();
    for (const l of this.listeners) l.committed?.(entry, snapshot);
  }

  private afterHoldChange(actor: BalanceActor): void {
    if (actor.holdCount === 0) this.withHolds.delete(actor);
    this.markDirty(actor);
  }

  private markDirty(actor: BalanceActor): void {
    actor.lastUsedMs = this.now();
    if (this.dirty.size === 0) setImmediate(() => this.emitChanges());
    this.dirty.add(actor);
  }

  private emitChanges(): void {
    const changed = [...this.dirty];
    this.dirty.clear();
    if (this.listeners.length === 0) return;
    for (const actor of changed) {
      const snapshot = actor.snapshot();
      for (const l of this.listeners) l.changed?.(actor.userId, snapshot);
    }
  }

  /** The live actor when it is in memory: the common case, answered without a promise. */
  private cached(userId: string): BalanceActor | undefined {
    const actor = this.actors.get(userId);
    return actor && !actor.fenced ? actor : undefined;
  }

  private async actorFor(userId: string): Promise<BalanceActor> {
    const actor = this.cached(userId);
    if (actor) return actor;
    const pending = this.loading.get(userId);
    if (pending) return pending;
    if (this.loading.size >= LOADS_IN_FLIGHT_MAX) throw new BalanceUnavailableError('too many balances loading');
    const load = new Promise<BalanceActor>((resolve, reject) => {
      if (this.loadQueue.length === 0) setImmediate(() => void this.loadBatch());
      this.loadQueue.push({ userId, resolve, reject });
    });
    this.loading.set(userId, load);
    try {
      return await load;
    } finally {
      this.loading.delete(userId);
    }
  }

  /** Loads every balance asked for in the same tick with one query per LOAD_BATCH_MAX users. */
  private async loadBatch(): Promise<void> {
    const queue = this.loadQueue;
    this.loadQueue = [];
    for (let i = 0; i < queue.length; i += LOAD_BATCH_MAX) {
      const batch = queue.slice(i, i + LOAD_BATCH_MAX);
      try {
        const rows: Array<{ id: string; tokens: string; balance_version: string; plan: string }> = await this.orm.em
          .fork()
          .execute(
            `select id, tokens, balance_version, plan from users
              where id in (select value::uuid from json_array_elements_text(?::json))`,
            [JSON.stringify(batch.map((b) => b.userId))],
          );
        const nowMs = this.now();
        const brands = await this.loadBrands(rows.map((r) => r.id), nowMs);
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const { userId, resolve, reject } of batch) {
          const row = byId.get(userId);
          if (!row) reject(new UnknownUserError(userId));
          else resolve(this.install(row, brands.get(userId) ?? [], nowMs));
        }
      } catch (err) {
        this.log.error({ err, users: batch.length }, 'loading balances failed');
        const unavailable = new BalanceUnavailableError('balances cannot be loaded right now; retry shortly', { cause: err });
        for (const { reject } of batch) reject(unavailable);
      }
    }
  }

  /**
   * The brands of these users that have a quota row or charges this month, with this month's charges
   * (brand_token_usage, which the flusher writes in the same commit as each charge): a brand's usage
   * is derived from committed data whenever its owner's actor loads, so a restart or kill -9 does
   * not reset it. One query per load batch; each brand's usage is a range of its primary key.
   */
  private async loadBrands(userIds: readonly string[], nowMs: number): Promise<Map<string, LoadedBrand[]>> {
    const byUser = new Map<string, LoadedBrand[]>();
    if (userIds.length === 0) return byUser;
    const rows: Array<{ user_id: string; brand_id: string; monthly_tokens: string | null; version: string | null; used: string }> = await this.orm.em
      .fork()
      .execute(
        `select b.owner_id as user_id, b.id as brand_id, q.monthly_tokens, q.version, u.used
           from brands b
           left join brand_quotas q on q.brand_id = b.id
           cross join lateral (select coalesce(sum(t.tokens), 0) as used from brand_token_usage t
                                where t.brand_id = b.id and t.usage_date >= ?::date) u
          where b.owner_id in (select value::uuid from json_array_elements_text(?::json))
            and (q.brand_id is not null or u.used > 0)`,
        [new Date(monthStartMs(nowMs)).toISOString().slice(0, 10), JSON.stringify(userIds)],
      );
    for (const r of rows) {
      const list = byUser.get(r.user_id) ?? [];
      list.push({
        brandId: r.brand_id,
        monthlyTokens: r.monthly_tokens === null ? null : tokensFromDb(r.monthly_tokens, 'brand_quotas.monthly_tokens'),
        version: r.version === null ? 0 : tokensFromDb(r.version, 'brand_quotas.version'),
        used: tokensFromDb(r.used, 'brand_token_usage sum'),
      });
      byUser.set(r.user_id, list);
    }
    return byUser;
  }

  private install(row: { id: string; tokens: string; balance_version: string; plan: string }, brands: readonly LoadedBrand[], nowMs: number): BalanceActor {
    const existing = this.actors.get(row.id);
    if (existing && !existing.fenced) return existing;
    const actor = new BalanceActor(
      row.id,
      tokensFromDb(row.tokens, 'users.tokens'),
      tokensFromDb(row.balance_version, 'users.balance_version'),
      row.plan,
      this.limitsOf(row.plan),
      { nowMs, loaded: brands },
    );
    actor.lastUsedMs = this.now();
    this.actors.set(row.id, actor);
    if (this.actors.size > this.config.liveActorsMax && !this.overflowEvictionScheduled) {
      // Not now: the caller awaiting this load has not run yet, and an actor must never be evicted
      // between its load and its first use (a second copy would then be loaded). A macrotask runs
      // after every awaiting continuation of this batch.
      this.overflowEvictionScheduled = true;
      setImmediate(() => {
        this.overflowEvictionScheduled = false;
        this.evict(this.actors.size - this.config.liveActorsMax, Infinity);
      });
    }
    return actor;
  }

  /**
   * An actor's limits: the balance settings and its plan's per-minute limits (none when the service
   * runs without a plan table, a benchmark's "limits off"). One object per plan, shared.
   */
  private limitsOf(plan: string): ActorLimits {
    let limits = this.limitsByPlan.get(plan);
    if (!limits) {
      let rates: RateLimits | undefined;
      if (this.config.plans) {
        const { requestsPerMinute, tokensPerMinute, brandRequestsPerMinute } = planOf(this.config.plans, plan);
        rates = { requestsPerMinute, tokensPerMinute, brandRequestsPerMinute, windowMs: LIMITS.rateLimitWindowMs };
      }
      limits = { reservationTtlMs: this.config.reservationTtlMs, holdsPerUserMax: this.config.holdsPerUserMax, rates };
      if (this.limitsByPlan.size < PLANS_CACHED_MAX) this.limitsByPlan.set(plan, limits);
    }
    return limits;
  }

  private drop(actor: BalanceActor): void {
    if (this.actors.get(actor.userId) === actor) this.actors.delete(actor.userId);
    this.withHolds.delete(actor);
  }

  private sweep(): void {
    const now = this.now();
    for (const actor of [...this.withHolds]) {
      for (const hold of actor.expireHolds(now)) {
        this.log.warn({ userId: hold.userId, holdId: hold.id, amount: hold.amount }, 'hold expired and was released');
        for (const l of this.listeners) l.holdExpired?.(hold);
      }
      this.afterHoldChange(actor);
    }
    this.evict(EVICTION_SCAN_MAX, now - this.config.actorIdleMs);
  }

  /** Evicts up to `count` idle actors last used before `usedBeforeMs`, oldest loaded first. */
  private evict(count: number, usedBeforeMs: number): void {
    let scanned = 0;
    let evicted = 0;
    for (const actor of this.actors.values()) {
      if (evicted >= count || scanned++ >= EVICTION_SCAN_MAX) break;
      if (actor.isIdle() && actor.lastUsedMs < usedBeforeMs && !this.dirty.has(actor)) {
        this.actors.delete(actor.userId);
        evicted++;
      }
    }
  }
}
