import { z } from 'zod';
import { parseInput } from '../../input';
import { changeRole } from '../../accounts/roles';
import type { Resolvers } from '../generated/resolvers-types';
import { requireAdmin, requireViewer } from '../guards';

const setRoleSchema = z.object({ userId: z.uuid('userId: not a user id') });

export const accountResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => ctx.services.accounts.user(requireViewer(ctx).userId),
    brand: (_, { id }, ctx) => ctx.services.accounts.ownedBrand(requireViewer(ctx).userId, id),
  },
  Mutation: {
    signUp: (_, { input }, ctx) => ctx.services.accounts.signUp(input, ctx.clientAddress),
    signIn: (_, { input }, ctx) => ctx.services.accounts.signIn(input, ctx.clientAddress),
    createBrand: async (_, { input }, ctx) => ({
      brand: await ctx.services.accounts.createBrand(requireViewer(ctx).userId, input),
    }),
    setUserRole: async (_, { input }, ctx) => {
      const admin = await requireAdmin(ctx);
      const { userId } = parseInput(setRoleSchema, input);
      const { user, previousRole, changed } = await changeRole(ctx.services.orm, { id: userId }, input.role, { channel: 'API', adminId: admin.userId });
      if (changed) ctx.services.log.info({ userId, role: input.role, previousRole, changedBy: admin.userId }, 'role changed');
      return { user, previousRole };
    },
  },
  User: {
    balance: (user, _, ctx) => ctx.services.balance.snapshot(user.id),
    brands: (user, _, ctx) => ctx.loaders.brandsByOwner.load(user.id),
  },
};
