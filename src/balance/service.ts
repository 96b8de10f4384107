import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { LIMITS, type BalanceConfig } from '../config';
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
import { AppError, badInput, notFound } from '../errors';
import { Journal, type Segment } from './journal';
import { ExpiryQueue } from './expiry-queue';
import { GRANT_SOURCES, refundPieces, grantView, type Grant, type GrantSource, type GrantSpec, type GrantView } from './grants';
import { ledgerRow, type LedgerRow } from './ledger';
import { DEFAULT_PLANS, monthOf, nextMonthStartMs, planOf, type Plans } from '../plans';
import { NotOwnerError, type BalanceOwnership, type OwnerRef, type UserRow } from './ownership';

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
/** In-memory balances whose grants expire, processed per sweep (the rest wait for the next one). */
export const EXPIRY_ACTORS_PER_SWEEP_MAX = 10_000;
/** Grants due read per poll of PostgreSQL, for balances not in memory (their users are loaded and expired). */
export const EXPIRY_PAGE_GRANTS_MAX = 500;
/** How often PostgreSQL is asked for grants due of balances not in memory. */
export const EXPIRY_POLL_INTERVAL_MS = 5_000;

/** A new grant: how many tokens, why, from where, when they expire. */
export interface GrantRequest {
  amount: number;
  reason: string;
  source: GrantSource;
  /** @default DEFAULT_GRANT_PRIORITY[source] */
  priority?: number | undefined;
  /** Null or undefined: never expires. */
  expiresAtMs?: number | null | undefined;
  /**
   * Makes the grant happen once: another request with the same key (any user, any process, after a
   * restart) gets the first grant back. Keys are global (token_grants.idempotency_key is unique), so
   * callers scope them: `allowance:<user>:<month>`, `bulk:<key>:<user>`, a payment's id.
   */
  idempotencyKey?: string | undefined;
  /** Kept in the ledger entry's metadata (e.g. grantedBy). */
  details?: Record<string, unknown> | undefined;
}

export interface GrantResult {
  grant: GrantView;
  ledgerEntry: LedgerRow;
  snapshot: BalanceSnapshot;
  /** True when the key had been used: nothing was granted now. */
  replayed: boolean;
}

export interface RefundResult {
  entry: LedgerRow;
  snapshot: BalanceSnapshot;
  /** True when the idempotency key had been used: nothing was refunded now. */
  replayed: boolean;
}

/** A token_grants row as the database returns it (read by the service and the grants resolvers). */
export interface GrantRow {
  id: string;
  user_id: string;
  source: string;
  amount: string;
  remaining: string;
  priority: number;
  expires_at: Date | string | null;
  created_at: Date | string;
  reason: string;
  idempotency_key: string | null;
  ledger_entry_id: string | null;
  expired_at: Date | string | null;
}

const GRANT_COLUMNS = 'id, user_id, source, amount, remaining, priority, expires_at, created_at, reason, idempotency_key, ledger_entry_id, expired_at';

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
  /**
   * Coalesced: at most once per user per tick, with the latest state as committed
   * (BalanceActor.committedSnapshot: tokens only once committed, holds at once).
   */
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
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private readonly expiries = new ExpiryQueue<BalanceActor>();
  /** Refunds running, per charge: the next refund of a charge starts after the last one ends. */
  private readonly refundsInFlight = new Map<string, Promise<unknown>>();
  /** Grants with an idempotency key being granted now: a second request with the key waits for the first. */
  private readonly grantsInFlight = new Map<string, Promise<GrantResult>>();
  private closed = false;
  private overflowEvictionScheduled = false;
  /** The current UTC month and its bounds, recomputed only when the clock leaves them. */
  private month = '';
  private monthStartMs = 0;
  private monthEndMs = 0;
  /** Balances whose month is being started (plan switch, allowance grant): later calls wait for it. */
  private readonly monthsStarting = new Map<BalanceActor, Promise<void>>();

  constructor(
    protected readonly orm: MikroORM,
    private readonly config: BalanceConfig,
    protected readonly log: Logger,
    protected readonly now: () => number = Date.now,
    /** The plan table for monthly allowances and plan changes; @default config.plans, else the built-in plans. */
    private readonly plans: Plans = config.plans ?? DEFAULT_PLANS,
    /** Clustered mode: actors load only under a lease (src/cluster/leases.ts). Alone: undefined. */
    private readonly ownership?: BalanceOwnership,
  ) {
    this.journal = new Journal(config.flushBatchMax);
    const observer: FlushObserver = {
      committed: (entries, ms) => this.listeners.forEach((l) => l.flushed?.(entries, ms)),
      fenced: (actors) => actors.forEach((a) => this.drop(a)),
    };
    this.flusher = new Flusher(orm, this.journal, { flushIntervalMs: config.flushIntervalMs }, log, observer);
    ownership?.onLost(() => this.dropAll('the leases were not renewed in time'));
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
    this.pollTimer = setInterval(() => {
      if (!this.ownership || this.ownership.platformDuty()) void this.pollDueGrants();
    }, EXPIRY_POLL_INTERVAL_MS);
    this.pollTimer.unref();
  }

  /** Whether stop() was called: no new work is taken. */
  get stopping(): boolean {
    return this.closed;
  }

  /** Refuses new work, commits everything journaled, stops the flusher. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.flusher.stop();
  }

  /** Holds tokens for work about to start. Waits only when the balance is not in memory yet. */
  async reserve(userId: string, amount: number, meta: HoldMeta): Promise<Hold> {
    this.refuseWhenSaturated();
    let actor = this.cached(userId) ?? (await this.actorFor(userId));
    if (actor.allowanceMonth !== this.currentMonth()) actor = await this.startMonth(actor);
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
    if (actor.hasExpiredHeld) this.expirePending(actor);
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
    if (actor.hasExpiredHeld) this.expirePending(actor);
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
    spec?: GrantSpec,
  ): Promise<Committed> {
    this.refuseWhenSaturated();
    const actor = await this.actorFor(userId);
    this.checkGrantFits(actor, amount);
    const entry = actor.grant(amount, { ...details, reason }, idempotencyKey, spec, this.now(), attachments);
    this.scheduleExpiry(actor);
    this.markDirty(actor);
    if (actor.hasExpiredHeld) this.expirePending(actor);
    await this.persist(entry);
    return { entryId: entry.id, entry, snapshot: actor.snapshot() };
  }

  /**
   * Takes back up to `amount` tokens (see BalanceActor.revoke: never below what holds cover or zero,
   * from what remains of the grant of ledger entry `fromLedgerEntryId` when given, burns recorded);
   * resolves once committed, with what was taken and the deficit that could not be.
   */
  async revoke(
    userId: string,
    amount: number,
    reason: string,
    idempotencyKey: string | undefined,
    details: Record<string, unknown>,
    attach: RevokeAttachments,
    fromLedgerEntryId?: string,
  ): Promise<Committed & { taken: number; deficit: number }> {
    this.refuseWhenSaturated();
    const actor = await this.actorFor(userId);
    const build = (_taken: number, deficit: number) => revokeAttachments(attach, deficit);
    const { entry, taken, deficit } = actor.revoke(amount, { ...details, reason }, idempotencyKey, build, fromLedgerEntryId);
    this.markDirty(actor);
    await this.persist(entry);
    return { entryId: entry.id, entry, snapshot: actor.snapshot(), taken, deficit };
  }

  /**
   * Adds a grant (admin, promotion, purchase, allowance): resolves once it is committed, with the
   * grant as it stands then. With an idempotency key it happens once: a repeat gets the first grant
   * back (`replayed`), and the same key for another user is refused.
   */
  async grantTokens(userId: string, request: GrantRequest): Promise<GrantResult> {
    this.refuseWhenSaturated();
    const key = request.idempotencyKey;
    if (key === undefined) return this.grantNow(userId, request);
    const running = this.grantsInFlight.get(key);
    if (running) return this.sameUser(await running, userId, key);
    const work = this.grantOnce(userId, request, key);
    this.grantsInFlight.set(key, work);
    try {
      return { ...(await work) };
    } finally {
      this.grantsInFlight.delete(key);
    }
  }

  /** The user's grants with tokens left, in the order they burn. */
  async grants(userId: string): Promise<GrantView[]> {
    return (await this.ready(userId)).grantsView();
  }

  private async grantOnce(userId: string, request: GrantRequest, key: string): Promise<GrantResult> {
    const stored = await this.storedGrants([key]);
    const existing = stored.get(key);
    if (existing) return this.sameUser(await this.replay(existing), userId, key);
    return this.grantNow(userId, request);
  }

  private sameUser(result: GrantResult, userId: string, key: string): GrantResult {
    if (result.ledgerEntry.user !== userId) throw badInput(`idempotencyKey: already used for another grant`, 'idempotencyKey', { reason: 'IDEMPOTENCY_KEY_REUSED' });
    void key;
    return { ...result, replayed: true };
  }

  private async grantNow(userId: string, request: GrantRequest): Promise<GrantResult> {
    const actor = await this.actorFor(userId);
    this.checkGrantFits(actor, request.amount);
    const entry = this.grantInto(actor, request);
    await this.persist(entry);
    return this.grantResult(actor, entry);
  }

  /**
   * One grant to each of many users (a promotion), idempotent per user: user u's grant has the key
   * `bulk:<key>:<u>`. Every balance is loaded first and every grant checked before any is made,
   * then all are made in one synchronous step, so they share one group commit (per FLUSH_BATCH_MAX
   * entries). Refused as a whole (nothing granted) when a user does not exist or a grant would not fit.
   */
  async grantTokensBulk(userIds: readonly string[], request: Omit<GrantRequest, 'idempotencyKey'>, key: string): Promise<GrantResult[]> {
    this.refuseWhenSaturated();
    if (userIds.length > LIMITS.grantBulkUsersMax) throw badInput(`userIds: at most ${LIMITS.grantBulkUsersMax}`, 'userIds');
    if (new Set(userIds).size !== userIds.length) throw badInput('userIds: a user appears twice', 'userIds');
    const keys = userIds.map((u) => bulkGrantKey(key, u));
    if (keys.some((k) => this.grantsInFlight.has(k))) throw badInput('idempotencyKey: this bulk grant is already running', 'idempotencyKey', { reason: 'IN_PROGRESS' });
    const work = this.bulkOnce(userIds, keys, request);
    keys.forEach((k, i) => {
      const mine = work.then((all) => all[i]!);
      // Awaited only by a concurrent grant with this key; the bulk's own caller gets the failure.
      mine.catch(() => undefined);
      this.grantsInFlight.set(k, mine);
    });
    try {
      return await work;
    } finally {
      for (const k of keys) this.grantsInFlight.delete(k);
    }
  }

  private async bulkOnce(userIds: readonly string[], keys: string[], request: Omit<GrantRequest, 'idempotencyKey'>): Promise<GrantResult[]> {
    const stored = await this.storedGrants(keys);
    const loaded = await Promise.allSettled(userIds.map((u, i) => (stored.has(keys[i]!) ? Promise.resolve(null) : this.actorFor(u))));
    const unknown = userIds.filter((_, i) => loaded[i]!.status === 'rejected' && (loaded[i] as PromiseRejectedResult).reason instanceof UnknownUserError);
    if (unknown.length > 0) throw badInput(`userIds: no such user: ${unknown.slice(0, 10).join(', ')}`, 'userIds', { unknownUserIds: unknown.slice(0, 100) });
    const failed = loaded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const actors = loaded.map((r) => (r as PromiseFulfilledResult<BalanceActor | null>).value);
    // Checked for all, then granted to all, with no await in between: nothing can change meanwhile.
    for (const actor of actors) if (actor) this.checkGrantFits(actor, request.amount);
    const entries = actors.map((actor, i) => (actor ? this.grantInto(actor, { ...request, idempotencyKey: keys[i] }) : null));
    const results: GrantResult[] = [];
    for (let i = 0; i < userIds.length; i++) {
      const entry = entries[i];
      if (entry) {
        await this.persist(entry);
        results.push(this.grantResult(entry.actor, entry));
      } else {
        results.push(this.sameUser(await this.replay(stored.get(keys[i]!)!), userIds[i]!, keys[i]!));
      }
    }
    return results;
  }

  private checkGrantFits(actor: BalanceActor, amount: number): void {
    if (actor.tokens + amount > BALANCE_TOKENS_MAX) {
      throw badInput(`a balance may hold at most ${BALANCE_TOKENS_MAX} tokens`, 'amount');
    }
    if (actor.grantCount >= LIMITS.grantsLivePerUserMax) {
      throw badInput(`a balance may have at most ${LIMITS.grantsLivePerUserMax} grants with tokens left`, 'userId', { reason: 'TOO_MANY_GRANTS' });
    }
  }

  /** The synchronous part of a grant: the actor's change, its expiry scheduled, the entry journaled by the caller. */
  private grantInto(actor: BalanceActor, request: GrantRequest): JournalEntry {
    const spec = { source: request.source, priority: request.priority, expiresAtMs: request.expiresAtMs ?? null, reason: request.reason, idempotencyKey: request.idempotencyKey };
    const metadata = { ...request.details, reason: request.reason, source: request.source };
    const entry = actor.grant(request.amount, metadata, undefined, spec, this.now());
    this.scheduleExpiry(actor);
    this.markDirty(actor);
    if (actor.hasExpiredHeld) this.expirePending(actor);
    return entry;
  }

  private grantResult(actor: BalanceActor, entry: JournalEntry): GrantResult {
    const write = entry.grants?.[0];
    const grant = write ? { ...grantView(write.grant), remaining: actor.grantById(write.grant.id)?.remaining ?? 0 } : null;
    if (!grant) throw new Error('a grant entry without its grant');
    return { grant, ledgerEntry: ledgerRow(entry), snapshot: actor.snapshot(), replayed: false };
  }

  /** The grants already made with these keys. */
  private async storedGrants(keys: readonly string[]): Promise<Map<string, GrantRow>> {
    const rows: GrantRow[] = await this.orm.em
      .fork()
      .execute(`select ${GRANT_COLUMNS} from token_grants where idempotency_key in (select value from json_array_elements_text(?::json))`, [JSON.stringify(keys)]);
    return new Map(rows.map((r) => [r.idempotency_key!, r]));
  }

  /** A grant made earlier, as a result: its row, its ledger entry, the balance now. */
  private async replay(row: GrantRow): Promise<GrantResult> {
    const [entry] = await this.orm.em.fork().execute<Array<Record<string, unknown>>>('select * from token_ledger where id = ?', [row.ledger_entry_id]);
    if (!entry) throw new Error(`grant ${row.id} without its ledger entry`);
    const live = this.cached(row.user_id)?.grantById(row.id);
    const grant = live ? grantView(live) : grantView(grantFromRow(row));
    // Not snapshot(): a replay may run inside startMonth (the month's allowance), which must not wait for itself.
    return { grant, ledgerEntry: ledgerRowFromDb(entry), snapshot: (await this.actorFor(row.user_id)).snapshot(), replayed: true };
  }

  /**
   * Gives back tokens of a CHARGE: at most what it took minus earlier refunds of it (`amount`
   * undefined: all of that), into the grants it burned, last burned first (in burn order: the grant
   * that would burn last is restored first); what came from a grant that has expired since goes into
   * a REFUND grant without expiry. One REFUND ledger entry, linked to the charge (metadata.refersTo).
   * Refunds of one charge run one after another, so partial refunds never add up past the charge;
   * with an idempotency key (scoped to the charge) a repeat returns the first refund.
   */
  async refundCharge(chargeId: string, request: { amount?: number | undefined; reason: string; idempotencyKey?: string | undefined; details?: Record<string, unknown> }): Promise<RefundResult> {
    this.refuseWhenSaturated();
    const previous = this.refundsInFlight.get(chargeId);
    const work = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.refundNow(chargeId, request));
    this.refundsInFlight.set(chargeId, work);
    try {
      return await work;
    } finally {
      if (this.refundsInFlight.get(chargeId) === work) this.refundsInFlight.delete(chargeId);
    }
  }

  private async refundNow(chargeId: string, request: { amount?: number | undefined; reason: string; idempotencyKey?: string | undefined; details?: Record<string, unknown> }): Promise<RefundResult> {
    const em = this.orm.em.fork();
    const [charge] = await em.execute<Array<Record<string, unknown>>>('select * from token_ledger where id = ?', [chargeId]);
    if (!charge) throw notFound('ledger entry');
    if (charge.kind !== 'CHARGE') throw badInput('ledgerEntryId: only a CHARGE can be refunded', 'ledgerEntryId');
    const userId = charge.user_id as string;
    const refunds = await em.execute<Array<Record<string, unknown>>>(
      `select * from token_ledger where user_id = ? and kind = 'REFUND' and metadata->>'refersTo' = ? order by seq`,
      [userId, chargeId],
    );
    const key = request.idempotencyKey;
    const replayed = key === undefined ? undefined : refunds.find((r) => (r.metadata as Record<string, unknown>).idempotencyKey === key);
    if (replayed) {
      if (request.amount !== undefined && request.amount !== tokensFromDb(replayed.amount, 'amount')) {
        throw badInput('idempotencyKey: already used for a refund of another amount', 'idempotencyKey', { reason: 'IDEMPOTENCY_KEY_REUSED' });
      }
      return { entry: ledgerRowFromDb(replayed), snapshot: await this.snapshot(userId), replayed: true };
    }
    const taken = -tokensFromDb(charge.amount, 'amount');
    const refunded = refunds.reduce((sum, r) => sum + tokensFromDb(r.amount, 'amount'), 0);
    const refundable = taken - refunded;
    const amount = request.amount ?? refundable;
    if (refundable <= 0) throw badInput('ledgerEntryId: nothing left to refund on this charge', 'ledgerEntryId', { refundable: 0 });
    if (amount < 1 || amount > refundable) throw badInput(`amount: 1 to ${refundable} (what the charge took minus earlier refunds)`, 'amount', { refundable });

    // What the charge burned, restored last-burned first; earlier refunds took the first `refunded` tokens of that order.
    const burned = await em.execute<Array<{ grant_id: string; amount: string }>>('select grant_id, amount from ledger_grant_burns where ledger_entry_id = ?', [chargeId]);
    const rows: GrantRow[] = burned.length === 0 ? [] : await em.execute(
      `select ${GRANT_COLUMNS} from token_grants where id in (select value::uuid from json_array_elements_text(?::json))`,
      [JSON.stringify(burned.map((b) => b.grant_id))],
    );
    const grants = new Map(rows.map((r) => [r.id, grantFromRow(r)]));
    const { pieces, left } = refundPieces(
      burned.map((b) => ({ grant: grants.get(b.grant_id)!, burned: tokensFromDb(b.amount, 'burn') })).filter((b) => b.grant !== undefined && b.burned > 0),
      refunded,
      amount,
    );

    const actor = await this.actorFor(userId);
    if (actor.tokens + amount > BALANCE_TOKENS_MAX) throw badInput(`a balance may hold at most ${BALANCE_TOKENS_MAX} tokens`, 'amount');
    const metadata = { ...request.details, ...(key === undefined ? {} : { idempotencyKey: key }) };
    const entry = actor.refund(chargeId, pieces, left, request.reason, metadata, this.now());
    this.scheduleExpiry(actor);
    this.markDirty(actor);
    if (actor.hasExpiredHeld) this.expirePending(actor);
    await this.persist(entry);
    return { entry: ledgerRow(entry), snapshot: actor.snapshot(), replayed: false };
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

  /**
   * The balance now (`memory`), or as live updates show it (`committed`: BalanceActor.committedSnapshot,
   * a balanceChanged subscription's first value). One method with the view as an argument, so a
   * non-owner instance forwards either to the owner alike.
   */
  async snapshot(userId: string, view: 'memory' | 'committed' = 'memory'): Promise<BalanceSnapshot> {
    const actor = await this.ready(userId);
    return view === 'committed' ? actor.committedSnapshot() : actor.snapshot();
  }

  /**
   * Changes a user's plan from the next UTC month (the current month keeps its plan and the allowance
   * already granted); choosing the current plan again cancels a pending change.
   */
  async setPlan(userId: string, plan: string): Promise<{ plan: string; pendingPlan: string | null; pendingPlanFrom: string | null }> {
    if (!Object.hasOwn(this.plans, plan)) throw badInput(`plan: one of ${Object.keys(this.plans).join(', ')}`, 'plan');
    const from = monthOf(nextMonthStartMs(this.now()));
    const rows = await this.orm.em.fork().execute<Array<{ plan: string; pending_plan: string | null; pending_plan_from: string | null }>>(
      `update users set pending_plan = case when plan = ? then null else ? end, pending_plan_from = case when plan = ? then null else ? end
        where id = ? returning plan, pending_plan, pending_plan_from`,
      [plan, plan, plan, from, userId],
    );
    const row = rows[0];
    if (!row) throw new UnknownUserError(userId);
    const actor = this.actors.get(userId);
    if (actor) {
      actor.pendingPlan = row.pending_plan;
      actor.pendingPlanFrom = row.pending_plan_from;
    }
    return { plan: row.plan, pendingPlan: row.pending_plan, pendingPlanFrom: row.pending_plan_from };
  }

  /** The actor, with its month started (see startMonth). */
  private async ready(userId: string): Promise<BalanceActor> {
    const actor = await this.actorFor(userId);
    return actor.allowanceMonth === this.currentMonth() ? actor : this.startMonth(actor);
  }

  private currentMonth(): string {
    const now = this.now();
    if (now < this.monthStartMs || now >= this.monthEndMs) {
      this.month = monthOf(now);
      this.monthEndMs = nextMonthStartMs(now);
      this.monthStartMs = Date.parse(`${this.month}-01T00:00:00Z`);
    }
    return this.month;
  }

  /**
   * A balance's first use in a UTC month: a plan change due by now takes effect, and the plan's
   * monthly allowance is granted (source ALLOWANCE, expiring at the month's end), once: its key
   * `allowance:<user>:<yyyy-mm>` is unique, so restarts and other processes cannot grant it twice.
   * Nothing to do (no pending plan, no allowance) costs no I/O and no wait.
   */
  private async startMonth(actor: BalanceActor): Promise<BalanceActor> {
    const month = this.currentMonth();
    const switching = actor.pendingPlan !== null && actor.pendingPlanFrom !== null && actor.pendingPlanFrom <= month;
    if (!switching && (this.plans[actor.plan]?.monthlyAllowance ?? 0) === 0) {
      actor.allowanceMonth = month;
      return actor;
    }
    let starting = this.monthsStarting.get(actor);
    if (!starting) {
      starting = this.startMonthNow(actor, month, switching).finally(() => this.monthsStarting.delete(actor));
      this.monthsStarting.set(actor, starting);
    }
    await starting;
    return this.cached(actor.userId) ?? (await this.actorFor(actor.userId));
  }

  private async startMonthNow(actor: BalanceActor, month: string, switching: boolean): Promise<void> {
    if (switching) {
      const [row] = await this.orm.em.fork().execute<Array<{ plan: string }>>(
        `update users set plan = pending_plan, pending_plan = null, pending_plan_from = null
          where id = ? and pending_plan_from <= ? returning plan`,
        [actor.userId, month],
      );
      if (row) actor.plan = row.plan;
      actor.pendingPlan = null;
      actor.pendingPlanFrom = null;
      this.markDirty(actor);
    }
    const allowance = this.plans[actor.plan]?.monthlyAllowance ?? 0;
    if (allowance > 0) {
      try {
        await this.grantTokens(actor.userId, {
          amount: allowance,
          reason: `${actor.plan} plan: allowance for ${month}`,
          source: 'ALLOWANCE',
          expiresAtMs: nextMonthStartMs(this.now()),
          idempotencyKey: `allowance:${actor.userId}:${month}`,
        });
      } catch (err) {
        // A balance at its ceiling (or with too many grants) goes on without this month's allowance.
        if (!(err instanceof AppError)) throw err;
        this.log.warn({ err, userId: actor.userId, month }, 'monthly allowance not granted');
      }
    }
    actor.allowanceMonth = month;
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
    entry.actor.entryCommitted(entry);
    // The committed balance moved: live updates show it now, not at the in-memory change.
    this.markDirty(entry.actor);
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
      const snapshot = actor.committedSnapshot();
      for (const l of this.listeners) l.changed?.(actor.userId, snapshot);
    }
  }

  /** The live actor when it is in memory: the common case, answered without a promise. */
  private cached(userId: string): BalanceActor | undefined {
    const actor = this.actors.get(userId);
    if (!actor || actor.fenced) return undefined;
    // Clustered mode, the lease in doubt (not renewed lately, e.g. the process was starved): nothing is
    // decided on this memory until a renewal tells whether it is still this instance's (the caller asks
    // again shortly); a renewal that finds it lost drops every actor (onLost).
    if (this.ownership && !this.ownership.valid()) return undefined;
    return actor;
  }

  /**
   * Clustered mode, the leases lost (not renewed in time: another instance may own these balances
   * now): every actor is forgotten, so nothing more is decided on their memory; what was journaled
   * still flushes, and the fence rolls it back if another instance took the balance meanwhile.
   */
  private dropAll(reason: string): void {
    if (this.actors.size === 0) return;
    this.log.warn({ actors: this.actors.size, reason }, 'dropping every balance actor');
    for (const actor of [...this.actors.values()]) {
      actor.fenced = true;
      this.drop(actor);
    }
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
        const em = this.orm.em.fork();
        let rows: UserRow[];
        let elsewhere = new Map<string, OwnerRef | null>();
        if (this.ownership) {
          ({ rows, elsewhere } = await this.ownership.acquire(em, batch.map((b) => b.userId)));
        } else {
          rows = await em.execute(
            `select id, tokens, balance_version, balance_epoch, plan, pending_plan, pending_plan_from from users
              where id in (select value::uuid from json_array_elements_text(?::json))`,
            [JSON.stringify(batch.map((b) => b.userId))],
          );
        }
        const ids = JSON.stringify(rows.map((r) => r.id));
        const grantRows: GrantRow[] = await em.execute(
          `select ${GRANT_COLUMNS} from token_grants
            where user_id in (select value::uuid from json_array_elements_text(?::json)) and remaining > 0`,
          [ids],
        );
        const nowMs = this.now();
        const brands = await this.loadBrands(rows.map((r) => r.id), nowMs);
        const byId = new Map(rows.map((r) => [r.id, r]));
        const grantsOf = new Map<string, Grant[]>();
        for (const g of grantRows) {
          const list = grantsOf.get(g.user_id) ?? [];
          list.push(grantFromRow(g));
          grantsOf.set(g.user_id, list);
        }
        for (const { userId, resolve, reject } of batch) {
          const row = byId.get(userId);
          if (elsewhere.has(userId)) reject(new NotOwnerError(userId, elsewhere.get(userId) ?? null));
          else if (!row) reject(new UnknownUserError(userId));
          else resolve(this.install(row, grantsOf.get(userId) ?? [], brands.get(userId) ?? [], nowMs));
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

  private install(row: UserRow, grants: Grant[], brands: readonly LoadedBrand[], nowMs: number): BalanceActor {
    const existing = this.actors.get(row.id);
    if (existing && !existing.fenced) return existing;
    const actor = new BalanceActor(
      row.id,
      tokensFromDb(row.tokens, 'users.tokens'),
      tokensFromDb(row.balance_version, 'users.balance_version'),
      row.plan,
      this.limitsOf(row.plan),
      { nowMs, loaded: brands },
      grants,
    );
    actor.epoch = tokensFromDb(row.balance_epoch, 'users.balance_epoch');
    actor.lastUsedMs = this.now();
    actor.pendingPlan = row.pending_plan;
    actor.pendingPlanFrom = row.pending_plan_from;
    this.actors.set(row.id, actor);
    // Grants that expired while the balance was not in memory (or held when the process stopped).
    this.expireDue(actor, this.now());
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
    this.expiries.forget(actor);
  }

  private sweep(): void {
    const now = this.now();
    for (const actor of [...this.withHolds]) {
      for (const hold of actor.expireHolds(now)) {
        this.log.warn({ userId: hold.userId, holdId: hold.id, amount: hold.amount }, 'hold expired and was released');
        for (const l of this.listeners) l.holdExpired?.(hold);
      }
      this.afterHoldChange(actor);
      if (actor.hasExpiredHeld) this.expirePending(actor);
    }
    for (const actor of this.expiries.due(now, EXPIRY_ACTORS_PER_SWEEP_MAX)) {
      if (this.actors.get(actor.userId) === actor && !actor.fenced) this.expireDue(actor, now);
    }
    this.evict(EVICTION_SCAN_MAX, now - this.config.actorIdleMs);
  }

  /** Expires the actor's grants due at `nowMs` (and what holds no longer cover), then schedules its next expiry. */
  private expireDue(actor: BalanceActor, nowMs: number): void {
    const entries = actor.expireGrants(nowMs);
    if (actor.hasExpiredHeld) entries.push(...actor.expirePending());
    for (const entry of entries) this.persistInBackground(entry);
    if (entries.length > 0) this.markDirty(actor);
    this.scheduleExpiry(actor);
  }

  private expirePending(actor: BalanceActor): void {
    for (const entry of actor.expirePending()) this.persistInBackground(entry);
    this.markDirty(actor);
  }

  private scheduleExpiry(actor: BalanceActor): void {
    if (actor.nextExpiryMs !== null) this.expiries.schedule(actor, actor.nextExpiryMs);
  }

  /** Journals an entry nobody waits for (an expiry); a failure is logged, the actor reloads as for any fenced entry. */
  private persistInBackground(entry: JournalEntry): void {
    this.persist(entry).catch((err: unknown) => this.log.warn({ err, userId: entry.actor.userId, entryId: entry.id, kind: entry.kind }, 'expiry entry not committed'));
  }

  /**
   * Loads the balances of users not in memory whose grants are due: loading expires them (install).
   * One page per call, oldest due first; users in memory are the in-memory queue's, and are skipped.
   */
  async pollDueGrants(): Promise<number> {
    if (this.polling || this.closed) return 0;
    this.polling = true;
    try {
      const rows: Array<{ user_id: string }> = await this.orm.em.fork().execute(
        `select user_id from token_grants
          where expired_at is null and expires_at is not null and remaining > 0 and expires_at <= ?
          order by expires_at limit ?`,
        [new Date(this.now()), EXPIRY_PAGE_GRANTS_MAX],
      );
      const users = [...new Set(rows.map((r) => r.user_id))].filter((u) => !this.actors.has(u));
      await Promise.allSettled(users.map((u) => this.actorFor(u)));
      return users.length;
    } catch (err) {
      this.log.warn({ err }, 'polling grants due failed; retrying at the next poll');
      return 0;
    } finally {
      this.polling = false;
    }
  }

  /** Evicts up to `count` idle actors last used before `usedBeforeMs`, oldest loaded first. */
  private evict(count: number, usedBeforeMs: number): void {
    let scanned = 0;
    const evicted: Array<{ userId: string; epoch: number }> = [];
    for (const actor of this.actors.values()) {
      if (evicted.length >= count || scanned++ >= EVICTION_SCAN_MAX) break;
      if (actor.isIdle() && actor.lastUsedMs < usedBeforeMs && !this.dirty.has(actor)) {
        this.actors.delete(actor.userId);
        this.expiries.forget(actor);
        evicted.push({ userId: actor.userId, epoch: actor.epoch });
      }
    }
    // Clustered mode: an idle balance's lease goes too, so the next request takes it where it lands.
    if (evicted.length > 0) this.ownership?.release(evicted);
  }
}

/**
 * What a revoke carries into its commit, as data (it may be forwarded to the balance's owner on another
 * instance): the attachments as given, and optionally one numeric field of one of them that gets the
 * revoke's deficit (what could not be taken back) added.
 */
export interface RevokeAttachments {
  attachments: Record<string, Record<string, unknown>>;
  addDeficitTo?: { attachment: string; field: string };
}

function revokeAttachments(attach: RevokeAttachments, deficit: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...attach.attachments };
  const target = attach.addDeficitTo;
  if (target) {
    const attachment = attach.attachments[target.attachment] ?? {};
    out[target.attachment] = { ...attachment, [target.field]: Number(attachment[target.field] ?? 0) + deficit };
  }
  return out;
}

export function bulkGrantKey(key: string, userId: string): string {
  return `bulk:${key}:${userId}`;
}

function dateMs(value: Date | string | null): number | null {
  return value === null ? null : new Date(value).getTime();
}

export function grantFromRow(row: GrantRow): Grant {
  if (!(GRANT_SOURCES as readonly string[]).includes(row.source)) throw new Error(`grant ${row.id}: unknown source ${row.source}`);
  return {
    id: row.id,
    userId: row.user_id,
    source: row.source as GrantSource,
    amount: tokensFromDb(row.amount, 'token_grants.amount'),
    remaining: tokensFromDb(row.remaining, 'token_grants.remaining'),
    priority: row.priority,
    expiresAtMs: dateMs(row.expires_at),
    createdAtMs: dateMs(row.created_at)!,
    reason: row.reason,
    idempotencyKey: row.idempotency_key,
    ledgerEntryId: row.ledger_entry_id,
    expiredAtMs: dateMs(row.expired_at),
  };
}

function ledgerRowFromDb(r: Record<string, unknown>): LedgerRow {
  return {
    id: r.id as string,
    kind: r.kind as LedgerRow['kind'],
    amount: tokensFromDb(r.amount, 'amount'),
    balanceAfter: tokensFromDb(r.balance_after, 'balance_after'),
    brandId: (r.brand_id as string | null) ?? null,
    taskType: (r.task_type as string | null) ?? null,
    model: (r.model as string | null) ?? null,
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    costNanoUsd: tokensFromDb(r.cost_nano_usd, 'cost_nano_usd'),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    holdId: (r.hold_id as string | null) ?? null,
    metadata: (r.metadata as Record<string, unknown>) ?? {},
    createdAt: new Date(r.created_at as string),
    user: r.user_id as string,
  };
}
