import type { MikroORM } from '@mikro-orm/postgresql';
import { LedgerEntry, type ILedgerEntry } from '../db/entities';
import { checkPageSize, decodeAfter, sequenceCursor } from '../paging';
import { tokensFromDb } from './invariants';
import type { JournalEntry } from './actor';

/** A ledger entry as callers see it, with its user's id. */
export type LedgerRow = Omit<ILedgerEntry, 'user' | 'seq'> & { user: string };

/** A journal entry as the ledger row it becomes (built from memory: once committed, nothing may turn it into an error). */
export function ledgerRow(e: JournalEntry): LedgerRow {
  return {
    id: e.id,
    user: e.actor.userId,
    kind: e.kind,
    amount: e.amount,
    balanceAfter: e.balanceAfter,
    brandId: e.brandId,
    taskType: e.taskType,
    model: e.model,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    costNanoUsd: e.costNanoUsd,
    idempotencyKey: e.idempotencyKey,
    holdId: e.holdId,
    metadata: e.metadata,
    createdAt: e.createdAt,
  };
}

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
  /** The sum of the user's grants' remaining (set when the grants are what disagree). */
  grantsRemaining?: number;
}

/** A grant whose remaining is not what its ledger burns leave, or a burn of a grant that does not exist. */
export interface GrantMismatch {
  grantId: string;
  userId: string | null;
  amount: number;
  remaining: number;
  burned: number;
}

/** A ledger entry whose amount is not what it created in grants minus what it burned. */
export interface EntryMismatch {
  entryId: string;
  amount: number;
  created: number;
  burned: number;
}

export interface LedgerReport {
  users: number;
  grants: number;
  /** Users whose balance differs from the sum of their ledger or from the sum of their grants. */
  mismatches: LedgerMismatch[];
  grantMismatches: GrantMismatch[];
  entryMismatches: EntryMismatch[];
}

/** Rows of each kind of mismatch reported (the count is exact only up to it). */
const MISMATCHES_REPORTED_MAX = 1_000;

/**
 * The books, recomputed from the ledger:
 * - every user's balance equals the sum of their ledger, and the sum of their grants' remaining;
 * - every grant's remaining equals its amount minus what ledger entries burned from it (a refund's
 *   burn is negative), and every burn names an existing grant;
 * - every entry that created or burned grants changed the balance by exactly what it created minus
 *   what it burned (entries from before grants, which did neither, are not checked).
 * All empty means the books balance.
 */
export async function verifyLedger(orm: MikroORM): Promise<LedgerReport> {
  const { users, mismatches } = await verifyBalances(orm);
  const em = orm.em.fork();
  const [grantCount] = await em.execute<Array<{ n: string }>>('select count(*) as n from token_grants');
  const grantRows = await em.execute<Array<{ id: string; user_id: string | null; amount: string; remaining: string; burned: string }>>(
    `select coalesce(g.id, b.grant_id) as id, g.user_id, coalesce(g.amount, 0) as amount, coalesce(g.remaining, 0) as remaining,
            coalesce(b.burned, 0) as burned
       from token_grants g
       full join (select grant_id, sum(amount) as burned from ledger_grant_burns group by grant_id) b on b.grant_id = g.id
      where g.id is null or g.remaining <> g.amount - coalesce(b.burned, 0)
      limit ${MISMATCHES_REPORTED_MAX}`,
  );
  const userGrantRows = await em.execute<Array<{ id: string; tokens: string; remaining: string }>>(
    `select u.id, u.tokens, coalesce(g.remaining, 0) as remaining
       from users u
       left join (select user_id, sum(remaining) as remaining from token_grants group by user_id) g on g.user_id = u.id
      where u.tokens <> coalesce(g.remaining, 0)
      limit ${MISMATCHES_REPORTED_MAX}`,
  );
  const entryRows = await em.execute<Array<{ id: string; amount: string; created: string; burned: string }>>(
    `select l.id, l.amount, coalesce(c.created, 0) as created, coalesce(b.burned, 0) as burned
       from token_ledger l
       left join (select ledger_entry_id, sum(amount) as created from token_grants where ledger_entry_id is not null group by ledger_entry_id) c
              on c.ledger_entry_id = l.id
       left join (select ledger_entry_id, sum(amount) as burned from ledger_grant_burns group by ledger_entry_id) b
              on b.ledger_entry_id = l.id
      where (c.created is not null or b.burned is not null) and l.amount <> coalesce(c.created, 0) - coalesce(b.burned, 0)
      limit ${MISMATCHES_REPORTED_MAX}`,
  );
  return {
    users,
    grants: Number(grantCount?.n ?? 0),
    mismatches: mergeByUser(
      mismatches,
      userGrantRows.map((r) => ({ userId: r.id, tokens: tokensFromDb(r.tokens, 'users.tokens'), grantsRemaining: tokensFromDb(r.remaining, 'grants remaining') })),
    ),
    grantMismatches: grantRows.map((r) => ({
      grantId: r.id,
      userId: r.user_id,
      amount: tokensFromDb(r.amount, 'token_grants.amount'),
      remaining: tokensFromDb(r.remaining, 'token_grants.remaining'),
      burned: tokensFromDb(r.burned, 'burned'),
    })),
    entryMismatches: entryRows.map((r) => ({
      entryId: r.id,
      amount: tokensFromDb(r.amount, 'token_ledger.amount'),
      created: tokensFromDb(r.created, 'created'),
      burned: tokensFromDb(r.burned, 'burned'),
    })),
  };
}

/** One mismatch per user: the ledger's, with the grants' sum added where that differs too. */
function mergeByUser(ledger: LedgerMismatch[], grants: Array<{ userId: string; tokens: number; grantsRemaining: number }>): LedgerMismatch[] {
  const byUser = new Map(ledger.map((m) => [m.userId, m]));
  for (const g of grants) {
    const known = byUser.get(g.userId);
    if (known) known.grantsRemaining = g.grantsRemaining;
    // The ledger matches: ledgerSum is the balance itself.
    else byUser.set(g.userId, { userId: g.userId, tokens: g.tokens, ledgerSum: g.tokens, grantsRemaining: g.grantsRemaining });
  }
  return [...byUser.values()];
}

/** Every user whose balance differs from the sum of their ledger. */
async function verifyBalances(orm: MikroORM): Promise<{ users: number; mismatches: LedgerMismatch[] }> {
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
 * one PURCHASE grant (token_grants) under its key `purchase:<id>`, and no other purchase has one.
 */
export async function verifyPurchases(orm: MikroORM): Promise<{ completed: number; problems: PurchaseProblem[] }> {
  const em = orm.em.fork();
  const rows = await em.execute<Array<{ id: string; status: string; grants: string }>>(
    `select p.id, p.status, count(g.id) as grants
       from token_purchases p
       left join token_grants g on g.user_id = p.user_id and g.idempotency_key = 'purchase:' || p.id::text and g.source = 'PURCHASE'
      group by p.id, p.status`,
  );
  const granted = new Set(['COMPLETED', 'REFUNDED', 'PARTIALLY_REFUNDED']);
  const problems = rows
    .filter((r) => Number(r.grants) !== (granted.has(r.status) ? 1 : 0))
    .map((r) => ({ purchaseId: r.id, status: r.status, grants: Number(r.grants) }));
  return { completed: rows.filter((r) => granted.has(r.status)).length, problems };
}
