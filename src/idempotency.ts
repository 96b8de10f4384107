import { createHash } from 'node:crypto';
import { AppError } from './errors';

/**
 * What an idempotency key was used for. The fingerprint of a request is a hash of its parsed input
 * (trimmed, defaults applied) in a canonical form: object keys sorted, absent and null fields alike,
 * so the same request sent with its keys in another order, with spaces around its strings or with
 * a default spelled out matches; any other difference (another brand, another task, another field
 * value) does not.
 */

/** The hex SHA-256 of the value's canonical JSON. */
export function requestFingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** The refusal for a key sent again with a different request: nothing runs, nothing is charged. */
export function idempotencyKeyReused(): AppError {
  return new AppError('BAD_USER_INPUT', 'idempotencyKey: already used for a different request; send a new key with a new request', {
    field: 'idempotencyKey',
    reason: 'IDEMPOTENCY_KEY_REUSED',
  });
}

/**
 * Keyed work running in this process: a key is claimed from the moment its work starts until that
 * work ends, by which time its ledger entry is committed and `lookup` finds it. One per service that
 * takes idempotency keys (the generation layer), not in the balance: the balance only stores keys.
 */
export class IdempotentRuns {
  private readonly running = new Map<string, { run: Promise<unknown>; fingerprint: string }>();

  /**
   * Runs `work` at most once per (user, key): a concurrent call with the same key and the same
   * request `fingerprint` waits for the first one's result, one with another fingerprint is refused
   * (IDEMPOTENCY_KEY_REUSED) without waiting; a later call (also after a restart) gets what `lookup`
   * finds stored, and lookup checks the stored fingerprint.
   */
  async once<T>(userId: string, key: string, fingerprint: string, lookup: () => Promise<T | undefined>, work: () => Promise<T>): Promise<T> {
    const claim = `${userId}\u0000${key}`;
    const running = this.running.get(claim);
    if (running) {
      if (running.fingerprint !== fingerprint) throw idempotencyKeyReused();
      return running.run as Promise<T>;
    }
    const run = (async () => (await lookup()) ?? (await work()))();
    this.running.set(claim, { run, fingerprint });
    try {
      return await run;
    } finally {
      this.running.delete(claim);
    }
  }
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
