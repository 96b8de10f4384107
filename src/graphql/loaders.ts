import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Brand } from '../db/entities';
import type { BrandModel } from './models';
import { brandUsageLoader, type TokenUsageView } from '../monitoring/usage';

/** Per-request batching: the number of queries does not grow with the number of parents. */
export interface Loaders {
  brandsByOwner: DataLoader<string, BrandModel[]>;
  brandUsage: DataLoader<{ brandId: string; days: number }, TokenUsageView, string>;
}

export function createLoaders(orm: MikroORM): Loaders {
  return {
    brandsByOwner: new DataLoader(async (ownerIds) => {
      const brands = await orm.em.fork().find(Brand, { owner: { $in: [...ownerIds] } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
      const byOwner = new Map<string, BrandModel[]>(ownerIds.map((id) => [id, []]));
      for (const brand of brands) byOwner.get(brand.owner.id)?.push(brand);
      return ownerIds.map((id) => byOwner.get(id) ?? []);
    }),
    brandUsage: brandUsageLoader(orm),
  };
}
