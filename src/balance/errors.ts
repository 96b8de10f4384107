/** Operating refusals of the balance layer: typed, mapped to GraphQL codes at the edge. */
export class InsufficientTokensError extends Error {
  override name = 'InsufficientTokensError';
  constructor(
    readonly available: number,
    readonly required: number,
  ) {
    super(`insufficient tokens: ${required} required, ${available} available`);
  }
}

/** The service cannot take more work right now (journal full, database down): retry later. */
export class BalanceUnavailableError extends Error {
  override name = 'BalanceUnavailableError';
}

/**
 * Clustered mode: a request with this idempotency key is running on another instance, or its charge is
 * being committed: the caller waits and replays the stored result (SERVICE_UNAVAILABLE, retryable, if
 * the wait runs out).
 */
export class KeyInFlightError extends BalanceUnavailableError {
  override name = 'KeyInFlightError';
}

/** Too many generations of one user at once (HOLDS_PER_USER_MAX): RATE_LIMITED, limit CONCURRENT_GENERATIONS. */
export class TooManyHoldsError extends Error {
  override name = 'TooManyHoldsError';
}

export class UnknownUserError extends Error {
  override name = 'UnknownUserError';
  constructor(readonly userId: string) {
    super('user not found');
  }
}

/** Another writer changed this balance, or an earlier change to it could not be recorded: retry (it is reloaded). */
export class BalanceFencedError extends Error {
  override name = 'BalanceFencedError';
  readonly retryable = true;
}

/** Not even the entry's balance and ledger row could be written: a defect, reported as internal. */
export class UnwritableEntryError extends Error {
  override name = 'UnwritableEntryError';
}

/** A brand's monthly quota cannot cover the hold (QUOTA_EXCEEDED). */
export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  constructor(
    readonly brandId: string,
    readonly remaining: number,
    readonly required: number,
    readonly resetsAt: Date,
  ) {
    super(`the brand's monthly token quota is used up: ${required} required, ${remaining} remaining until ${resetsAt.toISOString()}`);
  }
}

/** A per-minute limit of the user's plan refused the request (RATE_LIMITED). */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    /** Which limit: REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, BRAND_REQUESTS_PER_MINUTE. */
    readonly limit: string,
    /** Null when waiting cannot help (one request above the whole limit). */
    readonly retryAfterMs: number | null,
    message: string,
  ) {
    super(message);
  }
}
