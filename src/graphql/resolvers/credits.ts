import { z } from 'zod';
import { parseInput } from '../../input';
import { GRANT_PRIORITY_MAX, grantView, type GrantView } from '../../balance/grants';
import { grantFromRow } from '../../balance/service';
import { LIMITS } from '../../config';
import { LedgerEntry } from '../../db/entities';
import { badInput } from '../../errors';
import type { Resolvers } from '../generated/resolvers-types';
import { requireAdmin, requireViewer } from '../guards';

/** The sources an admin may grant from; the others are the service's own (sign-up, allowance, purchase, refund). */
const ADMIN_SOURCES = ['ADMIN', 'PROMOTION'] as const;

const grantFields = {
  amount: z.number().int().min(1, 'amount: must be positive').max(LIMITS.grantTokensMax, `amount: at most ${LIMITS.grantTokensMax}`),
  reason: z.string().trim().min(1, 'reason: required').max(LIMITS.shortInputCharsMax, `reason: at most ${LIMITS.shortInputCharsMax} characters`),
  expiresAt: z.date().nullish(),
  priority: z.number().int().min(0, 'priority: 0 or more').max(GRANT_PRIORITY_MAX, `priority: at most ${GRANT_PRIORITY_MAX}`).nullish(),
  source: z.enum(ADMIN_SOURCES, { error: `source: one of ${ADMIN_SOURCES.join(', ')}` }),
};
const idempotencyKey = z
  .string()
  .trim()
  .min(1, 'idempotencyKey: empty')
  .max(LIMITS.idempotencyKeyCharsMax, `idempotencyKey: at most ${LIMITS.idempotencyKeyCharsMax} characters`);

export const grantSchema = z.object({ userId: z.uuid('userId: not a user id'), ...grantFields, idempotencyKey: idempotencyKey.nullish() });
export const refundSchema = z.object({
  ledgerEntryId: z.uuid('ledgerEntryId: not a ledger entry id'),
  amount: z.number().int().min(1, 'amount: must be positive').max(LIMITS.grantTokensMax, `amount: at most ${LIMITS.grantTokensMax}`).nullish(),
  reason: grantFields.reason,
  idempotencyKey: idempotencyKey.nullish(),
});
const setPlanSchema = z.object({
  userId: z.uuid('userId: not a user id'),
  plan: z.string().trim().min(1, 'plan: required').max(LIMITS.shortInputCharsMax, `plan: at most ${LIMITS.shortInputCharsMax} characters`),
});
export const bulkGrantSchema = z.object({
  userIds: z.array(z.uuid('userIds: not a user id')).min(1, 'userIds: at least one').max(LIMITS.grantBulkUsersMax, `userIds: at most ${LIMITS.grantBulkUsersMax}`),
  ...grantFields,
  idempotencyKey,
});

/** An expiry must lie ahead, and not beyond grantExpiresInMsMax. */
export function expiryMs(expiresAt: Date | null | undefined, nowMs: number): number | null {
  if (!expiresAt) return null;
  const ms = expiresAt.getTime();
  if (ms <= nowMs) throw badInput('expiresAt: must be in the future', 'expiresAt');
  if (ms - nowMs > LIMITS.grantExpiresInMsMax) throw badInput('expiresAt: at most 10 years ahead', 'expiresAt');
  return ms;
}

interface StoredGrantRow {
  id: string;
  user_id: string;
  source: string;
  amount: string;
  remaining: string;
  priority: number;
  expires_at: Date | string | null;
  created_at: Date | string;
  reason: string;
  idempotency_key: string | null;
  ledger_entry_id: string | null;
  expired_at: Date | string | null;
}

export const creditResolvers: Resolvers = {
  Query: {
    tokenGrants: async (_, { includeExpired }, ctx) => {
      const viewer = requireViewer(ctx);
      const live = (await ctx.services.balance.grants(viewer.userId)).slice(0, LIMITS.grantsListedMax);
      if (!includeExpired || live.length >= LIMITS.grantsListedMax) return live;
      // Spent or expired grants are not in memory: read them, newest first.
      const rows = await ctx.services.orm.em.fork().execute<StoredGrantRow[]>(
        `select id, user_id, source, amount, remaining, priority, expires_at, created_at, reason, idempotency_key, ledger_entry_id, expired_at
           from token_grants where user_id = ? and (remaining = 0 or expired_at is not null)
          order by created_at desc, id desc limit ?`,
        [viewer.userId, LIMITS.grantsListedMax],
      );
      const liveIds = new Set(live.map((g) => g.id));
      const done: GrantView[] = rows.filter((r) => !liveIds.has(r.id)).map((r) => grantView(grantFromRow(r)));
      return [...live, ...done].slice(0, LIMITS.grantsListedMax);
    },
  },
  LedgerEntry: {
    refersTo: async (entry, _, ctx) => {
      const refersTo = entry.metadata.refersTo;
      if (typeof refersTo !== 'string') return null;
      return ctx.services.orm.em.fork().findOne(LedgerEntry, { id: refersTo }, { exclude: ['user'] });
    },
  },
  Mutation: {
    setUserPlan: async (_, { input }, ctx) => {
      await requireAdmin(ctx);
      const parsed = parseInput(setPlanSchema, input);
      const result = await ctx.services.balance.setPlan(parsed.userId, parsed.plan);
      return { user: await ctx.services.accounts.user(parsed.userId), ...result };
    },
    refundCharge: async (_, { input }, ctx) => {
      const admin = await requireAdmin(ctx);
      const parsed = parseInput(refundSchema, input);
      const refunded = await ctx.services.balance.refundCharge(parsed.ledgerEntryId, {
        amount: parsed.amount ?? undefined,
        reason: parsed.reason,
        idempotencyKey: parsed.idempotencyKey ?? undefined,
        details: { grantedBy: admin.userId },
      });
      return { refund: refunded.entry, balance: refunded.snapshot };
    },
    grantTokensBulk: async (_, { input }, ctx) => {
      const admin = await requireAdmin(ctx);
      const parsed = parseInput(bulkGrantSchema, input);
      const results = await ctx.services.balance.grantTokensBulk(
        parsed.userIds,
        {
          amount: parsed.amount,
          reason: parsed.reason,
          source: parsed.source,
          priority: parsed.priority ?? undefined,
          expiresAtMs: expiryMs(parsed.expiresAt, Date.now()),
          details: { grantedBy: admin.userId },
        },
        parsed.idempotencyKey,
      );
      return {
        grants: results.map((r) => ({ userId: r.ledgerEntry.user, grant: r.grant, balance: r.snapshot, replayed: r.replayed })),
      };
    },
  },
};
