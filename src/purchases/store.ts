import type { MikroORM } from '@mikro-orm/postgresql';
import type { JournalEntry } from '../balance/actor';
import type { AttachmentWriter, BoundStatement } from '../balance/flusher';
import { TokenPackage, TokenPurchase, type ITokenPackage, type ITokenPurchase, type PurchaseStatus } from '../db/entities';
import { checkPageSize, decodeAfter, keysetCursor } from '../paging';

/**
 * Carried on a purchase's GRANT or REVOKE journal entry: what the purchase becomes, and the Stripe
 * event that caused it, written in the same commit as the tokens move. Values are absolute (not
 * increments), so two entries for one purchase in one batch fold into the last one's values.
 */
export interface PurchaseAttachment {
  purchaseId: string;
  status: PurchaseStatus;
  /** On the grant: the purchase is completed now, and this entry is its grant. */
  completedAt?: string;
  paymentIntentId?: string | null;
  /** On a revoke: the totals after it. */
  revokedTokens?: number;
  deficitTokens?: number;
  event?: { id: string; type: string };
}

export const PURCHASE_ATTACHMENT = 'purchase';

function purchaseOf(entry: JournalEntry): PurchaseAttachment | undefined {
  return entry.attachments[PURCHASE_ATTACHMENT] as PurchaseAttachment | undefined;
}

/** The purchases' new state, one row per purchase (later entries of the batch win, field by field). */
export const purchaseWriter: AttachmentWriter = {
  name: 'token_purchases',
  statement(entries: readonly JournalEntry[]): BoundStatement | null {
    const rows = new Map<string, Record<string, unknown>>();
    for (const entry of entries) {
      const p = purchaseOf(entry);
      if (!p) continue;
      const row = rows.get(p.purchaseId) ?? { id: p.purchaseId };
      row.status = p.status;
      if (p.completedAt !== undefined) Object.assign(row, { completed_at: p.completedAt, grant_entry_id: entry.id });
      if (p.paymentIntentId !== undefined) row.payment_intent_id = p.paymentIntentId;
      if (p.revokedTokens !== undefined) row.revoked_tokens = p.revokedTokens;
      if (p.deficitTokens !== undefined) row.deficit_tokens = p.deficitTokens;
      rows.set(p.purchaseId, row);
    }
    if (rows.size === 0) return null;
    return {
      sql: `update token_purchases p set
              status = r.status,
              completed_at = coalesce(r.completed_at, p.completed_at),
              grant_entry_id = coalesce(r.grant_entry_id, p.grant_entry_id),
              payment_intent_id = coalesce(r.payment_intent_id, p.payment_intent_id),
              revoked_tokens = coalesce(r.revoked_tokens, p.revoked_tokens),
              deficit_tokens = coalesce(r.deficit_tokens, p.deficit_tokens),
              updated_at = now()
         from json_to_recordset(?::json) as r(id uuid, status text, completed_at timestamptz, grant_entry_id uuid,
              payment_intent_id text, revoked_tokens bigint, deficit_tokens bigint)
        where p.id = r.id`,
      params: [JSON.stringify([...rows.values()])],
    };
  },
};

/**
 * The Stripe events the batch acted on. `on conflict do nothing`: an event id is recorded once, and a
 * conflict here must never fail the batch (it would be bisected and the grant written without it).
 */
export const stripeEventWriter: AttachmentWriter = {
  name: 'stripe_events',
  statement(entries: readonly JournalEntry[]): BoundStatement | null {
    const rows = [];
    for (const entry of entries) {
      const p = purchaseOf(entry);
      if (p?.event) rows.push({ id: p.event.id, type: p.event.type, purchase_id: p.purchaseId, ledger_entry_id: entry.id });
    }
    if (rows.length === 0) return null;
    return {
      sql: `insert into stripe_events (id, type, purchase_id, ledger_entry_id)
       select * from json_to_recordset(?::json) as r(id text, type text, purchase_id uuid, ledger_entry_id uuid)
       on conflict (id) do nothing`,
      params: [JSON.stringify(rows)],
    };
  },
};

/** The purchases connection's cursor: (created_at, id), newest first. */
export const purchaseCursor = keysetCursor('purchases');

export async function purchasesPage(orm: MikroORM, userId: string, first: number, after: string | null | undefined): Promise<{ purchases: ITokenPurchase[]; hasNextPage: boolean }> {
  checkPageSize(first);
  const position = decodeAfter(purchaseCursor, after);
  const where = position
    ? { userId, $or: [{ createdAt: { $lt: position.createdAt } }, { createdAt: position.createdAt, id: { $lt: position.id } }] }
    : { userId };
  const rows = await orm.em.fork().find(TokenPurchase, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 });
  return { purchases: rows.slice(0, first), hasNextPage: rows.length > first };
}

export async function activePackages(orm: MikroORM): Promise<ITokenPackage[]> {
  return orm.em.fork().find(TokenPackage, { active: true }, { orderBy: { priceCents: 'asc', id: 'asc' } });
}
