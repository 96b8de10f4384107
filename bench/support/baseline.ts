import { randomUUID } from 'node:crypto';
import { LockMode, type MikroORM } from '@mikro-orm/postgresql';
import type { SettleUsage } from '../../src/balance/actor';
import { LedgerEntry, User } from '../../src/db/entities';
import { inTransaction } from '../../src/db/transaction';

/**
 * The design the balance service replaces: every request is its own MikroORM transaction that locks
 * the user's row, takes the tokens and inserts the usage row, and answers after that commit:
 * `BEGIN` / `SELECT … FOR UPDATE` / `UPDATE users` / `INSERT token_ledger` / `COMMIT`, the same
 * statements a unit-of-work flush would send, written explicitly (see src/db/transaction.ts for
 * why nothing in this process flushes).
 *
 * It bumps `balance_version` like every writer of `users.tokens` must, so it would fence off (not
 * be overwritten by) a balance service holding a stale copy; the books stay exact either way.
 */
export async function chargeInOwnTransaction(orm: MikroORM, userId: string, usage: SettleUsage): Promise<void> {
  await inTransaction(orm, async (em) => {
    const user = await em.findOneOrFail(User, userId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const charged = Math.min(usage.tokens, user.tokens);
    const tokens = user.tokens - charged;
    await em.nativeUpdate(User, { id: userId }, { tokens, balanceVersion: user.balanceVersion + 1 });
    await em.insert(LedgerEntry, {
      id: randomUUID(),
      user: userId,
      kind: 'CHARGE',
      amount: -charged,
      balanceAfter: tokens,
      model: usage.model ?? null,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costNanoUsd: usage.costNanoUsd,
      metadata: { held: 0 },
      createdAt: new Date(),
    });
  });
}
