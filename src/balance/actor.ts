import { uuidv7 } from '../db/ids';
import type { LedgerKind } from '../db/entities';
import { assert, assertTokens, InvariantError } from './invariants';
import { BrandQuotas, type LoadedBrand, type QuotaRefusal } from './quotas';
import { UserRates, type RateLimits, type RateRefusal } from './rates';

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
 *   0 <= reserved <= tokens, reserved == sum of open holds, all amounts safe integers.
 */
export class BalanceActor {
  /** Settled balance including changes not yet committed (they are committed in order). */
  tokens: number;
  reserved = 0;
  /** Allocated on the first hold, so an idle cached actor stays small. */
  private holds: Map<string, Hold> | null = null;
  /** Journal entries emitted and not yet committed. */
  unflushed = 0;
  /** Version of the users row this process last wrote or read; the fence for the next write. */
  persistedVersion: number;
  /** Set when a write found another writer's version: the actor must not be used any more. */
  fenced = false;
  lastUsedMs = 0;
  /** The monthly quotas of the user's brands (and what each brand used and holds this month). */
  readonly quotas: BrandQuotas;
  /** Per-minute request and token counts; null without rate limits. */
  readonly rates: UserRates | null;

  constructor(
    readonly userId: string,
    tokens: number,
    persistedVersion: number,
    public plan: string,
    private readonly limits: ActorLimits,
    brands: { nowMs: number; loaded: readonly LoadedBrand[] } = { nowMs: Date.now(), loaded: [] },
  ) {
    assertTokens(tokens, 'loaded tokens');
    this.tokens = tokens;
    this.persistedVersion = persistedVersion;
    this.quotas = new BrandQuotas(brands.nowMs, brands.loaded);
    this.rates = limits.rates ? new UserRates(limits.rates) : null;
  }

  get available(): number {
    return this.tokens - this.reserved;
  }

  get holdCount(): number {
    return this.holds?.size ?? 0;
  }

  snapshot(): BalanceSnapshot {
    return { tokens: this.tokens, reserved: this.reserved, available: this.available, plan: this.plan };
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

  grant(amount: number, metadata: Record<string, unknown>, idempotencyKey: string | undefined, attachments: Record<string, unknown> = {}): JournalEntry {
    assertTokens(amount, 'grant amount');
    assert(!this.fenced, 'grant on a fenced actor');
    this.tokens += amount;
    assert(Number.isSafeInteger(this.tokens), 'balance overflow');
    const entry = this.emit('GRANT', amount, { idempotencyKey, metadata, attachments });
    this.check();
    return entry;
  }

  /**
   * Takes back up to `amount` tokens given earlier (a refunded purchase), never more than is
   * available: what holds cover stays held and the balance never goes below zero. What could not be
   * taken (already spent or held) is the `deficit`, recorded in the entry's metadata for an alert.
   * The entry is emitted even when nothing can be taken, so what it carries is written all the same;
   * `attach` builds what it carries from the outcome.
   */
  revoke(
    amount: number,
    metadata: Record<string, unknown>,
    idempotencyKey: string | undefined,
    attach: (taken: number, deficit: number) => Record<string, unknown>,
  ): { entry: JournalEntry; taken: number; deficit: number } {
    assertTokens(amount, 'revoke amount');
    assert(!this.fenced, 'revoke on a fenced actor');
    const taken = Math.min(amount, this.available);
    const deficit = amount - taken;
    this.tokens -= taken;
    const entry = this.emit('REVOKE', taken === 0 ? 0 : -taken, {
      idempotencyKey,
      metadata: { ...metadata, requested: amount, deficit },
      attachments: attach(taken, deficit),
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
    this.tokens += applied;
    const entry = this.emit('ADJUST', applied, { metadata: { reason, requested: delta }, attachments: {} });
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
    fields: Partial<Omit<JournalEntry, 'id' | 'actor' | 'kind' | 'amount' | 'balanceAfter'>> & HoldMeta,
  ): JournalEntry {
    this.unflushed++;
    return {
      id: uuidv7(),
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
    };
  }

  private check(): void {
    assertTokens(this.tokens, 'tokens');
    assertTokens(this.reserved, 'reserved');
    if (this.reserved > this.tokens) throw new InvariantError(`reserved ${this.reserved} above tokens ${this.tokens}`);
    assert(this.holds !== null || this.reserved === 0, 'reserved without holds');
  }
}
