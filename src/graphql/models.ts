import type { BalanceSnapshot } from '../balance/actor';
import type { IBrand, ILedgerEntry, ITokenAlert, IUser } from '../db/entities';

/** What resolvers receive as parents (codegen mappers): our entities and the balance snapshot. */
export type UserModel = Pick<IUser, 'id' | 'email' | 'role' | 'plan' | 'createdAt'>;
export type BrandModel = Pick<IBrand, 'id' | 'name' | 'description' | 'industry' | 'audience' | 'createdAt'>;
export type BalanceModel = BalanceSnapshot;
export type LedgerEntryModel = Omit<ILedgerEntry, 'user'>;
export type AlertModel = ITokenAlert;
