import { LIMITS } from '../../config';
import { connection } from '../../paging';
import { purchaseCursor } from '../../purchases/store';
import type { Resolvers } from '../generated/resolvers-types';
import { requireAdmin, requireViewer } from '../guards';

export const purchaseResolvers: Resolvers = {
  Query: {
    tokenPackages: (_, __, ctx) => ctx.services.purchases.packages(),
    tokenPurchases: async (_, { first, after }, ctx) => {
      const viewer = requireViewer(ctx);
      const page = await ctx.services.purchases.purchases(viewer.userId, first ?? LIMITS.pageSizeDefault, after);
      return connection(page.purchases, page.hasNextPage, (p) => purchaseCursor.encode(p));
    },
  },
  Mutation: {
    purchaseTokenPackage: (_, { input }, ctx) => ctx.services.purchases.purchase(requireViewer(ctx).userId, input),
    upsertTokenPackage: async (_, { input }, ctx) => {
      await requireAdmin(ctx);
      return { package: await ctx.services.purchases.upsertPackage(input) };
    },
  },
};
