import { uuidv7 } from '../db/ids';
import type { LedgerKind } from '../db/entities';
import { assert, assertTokens, InvariantError } from './invariants';
import { BrandQuotas, type LoadedBrand, type QuotaRefusal } from './quotas';
import { UserRates, type RateLimits, type RateRefusal } from './rates';
import { burnOrder, DEFAULT_GRANT_PRIORITY, grantView, insertSorted, type Burn, type Grant, type GrantSpec, type GrantView, type GrantWrite } from './grants';

/** What a hold is for; copied onto the ledger entry that settles it. */
export interface HoldMeta {
  brandId?: string | undefined;
  taskType?: string | undefined;
  model?: string | undefined;
  idempotencyKey?: string | undefined;
  /** With an idempotency key: the fingerprint of the request it was sent with, kept in the ledger metadata. */
  requestFingerprint?: string | undefined;
}

export interface Hold {
  readonly id: string;
  readonly userId: string;
  readonly amount: number;
  readonly expiresAtMs: number;
  readonly meta: HoldMeta;
  /** The rate window its tokens were counted in, to correct the count at settle. */
  readonly rateWindowStartMs?: number | undefined;
}

export interface BalanceSnapshot {
  tokens: number;
  reserved: number;
  available: number;
  plan: string;
  /** The next expiry that still has tokens left: what expires then (absent when nothing expires). */
  expiringSoon?: { amount: number; expiresAt: Date } | undefined;
}

/** The usage a settle charges, as the provider reported it. */
export interface SettleUsage {
  /** Tokens to charge: normally promptTokens + completionTokens. */
  tokens: number;
  promptTokens: number;
  completionTokens: number;
  costNanoUsd: number;
  model?: string | undefined;
}

/**
 * One change to persist: a ledger row plus the balance it leaves. `attachments` carry rows other
 * modules write in the same commit (generations, usage analytics); the balance module does not
 * look inside them.
 */
export interface JournalEntry {
  readonly id: string;
  readonly actor: BalanceActor;
  readonly kind: LedgerKind;
  readonly amount: number;
  readonly balanceAfter: number;
  readonly brandId: string | null;
  readonly taskType: string | null;
  readonly model: string | null;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly costNanoUsd: number;
  readonly idempotencyKey: string | null;
  readonly holdId: string | null;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: Date;
  readonly attachments: Record<string, unknown>;
  /** Grants this entry created or changed, as it leaves them (written in the same statement). */
  readonly grants: readonly GrantWrite[] | null;
  /** What this entry took from each grant (negative: gave back). */
  readonly burns: readonly Burn[] | null;
}

export type ReserveOutcome =
  | { ok: true; hold: Hold }
  | { ok: false; code: 'INSUFFICIENT_TOKENS'; available: number; required: number }
  | { ok: false; code: 'TOO_MANY_HOLDS'; holdsMax: number }
  | ({ ok: false } & QuotaRefusal)
  | ({ ok: false } & RateRefusal);

export interface SettleOutcome {
  entry: JournalEntry;
  /** Tokens actually taken from the balance. */
  charged: number;
  /** Usage that could not be charged because the balance ran out (recorded, alerted). */
  overage: number;
}

export interface ActorLimits {
  reservationTtlMs: number;
  holdsPerUserMax: number;
  /** The user's per-minute limits; none when absent. */
  rates?: RateLimits | undefined;
}

/**
 * The balance of one user, in memory. Every method is synchronous: an operation runs to completion
 * before the next one starts, so the invariants hold between any two operations without locks.
 * I/O happens around the actor: loading before it exists, persisting the entries it emits after.
 *
 * Invariants (asserted after every change):
 *   0 <= reserved <= tokens, reserved == sum of open holds, all amounts safe integers,
 *   tokens == sum of the grants' remaining, 0 < remaining <= amount for every grant kept.
 *
 * Tokens live in grants (grants.ts). Holds cover tokens, not particular grants; a settle burns grants
 * in burnOrder. An expiry takes from its grant only what no hold covers at that moment; the rest
 * stays on the grant, marked expired, is burned first by settles, and is expired as soon as tokens
 * are available again (expirePending). Grants with nothing left are dropped from memory.
 */
export class BalanceActor {
  /** Settled balance including changes not yet committed (they are committed in order). */
  tokens: number;
  /** The balance as committed: as loaded, then each committed entry's balanceAfter (entryCommitted). */
  committedTokens: number;
  reserved = 0;
  /** Allocated on the first hold, so an idle cached actor stays small. */
  private holds: Map<string, Hold> | null = null;
  /** Journal entries emitted and not yet committed. */
  unflushed = 0;
  /** Version of the users row this process last wrote or read; the fence for the next write. */
  persistedVersion: number;
  /** The lease epoch it was loaded under (clustered mode; 0 alone): every flush of it names it. */
  epoch = 0;
  /** Set when a write found another writer's version: the actor must not be used any more. */
  fenced = false;
  lastUsedMs = 0;
  /** The monthly quotas of the user's brands (and what each brand used and holds this month). */
  readonly quotas: BrandQuotas;
  /** Per-minute request and token counts; null without rate limits. */
  readonly rates: UserRates | null;
  /** Grants with tokens left, in burn order. */
  private grants: Grant[];
  /** The earliest expiry of a grant not yet expired (null: none expires). */
  nextExpiryMs: number | null = null;
  /** Expired grants a hold still covered: expired by expirePending once tokens are available. */
  private expiredHeld = 0;
  /** The UTC month (yyyy-mm) whose start was handled: pending plan applied, allowance granted. */
  allowanceMonth: string | null = null;
  /** setUserPlan's plan and the month it takes effect, as loaded (or set since). */
  pendingPlan: string | null = null;
  pendingPlanFrom: string | null = null;

  /**
   * `grants` are the user's grants with tokens left, as loaded; their remaining must add up to
   * `tokens`. Without them (tests, benchmarks) the balance is one SIGNUP grant of `tokens`.
   */
  constructor(
    readonly userId: string,
    tokens: number,
    persistedVersion: number,
    public plan: string,
    private readonly limits: ActorLimits,
    brands: { nowMs: number; loaded: readonly LoadedBrand[] } = { nowMs: Date.now(), loaded: [] },
    grants?: Grant[],
  ) {
    assertTokens(tokens, 'loaded tokens');
    this.tokens = tokens;
    this.committedTokens = tokens;
    this.persistedVersion = persistedVersion;
    this.quotas = new BrandQuotas(brands.nowMs, brands.loaded);
    this.rates = limits.rates ? new UserRates(limits.rates) : null;
    this.grants = (grants ?? (tokens > 0 ? [loadedGrant(userId, tokens)] : [])).slice().sort(burnOrder);
    this.grantsChanged();
    this.check();
  }

  get available(): number {
    return this.tokens - this.reserved;
  }

  get holdCount(): number {
    return this.holds?.size ?? 0;
  }

  snapshot(): BalanceSnapshot {
    const snapshot: BalanceSnapshot = { tokens: this.tokens, reserved: this.reserved, available: this.available, plan: this.plan };
    if (this.nextExpiryMs !== null) snapshot.expiringSoon = this.expiringAt(this.nextExpiryMs);
    return snapshot;
  }

  /**
   * The balance as live updates show it: `tokens` only as committed, so no crash or failed commit
   * can take back a value a client saw. Holds are memory by nature and show at once. A settle or
   * revoke waiting for its commit still counts as held (what it takes is not available, and not yet
   * gone from `tokens`); a grant waiting for its commit is not available yet. So
   * `tokens == reserved + available` and `available` never exceeds either view of the balance.
   */
  committedSnapshot(): BalanceSnapshot {
    const tokens = this.committedTokens;
    const available = Math.max(0, Math.min(this.available, tokens - this.reserved));
    const snapshot: BalanceSnapshot = { tokens, reserved: tokens - available, available, plan: this.plan };
    if (this.nextExpiryMs !== null) snapshot.expiringSoon = this.expiringAt(this.nextExpiryMs);
    return snapshot;
  }

  /**
   * One of this actor's entries is durable. Called in commit order (the journal commits each
   * user's entries in the order they were emitted, and releases their waiters in that order), so
   * the last call leaves the newest committed balance.
   */
  entryCommitted(entry: JournalEntry): void {
    assert(entry.actor === this, 'entry committed on another actor');
    this.committedTokens = entry.balanceAfter;
  }

  /** The grants with tokens left, in burn order. */
  grantsView(): GrantView[] {
    return this.grants.map(grantView);
  }

  get grantCount(): number {
    return this.grants.length;
  }

  /** True when an expired grant still has tokens a hold covered: expirePending() takes them once available. */
  get hasExpiredHeld(): boolean {
    return this.expiredHeld > 0 && this.available > 0;
  }

  /** The grant with this id if it is in memory (has tokens left). */
  grantById(id: string): Grant | undefined {
    return this.grants.find((g) => g.id === id);
  }

  /**
   * Holds `amount` tokens for work about to start. Never waits, never writes. Every limit is checked
   * before anything is taken, and all are taken in this one step: the balance, the concurrent holds,
   * the brand's monthly quota, then the per-minute rates. A refusal takes nothing.
   */
  reserve(amount: number, meta: HoldMeta, nowMs: number): ReserveOutcome {
    assertTokens(amount, 'reserve amount');
    assert(!this.fenced, 'reserve on a fenced actor');
    if (amount > this.available) {
      return { ok: false, code: 'INSUFFICIENT_TOKENS', available: this.available, required: amount };
    }
    if (this.holdCount >= this.limits.holdsPerUserMax) {
      return { ok: false, code: 'TOO_MANY_HOLDS', holdsMax: this.limits.holdsPerUserMax };
    }
    const brandId = meta.brandId;
    const overQuota = brandId === undefined ? null : this.quotas.refusal(brandId, amount, nowMs);
    if (overQuota) return { ok: false, ...overQuota };
    const overRate = this.rates?.refusal(amount, brandId, nowMs);
    if (overRate) return { ok: false, ...overRate };
    const hold: Hold = {
      id: uuidv7(),
      userId: this.userId,
      amount,
      expiresAtMs: nowMs + this.limits.reservationTtlMs,
      meta,
      rateWindowStartMs: this.rates?.take(amount, brandId, nowMs),
    };
    if (brandId !== undefined) this.quotas.reserve(brandId, amount);
    (this.holds ??= new Map()).set(hold.id, hold);
    this.reserved += amount;
    this.check();
    return { ok: true, hold };
  }

  /**
   * Charges the actual usage and returns the rest of the hold. A hold that already expired or was
   * released still gets its usage charged (the work happened), from what is available. Usage beyond
   * hold + available is never taken from below zero: it is recorded as `overage` for an alert.
   */
  settle(holdId: string, usage: SettleUsage, meta: HoldMeta, attachments: Record<string, unknown>, nowMs = Date.now()): SettleOutcome {
    assertTokens(usage.tokens, 'settle tokens');
    assert(!this.fenced, 'settle on a fenced actor');
    const hold = this.removeHold(holdId);
    const held = hold?.amount ?? 0;
    const coverable = this.available + held;
    // A brand's quota caps usage above the hold the way the balance does (issue 15).
    const quotaCap = meta.brandId === undefined ? Infinity : this.quotas.chargeCap(meta.brandId, held, nowMs);
    const charged = Math.min(usage.tokens, coverable, quotaCap);
    const overage = usage.tokens - charged;
    this.reserved -= held;
    this.tokens -= charged;
    const burned = this.burn(charged);
    if (meta.brandId !== undefined) this.quotas.settle(meta.brandId, held, charged, nowMs);
    this.rates?.settled(held, charged, hold?.rateWindowStartMs, nowMs);
    const metadata: Record<string, unknown> = { held };
    // overage: the balance ran out (NEGATIVE_BALANCE alert); quotaOverage: the brand's quota did.
    if (overage > 0) metadata[quotaCap < coverable ? 'quotaOverage' : 'overage'] = overage;
    if (meta.idempotencyKey && meta.requestFingerprint) metadata.requestFingerprint = meta.requestFingerprint;
    const entry = this.emit('CHARGE', -charged, {
      brandId: meta.brandId,
      taskType: meta.taskType,
      model: usage.model ?? meta.model,
      idempotencyKey: meta.idempotencyKey,
      holdId,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costNanoUsd: usage.costNanoUsd,
      metadata,
      attachments,
      createdAt: new Date(nowMs),
      burns: burned.burns,
      grants: burned.writes,
    });
    this.check();
    return { entry, charged, overage };
  }

  /** Returns the whole hold (to the balance, the brand's quota and the token rate). Releasing an unknown (expired, settled) hold does nothing. */
  release(holdId: string, nowMs = Date.now()): number {
    const hold = this.removeHold(holdId);
    if (!hold) return 0;
    this.reserved -= hold.amount;
    if (hold.meta.brandId !== undefined) this.quotas.settle(hold.meta.brandId, hold.amount, 0, nowMs);
    this.rates?.settled(hold.amount, 0, hold.rateWindowStartMs, nowMs);
    this.check();
    return hold.amount;
  }

  /** Releases every hold past its deadline; returns them. */
  expireHolds(nowMs: number): Hold[] {
    if (!this.holds) return [];
    const expired: Hold[] = [];
    for (const hold of this.holds.values()) {
      if (hold.expiresAtMs <= nowMs) expired.push(hold);
    }
    for (const hold of expired) this.release(hold.id, nowMs);
    return expired;
  }

  /**
   * Adds a grant of `amount` tokens (none for 0: the entry is recorded without one). Without a spec
   * it is an ADMIN grant without expiry whose reason is `metadata.reason`. `attachments` ride in the
   * entry's commit (a purchase's COMPLETED status, issue 16).
   */
  grant(
    amount: number,
    metadata: Record<string, unknown>,
    idempotencyKey: string | undefined,
    spec?: GrantSpec,
    nowMs: number = Date.now(),
    attachments: Record<string, unknown> = {},
  ): JournalEntry {
    assertTokens(amount, 'grant amount');
    assert(!this.fenced, 'grant on a fenced actor');
    const id = uuidv7();
    const created = this.addGrant(amount, spec ?? { source: 'ADMIN', reason: String(metadata.reason ?? '') }, id, nowMs, idempotencyKey);
    const entry = this.emit('GRANT', amount, {
      id,
      idempotencyKey,
      metadata: created ? { ...metadata, grantId: created.id } : metadata,
      attachments,
      grants: created ? [{ grant: created, remaining: created.remaining, expiredAtMs: null }] : null,
    });
    this.check();
    return entry;
  }

  /**
   * Processes every grant whose expiry is due at `nowMs`: one EXPIRE entry per grant, taking what no
   * hold covers (possibly 0: the entry then only records that the grant expired); the rest is
   * expired by expirePending once nothing holds it.
   */
  expireGrants(nowMs: number): JournalEntry[] {
    if (this.nextExpiryMs === null || this.nextExpiryMs > nowMs) return [];
    assert(!this.fenced, 'expire on a fenced actor');
    const due = this.grants
      .filter((g) => g.expiredAtMs === null && g.expiresAtMs !== null && g.expiresAtMs <= nowMs)
      .sort((a, b) => a.expiresAtMs! - b.expiresAtMs! || burnOrder(a, b));
    const entries: JournalEntry[] = [];
    for (const grant of due) {
      const take = Math.min(grant.remaining, this.available);
      grant.remaining -= take;
      grant.expiredAtMs = nowMs;
      this.tokens -= take;
      entries.push(
        this.emit('EXPIRE', -take, {
          metadata: { grantId: grant.id, source: grant.source, expiresAt: new Date(grant.expiresAtMs!).toISOString(), ...(grant.remaining > 0 ? { stillHeld: grant.remaining } : {}) },
          attachments: {},
          burns: take > 0 ? [{ grantId: grant.id, amount: take }] : null,
          grants: [{ grant, remaining: grant.remaining, expiredAtMs: nowMs }],
        }),
      );
    }
    this.grants = this.grants.filter((g) => g.remaining > 0).sort(burnOrder);
    this.grantsChanged();
    this.check();
    return entries;
  }

  /**
   * Expires what holds covered of expired grants, as far as tokens are available now (after a
   * settle, release, hold expiry, grant or refund): one EXPIRE entry per grant it takes from.
   */
  expirePending(): JournalEntry[] {
    if (!this.hasExpiredHeld) return [];
    assert(!this.fenced, 'expire on a fenced actor');
    const entries: JournalEntry[] = [];
    for (const grant of this.grants) {
      if (grant.expiredAtMs === null) break;
      const take = Math.min(grant.remaining, this.available);
      if (take === 0) break;
      grant.remaining -= take;
      this.tokens -= take;
      entries.push(
        this.emit('EXPIRE', -take, {
          metadata: { grantId: grant.id, source: grant.source, expiresAt: new Date(grant.expiresAtMs!).toISOString(), afterHold: true, ...(grant.remaining > 0 ? { stillHeld: grant.remaining } : {}) },
          attachments: {},
          burns: [{ grantId: grant.id, amount: take }],
          grants: [{ grant, remaining: grant.remaining, expiredAtMs: grant.expiredAtMs }],
        }),
      );
    }
    this.grants = this.grants.filter((g) => g.remaining > 0);
    this.grantsChanged();
    this.check();
    return entries;
  }

  /**
   * Gives back `amount` tokens of charge `chargeId`: `pieces` say which grants they came from (what
   * the charge burned, in the order to restore); a piece whose grant has expired (or expires by
   * `nowMs`) goes into a new REFUND grant without expiry, as does `extra` (tokens the charge took
   * from no recorded grant: charges from before grants). A grant no longer in memory (used up) comes
   * back from its stored row. Writes one REFUND entry, linked to the charge in its metadata.
   */
  refund(chargeId: string, pieces: ReadonlyArray<{ grant: Grant; amount: number }>, extra: number, reason: string, metadata: Record<string, unknown>, nowMs: number): JournalEntry {
    assert(!this.fenced, 'refund on a fenced actor');
    assertTokens(extra, 'refund extra');
    const id = uuidv7();
    const burns: Burn[] = [];
    const writes: GrantWrite[] = [];
    let toRefundGrant = extra;
    let amount = extra;
    for (const piece of pieces) {
      assertTokens(piece.amount, 'refund piece');
      assert(piece.grant.userId === this.userId, 'refund into another user\'s grant');
      amount += piece.amount;
      const live = this.grantById(piece.grant.id);
      const expired = (g: Grant) => g.expiredAtMs !== null || (g.expiresAtMs !== null && g.expiresAtMs <= nowMs);
      if (live ? expired(live) : expired(piece.grant)) {
        toRefundGrant += piece.amount;
        continue;
      }
      let grant = live;
      if (!grant) {
        // Used up, so not in memory: it comes back with what is restored to it.
        grant = { ...piece.grant, remaining: 0, expiredAtMs: null };
        insertSorted(this.grants, grant);
      }
      if (grant.remaining + piece.amount > grant.amount) throw new InvariantError(`refund of ${piece.amount} would lift grant ${grant.id} above its amount`);
      grant.remaining += piece.amount;
      this.tokens += piece.amount;
      burns.push({ grantId: grant.id, amount: -piece.amount });
      writes.push({ grant, remaining: grant.remaining, expiredAtMs: grant.expiredAtMs });
    }
    const created = this.addGrant(toRefundGrant, { source: 'REFUND', reason }, id, nowMs, undefined);
    if (created) writes.push({ grant: created, remaining: created.remaining, expiredAtMs: null });
    assert(Number.isSafeInteger(this.tokens), 'balance overflow');
    this.grantsChanged();
    const entry = this.emit('REFUND', amount, {
      id,
      metadata: { ...metadata, reason, refersTo: chargeId, ...(created ? { refundGrantId: created.id } : {}) },
      attachments: {},
      burns: burns.length > 0 ? burns : null,
      grants: writes.length > 0 ? writes : null,
    });
    this.check();
    return entry;
  }

  /**
   * Takes back up to `amount` tokens given earlier (a refunded purchase), never more than is
   * available: what holds cover stays held and the balance never goes below zero. With
   * `fromLedgerEntryId` (the purchase's GRANT entry) the tokens come only from what remains of the
   * grant that entry created; without it they are burned in burn order like a charge. Either way the
   * burns are recorded, so every grant's remaining stays its amount minus its burns. What could not
   * be taken (already spent or held) is the `deficit`, recorded in the entry's metadata for an alert.
   * The entry is emitted even when nothing can be taken, so what it carries is written all the same;
   * `attach` builds what it carries from the outcome.
   */
  revoke(
    amount: number,
    metadata: Record<string, unknown>,
    idempotencyKey: string | undefined,
    attach: (taken: number, deficit: number) => Record<string, unknown>,
    fromLedgerEntryId?: string,
  ): { entry: JournalEntry; taken: number; deficit: number } {
    assertTokens(amount, 'revoke amount');
    assert(!this.fenced, 'revoke on a fenced actor');
    let taken: number;
    let changes: { burns: Burn[] | null; writes: GrantWrite[] | null };
    if (fromLedgerEntryId === undefined) {
      taken = Math.min(amount, this.available);
      this.tokens -= taken;
      changes = this.burn(taken);
    } else {
      // Not in memory: the grant is used up (or never existed), so nothing of it is left to take.
      const grant = this.grants.find((g) => g.ledgerEntryId === fromLedgerEntryId);
      taken = grant ? Math.min(amount, grant.remaining, this.available) : 0;
      changes = NO_CHANGE;
      if (grant && taken > 0) {
        grant.remaining -= taken;
        this.tokens -= taken;
        changes = { burns: [{ grantId: grant.id, amount: taken }], writes: [{ grant, remaining: grant.remaining, expiredAtMs: grant.expiredAtMs }] };
        if (grant.remaining === 0) {
          this.grants = this.grants.filter((g) => g !== grant);
          this.grantsChanged();
        }
      }
    }
    const deficit = amount - taken;
    const entry = this.emit('REVOKE', taken === 0 ? 0 : -taken, {
      idempotencyKey,
      metadata: { ...metadata, requested: amount, deficit },
      attachments: attach(taken, deficit),
      burns: changes.burns,
      grants: changes.writes,
    });
    this.check();
    return { entry, taken, deficit };
  }

  /**
   * A correction by `delta` tokens (negative takes tokens away). A negative adjustment never takes
   * more than is available, so it cannot break a hold or push the balance below zero.
   */
  adjust(delta: number, reason: string): JournalEntry {
    assert(Number.isSafeInteger(delta), 'adjust delta must be a safe integer');
    assert(!this.fenced, 'adjust on a fenced actor');
    const applied = delta < 0 ? -Math.min(-delta, this.available) : delta;
    const id = uuidv7();
    let changes: { burns: Burn[] | null; writes: GrantWrite[] | null } = { burns: null, writes: null };
    if (applied < 0) {
      this.tokens += applied;
      changes = this.burn(-applied);
    } else if (applied > 0) {
      const created = this.addGrant(applied, { source: 'ADMIN', reason }, id, Date.now(), undefined)!;
      changes = { burns: null, writes: [{ grant: created, remaining: created.remaining, expiredAtMs: null }] };
    }
    const entry = this.emit('ADJUST', applied, { id, metadata: { reason, requested: delta }, attachments: {}, burns: changes.burns, grants: changes.writes });
    this.check();
    return entry;
  }

  isIdle(): boolean {
    return this.holdCount === 0 && this.unflushed === 0;
  }

  /** Sum of open holds, for tests and the deep check. */
  holdsTotal(): number {
    let sum = 0;
    for (const hold of this.holds?.values() ?? []) sum += hold.amount;
    return sum;
  }

  openHolds(): Hold[] {
    return [...(this.holds?.values() ?? [])];
  }

  /** Adds a grant (none for 0 tokens) and its tokens; returns it. */
  private addGrant(amount: number, spec: GrantSpec, ledgerEntryId: string, nowMs: number, idempotencyKey: string | undefined): Grant | null {
    if (amount === 0) return null;
    const grant: Grant = {
      id: uuidv7(),
      userId: this.userId,
      source: spec.source,
      amount,
      remaining: amount,
      priority: spec.priority ?? DEFAULT_GRANT_PRIORITY[spec.source],
      expiresAtMs: spec.expiresAtMs ?? null,
      createdAtMs: nowMs,
      reason: spec.reason,
      idempotencyKey: spec.idempotencyKey ?? idempotencyKey ?? null,
      ledgerEntryId,
      expiredAtMs: null,
    };
    insertSorted(this.grants, grant);
    this.tokens += amount;
    assert(Number.isSafeInteger(this.tokens), 'balance overflow');
    if (grant.expiresAtMs !== null && (this.nextExpiryMs === null || grant.expiresAtMs < this.nextExpiryMs)) this.nextExpiryMs = grant.expiresAtMs;
    return grant;
  }

  /**
   * Takes `amount` tokens (already subtracted from `tokens` by the caller) from the grants in burn
   * order; grants left empty leave memory.
   */
  private burn(amount: number): { burns: Burn[] | null; writes: GrantWrite[] | null } {
    if (amount === 0) return NO_CHANGE;
    const burns: Burn[] = [];
    const writes: GrantWrite[] = [];
    let left = amount;
    let emptied = 0;
    for (const grant of this.grants) {
      const take = Math.min(grant.remaining, left);
      grant.remaining -= take;
      left -= take;
      burns.push({ grantId: grant.id, amount: take });
      writes.push({ grant, remaining: grant.remaining, expiredAtMs: grant.expiredAtMs });
      if (grant.remaining === 0) emptied++;
      if (left === 0) break;
    }
    if (left !== 0) throw new InvariantError(`burn of ${amount} tokens: grants short by ${left}`);
    if (emptied > 0) {
      // Burning goes in order, so the emptied grants are the first ones.
      this.grants.splice(0, emptied);
      this.grantsChanged();
    }
    return { burns, writes };
  }

  /** Recomputes what is derived from the grant list: the next expiry and the expired grants still held. */
  private grantsChanged(): void {
    let next: number | null = null;
    let expiredHeld = 0;
    for (const g of this.grants) {
      if (g.expiredAtMs !== null) expiredHeld++;
      else if (g.expiresAtMs !== null && (next === null || g.expiresAtMs < next)) next = g.expiresAtMs;
    }
    this.nextExpiryMs = next;
    this.expiredHeld = expiredHeld;
  }

  /** What expires at `atMs`: the tokens left on the grants expiring then. */
  private expiringAt(atMs: number): { amount: number; expiresAt: Date } {
    let amount = 0;
    for (const g of this.grants) if (g.expiredAtMs === null && g.expiresAtMs === atMs) amount += g.remaining;
    return { amount, expiresAt: new Date(atMs) };
  }

  private removeHold(holdId: string): Hold | undefined {
    const hold = this.holds?.get(holdId);
    if (!hold) return undefined;
    this.holds!.delete(holdId);
    if (this.holds!.size === 0) this.holds = null;
    return hold;
  }

  private emit(
    kind: LedgerKind,
    amount: number,
    fields: Partial<Omit<JournalEntry, 'actor' | 'kind' | 'amount' | 'balanceAfter'>> & HoldMeta,
  ): JournalEntry {
    this.unflushed++;
    return {
      id: fields.id ?? uuidv7(),
      actor: this,
      kind,
      amount,
      balanceAfter: this.tokens,
      brandId: fields.brandId ?? null,
      taskType: fields.taskType ?? null,
      model: fields.model ?? null,
      promptTokens: fields.promptTokens ?? 0,
      completionTokens: fields.completionTokens ?? 0,
      costNanoUsd: fields.costNanoUsd ?? 0,
      idempotencyKey: fields.idempotencyKey ?? null,
      holdId: fields.holdId ?? null,
      metadata: fields.metadata ?? {},
      createdAt: fields.createdAt ?? new Date(),
      attachments: fields.attachments ?? {},
      grants: fields.grants ?? null,
      burns: fields.burns ?? null,
    };
  }

  private check(): void {
    assertTokens(this.tokens, 'tokens');
    assertTokens(this.reserved, 'reserved');
    if (this.reserved > this.tokens) throw new InvariantError(`reserved ${this.reserved} above tokens ${this.tokens}`);
    assert(this.holds !== null || this.reserved === 0, 'reserved without holds');
    let sum = 0;
    for (const g of this.grants) {
      if (!(g.remaining > 0 && g.remaining <= g.amount)) throw new InvariantError(`grant ${g.id} remaining ${g.remaining} outside (0, ${g.amount}]`);
      sum += g.remaining;
    }
    if (sum !== this.tokens) throw new InvariantError(`tokens ${this.tokens} differ from the grants' remaining ${sum}`);
  }
}

const NO_CHANGE = { burns: null, writes: null };

/** The one grant of a balance given without its grants (tests, benchmarks). */
function loadedGrant(userId: string, tokens: number): Grant {
  return {
    id: uuidv7(),
    userId,
    source: 'SIGNUP',
    amount: tokens,
    remaining: tokens,
    priority: DEFAULT_GRANT_PRIORITY.SIGNUP,
    expiresAtMs: null,
    createdAtMs: 0,
    reason: 'loaded',
    idempotencyKey: null,
    ledgerEntryId: null,
    expiredAtMs: null,
  };
}
