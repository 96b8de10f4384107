import DataLoader from 'dataloader';
import type { MikroORM } from '@mikro-orm/postgresql';
import { badInput } from '../errors';

/** Longest usage window a query may ask for. */
export const USAGE_DAYS_MAX = 366;
export const USAGE_DAYS_DEFAULT = 7;
const MS_PER_DAY = 86_400_000;

export interface TokenUsageView {
  totalTokens: number;
  avgPerDay: number;
  byTaskType: Array<{ taskType: string; tokens: number }>;
  /** Every day of the window, oldest first; days without usage have 0. */
  byDate: Array<{ date: string; tokens: number }>;
}

interface UsageRow {
  key: string;
  usage_date: string;
  task_type: string;
  tokens: string;
}

export function checkDays(days: number | null | undefined): number {
  const d = days ?? USAGE_DAYS_DEFAULT;
  if (!Number.isInteger(d) || d < 1 || d > USAGE_DAYS_MAX) throw badInput(`days: 1 to ${USAGE_DAYS_MAX}`, 'days');
  return d;
}

/** The UTC days of a window ending today, oldest first. */
export function windowDates(days: number, nowMs: number): string[] {
  const today = Math.floor(nowMs / MS_PER_DAY);
  return Array.from({ length: days }, (_, i) => new Date((today - days + 1 + i) * MS_PER_DAY).toISOString().slice(0, 10));
}

function summarize(rows: UsageRow[], dates: string[]): TokenUsageView {
  const byDate = new Map(dates.map((d) => [d, 0]));
  const byTask = new Map<string, number>();
  let total = 0;
  for (const r of rows) {
    const tokens = Number(r.tokens);
    total += tokens;
    byDate.set(r.usage_date, (byDate.get(r.usage_date) ?? 0) + tokens);
    byTask.set(r.task_type, (byTask.get(r.task_type) ?? 0) + tokens);
  }
  return {
    totalTokens: total,
    avgPerDay: total / dates.length,
    byTaskType: [...byTask].map(([taskType, tokens]) => ({ taskType, tokens })).sort((a, b) => b.tokens - a.tokens || a.taskType.localeCompare(b.taskType)),
    byDate: [...byDate].map(([date, tokens]) => ({ date, tokens })),
  };
}

/** The signed-in user's usage over all their brands (the same charges the ledger holds). */
export async function userUsage(orm: MikroORM, userId: string, days: number, nowMs = Date.now()): Promise<TokenUsageView> {
  const dates = windowDates(days, nowMs);
  const rows = await orm.em.fork().execute<UsageRow[]>(
    `select b.owner_id as key, u.usage_date::text as usage_date, u.task_type, sum(u.tokens) as tokens
       from brand_token_usage u join brands b on b.id = u.brand_id
      where b.owner_id = ? and u.usage_date >= ?::date
      group by b.owner_id, u.usage_date, u.task_type`,
    [userId, dates[0]],
  );
  return summarize(rows, dates);
}

/** Per-request loader: every brand's usage for one window in one query, however many brands. */
export function brandUsageLoader(orm: MikroORM, nowMs: () => number = Date.now): DataLoader<{ brandId: string; days: number }, TokenUsageView, string> {
  return new DataLoader(
    async (keys) => {
      const longest = Math.max(...keys.map((k) => k.days));
      const dates = windowDates(longest, nowMs());
      const rows = await orm.em.fork().execute<UsageRow[]>(
        `select brand_id::text as key, usage_date::text as usage_date, task_type, tokens
           from brand_token_usage
          where brand_id in (select value::uuid from json_array_elements_text(?::json)) and usage_date >= ?::date`,
        [JSON.stringify([...new Set(keys.map((k) => k.brandId))]), dates[0]],
      );
      return keys.map(({ brandId, days }) => {
        const own = dates.slice(dates.length - days);
        return summarize(rows.filter((r) => r.key === brandId && r.usage_date >= own[0]!), own);
      });
    },
    { cacheKeyFn: (k) => `${k.brandId}:${k.days}` },
  );
}

export interface SystemStats {
  totalUsersWithTokens: number;
  avgBalancePerUser: number;
  totalTokensUsedToday: number;
  lowBalanceUsers: number;
  activeAlerts: number;
}

/** Aggregates in SQL (no user is loaded): cheap enough to poll with 100,000 users. */
export async function systemStats(orm: MikroORM, lowBalanceThreshold: number, alertsSince: Date, nowMs = Date.now()): Promise<SystemStats> {
  const today = windowDates(1, nowMs)[0]!;
  const [row] = await orm.em.fork().execute<Array<Record<string, string | null>>>(
    `select
       (select count(*) from users where tokens > 0) as with_tokens,
       (select coalesce(avg(tokens), 0) from users) as avg_balance,
       (select coalesce(sum(tokens), 0) from brand_token_usage where usage_date = ?::date) as used_today,
       (select count(*) from users where tokens < ?) as low_balance,
       (select count(*) from token_alerts where created_at > ?) as active_alerts`,
    [today, lowBalanceThreshold, alertsSince],
  );
  return {
    totalUsersWithTokens: Number(row?.with_tokens ?? 0),
    avgBalancePerUser: Number(row?.avg_balance ?? 0),
    totalTokensUsedToday: Number(row?.used_today ?? 0),
    lowBalanceUsers: Number(row?.low_balance ?? 0),
    activeAlerts: Number(row?.active_alerts ?? 0),
  };
}
