import type { Resolvers } from '../generated/resolvers-types';
import { requireViewer } from '../guards';

export const accountResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => ctx.services.accounts.user(requireViewer(ctx).userId),
    brand: (_, { id }, ctx) => ctx.services.accounts.ownedBrand(requireViewer(ctx).userId, id),
  },
  Mutation: {
    signUp: (_, { input }, ctx) => ctx.services.accounts.signUp(input),
    signIn: (_, { input }, ctx) => ctx.services.accounts.signIn(input),
    createBrand: async (_, { input }, ctx) => ({
      brand: await ctx.services.accounts.createBrand(requireViewer(ctx).userId, input),
    }),
  },
  User: {
    balance: (user, _, ctx) => ctx.services.balance.snapshot(user.id),
    brands: (user, _, ctx) => ctx.loaders.brandsByOwner.load(user.id),
  },
};
