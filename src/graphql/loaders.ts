import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Brand } from '../db/entities';
import { notFound } from '../errors';
import type { BrandModel } from './models';
import { brandUsageLoader, type TokenUsageView } from '../monitoring/usage';
import { generationByLedgerEntryLoader } from '../generation/store';
import type { IGeneration } from '../db/entities';

/** Per-request batching: the number of queries does not grow with the number of parents. */
export interface Loaders {
  brandsByOwner: DataLoader<string, BrandModel[]>;
  /** Only for brands the viewer is already known to own (e.g. a flow run's); ownership is not checked here. */
  brandById: DataLoader<string, BrandModel>;
  brandUsage: DataLoader<{ brandId: string; days: number }, TokenUsageView, string>;
  generationByLedgerEntry: DataLoader<string, IGeneration | null>;
}

export function createLoaders(orm: MikroORM): Loaders {
  return {
    brandsByOwner: new DataLoader(async (ownerIds) => {
      const brands = await orm.em.fork().find(Brand, { owner: { $in: [...ownerIds] } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
      const byOwner = new Map<string, BrandModel[]>(ownerIds.map((id) => [id, []]));
      for (const brand of brands) byOwner.get(brand.owner.id)?.push(brand);
      return ownerIds.map((id) => byOwner.get(id) ?? []);
    }),
    brandById: new DataLoader<string, BrandModel>(async (ids) => {
      const brands = await orm.em.fork().find(Brand, { id: { $in: [...ids] } });
      const byId = new Map<string, BrandModel>(brands.map((brand) => [brand.id, brand]));
      return ids.map((id) => byId.get(id) ?? notFound('brand'));
    }),
    brandUsage: brandUsageLoader(orm),
    generationByLedgerEntry: generationByLedgerEntryLoader(orm),
  };
}
