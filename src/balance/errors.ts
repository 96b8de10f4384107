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
