import { randomUUID } from 'node:crypto';
import type { Hold, HoldMeta, SettleUsage } from '../src/balance/actor';
import { BalanceFencedError, UnwritableEntryError } from '../src/balance/errors';
import { verifyLedger } from '../src/balance/ledger';
import type { SettleResult } from '../src/balance/service';
import { GENERATION_ATTACHMENT, type GenerationAttachment } from '../src/generation/attachment';
import { runVerifyCli } from './support/server-process';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * An entry PostgreSQL refuses (bad text, a value too long or too large) put straight into the
 * journal through the balance service, in the same batch as other users' settles. Before the fix
 * the flusher retried that batch forever: nobody's charge committed again and /readyz said 503.
 */

/** How soon the other users' settles must be acknowledged (on a machine that commits in a few ms). */
const ACK_MS_MAX = 1_000;
/**
 * Commits the bisection of one poison among BYSTANDERS + 3 entries may need: halve down to the poison
 * (2 per level, log2(8) levels), its money part, its failure alone. On a saturated machine a commit
 * alone can take 100 ms or more, so the bound is the larger of ACK_MS_MAX and this many clean
 * commits measured in the same test: a ledger that retried the batch would exceed both.
 */
const ACK_COMMITS_MAX = 10;
/** Longest any wait may take: a stalled ledger fails the test instead of hanging it. */
const WAIT_MS = 10_000;
const BYSTANDERS = 5;
const USAGE: SettleUsage = { tokens: 100, promptTokens: 60, completionTokens: 40, costNanoUsd: 1_000, model: 'gpt-4o-mini' };

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms (the ledger is stalled)`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with the poisoned entry. */
interface Poison {
  meta?: Partial<HoldMeta>;
  usage?: Partial<SettleUsage>;
  output?: unknown;
}

/** The entry cannot be written as it is, but its balance and ledger row can. */
const KEPT: Array<[string, Poison]> = [
  ['NUL in the generation it carries', { output: { reply: 'bad \u0000 reply' } }],
  ['an unpaired surrogate in the generation it carries', { output: { reply: 'bad \ud800 reply' } }],
  ['NUL in its idempotency key', { meta: { idempotencyKey: 'key-\u0000' } }],
  ['an unpaired surrogate as its idempotency key', { meta: { idempotencyKey: '\ud800' } }],
];

/** Not even its balance and ledger row can be written. */
const UNWRITABLE: Array<[string, Poison]> = [
  // varchar(255) in the ledger: SQLSTATE 22001, a data error.
  ['a task type longer than the ledger column', { meta: { taskType: 'T'.repeat(256) } }],
  // Refused by the int4 encoder before PostgreSQL sees it: no SQLSTATE, the same error twice.
  ['a prompt token count beyond int4', { usage: { promptTokens: 2 ** 31 } }],
];

let t: TestApp;
let closed = false;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  if (!closed) await t.close();
});

interface Batch {
  poisoned: string;
  bystanders: string[];
  /** The poisoned user's settles: one before the poison, the poison, one after, in journal order. */
  before: PromiseSettledResult<SettleResult>;
  poison: PromiseSettledResult<SettleResult>;
  after: PromiseSettledResult<SettleResult>;
  /** Milliseconds from the settles to each bystander's acknowledgement. */
  ackMs: number[];
  /** Entries per committed batch while it ran. */
  flushed: number[];
  generationIds: Map<Hold, string>;
}

function generation(hold: Hold, output: unknown): Record<string, unknown> {
  const attachment: GenerationAttachment = {
    id: randomUUID(),
    brandId: hold.meta.brandId!,
    taskType: 'CHAT',
    status: 'COMPLETED',
    model: 'gpt-4o-mini',
    output,
  };
  return { [GENERATION_ATTACHMENT]: attachment };
}

/**
 * Settles, in one event-loop turn so they share one batch: the poisoned user's entry before, the
 * poison, the entry after, and one settle for each bystander.
 */
async function batchWith(poison: Poison): Promise<Batch> {
  const balance = t.app.services.balance;
  const users = await Promise.all(Array.from({ length: BYSTANDERS + 1 }, () => t.signUp()));
  const [poisoned, ...bystanders] = users.map((u) => u.userId) as [string, ...string[]];
  const meta = (extra: Partial<HoldMeta> = {}): HoldMeta => ({ brandId: randomUUID(), taskType: 'CHAT', model: 'gpt-4o-mini', ...extra });
  const [before, bad, after] = [
    await balance.reserve(poisoned, 500, meta()),
    await balance.reserve(poisoned, 500, meta(poison.meta)),
    await balance.reserve(poisoned, 500, meta()),
  ];
  const others = await Promise.all(bystanders.map((id) => balance.reserve(id, 500, meta())));
  const flushed: number[] = [];
  balance.addListener({ flushed: (entries) => flushed.push(entries) });
  const generationIds = new Map<Hold, string>();
  const settle = (hold: Hold, usage: SettleUsage, output: unknown) => {
    const attachments = generation(hold, output);
    generationIds.set(hold, (attachments[GENERATION_ATTACHMENT] as GenerationAttachment).id);
    return balance.settle(hold, usage, attachments);
  };

  const started = performance.now();
  const mine = [
    settle(before, USAGE, { reply: 'before' }),
    settle(bad, { ...USAGE, ...poison.usage }, poison.output ?? { reply: 'the poison' }),
    settle(after, USAGE, { reply: 'after' }),
  ];
  const acks = others.map((hold) => settle(hold, USAGE, { reply: 'fine' }).then(() => performance.now() - started));
  const ackMs = await within(Promise.all(acks), 'the other users’ settles');
  const [b, p, a] = await within(Promise.allSettled(mine), 'the poisoned user’s settles');
  return { poisoned, bystanders, before: b!, poison: p!, after: a!, ackMs, flushed, generationIds };
}

async function ledgerOf(userId: string) {
  return t.app.services.orm.em
    .fork()
    .execute<Array<{ amount: string; balance_after: string; hold_id: string | null; idempotency_key: string | null; metadata: Record<string, unknown> }>>(
      'select amount, balance_after, hold_id, idempotency_key, metadata from token_ledger where user_id = ? order by seq',
      [userId],
    );
}

async function tokensInDb(userId: string): Promise<number> {
  const [row] = await t.app.services.orm.em.fork().execute<Array<{ tokens: string }>>('select tokens from users where id = ?', [userId]);
  return Number(row!.tokens);
}

async function generationStored(id: string): Promise<boolean> {
  return (await t.app.services.orm.em.fork().execute('select 1 from generations where id = ?', [id])).length > 0;
}

/** The median time of three clean settles (each its own commit) now, on this machine. */
async function cleanCommitMs(): Promise<number> {
  const balance = t.app.services.balance;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { userId } = await t.signUp();
    const hold = await balance.reserve(userId, 500, { brandId: randomUUID(), taskType: 'CHAT', model: 'gpt-4o-mini' });
    const started = performance.now();
    await within(balance.settle(hold, USAGE), 'a clean settle');
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[1]!;
}

async function expectOthersUnharmed(batch: Batch): Promise<void> {
  const bound = Math.max(ACK_MS_MAX, ACK_COMMITS_MAX * (await cleanCommitMs()));
  for (const ms of batch.ackMs) expect(ms).toBeLessThan(bound);
  for (const id of batch.bystanders) {
    expect(await tokensInDb(id)).toBe(10_000 - USAGE.tokens);
    expect((await t.app.services.balance.snapshot(id)).tokens).toBe(10_000 - USAGE.tokens);
  }
  for (const [hold, id] of batch.generationIds) if (batch.bystanders.includes(hold.userId)) expect(await generationStored(id)).toBe(true);
  const ready = await fetch(t.url.replace(/\/graphql$/, '/readyz'));
  expect(ready.status).toBe(200);
  expect(t.app.services.balance.stats()).toMatchObject({ healthy: true, journalDepth: 0 });
  expect((await verifyLedger(t.app.services.orm)).mismatches).toEqual([]);
}

/** A later charge of the poisoned user commits and leaves memory and database agreeing. */
async function expectLaterChargeWorks(userId: string, tokensBefore: number): Promise<void> {
  const balance = t.app.services.balance;
  const hold = await balance.reserve(userId, 500, { brandId: randomUUID(), taskType: 'CHAT', model: 'gpt-4o-mini' });
  const later = await within(balance.settle(hold, USAGE), 'a later charge of the poisoned user');
  expect(later.snapshot.tokens).toBe(tokensBefore - USAGE.tokens);
  expect(await tokensInDb(userId)).toBe(tokensBefore - USAGE.tokens);
}

describe('a poison entry in a ledger batch', () => {
  it.each(KEPT)('%s: keeps its charge without the attachment; the others commit at once', async (_name, poison) => {
    const batch = await batchWith(poison);
    expect(batch.flushed).toEqual([BYSTANDERS + 3]);
    for (const settled of [batch.before, batch.poison, batch.after]) expect(settled.status).toBe('fulfilled');
    await expectOthersUnharmed(batch);

    // The poisoned user's three charges are all in the ledger, in order, the middle one without its generation.
    const ledger = await ledgerOf(batch.poisoned);
    expect(ledger.map((r) => [Number(r.amount), Number(r.balance_after)])).toEqual([
      [10_000, 10_000],
      [-100, 9_900],
      [-100, 9_800],
      [-100, 9_700],
    ]);
    expect(ledger[2]!.metadata).toMatchObject({ attachmentsDropped: [GENERATION_ATTACHMENT] });
    expect(ledger[2]!.idempotency_key).toBeNull();
    const [before, bad, after] = [...batch.generationIds].filter(([hold]) => hold.userId === batch.poisoned).map(([, id]) => id);
    expect([await generationStored(before!), await generationStored(bad!), await generationStored(after!)]).toEqual([true, false, true]);
    expect(await tokensInDb(batch.poisoned)).toBe(9_700);
    await expectLaterChargeWorks(batch.poisoned, 9_700);
  });

  it.each(UNWRITABLE)('%s: fails alone and reloads its user; the others commit at once', async (_name, poison) => {
    const batch = await batchWith(poison);
    expect(batch.flushed).toEqual([BYSTANDERS + 1]);
    expect(batch.before.status).toBe('fulfilled');
    expect(batch.poison).toMatchObject({ status: 'rejected', reason: expect.any(UnwritableEntryError) });
    // Its later entry already counted the poison's charge in its balance: it is refused (retryable), not written wrong.
    expect(batch.after).toMatchObject({ status: 'rejected', reason: expect.any(BalanceFencedError) });
    await expectOthersUnharmed(batch);

    const ledger = await ledgerOf(batch.poisoned);
    expect(ledger.map((r) => Number(r.amount))).toEqual([10_000, -100]);
    expect(await tokensInDb(batch.poisoned)).toBe(9_900);
    expect((await t.app.services.balance.snapshot(batch.poisoned)).tokens).toBe(9_900);
    await expectLaterChargeWorks(batch.poisoned, 9_900);
  });

  it('repairs text in a grant reason that the metadata would carry', async () => {
    const balance = t.app.services.balance;
    const [user, other] = await Promise.all([t.signUp(), t.signUp()]);
    await Promise.all([balance.snapshot(user.userId), balance.snapshot(other.userId)]);
    const [bad, fine] = await within(
      Promise.all([balance.grant(user.userId, 5, 'odd \u0000 reason \udc00'), balance.grant(other.userId, 7, 'fine')]),
      'the grants',
    );
    expect(bad.snapshot.tokens).toBe(10_005);
    expect(fine.snapshot.tokens).toBe(10_007);
    expect((await ledgerOf(user.userId)).at(-1)!.metadata).toEqual({ reason: 'odd  reason \ufffd', grantId: expect.any(String) });
  });

  it('leaves books that the compiled ledger:verify passes', async () => {
    expect((await verifyLedger(t.app.services.orm)).mismatches).toEqual([]);
    closed = true;
    await t.close({ drop: false });
    try {
      expect(await runVerifyCli(t.env)).toMatchObject({ code: 0, stdout: expect.stringContaining('ledger OK') });
    } finally {
      await t.db.drop();
    }
  });
});
