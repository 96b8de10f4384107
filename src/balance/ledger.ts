import type { MikroORM } from '@mikro-orm/postgresql';
import { LedgerEntry, type ILedgerEntry } from '../db/entities';
import { checkPageSize, decodeAfter, sequenceCursor } from '../paging';
import { tokensFromDb } from './invariants';

export interface LedgerPage {
  entries: Array<Omit<ILedgerEntry, 'user'>>;
  hasNextPage: boolean;
}

/** The ledger connection's cursor: the entry's commit sequence. */
export const ledgerCursor = sequenceCursor('ledger');

/** A user's ledger, newest first, keyset-paginated on the commit sequence. */
export async function ledgerPage(orm: MikroORM, userId: string, first: number, after: string | null | undefined): Promise<LedgerPage> {
  checkPageSize(first);
  const before = decodeAfter(ledgerCursor, after);
  const rows = await orm.em
    .fork()
    .find(LedgerEntry, before === undefined ? { user: userId } : { user: userId, seq: { $lt: before } }, {
      orderBy: { seq: 'desc' },
      limit: first + 1,
      exclude: ['user'],
    });
  return { entries: rows.slice(0, first), hasNextPage: rows.length > first };
}

export interface LedgerMismatch {
  userId: string;
  tokens: number;
  ledgerSum: number;
}

/** Every user whose balance differs from the sum of their ledger. Empty means the books balance. */
export async function verifyLedger(orm: MikroORM): Promise<{ users: number; mismatches: LedgerMismatch[] }> {
  const em = orm.em.fork();
  const [count] = await em.execute<Array<{ n: string }>>('select count(*) as n from users');
  // A full join: a ledger row whose user is gone is a mismatch too (the ledger has no foreign key,
  // see migration 6).
  const rows = await em.execute<Array<{ id: string; tokens: string; ledger_sum: string }>>(
    `select coalesce(u.id, l.user_id) as id, coalesce(u.tokens, 0) as tokens, coalesce(l.total, 0) as ledger_sum
       from users u
       full join (select user_id, sum(amount) as total from token_ledger group by user_id) l on l.user_id = u.id
      where u.id is null or u.tokens <> coalesce(l.total, 0)`,
  );
  return {
    users: Number(count?.n ?? 0),
    mismatches: rows.map((r) => ({
      userId: r.id,
      tokens: tokensFromDb(r.tokens, 'users.tokens'),
      ledgerSum: tokensFromDb(r.ledger_sum, 'ledger sum'),
    })),
  };
}

export interface BrandUsageMismatch {
  brandId: string;
  /** What the ledger charged to the brand this month. */
  ledgerCharged: number;
  /** What brand_token_usage holds for it this month: the `used` its owner's actor loads. */
  used: number;
}

/**
 * Every brand whose usage this month (brand_token_usage, from which a quota's `used` is derived when
 * the owner's balance loads) differs from its CHARGE entries in the ledger this month (UTC). Empty
 * means each brand's quota counts exactly what it was charged.
 */
export async function verifyBrandUsage(orm: MikroORM, nowMs = Date.now()): Promise<{ brands: number; mismatches: BrandUsageMismatch[] }> {
  const now = new Date(nowMs);
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const rows = await orm.em.fork().execute<Array<{ brand_id: string; charged: string; used: string }>>(
    `with l as (select brand_id, sum(-amount) as charged from token_ledger
                 where kind = 'CHARGE' and brand_id is not null and created_at >= ?::timestamptz group by brand_id),
          u as (select brand_id, sum(tokens) as used from brand_token_usage where usage_date >= ?::date group by brand_id)
     select coalesce(l.brand_id, u.brand_id) as brand_id, coalesce(l.charged, 0) as charged, coalesce(u.used, 0) as used
       from l full join u on u.brand_id = l.brand_id`,
    [monthStart.toISOString(), monthStart.toISOString().slice(0, 10)],
  );
  const mismatches = rows
    .map((r) => ({ brandId: r.brand_id, ledgerCharged: tokensFromDb(r.charged, 'ledger charges'), used: tokensFromDb(r.used, 'brand usage') }))
    .filter((r) => r.ledgerCharged !== r.used);
  return { brands: rows.length, mismatches };
}

export interface PurchaseProblem {
  purchaseId: string;
  status: string;
  grants: number;
}

/**
 * For `ledger:verify` (token purchases, src/purchases/, read here by their tables only): every purchase that was completed (COMPLETED, or refunded since) has exactly
 * one grant in the ledger under its key `purchase:<id>`, and no other purchase has one.
 */
export async function verifyPurchases(orm: MikroORM): Promise<{ completed: number; problems: PurchaseProblem[] }> {
  const em = orm.em.fork();
  const rows = await em.execute<Array<{ id: string; status: string; grants: string }>>(
    `select p.id, p.status, count(l.id) as grants
       from token_purchases p
       left join token_ledger l on l.user_id = p.user_id and l.idempotency_key = 'purchase:' || p.id::text and l.kind = 'GRANT'
      group by p.id, p.status`,
  );
  const granted = new Set(['COMPLETED', 'REFUNDED', 'PARTIALLY_REFUNDED']);
  const problems = rows
    .filter((r) => Number(r.grants) !== (granted.has(r.status) ? 1 : 0))
    .map((r) => ({ purchaseId: r.id, status: r.status, grants: Number(r.grants) }));
  return { completed: rows.filter((r) => granted.has(r.status)).length, problems };
}
