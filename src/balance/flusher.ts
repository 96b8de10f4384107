import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { BalanceActor, JournalEntry } from './actor';
import type { Journal, Segment } from './journal';

/**
 * Rows another module writes in the same transaction as the ledger (generations, usage analytics),
 * from the entries' `attachments`. Runs inside the flush transaction: throwing rolls the batch back.
 */
export interface AttachmentWriter {
  readonly name: string;
  write(em: EntityManager, entries: readonly JournalEntry[]): Promise<void>;
}

export interface FlusherOptions {
  /** Extra wait before each commit, trading latency for larger batches. @default 0 */
  flushIntervalMs: number;
  /** First wait after a failed commit; doubles per failure. @default 50 */
  retryBackoffMsMin?: number;
  /** Longest wait between retries of a failed commit. @default 5_000 */
  retryBackoffMsMax?: number;
}

export interface FlushObserver {
  committed?(entries: number, commitMs: number): void;
  failed?(err: unknown, attempt: number): void;
  /** Another writer changed these balances: their actors must be dropped and reloaded. */
  fenced?(actors: BalanceActor[]): void;
}

export class BalanceFencedError extends Error {
  override name = 'BalanceFencedError';
  readonly retryable = true;
}

class FenceViolation extends Error {
  constructor(readonly actors: BalanceActor[]) {
    super(`balance written by another process for ${actors.length} user(s)`);
  }
}

const RETRY_BACKOFF_MS_MIN = 50;
const RETRY_BACKOFF_MS_MAX = 5_000;

/**
 * Group commit: one loop takes the journal's head segment, writes its ledger rows and the new
 * balances in one transaction, acknowledges everyone waiting on it, and starts the next commit at
 * once. At low load a change waits about one commit; under load segments fill up while the previous
 * commit runs, so batches grow by themselves up to `flushBatchMax`.
 *
 * A failed commit is retried, same segment, same order, with backoff; nothing is dropped. A balance
 * write whose fence (users.balance_version) no longer matches means another process wrote that
 * balance: those entries are failed loudly and their actors reloaded, never overwritten.
 */
export class Flusher {
  private running: Promise<void> | null = null;
  private stopping = false;
  /** False while commits are failing (reported by /readyz). */
  healthy = true;
  private readonly writers: AttachmentWriter[] = [];

  constructor(
    private readonly orm: MikroORM,
    private readonly journal: Journal,
    private readonly opts: FlusherOptions,
    private readonly log: Logger,
    private readonly observer: FlushObserver = {},
  ) {}

  addWriter(writer: AttachmentWriter): void {
    this.writers.push(writer);
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Commits everything in the journal, then ends the loop. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.journal.interrupt();
    await this.running;
    this.running = null;
  }

  private async loop(): Promise<void> {
    while (!this.stopping || this.journal.size > 0) {
      const segment = await this.journal.next();
      if (!segment) continue;
      if (this.opts.flushIntervalMs > 0 && !this.stopping) await sleep(this.opts.flushIntervalMs);
      await this.commitWithRetry(segment);
    }
  }

  private async commitWithRetry(segment: Segment): Promise<void> {
    const min = this.opts.retryBackoffMsMin ?? RETRY_BACKOFF_MS_MIN;
    const max = this.opts.retryBackoffMsMax ?? RETRY_BACKOFF_MS_MAX;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commit(segment);
        this.healthy = true;
        return;
      } catch (err) {
        if (err instanceof FenceViolation) {
          this.failFenced(err.actors);
          continue;
        }
        this.healthy = false;
        this.observer.failed?.(err, attempt);
        this.log.error({ err, attempt, entries: segment.entries.length }, 'ledger flush failed; retrying');
        await sleep(Math.min(max, min * 2 ** Math.min(attempt - 1, 16)));
      }
    }
  }

  private async commit(segment: Segment): Promise<void> {
    const entries = segment.entries.filter((e) => !segment.failed.has(e));
    const started = performance.now();
    if (entries.length > 0) {
      const balances = lastBalances(entries);
      await this.orm.em.fork().transactional(async (em) => {
        await writeBalances(em, balances);
        await insertLedger(em, entries);
        for (const writer of this.writers) await writer.write(em, entries);
      });
      for (const [actor] of balances) actor.persistedVersion++;
      for (const entry of entries) entry.actor.unflushed--;
    }
    this.journal.shift(segment);
    segment.resolve();
    this.observer.committed?.(entries.length, performance.now() - started);
  }

  /** Drops every uncommitted entry of the fenced actors; their waiters get BalanceFencedError. */
  private failFenced(actors: BalanceActor[]): void {
    const fenced = new Set(actors);
    for (const actor of actors) actor.fenced = true;
    this.log.error({ users: actors.map((a) => a.userId) }, 'balance fence violated: another writer; reloading');
    for (const [segment, entry] of this.journal.pending()) {
      if (fenced.has(entry.actor) && !segment.failed.has(entry)) {
        segment.failed.set(entry, new BalanceFencedError('the balance changed elsewhere; retry'));
        entry.actor.unflushed--;
      }
    }
    this.observer.fenced?.(actors);
  }
}

/** The balance each actor has after its last entry in the batch. */
function lastBalances(entries: readonly JournalEntry[]): Map<BalanceActor, number> {
  const balances = new Map<BalanceActor, number>();
  for (const entry of entries) balances.set(entry.actor, entry.balanceAfter);
  return balances;
}

/**
 * Fenced balance write: one statement for the whole batch. A row whose version moved on is not
 * updated; finding fewer rows than actors rolls the whole batch back.
 */
async function writeBalances(em: EntityManager, balances: Map<BalanceActor, number>): Promise<void> {
  const rows = [...balances].map(([actor, tokens]) => ({ id: actor.userId, tokens, version: actor.persistedVersion }));
  const updated: Array<{ id: string }> = await em.execute(
    `update users set tokens = v.tokens, balance_version = v.version + 1, updated_at = now()
       from json_to_recordset(?::json) as v(id uuid, tokens bigint, version bigint)
      where users.id = v.id and users.balance_version = v.version
      returning users.id`,
    [JSON.stringify(rows)],
  );
  if (updated.length !== rows.length) {
    const written = new Set(updated.map((r) => r.id));
    throw new FenceViolation([...balances.keys()].filter((a) => !written.has(a.userId)));
  }
}

async function insertLedger(em: EntityManager, entries: readonly JournalEntry[]): Promise<void> {
  const rows = entries.map((e) => ({
    id: e.id,
    user_id: e.actor.userId,
    kind: e.kind,
    amount: e.amount,
    balance_after: e.balanceAfter,
    brand_id: e.brandId,
    task_type: e.taskType,
    model: e.model,
    prompt_tokens: e.promptTokens,
    completion_tokens: e.completionTokens,
    cost_nano_usd: e.costNanoUsd,
    idempotency_key: e.idempotencyKey,
    hold_id: e.holdId,
    metadata: e.metadata,
    created_at: e.createdAt.toISOString(),
  }));
  await em.execute(
    `insert into token_ledger (id, user_id, kind, amount, balance_after, brand_id, task_type, model,
            prompt_tokens, completion_tokens, cost_nano_usd, idempotency_key, hold_id, metadata, created_at)
     select id, user_id, kind, amount, balance_after, brand_id, task_type, model,
            prompt_tokens, completion_tokens, cost_nano_usd, idempotency_key, hold_id, metadata, created_at
       from json_to_recordset(?::json) as r(id uuid, user_id uuid, kind text, amount bigint, balance_after bigint,
            brand_id uuid, task_type text, model text, prompt_tokens int, completion_tokens int, cost_nano_usd bigint,
            idempotency_key text, hold_id uuid, metadata jsonb, created_at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
