import { parseInput } from '../../input';
import { ledgerCursor, ledgerPage } from '../../balance/ledger';
import { LIMITS } from '../../config';
import { connection } from '../../paging';
import { nanoToUsd } from '../../ai/pricing';
import { topics, withFirst } from '../../realtime/pubsub';
import type { Resolvers } from '../generated/resolvers-types';
import type { BalanceModel } from '../models';
import { requireAdmin, requireViewer } from '../guards';
import { expiryMs, grantSchema } from './credits';

/** Ledger metadata about the service's staff, not about the tokens: shown to admins only. */
const ADMIN_ONLY_DETAILS: readonly string[] = ['grantedBy'];

function withoutAdminDetails(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => !ADMIN_ONLY_DETAILS.includes(key)));
}

export const balanceResolvers: Resolvers = {
  Query: {
    tokenBalance: (_, __, ctx) => ctx.services.balance.snapshot(requireViewer(ctx).userId),
    tokenLedger: async (_, { first, after }, ctx) => {
      const viewer = requireViewer(ctx);
      const page = await ledgerPage(ctx.services.orm, viewer.userId, first ?? LIMITS.pageSizeDefault, after);
      return connection(page.entries, page.hasNextPage, (entry) => ledgerCursor.encode(entry.seq));
    },
  },
  Mutation: {
    grantTokens: async (_, { input }, ctx) => {
      const admin = await requireAdmin(ctx);
      const parsed = parseInput(grantSchema, input);
      const granted = await ctx.services.balance.grantTokens(parsed.userId, {
        amount: parsed.amount,
        reason: parsed.reason,
        source: parsed.source,
        priority: parsed.priority ?? undefined,
        expiresAtMs: expiryMs(parsed.expiresAt, Date.now()),
        idempotencyKey: parsed.idempotencyKey ?? undefined,
        details: { grantedBy: admin.userId },
      });
      // From memory, not read back: once the grant is committed, nothing may turn it into an error.
      return { balance: granted.snapshot, ledgerEntry: granted.ledgerEntry, grant: granted.grant };
    },
  },
  Subscription: {
    balanceChanged: {
      subscribe: async (_, __, ctx) => {
        const viewer = requireViewer(ctx);
        const { pubsub, balance } = ctx.services;
        const topic = topics.balance(viewer.userId);
        // Heard from every instance first, then the state read: no change falls between the two.
        const events = pubsub.subscribe<BalanceModel>(topic, { latestOnly: true });
        try {
          await pubsub.listening(topic);
          return withFirst(await balance.snapshot(viewer.userId, 'committed'), events);
        } catch (err) {
          await events.return?.();
          throw err;
        }
      },
      resolve: (snapshot: BalanceModel) => snapshot,
    },
  },
  LedgerEntry: {
    costUsd: (entry) => nanoToUsd(entry.costNanoUsd),
    details: (entry, _, ctx) => (ctx.viewer?.role === 'ADMIN' ? entry.metadata : withoutAdminDetails(entry.metadata)),
  },
};
