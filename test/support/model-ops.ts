import fc from 'fast-check';
import type { SettleUsage } from '../../src/balance/actor';

/**
 * The settle op the balance and credits model tests share: settles one of the holds issued so far
 * (open, settled, released or expired), reporting usage below, equal to or above the hold.
 */
export type SettleOp = { t: 'settle'; pick: number; usage: 'below' | 'equal' | 'above'; by: number };

export const settleOpArb: fc.Arbitrary<SettleOp> = fc.record({
  t: fc.constant('settle' as const),
  pick: fc.nat(),
  usage: fc.constantFrom('below' as const, 'equal' as const, 'above' as const),
  by: fc.nat(600),
});

/** A settle's usage of `tokens`, all of it prompt. */
export const usageOf = (tokens: number): SettleUsage => ({ tokens, promptTokens: tokens, completionTokens: 0, costNanoUsd: 0 });

/** The usage a settle op reports for a hold of `amount`: below it (never negative), equal, or above. */
export function usageFor(op: SettleOp, amount: number): number {
  if (op.usage === 'equal') return amount;
  if (op.usage === 'above') return amount + 1 + op.by;
  return amount === 0 ? 0 : op.by % amount;
}
