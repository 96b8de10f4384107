import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { BalanceActor, JournalEntry } from './actor';
import { assert } from './invariants';
import { BalanceFencedError, UnwritableEntryError } from './errors';
import type { Journal, Segment } from './journal';
import { classifyFailure, commitBisecting, DeterministicFailure, failureSignature, retryDelayMs } from './commit-policy';
import { int4Array, int8Array, jsonbArray, nullableTimestamptzArray, textArray, timestamptzArray, uuidArray } from '../db/binary';
import type { Burn, GrantWrite } from './grants';
import { executeBound, executePrepared } from '../db/sql';
import { isStorableText, storableText, storableValue } from '../db/storable';

/**
 * Rows another module writes in the same commit as the ledger (generations, usage analytics, flow
 * steps), from the entries' `attachments`: one data-modifying SQL statement (insert, update or
 * upsert, `?` placeholders), or null when the batch has nothing for it. The flusher runs it as part
 * of the ledger's own statement, so a whole batch is one round trip; failing rolls the batch back.
 */
export interface AttachmentWriter {
  readonly name: string;
  /**
   * True for a writer that reads only the ledger entry's own fields, never its attachments (usage
   * analytics): it is written with an entry's money part too, when the entry's attachments cannot
   * be (commitAlone), so what it derives never misses a charge. @default false
   */
  readonly fromLedgerFields?: boolean;
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

class FenceViolation extends Error {
  constructor(readonly actors: BalanceActor[]) {
    super(`balance written by another process for ${actors.length} user(s)`);
  }
}

const RETRY_BACKOFF_MS_MIN = 50;
const RETRY_BACKOFF_MS_MAX = 5_000;
/**
 * Attempts after which a failure of unknown kind counts as deterministic even if its text varies
 * (provided the database answers): only what is known to be transient is retried without end.
 */
const UNKNOWN_ATTEMPTS_MAX = 5;

/**
 * Group commit: one loop takes the journal's head segment, writes its ledger rows and the new
 * balances in one statement, acknowledges everyone waiting on it, and starts the next commit at
 * once. At low load a change waits about one commit; under load segments fill up while the previous
 * commit runs, so batches grow by themselves up to `flushBatchMax`. When a full segment is already
 * waiting, it is sent before the committed segment's waiters run, so they run while it commits.
 * After a quiet spell the first change waits for the end of its event-loop turn (microseconds), so
 * the changes made by the other callbacks of that turn share its commit.
 *
 * A commit that fails for a transient reason (the database is away) is retried, same segment, same
 * order, with backoff; nothing is dropped. One that fails for a reason in its data would fail
 * forever and stall every user: the segment is bisected (commit-policy.ts), every good entry
 * commits in order, and an entry that fails on its own keeps its charge without what it carried
 * (`commitAlone`), or, failing that too, fails alone and its user is reloaded. A balance write whose
 * fence (users.balance_version) no longer matches means another process wrote that balance: those
 * entries are failed loudly and their actors reloaded, never overwritten.
 */
export class Flusher {
  private running: Promise<void> | null = null;
  private stopping = false;
  /** False while commits are failing (reported by /readyz). */
  healthy = true;
  private readonly writers: AttachmentWriter[] = [];
  /** Signatures of the failures found deterministic in the segment being committed. */
  private readonly deterministic = new Set<string>();

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
      await this.commitSegment(segment);
    }
  }

  /**
   * Commits the segment: in one statement when it can, in parts when its data cannot (a transient
   * failure is retried inside commitPart instead); then acknowledges it.
   */
  private async commitSegment(segment: Segment): Promise<void> {
    const started = performance.now();
    this.deterministic.clear();
    const live = segment.entries.filter((e) => !segment.failed.has(e));
    await commitBisecting(
      live,
      (part) => this.commitPart(segment, part, (entries) => this.write(entries, true)),
      (entry, failure) => this.commitAlone(segment, entry, failure),
    );
    this.healthy = true;
    this.acknowledge(segment, started);
  }

  /**
   * Writes `part` of the segment as one statement, retrying while the failure may be transient.
   * Returns null once it is written (or every entry of it was fenced off), or the failure that no
   * retry would cure.
   */
  private async commitPart(
    segment: Segment,
    part: readonly JournalEntry[],
    write: (entries: JournalEntry[]) => Promise<void>,
  ): Promise<DeterministicFailure | null> {
    // A commit that failed may have landed all the same (the connection broke after COMMIT was
    // sent): then the next attempt finds its entries, which are written all or none, and must
    // acknowledge them rather than write them again (the fence would call that another writer).
    let mayHaveLanded = false;
    let previous: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const entries = part.filter((e) => !segment.failed.has(e));
      if (entries.length === 0) return null;
      try {
        if (!(mayHaveLanded && (await this.landed(entries[0]!)))) await write(entries);
        this.written(segment, entries);
        return null;
      } catch (err) {
        if (err instanceof FenceViolation) {
          this.log.error({ users: err.actors.map((a) => a.userId) }, 'balance fence violated: another writer; reloading');
          this.failUsers(err.actors, 'the balance changed elsewhere; retry');
          continue;
        }
        const signature = failureSignature(err);
        const verdict = await this.verdict(err, signature, signature === previous || attempt >= UNKNOWN_ATTEMPTS_MAX, entries[0]!);
        if (verdict === 'landed') {
          this.written(segment, entries);
          return null;
        }
        if (verdict !== 'retry') {
          if (entries.length > 1) this.log.warn({ err, entries: entries.length }, 'ledger flush failed on its data; committing the batch in parts');
          return verdict;
        }
        previous = signature;
        mayHaveLanded = true;
        this.healthy = false;
        this.observer.failed?.(err, attempt);
        this.log.error({ err, attempt, entries: entries.length }, 'ledger flush failed; retrying');
        await sleep(retryDelayMs(attempt, this.opts.retryBackoffMsMin ?? RETRY_BACKOFF_MS_MIN, this.opts.retryBackoffMsMax ?? RETRY_BACKOFF_MS_MAX));
      }
    }
  }

  /**
   * What a failed write calls for: a retry (transient, or not known yet), nothing ('landed': it
   * failed but committed), or bisection (the deterministic failure). A data error (class 22, 23) is
   * deterministic at once; any other error once it is `repeated` (the same as the attempt before,
   * or past UNKNOWN_ATTEMPTS_MAX attempts) or was found deterministic in the part this one was cut
   * from, and the database, asked whether the write landed, answers no. An outage whose error has no
   * SQLSTATE thus never passes for bad data.
   */
  private async verdict(err: unknown, signature: string, repeated: boolean, first: JournalEntry): Promise<'retry' | 'landed' | DeterministicFailure> {
    const kind = classifyFailure(err);
    if (kind === 'data') return new DeterministicFailure(err);
    if (kind === 'transient' || !(repeated || this.deterministic.has(signature))) return 'retry';
    const landed = await this.landed(first).catch(() => undefined);
    if (landed === undefined) return 'retry';
    if (landed) return 'landed';
    this.deterministic.add(signature);
    return new DeterministicFailure(err);
  }

  /**
   * An entry that cannot be written as it is: its charge is kept (the work was done) by writing its
   * money part alone, the balance and ledger row without its attachments (writers that read only the
   * ledger fields, such as brand usage, still run: a brand's quota counts the charge); if even that fails, the
   * entry fails alone and its user's later entries are dropped and the balance reloaded, so the
   * books still balance and no other user notices.
   */
  private async commitAlone(segment: Segment, entry: JournalEntry, failure: DeterministicFailure): Promise<void> {
    const ids = { userId: entry.actor.userId, entryId: entry.id, holdId: entry.holdId, kind: entry.kind, amount: entry.amount };
    const attachments = Object.keys(entry.attachments);
    this.log.error({ err: failure.cause, ...ids, attachments }, 'ledger entry cannot be written; writing its balance and ledger row without attachments');
    const unwritable = await this.commitPart(segment, [entry], ([e]) => this.write([moneyPart(e!)], false));
    if (!unwritable) return;
    this.log.error({ err: unwritable.cause, ...ids }, 'ledger entry cannot be written at all: failing it and reloading its balance');
    segment.failed.set(entry, new UnwritableEntryError('the charge could not be recorded'));
    entry.actor.unflushed--;
    this.failUsers([entry.actor], 'an earlier change to this balance could not be recorded; retry');
  }

  /** One statement: the entries' ledger rows, their users' new balances and (when `attach`) what they carry. */
  private async write(entries: readonly JournalEntry[], attach: boolean): Promise<void> {
    // One statement is atomic on its own: the batch commits in one round trip, no BEGIN/COMMIT.
    const em = this.orm.em.fork();
    // A key already used would fail the insert on every retry and stall every balance behind it.
    const duplicates = await duplicateKeys(em, entries);
    if (duplicates.length > 0) throw new FenceViolation([...new Set(duplicates.map((e) => e.actor))]);
    const writers = attach ? this.writers : this.writers.filter((w) => w.fromLedgerFields);
    const attached = writers.map((w) => w.statement(entries)).filter((st): st is BoundStatement => !!st);
    await writeBatch(this.orm, em, lastBalances(entries), entries, attached);
  }

  /** Entries are durable: their balances' versions move on (one per statement and user). */
  private written(segment: Segment, entries: readonly JournalEntry[]): void {
    for (const actor of new Set(entries.map((e) => e.actor))) actor.persistedVersion++;
    for (const entry of entries) segment.written.add(entry);
  }

  /** The segment is done: its entries leave the journal, waiters are released. */
  private acknowledge(segment: Segment, started: number): void {
    assert(segment.written.size + segment.failed.size === segment.entries.length, 'segment acknowledged with entries neither written nor failed');
    for (const entry of segment.written) entry.actor.unflushed--;
    this.journal.shift(segment);
    this.observer.committed?.(segment.written.size, performance.now() - started);
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

  /** True when an earlier attempt committed the part starting with `first` (parts are written all or none). */
  private async landed(first: JournalEntry): Promise<boolean> {
    const rows = await this.orm.em.fork().execute('select 1 from token_ledger where id = ?', [first.id]);
    return rows.length > 0;
  }

  /**
   * Drops every entry of these users not yet written; their waiters get BalanceFencedError
   * (retryable), and their actors are reloaded from the database on next use.
   */
  private failUsers(actors: BalanceActor[], reason: string): void {
    const fenced = new Set(actors);
    for (const actor of actors) actor.fenced = true;
    for (const [segment, entry] of this.journal.pending()) {
      if (fenced.has(entry.actor) && !segment.failed.has(entry) && !segment.written.has(entry)) {
        segment.failed.set(entry, new BalanceFencedError(reason));
        entry.actor.unflushed--;
      }
    }
    this.observer.fenced?.(actors);
  }
}

/**
 * What must be kept of an entry that cannot be written: its ledger row and balance, with its text
 * made storable, its idempotency key only if storable, and no attachments (named in the metadata,
 * which is dropped too when it cannot be serialized).
 */
function moneyPart(entry: JournalEntry): JournalEntry {
  const key = entry.idempotencyKey;
  const dropped = Object.keys(entry.attachments).map(storableText);
  const marker = dropped.length > 0 ? { attachmentsDropped: dropped } : {};
  return {
    ...entry,
    taskType: entry.taskType === null ? null : storableText(entry.taskType),
    model: entry.model === null ? null : storableText(entry.model),
    idempotencyKey: key !== null && isStorableText(key) ? key : null,
    metadata: serializable(entry.metadata) ? { ...entry.metadata, ...marker } : { ...marker, metadataDropped: true },
    attachments: {},
  };
}

function serializable(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
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
  const rows = [...balances].map(([actor, tokens]) => ({ id: actor.userId, tokens, version: actor.persistedVersion, epoch: actor.epoch }));
  const ctes = [
    `balances as (
       update users set tokens = v.tokens, balance_version = v.version + 1, updated_at = now()
         from unnest(?::uuid[], ?::int8[], ?::int8[], ?::int8[]) as v(id, tokens, version, epoch)
        where users.id = v.id and users.balance_version = v.version and users.balance_epoch = v.epoch
        returning users.id)`,
    `ledger as (${LEDGER_INSERT})`,
    `grants as (${GRANTS_UPSERT})`,
    `burns as (${BURNS_INSERT})`,
    ...attached.map((st, i) => `attached_${i} as (${st.sql})`),
  ];
  const params = [
    uuidArray(rows, (r) => r.id),
    int8Array(rows, (r) => r.tokens),
    int8Array(rows, (r) => r.version),
    int8Array(rows, (r) => r.epoch),
    ...ledgerColumns(entries),
    ...grantColumns(entries),
    ...burnColumns(entries),
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

/** The actors whose balance row no longer has the version or the lease epoch they expect. */
async function movedOn(em: EntityManager, rows: Array<{ id: string; version: number }>, balances: Map<BalanceActor, number>): Promise<BalanceActor[]> {
  const current = await executeBound<{ id: string; balance_version: string; balance_epoch: string }>(
    em,
    'select id, balance_version, balance_epoch from users where id in (select value::uuid from json_array_elements_text(?::json))',
    [JSON.stringify(rows.map((r) => r.id))],
  );
  const found = new Map(current.map((r) => [r.id, r]));
  return [...balances.keys()].filter((a) => {
    const row = found.get(a.userId);
    return !row || Number(row.balance_version) !== a.persistedVersion || Number(row.balance_epoch) !== a.epoch;
  });
}

const LEDGER_INSERT = `insert into token_ledger (id, user_id, kind, amount, balance_after, brand_id, task_type, model,
         prompt_tokens, completion_tokens, cost_nano_usd, idempotency_key, hold_id, metadata, created_at)
  select * from unnest(?::uuid[], ?::uuid[], ?::text[], ?::int8[], ?::int8[], ?::uuid[], ?::text[], ?::text[],
         ?::int4[], ?::int4[], ?::int8[], ?::text[], ?::uuid[], ?::jsonb[], ?::timestamptz[])`;

/**
 * Grants created or changed by the batch, as its last entry touching each leaves it: new ones are
 * inserted, known ones get their remaining and expiry mark (ON CONFLICT may touch a row once per
 * statement, hence one row per grant). The check constraint keeps 0 <= remaining <= amount.
 */
const GRANTS_UPSERT = `insert into token_grants (id, user_id, source, amount, remaining, priority, expires_at, created_at, reason,
         idempotency_key, ledger_entry_id, expired_at)
  select * from unnest(?::uuid[], ?::uuid[], ?::text[], ?::int8[], ?::int8[], ?::int4[], ?::timestamptz[], ?::timestamptz[],
         ?::text[], ?::text[], ?::uuid[], ?::timestamptz[])
  on conflict (id) do update set remaining = excluded.remaining, expired_at = excluded.expired_at`;

const BURNS_INSERT = `insert into ledger_grant_burns (ledger_entry_id, grant_id, amount)
  select * from unnest(?::uuid[], ?::uuid[], ?::int8[])`;

const NO_GRANTS: GrantWrite[] = [];

function grantColumns(entries: readonly JournalEntry[]): Buffer[] {
  let writes: GrantWrite[] = NO_GRANTS;
  let byId: Map<string, GrantWrite> | null = null;
  for (const entry of entries) {
    if (!entry.grants) continue;
    byId ??= new Map();
    for (const write of entry.grants) byId.set(write.grant.id, write);
  }
  if (byId) writes = [...byId.values()];
  return [
    uuidArray(writes, (w) => w.grant.id),
    uuidArray(writes, (w) => w.grant.userId),
    textArray(writes, (w) => w.grant.source),
    int8Array(writes, (w) => w.grant.amount),
    int8Array(writes, (w) => w.remaining),
    int4Array(writes, (w) => w.grant.priority),
    nullableTimestamptzArray(writes, (w) => (w.grant.expiresAtMs === null ? null : new Date(w.grant.expiresAtMs))),
    timestamptzArray(writes, (w) => new Date(w.grant.createdAtMs)),
    textArray(writes, (w) => storableText(w.grant.reason)),
    textArray(writes, (w) => w.grant.idempotencyKey),
    uuidArray(writes, (w) => w.grant.ledgerEntryId),
    nullableTimestamptzArray(writes, (w) => (w.expiredAtMs === null ? null : new Date(w.expiredAtMs))),
  ];
}

function burnColumns(entries: readonly JournalEntry[]): Buffer[] {
  const rows: Array<{ entryId: string; burn: Burn }> = [];
  for (const entry of entries) {
    if (!entry.burns) continue;
    for (const burn of entry.burns) rows.push({ entryId: entry.id, burn });
  }
  return [uuidArray(rows, (r) => r.entryId), uuidArray(rows, (r) => r.burn.grantId), int8Array(rows, (r) => r.burn.amount)];
}

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
    jsonbArray(entries, (e) => metadataJson(e.metadata)),
    timestamptzArray(entries, (e) => e.createdAt),
  ];
}

/**
 * JSON.stringify writes NUL and unpaired surrogates as \u escapes, which jsonb refuses; metadata may
 * hold a client's text (a grant's reason), so it is repaired here too, as a last line of defence.
 * Escaped backslashes can match as well; they only cost the second stringify.
 */
const UNSTORABLE_JSON_ESCAPE = /\\u(?:0000|d[89a-f])/;

function metadataJson(metadata: Record<string, unknown>): string {
  const json = JSON.stringify(metadata);
  return UNSTORABLE_JSON_ESCAPE.test(json) ? JSON.stringify(storableValue(metadata)) : json;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
