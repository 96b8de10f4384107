import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { BalanceActor, JournalEntry } from './actor';
import type { Journal, Segment } from './journal';
import { int4Array, int8Array, jsonbArray, textArray, timestamptzArray, uuidArray } from '../db/binary';
import { executeBound, executePrepared } from '../db/sql';

/**
 * Rows another module writes in the same commit as the ledger (generations, usage analytics, flow
 * steps), from the entries' `attachments`: one data-modifying SQL statement (insert, update or
 * upsert, `?` placeholders), or null when the batch has nothing for it. The flusher runs it as part
 * of the ledger's own statement, so a whole batch is one round trip; failing rolls the batch back.
 */
export interface AttachmentWriter {
  readonly name: string;
  statement(entries: readonly JournalEntry[]): BoundStatement | null;
}

export interface BoundStatement {
  sql: string;
  params: unknown[];
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
 * balances in one statement, acknowledges everyone waiting on it, and starts the next commit at
 * once. At low load a change waits about one commit; under load segments fill up while the previous
 * commit runs, so batches grow by themselves up to `flushBatchMax`. When a full segment is already
 * waiting, it is sent before the committed segment's waiters run, so they run while it commits.
 * After a quiet spell the first change waits for the end of its event-loop turn (microseconds), so
 * the changes made by the other callbacks of that turn share its commit.
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
      const wokenFromIdle = await this.journal.waitForEntries();
      // Both waits come before the head segment is taken, so entries appended meanwhile join it.
      if (this.opts.flushIntervalMs > 0 && !this.stopping) await sleep(this.opts.flushIntervalMs);
      // The first entry after a quiet spell: let the rest of this event-loop turn run first, so the
      // settles completing in the same turn (replies read in the same poll) join the batch.
      else if (wokenFromIdle) await nextTurn();
      const segment = this.journal.take();
      if (!segment) continue;
      await this.commitWithRetry(segment);
    }
  }

  private async commitWithRetry(segment: Segment): Promise<void> {
    const min = this.opts.retryBackoffMsMin ?? RETRY_BACKOFF_MS_MIN;
    const max = this.opts.retryBackoffMsMax ?? RETRY_BACKOFF_MS_MAX;
    // A commit that failed may have landed all the same (the connection broke after COMMIT was
    // sent): then the next attempt finds its entries, which are written all or none, and must
    // acknowledge them rather than write them again (the fence would call that another writer).
    let mayHaveLanded = false;
    for (let attempt = 1; ; attempt++) {
      try {
        if (mayHaveLanded && (await this.landed(segment))) this.acknowledge(segment, performance.now());
        else await this.commit(segment);
        this.healthy = true;
        return;
      } catch (err) {
        if (err instanceof FenceViolation) {
          this.failFenced(err.actors);
          continue;
        }
        mayHaveLanded = true;
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
      // One statement is atomic on its own: the batch commits in one round trip, no BEGIN/COMMIT.
      const em = this.orm.em.fork();
      // A key already used would fail the insert on every retry and stall every balance behind it.
      const duplicates = await duplicateKeys(em, entries);
      if (duplicates.length > 0) throw new FenceViolation([...new Set(duplicates.map((e) => e.actor))]);
      const attached = this.writers.map((w) => w.statement(entries)).filter((st): st is BoundStatement => !!st);
      await writeBatch(this.orm, em, lastBalances(entries), entries, attached);
    }
    this.acknowledge(segment, started);
  }

  /** The segment is durable: versions move on, entries leave the journal, waiters are released. */
  private acknowledge(segment: Segment, started: number): void {
    const entries = segment.entries.filter((e) => !segment.failed.has(e));
    for (const actor of new Set(entries.map((e) => e.actor))) actor.persistedVersion++;
    for (const entry of entries) entry.actor.unflushed--;
    this.journal.shift(segment);
    this.observer.committed?.(entries.length, performance.now() - started);
    if (this.journal.size === 0) {
      segment.resolve();
      return;
    }
    // Another batch is already waiting: release this one's waiters on the next turn of the event
    // loop, so the loop first sends that batch (all microtasks, no I/O) and PostgreSQL commits it
    // while the released requests run here. Waiters are still released in commit order: the next
    // reply can only be read in a later turn.
    setImmediate(() => segment.resolve());
  }

  /** True when an earlier attempt committed this segment: its first live entry is in the ledger. */
  private async landed(segment: Segment): Promise<boolean> {
    const first = segment.entries.find((e) => !segment.failed.has(e));
    if (!first) return false;
    const rows = await this.orm.em.fork().execute('select 1 from token_ledger where id = ?', [first.id]);
    return rows.length > 0;
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

/** Entries whose (user, idempotency key) is already in the ledger, or earlier in this batch. */
async function duplicateKeys(em: EntityManager, entries: readonly JournalEntry[]): Promise<JournalEntry[]> {
  const keyed = entries.filter((e) => e.idempotencyKey !== null);
  if (keyed.length === 0) return [];
  const stored = await executeBound<{ user_id: string; idempotency_key: string }>(
    em,
    `select user_id, idempotency_key from token_ledger
      where (user_id, idempotency_key) in (select k.user_id, k.idempotency_key from json_to_recordset(?::json) as k(user_id uuid, idempotency_key text))`,
    [JSON.stringify(keyed.map((e) => ({ user_id: e.actor.userId, idempotency_key: e.idempotencyKey })))],
  );
  const taken = new Set(stored.map((r) => `${r.user_id}\u0000${r.idempotency_key}`));
  const duplicates: JournalEntry[] = [];
  for (const entry of keyed) {
    const claim = `${entry.actor.userId}\u0000${entry.idempotencyKey}`;
    if (taken.has(claim)) duplicates.push(entry);
    taken.add(claim);
  }
  return duplicates;
}

/**
 * The whole batch in one statement: the fenced balance update, the ledger rows and the attachments,
 * as data-modifying CTEs (PostgreSQL runs every one of them, and checks foreign keys at the end of the
 * statement, so generations may name ledger rows inserted beside them). A balance whose version
 * moved on is not updated; the statement then ends in andora_balance_fence raising, which undoes
 * every part of it, and the actors concerned are named by reading their versions.
 */
async function writeBatch(
  orm: MikroORM,
  em: EntityManager,
  balances: Map<BalanceActor, number>,
  entries: readonly JournalEntry[],
  attached: readonly BoundStatement[],
): Promise<void> {
  const rows = [...balances].map(([actor, tokens]) => ({ id: actor.userId, tokens, version: actor.persistedVersion }));
  const ctes = [
    `balances as (
       update users set tokens = v.tokens, balance_version = v.version + 1, updated_at = now()
         from unnest(?::uuid[], ?::int8[], ?::int8[]) as v(id, tokens, version)
        where users.id = v.id and users.balance_version = v.version
        returning users.id)`,
    `ledger as (${LEDGER_INSERT})`,
    ...attached.map((st, i) => `attached_${i} as (${st.sql})`),
  ];
  const params = [
    uuidArray(rows, (r) => r.id),
    int8Array(rows, (r) => r.tokens),
    int8Array(rows, (r) => r.version),
    ...ledgerColumns(entries),
    ...attached.flatMap((st) => st.params),
    rows.length,
  ];
  try {
    await executePrepared(orm, `with ${ctes.join(',\n')} select andora_balance_fence(?, (select count(*) from balances)) as fenced`, params);
  } catch (err) {
    if ((err as { code?: string }).code !== FENCE_SQLSTATE) throw err;
    throw new FenceViolation(await movedOn(em, rows, balances));
  }
}

/** Raised by andora_balance_fence (migration 5) when a balance's version moved on. */
const FENCE_SQLSTATE = 'ANF01';

/** The actors whose balance row no longer has the version they expect. */
async function movedOn(em: EntityManager, rows: Array<{ id: string; version: number }>, balances: Map<BalanceActor, number>): Promise<BalanceActor[]> {
  const current = await executeBound<{ id: string; balance_version: string }>(
    em,
    'select id, balance_version from users where id in (select value::uuid from json_array_elements_text(?::json))',
    [JSON.stringify(rows.map((r) => r.id))],
  );
  const version = new Map(current.map((r) => [r.id, Number(r.balance_version)]));
  return [...balances.keys()].filter((a) => version.get(a.userId) !== a.persistedVersion);
}

const LEDGER_INSERT = `insert into token_ledger (id, user_id, kind, amount, balance_after, brand_id, task_type, model,
         prompt_tokens, completion_tokens, cost_nano_usd, idempotency_key, hold_id, metadata, created_at)
  select * from unnest(?::uuid[], ?::uuid[], ?::text[], ?::int8[], ?::int8[], ?::uuid[], ?::text[], ?::text[],
         ?::int4[], ?::int4[], ?::int8[], ?::text[], ?::uuid[], ?::jsonb[], ?::timestamptz[])`;

/** The ledger rows column by column, in LEDGER_INSERT's order, as binary arrays. */
function ledgerColumns(entries: readonly JournalEntry[]): Buffer[] {
  return [
    uuidArray(entries, (e) => e.id),
    uuidArray(entries, (e) => e.actor.userId),
    textArray(entries, (e) => e.kind),
    int8Array(entries, (e) => e.amount),
    int8Array(entries, (e) => e.balanceAfter),
    uuidArray(entries, (e) => e.brandId),
    textArray(entries, (e) => e.taskType),
    textArray(entries, (e) => e.model),
    int4Array(entries, (e) => e.promptTokens),
    int4Array(entries, (e) => e.completionTokens),
    int8Array(entries, (e) => e.costNanoUsd),
    textArray(entries, (e) => e.idempotencyKey),
    uuidArray(entries, (e) => e.holdId),
    jsonbArray(entries, (e) => JSON.stringify(e.metadata)),
    timestamptzArray(entries, (e) => e.createdAt),
  ];
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
