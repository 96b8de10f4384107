import { z } from 'zod';
import { parseInput } from '../../input';
import { BALANCE_TOKENS_MAX } from '../../balance/service';
import { forbidden } from '../../errors';
import type { Resolvers } from '../generated/resolvers-types';
import { requireAdmin, requireViewer } from '../guards';
import type { BrandModel } from '../models';

const setQuotaSchema = z.object({
  brandId: z.string(),
  monthlyTokens: z
    .number()
    .int()
    .min(0, 'monthlyTokens: 0 or more (null removes the quota)')
    .max(BALANCE_TOKENS_MAX, `monthlyTokens: at most ${BALANCE_TOKENS_MAX}`)
    .nullable(),
});

const ownerOf = (brand: BrandModel) => brand.owner.id;

export const limitResolvers: Resolvers = {
  Mutation: {
    /** The brand's owner, or an admin for any brand (re-checked against the database). */
    setBrandQuota: async (_, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const { brandId, monthlyTokens } = parseInput(setQuotaSchema, { brandId: input.brandId, monthlyTokens: input.monthlyTokens ?? null });
      const accounts = ctx.services.accounts;
      const brand = viewer.role === 'ADMIN' ? await accounts.anyBrand(brandId) : await accounts.ownedBrand(viewer.userId, brandId);
      // Another user's brand: only while the viewer is still an admin.
      if (ownerOf(brand) !== viewer.userId) await requireAdmin(ctx);
      await ctx.services.balance.setBrandQuota(ownerOf(brand), brand.id, monthlyTokens);
      ctx.services.log.info({ brandId: brand.id, ownerId: ownerOf(brand), monthlyTokens, setBy: viewer.userId }, 'brand quota set');
      return { brand };
    },
  },
  User: {
    rateLimits: (user, _, ctx) => {
      const viewer = requireViewer(ctx);
      if (viewer.userId !== user.id && viewer.role !== 'ADMIN') throw forbidden('only the user themselves or an ADMIN');
      return ctx.services.balance.rateLimits(user.id);
    },
  },
  Brand: {
    quota: (brand, _, ctx) => ctx.services.balance.brandQuota(ownerOf(brand), brand.id),
  },
};
