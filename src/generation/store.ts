import type { MikroORM } from '@mikro-orm/postgresql';
import type { JournalEntry } from '../balance/actor';
import type { AttachmentWriter, BoundStatement } from '../balance/flusher';
import DataLoader from 'dataloader';
import { z } from 'zod';
import { Generation, type IGeneration } from '../db/entities';
import { notFound } from '../errors';
import { checkPageSize, decodeAfter, keysetCursor } from '../paging';
import { generationOf } from './attachment';

/** Writes what each paid generation produced, so a user can see what they paid for. */
export const generationWriter: AttachmentWriter = {
  name: 'generations',
  statement(entries: readonly JournalEntry[]): BoundStatement | null {
    const rows = [];
    for (const entry of entries) {
      const g = generationOf(entry);
      if (!g) continue;
      rows.push({
        id: g.id,
        user_id: entry.actor.userId,
        brand_id: g.brandId,
        ledger_entry_id: entry.id,
        task_type: g.taskType,
        status: g.status,
        model: g.model,
        prompt_tokens: entry.promptTokens,
        completion_tokens: entry.completionTokens,
        cost_nano_usd: entry.costNanoUsd,
        idempotency_key: entry.idempotencyKey,
        request_fingerprint: g.requestFingerprint ?? null,
        output: g.output,
        created_at: entry.createdAt.toISOString(),
      });
    }
    if (rows.length === 0) return null;
    return {
      sql: `insert into generations (id, user_id, brand_id, ledger_entry_id, task_type, status, model, prompt_tokens,
              completion_tokens, cost_nano_usd, idempotency_key, request_fingerprint, output, created_at)
       select * from json_to_recordset(?::json) as r(id uuid, user_id uuid, brand_id uuid, ledger_entry_id uuid,
              task_type text, status text, model text, prompt_tokens int, completion_tokens int, cost_nano_usd bigint,
              idempotency_key text, request_fingerprint text, output jsonb, created_at timestamptz)`,
      params: [JSON.stringify(rows)],
    };
  },
};

/** The stored generation a user already paid for under this idempotency key, if any. */
export async function findGenerationByKey(orm: MikroORM, userId: string, idempotencyKey: string): Promise<IGeneration | null> {
  return orm.em.fork().findOne(Generation, { userId, idempotencyKey });
}

export interface GenerationPage {
  generations: IGeneration[];
  hasNextPage: boolean;
}

/** The generations connection's cursor: (created_at, id), newest first. */
export const generationCursor = keysetCursor('generations');

/** A brand's generations, newest first. The caller has checked that the viewer owns the brand. */
export async function generationsPage(orm: MikroORM, brandId: string, first: number, after: string | null | undefined): Promise<GenerationPage> {
  checkPageSize(first);
  const position = decodeAfter(generationCursor, after);
  const where = position
    ? { brandId, $or: [{ createdAt: { $lt: position.createdAt } }, { createdAt: position.createdAt, id: { $lt: position.id } }] }
    : { brandId };
  const rows = await orm.em.fork().find(Generation, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 });
  return { generations: rows.slice(0, first), hasNextPage: rows.length > first };
}

/** One of the user's generations; NOT_FOUND for anyone else's. */
export async function ownedGeneration(orm: MikroORM, userId: string, id: string): Promise<IGeneration> {
  if (!z.uuid().safeParse(id).success) throw notFound('generation');
  const generation = await orm.em.fork().findOne(Generation, { id, userId });
  if (!generation) throw notFound('generation');
  return generation;
}

/** Per-request loader: the generation each ledger entry paid for, one query for a whole page. */
export function generationByLedgerEntryLoader(orm: MikroORM): DataLoader<string, IGeneration | null> {
  return new DataLoader(async (entryIds) => {
    const rows = await orm.em.fork().find(Generation, { ledgerEntryId: { $in: [...entryIds] } });
    const byEntry = new Map(rows.map((g) => [g.ledgerEntryId, g]));
    return entryIds.map((id) => byEntry.get(id) ?? null);
  });
}
