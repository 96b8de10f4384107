import { z } from 'zod';

/**
 * The plan table: what each plan (users.plan) may do. PLANS_JSON overrides it per plan and field,
 * e.g. {"free": {"requestsPerMinute": 60}, "pro": {"requestsPerMinute": 600}}; a plan it names
 * that is not built in starts from the built-in free plan's values.
 *
 * `monthlyAllowance` (issue 14) is granted (source ALLOWANCE) at a user's first activity in each UTC month,
 * expiring at its end (src/balance/service.ts).
 */
export interface Plan {
  /** Tokens granted each month (issue 14). @default 0 */
  monthlyAllowance: number;
  /** Generations (reservations) one user may start per minute, over all their brands. @default 1_000 */
  requestsPerMinute: number;
  /** Tokens one user may reserve per minute (a hold counts its amount, corrected to the charge at settle). @default 2_000_000 */
  tokensPerMinute: number;
  /** Generations one brand may start per minute. @default 600 */
  brandRequestsPerMinute: number;
}

export type Plans = Readonly<Record<string, Plan>>;

/** The plan of a user whose plan the table does not name. */
export const DEFAULT_PLAN = 'free';

/**
 * High enough that nothing the service did before the limits existed is refused by them (the suite's
 * 200 concurrent generations on one brand, 1,000 reservations at once): a deployment sets its own.
 */
export const BUILT_IN_PLANS: Plans = {
  [DEFAULT_PLAN]: { monthlyAllowance: 0, requestsPerMinute: 1_000, tokensPerMinute: 2_000_000, brandRequestsPerMinute: 600 },
};

/** Largest per-minute limit: keeps limit × window exact in the sliding-window arithmetic. */
const PER_MINUTE_MAX = 1_000_000_000;
/** Plan names as stored in users.plan. */
const PLAN_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

const perMinute = z.number().int().min(1).max(PER_MINUTE_MAX);
export const planOverrideSchema = z.strictObject({
  monthlyAllowance: z.number().int().min(0).max(1_000_000_000).optional(),
  requestsPerMinute: perMinute.optional(),
  tokensPerMinute: perMinute.optional(),
  brandRequestsPerMinute: perMinute.optional(),
});
export const plansSchema = z.record(z.string().regex(PLAN_NAME, 'a plan name: lower-case letters, digits, _ and -'), planOverrideSchema);

/** The built-in plans with PLANS_JSON's values over them. */
export function withPlanOverrides(overrides: z.infer<typeof plansSchema>): Plans {
  const plans: Record<string, Plan> = { ...BUILT_IN_PLANS };
  for (const [name, override] of Object.entries(overrides)) {
    const base = plans[name] ?? BUILT_IN_PLANS[DEFAULT_PLAN]!;
    plans[name] = { ...base, ...definedOnly(override) };
  }
  return plans;
}

/** The plan's limits; a plan the table does not name gets the default plan's. */
export function planOf(plans: Plans, name: string): Plan {
  return plans[name] ?? plans[DEFAULT_PLAN] ?? BUILT_IN_PLANS[DEFAULT_PLAN]!;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The built-in plans (BUILT_IN_PLANS) under the name the credits work (issue 14) gave them. */
export const DEFAULT_PLANS: Plans = BUILT_IN_PLANS;

/** A plan's name: lower case letters, digits, - and _, starting with a letter. */
export const PLAN_NAME_PATTERN = PLAN_NAME;

/** `yyyy-mm` of a time, in UTC. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** The first instant of the UTC month after the one `ms` is in. */
export function nextMonthStartMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
