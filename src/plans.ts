import { z } from 'zod';

/**
 * Plans (PLANS_JSON): what each plan gives. A zod object, not a strict one, so other concerns add
 * their fields to the same per-plan object (`planSchema.extend({...})`) and a deployment's JSON may
 * already carry them.
 */
export const planSchema = z.object({
  /** Tokens granted (source ALLOWANCE) at a user's first activity in each UTC month, expiring at its end. */
  monthlyAllowance: z.number().int().min(0).max(1_000_000_000),
});
export type Plan = z.infer<typeof planSchema>;
export type Plans = Readonly<Record<string, Plan>>;

/** A plan's name: lower case letters, digits, - and _, starting with a letter. */
export const PLAN_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Today's behaviour: `free`, whose only free credit is the sign-up grant. */
export const DEFAULT_PLANS: Plans = { free: { monthlyAllowance: 0 } };

export const plansSchema = z
  .record(z.string().regex(PLAN_NAME_PATTERN, 'a plan name: lower case letters, digits, - and _'), planSchema)
  .refine((plans) => 'free' in plans, 'must define "free" (the plan every account starts on)');

/** `yyyy-mm` of a time, in UTC. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** The first instant of the UTC month after the one `ms` is in. */
export function nextMonthStartMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
