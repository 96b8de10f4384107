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
