/**
 * Credit grants: a balance is the sum of its grants' remaining tokens. Each grant has a source, a
 * priority (lower burns first), an optional expiry, and is burned by charges in a fixed order.
 * This module holds the types and the order; the actor (actor.ts) owns the state.
 */

import { DEFAULT_GRANT_PRIORITY, GRANT_SOURCE_VALUES } from '../db/entities';

export { DEFAULT_GRANT_PRIORITY };

export const GRANT_SOURCES = GRANT_SOURCE_VALUES;
export type GrantSource = (typeof GRANT_SOURCES)[number];

/** Largest priority a grant may have (lower burns first). */
export const GRANT_PRIORITY_MAX = 1_000;

/**
 * One grant in memory. `amount`, `priority`, `expiresAtMs` and the rest never change; `remaining`
 * falls as charges and expiry take from it (and rises when a refund gives back), `expiredAtMs` is
 * set once when its expiry is processed.
 */
export interface Grant {
  readonly id: string;
  readonly userId: string;
  readonly source: GrantSource;
  readonly amount: number;
  remaining: number;
  readonly priority: number;
  /** Null: never expires. */
  readonly expiresAtMs: number | null;
  readonly createdAtMs: number;
  readonly reason: string;
  readonly idempotencyKey: string | null;
  /** The ledger entry that created it; null for the grants migration 50 made from old balances. */
  readonly ledgerEntryId: string | null;
  /**
   * When its expiry was processed. An expired grant still holding tokens is tokens a hold covered
   * at that moment: it is burned first by settles, and expired as soon as nothing holds it.
   */
  expiredAtMs: number | null;
}

/** What a new grant is: the caller's part (the actor adds id, user, times, entry). */
export interface GrantSpec {
  source: GrantSource;
  /** @default DEFAULT_GRANT_PRIORITY[source] */
  priority?: number | undefined;
  /** Null or undefined: never expires. */
  expiresAtMs?: number | null | undefined;
  reason: string;
  idempotencyKey?: string | undefined;
}

/** A grant's state as one journal entry leaves it: the row the flusher upserts. */
export interface GrantWrite {
  readonly grant: Grant;
  readonly remaining: number;
  readonly expiredAtMs: number | null;
}

/** Tokens one ledger entry took from a grant (positive) or gave back to it (negative, a refund). */
export interface Burn {
  readonly grantId: string;
  readonly amount: number;
}

/**
 * The order grants burn in: grants already expired but covered by a hold first (their tokens are
 * gone as soon as nothing holds them), then priority (lower first), earliest expiry (no expiry
 * last), oldest, and the id to make it total.
 */
export function burnOrder(a: Grant, b: Grant): number {
  const expired = (a.expiredAtMs === null ? 1 : 0) - (b.expiredAtMs === null ? 1 : 0);
  if (expired !== 0) return expired;
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ae = a.expiresAtMs ?? Number.POSITIVE_INFINITY;
  const be = b.expiresAtMs ?? Number.POSITIVE_INFINITY;
  if (ae !== be) return ae < be ? -1 : 1;
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs - b.createdAtMs;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Inserts `grant` into `grants` (sorted by burnOrder), keeping it sorted. */
export function insertSorted(grants: Grant[], grant: Grant): void {
  let i = grants.length;
  while (i > 0 && burnOrder(grants[i - 1]!, grant) > 0) i--;
  grants.splice(i, 0, grant);
}

/** A grant as the API shows it. */
export interface GrantView {
  id: string;
  source: GrantSource;
  amount: number;
  remaining: number;
  priority: number;
  expiresAt: Date | null;
  createdAt: Date;
  reason: string;
  expiredAt: Date | null;
}

export function grantView(g: Grant): GrantView {
  return {
    id: g.id,
    source: g.source,
    amount: g.amount,
    remaining: g.remaining,
    priority: g.priority,
    expiresAt: g.expiresAtMs === null ? null : new Date(g.expiresAtMs),
    createdAt: new Date(g.createdAtMs),
    reason: g.reason,
    expiredAt: g.expiredAtMs === null ? null : new Date(g.expiredAtMs),
  };
}

/**
 * How a refund of `amount` tokens goes back into the grants a charge burned: last-burned first in the
 * grants' static burn order (not whether one has expired since, so successive partial refunds agree),
 * after the first `refunded` tokens of that order that earlier refunds took. `left` is what the burns
 * could not cover (0 when the amount is within what the charge took).
 */
export function refundPieces(
  burned: ReadonlyArray<{ grant: Grant; burned: number }>,
  refunded: number,
  amount: number,
): { pieces: Array<{ grant: Grant; amount: number }>; left: number } {
  const order = [...burned].sort((a, b) => burnOrder({ ...b.grant, expiredAtMs: null }, { ...a.grant, expiredAtMs: null }));
  let skip = refunded;
  let left = amount;
  const pieces: Array<{ grant: Grant; amount: number }> = [];
  for (const b of order) {
    const skipped = Math.min(skip, b.burned);
    skip -= skipped;
    const take = Math.min(b.burned - skipped, left);
    if (take > 0) pieces.push({ grant: b.grant, amount: take });
    left -= take;
  }
  return { pieces, left };
}
