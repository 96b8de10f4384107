import { advance, clearsAtMs, decide, giveBack, remainingAt, type Decision, type WindowCount, type WindowLimit } from '../limits/sliding-window';
import type { Plan } from '../plans';

/** The per-minute limits of one user: from their plan, over a window of `windowMs` (60_000). */
export interface RateLimits extends Pick<Plan, 'requestsPerMinute' | 'tokensPerMinute' | 'brandRequestsPerMinute'> {
  /** @default 60_000 */
  windowMs: number;
}

/** Which limit refused: RATE_LIMITED's extensions.limit, and the names me.rateLimits shows. */
export type RateLimitName = 'REQUESTS_PER_MINUTE' | 'TOKENS_PER_MINUTE' | 'BRAND_REQUESTS_PER_MINUTE' | 'CONCURRENT_GENERATIONS';

export interface RateRefusal {
  code: 'RATE_LIMITED';
  limit: RateLimitName;
  /** Null when waiting cannot help: one request above the whole per-minute limit. */
  retryAfterMs: number | null;
}

export interface RateLimitView {
  name: RateLimitName;
  limit: number;
  remaining: number;
  /** When what is counted now has slid out of the window; null when nothing is counted. */
  resetsAt: Date | null;
}

/** Brands whose request counts one user keeps; a user owns at most LIMITS.brandsPerUserMax (100). */
const BRAND_COUNTS_MAX = 1_000;

/**
 * One user's request and token rates, owned by their balance actor: sliding-window counters of
 * src/limits (the module the sign-in throttle uses too), checked and taken in the same synchronous
 * step as the reservation, so concurrent requests cannot slip past a limit. In memory only: a
 * restart or an eviction forgets them (README "Limits").
 */
export class UserRates {
  private requests: WindowCount | undefined;
  private tokens: WindowCount | undefined;
  private brands: Map<string, WindowCount> | null = null;
  private readonly requestLimit: WindowLimit;
  private readonly tokenLimit: WindowLimit;
  private readonly brandLimit: WindowLimit;
  /** The window the clock was last in: most calls fall in it, and finding it again needs a floating-point modulo. */
  private windowStartMs = -Infinity;

  constructor(readonly limits: RateLimits) {
    const { windowMs } = limits;
    this.requestLimit = { limit: limits.requestsPerMinute, windowMs };
    this.tokenLimit = { limit: limits.tokensPerMinute, windowMs };
    this.brandLimit = { limit: limits.brandRequestsPerMinute, windowMs };
  }

  /** The first limit `amount` more tokens (one request, for `brandId`) would exceed, or null. Counts nothing. */
  refusal(amount: number, brandId: string | undefined, nowMs: number): RateRefusal | null {
    this.requests = this.advanced(this.requests, nowMs);
    const requests = decide(this.requests, nowMs, this.requestLimit, 1);
    if (!requests.allowed) return refused('REQUESTS_PER_MINUTE', requests);
    if (brandId !== undefined) {
      const brand = this.advanced(this.brands?.get(brandId), nowMs);
      const decision = decide(brand, nowMs, this.brandLimit, 1);
      if (!decision.allowed) return refused('BRAND_REQUESTS_PER_MINUTE', decision);
    }
    this.tokens = this.advanced(this.tokens, nowMs);
    const tokens = decide(this.tokens, nowMs, this.tokenLimit, amount);
    if (!tokens.allowed) return refused('TOKENS_PER_MINUTE', tokens);
    return null;
  }

  /**
   * Counts one request of `amount` tokens (after `refusal` said null, in the same step). Returns the
   * window the tokens were counted in, for `settled`.
   */
  take(amount: number, brandId: string | undefined, nowMs: number): number {
    this.requests = this.advanced(this.requests, nowMs);
    this.requests.current += 1;
    this.tokens = this.advanced(this.tokens, nowMs);
    this.tokens.current += amount;
    if (brandId !== undefined) {
      const brands = (this.brands ??= new Map());
      const before = brands.get(brandId);
      const brand = this.advanced(before, nowMs);
      brand.current += 1;
      if (brand !== before) brands.set(brandId, brand);
      // A user owns at most LIMITS.brandsPerUserMax brands, far below this: a backstop, oldest first.
      if (brands.size > BRAND_COUNTS_MAX) brands.delete(brands.keys().next().value!);
    }
    return this.tokens.windowStartMs;
  }

  /** `count` rolled to the window of `nowMs`; the same object while the window is the one it counts in. */
  private advanced(count: WindowCount | undefined, nowMs: number): WindowCount {
    const { windowMs } = this.limits;
    if (nowMs < this.windowStartMs || nowMs >= this.windowStartMs + windowMs) this.windowStartMs = nowMs - (nowMs % windowMs);
    if (count !== undefined && count.windowStartMs === this.windowStartMs) return count;
    return advance(count, nowMs, windowMs);
  }

  /**
   * Corrects the token count from the hold to the charge: a charge below the hold gives the rest
   * back to the window it was counted in; a charge above it counts the excess now. A release is a
   * charge of 0. The request stays counted either way.
   */
  settled(held: number, charged: number, countedInWindowStartMs: number | undefined, nowMs: number): void {
    if (held === charged) return;
    this.tokens = this.advanced(this.tokens, nowMs);
    if (charged > held) this.tokens.current += charged - held;
    else if (countedInWindowStartMs !== undefined) giveBack(this.tokens, countedInWindowStartMs, held - charged, this.limits.windowMs);
  }

  /** Where the user stands on each per-user limit, for me.rateLimits. */
  view(nowMs: number): RateLimitView[] {
    const { windowMs } = this.limits;
    const show = (name: RateLimitName, limit: number, count: WindowCount | undefined): RateLimitView => {
      const now = advance(count, nowMs, windowMs);
      const clears = clearsAtMs(now, windowMs);
      return { name, limit, remaining: remainingAt(now, nowMs, { limit, windowMs }), resetsAt: clears === null ? null : new Date(clears) };
    };
    return [show('REQUESTS_PER_MINUTE', this.limits.requestsPerMinute, this.requests), show('TOKENS_PER_MINUTE', this.limits.tokensPerMinute, this.tokens)];
  }
}

function refused(limit: RateLimitName, decision: Decision): RateRefusal {
  return { code: 'RATE_LIMITED', limit, retryAfterMs: Number.isFinite(decision.retryAfterMs) ? decision.retryAfterMs : null };
}
