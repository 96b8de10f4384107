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
