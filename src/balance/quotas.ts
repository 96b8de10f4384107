import { assert, assertTokens } from './invariants';

/** A brand's quota as its owner's actor knows it. Months are calendar months, UTC. */
export interface BrandQuotaView {
  monthlyTokens: number;
  /** Charged to the brand this month (committed or about to be). */
  used: number;
  /** Held by the brand's generations in progress. */
  reserved: number;
  /** monthlyTokens − used − reserved, at least 0. */
  remaining: number;
  /** The start of next month (UTC), when `used` starts again from 0. */
  resetsAt: Date;
}

export interface QuotaRefusal {
  code: 'QUOTA_EXCEEDED';
  brandId: string;
  remaining: number;
  required: number;
  resetsAtMs: number;
}

/** A quota row as stored (brand_quotas) and the brand's charges this month, read when the actor loads. */
export interface LoadedBrand {
  brandId: string;
  /** Null: no quota (the row stays, so its version keeps counting). */
  monthlyTokens: number | null;
  version: number;
  /** This month's charges for the brand (brand_token_usage). */
  used: number;
}

interface BrandState {
  monthlyTokens: number | null;
  version: number;
  used: number;
  reserved: number;
  /** The month (its start, ms) for which the 80% warning was already signalled. */
  warnedMonthMs: number;
  /** The month for which a refusal was already signalled. */
  refusedMonthMs: number;
}

/** Warning at 80% of a quota: used × 5 ≥ quota × 4, in integers. */
const WARN_NUMERATOR = 4;
const WARN_DENOMINATOR = 5;

export function monthStartMs(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonthStartMs(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * The monthly token quotas of one user's brands, owned by the user's balance actor (a brand belongs
 * to one user, so its quota lives with the balance that pays for it). Every brand the user generates
 * for is tracked (used and reserved this month), with a quota or not, so that a quota set mid-month
 * counts what was already charged and held. Synchronous and free of I/O, like the actor.
 *
 * Invariants: used and reserved are non-negative safe integers; a brand's reserved equals the sum of
 * its open holds (the actor's check covers the total).
 */
export class BrandQuotas {
  private brands: Map<string, BrandState> | null = null;
  private monthMs: number;
  private nextMonthMs: number;

  constructor(nowMs: number, loaded: readonly LoadedBrand[] = []) {
    this.monthMs = monthStartMs(nowMs);
    this.nextMonthMs = nextMonthStartMs(nowMs);
    for (const row of loaded) {
      assertTokens(row.used, 'loaded brand usage');
      const state = this.state(row.brandId);
      state.monthlyTokens = row.monthlyTokens;
      state.version = row.version;
      state.used = row.used;
    }
  }

  /** The refusal for holding `amount` more for `brandId` at `nowMs`, or null when it fits (or the brand has no quota). */
  refusal(brandId: string, amount: number, nowMs: number): QuotaRefusal | null {
    this.roll(nowMs);
    const state = this.brands?.get(brandId);
    if (!state || state.monthlyTokens === null) return null;
    const remaining = Math.max(0, state.monthlyTokens - state.used - state.reserved);
    if (amount <= remaining) return null;
    return { code: 'QUOTA_EXCEEDED', brandId, remaining, required: amount, resetsAtMs: this.nextMonthMs };
  }

  reserve(brandId: string, amount: number): void {
    this.state(brandId).reserved += amount;
  }

  /**
   * The most a settle of a hold of `held` may charge to the brand: its hold, or more while the quota
   * has room beyond what other holds claim (the quota caps usage above a hold as the balance does).
   * Infinity without a quota.
   */
  chargeCap(brandId: string, held: number, nowMs: number): number {
    this.roll(nowMs);
    const state = this.brands?.get(brandId);
    if (!state || state.monthlyTokens === null) return Infinity;
    const room = state.monthlyTokens - state.used - (state.reserved - held);
    return Math.max(held, room);
  }

  /** A hold of `held` for the brand ended with `charged` tokens charged at `nowMs` (0 for a release). */
  settle(brandId: string, held: number, charged: number, nowMs: number): void {
    this.roll(nowMs);
    const state = this.state(brandId);
    state.reserved -= held;
    state.used += charged;
    assertTokens(state.reserved, 'brand reserved');
    assertTokens(state.used, 'brand used');
  }

  /** True once per month per brand (in this actor's life), when its usage has reached 80% of its quota. */
  reachedWarning(brandId: string, nowMs: number): boolean {
    this.roll(nowMs);
    const state = this.brands?.get(brandId);
    if (!state || state.monthlyTokens === null || state.warnedMonthMs === this.monthMs) return false;
    if (state.used * WARN_DENOMINATOR < state.monthlyTokens * WARN_NUMERATOR) return false;
    state.warnedMonthMs = this.monthMs;
    return true;
  }

  /** True for the first refusal of the brand's quota this month (in this actor's life). */
  firstRefusal(brandId: string): boolean {
    const state = this.brands?.get(brandId);
    if (!state || state.refusedMonthMs === this.monthMs) return false;
    state.refusedMonthMs = this.monthMs;
    return true;
  }

  /**
   * Adopts a quota written to brand_quotas with `version`; an older version (a write this actor has
   * already seen a later one of) changes nothing. Returns whether it applied.
   */
  apply(brandId: string, monthlyTokens: number | null, version: number): boolean {
    if (monthlyTokens !== null) assertTokens(monthlyTokens, 'monthly quota');
    const state = this.state(brandId);
    if (version <= state.version) return false;
    state.monthlyTokens = monthlyTokens;
    state.version = version;
    return true;
  }

  view(brandId: string, nowMs: number): BrandQuotaView | null {
    this.roll(nowMs);
    const state = this.brands?.get(brandId);
    if (!state || state.monthlyTokens === null) return null;
    return {
      monthlyTokens: state.monthlyTokens,
      used: state.used,
      reserved: state.reserved,
      remaining: Math.max(0, state.monthlyTokens - state.used - state.reserved),
      resetsAt: new Date(this.nextMonthMs),
    };
  }

  /** The month (its start) the counts are for. */
  get currentMonthMs(): number {
    return this.monthMs;
  }

  /** Sum of every brand's reserved, for the actor's deep check. */
  reservedTotal(): number {
    let sum = 0;
    for (const state of this.brands?.values() ?? []) sum += state.reserved;
    return sum;
  }

  /** A new month: usage starts again from zero (holds stay reserved). A clock that steps back changes nothing. */
  private roll(nowMs: number): void {
    if (nowMs < this.nextMonthMs) return;
    this.monthMs = monthStartMs(nowMs);
    this.nextMonthMs = nextMonthStartMs(nowMs);
    for (const state of this.brands?.values() ?? []) state.used = 0;
  }

  private state(brandId: string): BrandState {
    const brands = (this.brands ??= new Map());
    let state = brands.get(brandId);
    if (!state) {
      state = { monthlyTokens: null, version: 0, used: 0, reserved: 0, warnedMonthMs: 0, refusedMonthMs: 0 };
      brands.set(brandId, state);
    }
    assert(brands.size <= BRANDS_TRACKED_MAX, 'more brands tracked than a user may own');
    return state;
  }
}

/**
 * Brands one actor tracks: a user owns at most LIMITS.brandsPerUserMax (100) and every hold's brand
 * was checked to be theirs, so more is a defect.
 */
const BRANDS_TRACKED_MAX = 10_000;
