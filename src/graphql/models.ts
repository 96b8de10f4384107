import type { BalanceSnapshot } from '../balance/actor';
import type { GrantView } from '../balance/grants';
import type { IBrand, IGeneration, ILedgerEntry, ITokenAlert, ITokenPackage, ITokenPurchase, IUser } from '../db/entities';
import type { FlowEvent, FlowRunModel, FlowStepModel } from '../flows/model';

/** What resolvers receive as parents (codegen mappers): our entities, the balance snapshot and flow runs. */
export type UserModel = Pick<IUser, 'id' | 'email' | 'role' | 'plan' | 'createdAt'>;
/** With its owner: a brand's quota lives in its owner's balance. */
export type BrandModel = Pick<IBrand, 'id' | 'owner' | 'name' | 'description' | 'industry' | 'audience' | 'createdAt'>;
export type BalanceModel = BalanceSnapshot;
export type GrantModel = GrantView;
export type LedgerEntryModel = Omit<ILedgerEntry, 'user' | 'seq'>;
export type AlertModel = ITokenAlert;
export type { FlowRunModel, FlowStepModel };
export type FlowEventModel = FlowEvent;
export type GenerationModel = IGeneration;
export type TokenPackageModel = ITokenPackage;
export type TokenPurchaseModel = ITokenPurchase;
