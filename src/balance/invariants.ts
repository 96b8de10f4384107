/**
 * Assertions for programmer errors on the money path. An assertion failing means the code is
 * wrong, never that a user did something: operating errors (insufficient tokens, a full journal)
 * are typed results instead.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/**
 * Pass a constant message: a template literal here would be built on every call, and these run
 * several times per operation on the money path. Messages with values are built only on failure.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** A token amount: a safe, non-negative integer. */
export function assertTokens(value: number, what: string): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new InvariantError(`${what} must be a non-negative safe integer, got ${value}`);
}

/** Reads a bigint column that pg returns as a string, asserting it fits a safe integer. */
export function tokensFromDb(value: unknown, what: string): number {
  const n = typeof value === 'string' ? Number(value) : (value as number);
  if (!Number.isSafeInteger(n)) throw new InvariantError(`${what} from the database is not a safe integer: ${String(value)}`);
  return n;
}
