import type { JournalEntry } from '../balance/actor';
import type { AttachmentWriter, BoundStatement } from '../balance/flusher';

/**
 * Keeps brand_token_usage (brand, UTC day, task) in step with the ledger: the tokens are what each
 * CHARGE took from the balance, so analytics always equal the ledger's sums. Rows are summed per
 * batch first, because one upsert statement may not touch the same row twice.
 */
export const brandUsageWriter: AttachmentWriter = {
  name: 'brand_token_usage',
  // Only ledger fields: kept with a charge whose attachments cannot be written, because a brand's
  // quota usage is loaded from this table (src/balance/quotas.ts) and must count every charge.
  fromLedgerFields: true,
  statement(entries: readonly JournalEntry[]): BoundStatement | null {
    const rows = new Map<string, { brand_id: string; usage_date: string; task_type: string; tokens: number; requests: number; cost_nano_usd: number }>();
    for (const entry of entries) {
      if (entry.kind !== 'CHARGE' || !entry.brandId || !entry.taskType) continue;
      const usageDate = entry.createdAt.toISOString().slice(0, 10);
      const key = `${entry.brandId}|${usageDate}|${entry.taskType}`;
      const row = rows.get(key) ?? { brand_id: entry.brandId, usage_date: usageDate, task_type: entry.taskType, tokens: 0, requests: 0, cost_nano_usd: 0 };
      row.tokens += -entry.amount;
      row.requests += 1;
      row.cost_nano_usd += entry.costNanoUsd;
      rows.set(key, row);
    }
    if (rows.size === 0) return null;
    return {
      sql: `insert into brand_token_usage (brand_id, usage_date, task_type, tokens, requests, cost_nano_usd)
       select * from json_to_recordset(?::json) as r(brand_id uuid, usage_date date, task_type text, tokens bigint,
              requests int, cost_nano_usd bigint)
       on conflict (brand_id, usage_date, task_type) do update
          set tokens = brand_token_usage.tokens + excluded.tokens,
              requests = brand_token_usage.requests + excluded.requests,
              cost_nano_usd = brand_token_usage.cost_nano_usd + excluded.cost_nano_usd`,
      params: [JSON.stringify([...rows.values()])],
    };
  },
};
